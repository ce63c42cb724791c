"""The production network as stored: validated and divided into intervals."""
from __future__ import annotations

from lpms.planning.network import Division, build_graph, divide
from lpms.planning.snapshot import network_snapshot
from lpms.services.unit_of_work import UnitOfWork


def divide_network(uow: UnitOfWork) -> Division:
    """Read items, BOM and routings; return the interval division. Raises NetworkError, BomCycleError."""
    with uow:
        rows = uow.planning.load_rows()
    return divide(build_graph(network_snapshot(rows)))
