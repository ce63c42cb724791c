"""Production network and its division into intervals (thesis: "overall discrete, partly continuous").

The network is a networkx DiGraph over item codes, edges component -> parent with the
quantity per parent. Decoupling points (items with a buffer) cut it into intervals: BOM chains
that flow continuously, one rate per period for the whole chain, loading every work center
along it. Between intervals flow is discrete: buffers, lead-time offsets, kit checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from lpms.domain.enums import ItemKind
from lpms.domain.errors import BomCycleError, InvalidInput


@dataclass(frozen=True)
class ItemSpec:
    code: str
    kind: ItemKind
    lead_time: int = 0
    stocked: bool = False


@dataclass(frozen=True)
class BomEdge:
    parent: str
    child: str
    qty: float


@dataclass(frozen=True)
class OperationSpec:
    item: str
    sequence: int
    work_center: str
    run_min: float
    setup_min: float = 0.0


@dataclass(frozen=True)
class NetworkSnapshot:
    items: tuple[ItemSpec, ...]
    bom: tuple[BomEdge, ...]
    operations: tuple[OperationSpec, ...]
    work_centers: tuple[str, ...]


class NetworkError(InvalidInput):
    """The network is not valid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid production network: " + "; ".join(problems))


@dataclass(frozen=True)
class Interval:
    code: str  # "I:<head item>"
    head: str  # the item whose output goes into the interval's buffer
    members: tuple[str, ...]  # the chain, head first, down to the first item
    multiplier: dict[str, float]  # units of each member per unit of head output
    inputs: dict[str, float]  # buffered input item -> units per unit of head output
    run_min: dict[str, float]  # work center -> run minutes per unit of head output
    setup_min: dict[str, float]
    lead_time: int  # periods from start to arrival in the head's buffer (sum over the chain)
    cut_reasons: tuple[str, ...]  # why the head is a decoupling point

    @property
    def is_kitting(self) -> bool:
        return len(self.inputs) >= 2


@dataclass
class Division:
    graph: nx.DiGraph
    intervals: list[Interval]
    decoupling: dict[str, list[str]]  # item -> reasons it carries a buffer
    interval_of: dict[str, str] = field(default_factory=dict)  # made item -> interval code

    @property
    def kit_points(self) -> list[str]:
        return [iv.code for iv in self.intervals if iv.is_kitting]


def build_graph(snapshot: NetworkSnapshot) -> nx.DiGraph:
    """Validate the snapshot and return the graph; raises NetworkError / BomCycleError."""
    problems: list[str] = []
    graph = nx.DiGraph()
    kinds = {}
    for it in snapshot.items:
        if it.code in kinds:
            problems.append(f"item {it.code}: listed twice")
        kinds[it.code] = it.kind
        graph.add_node(it.code, kind=it.kind.value, lead_time=it.lead_time, stocked=it.stocked, ops=[])
        if it.lead_time < 0:
            problems.append(f"item {it.code}: negative lead time {it.lead_time}")
    wcs = set(snapshot.work_centers)
    for e in snapshot.bom:
        for code in (e.parent, e.child):
            if code not in kinds:
                problems.append(f"BOM {e.parent} -> {e.child}: unknown item {code}")
        if e.qty <= 0:
            problems.append(f"BOM {e.parent} -> {e.child}: quantity per must be positive, got {e.qty}")
        if e.parent in kinds and kinds[e.parent] is ItemKind.MATERIAL:
            problems.append(f"BOM {e.parent} -> {e.child}: {e.parent} is a purchased material and cannot have components")
        if e.parent in kinds and e.child in kinds:
            graph.add_edge(e.child, e.parent, qty=float(e.qty))
    for op in snapshot.operations:
        if op.item not in kinds:
            problems.append(f"routing {op.item}/{op.sequence}: unknown item")
            continue
        if op.work_center not in wcs:
            problems.append(f"routing {op.item}/{op.sequence}: unknown work center {op.work_center}")
        if op.run_min < 0 or op.setup_min < 0:
            problems.append(f"routing {op.item}/{op.sequence}: negative minutes")
        graph.nodes[op.item]["ops"].append(op)
    for code, kind in kinds.items():
        if kind is not ItemKind.MATERIAL and not graph.nodes[code]["ops"]:
            problems.append(f"item {code}: made item ({kind.value}) without routing")
    if not nx.is_directed_acyclic_graph(graph):
        raise BomCycleError(bom_cycles(graph, limit=1)[0])
    if problems:
        raise NetworkError(problems)
    return graph


def bom_cycles(graph: nx.DiGraph, limit: int = 20) -> list[list[str]]:
    """The distinct cycles of a component -> parent graph (at most ``limit``), each as item codes
    parent first, as a BOM reads: [A, B, C] means A is made from B, B from C, C from A.
    The one cycle rule, used by network validation and the CSV importer."""
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for cycle in nx.simple_cycles(graph):
        key = frozenset(cycle)
        if key in seen:
            continue
        seen.add(key)
        cycles.append(list(reversed(cycle)))  # edges run child -> parent; reversed, each is the parent of the next
        if len(cycles) >= limit:
            break
    return cycles


def divide(graph: nx.DiGraph, min_interval_lead: int = 0) -> Division:
    """Cut the network at decoupling points into intervals (BOM chains with continuous flow).

    ``min_interval_lead``: an interval whose head is a component of another item takes at least
    this many periods from its start to its buffer (its lead time is the larger of its members'
    sum and this). With 1, a level's output is in its buffer when the next level's period
    starts, so a chain of intervals is never planned to flow through one period (the floor works
    a chain's levels one after another: the parent's kit is only complete once its components
    are made); with 0 (the default) the members' lead times alone count.
    """
    if min_interval_lead < 0:
        raise InvalidInput(f"minimum interval lead time {min_interval_lead} is negative")
    decoupling: dict[str, list[str]] = {}
    for code in graph.nodes:
        node = graph.nodes[code]
        parents = sorted(graph.successors(code))
        components = sorted(graph.predecessors(code))
        reasons = []
        if node["kind"] == ItemKind.MATERIAL.value:
            reasons.append("purchased")
        if node["stocked"]:
            reasons.append("stocked")
        if len(parents) > 1:
            reasons.append("common part used by " + ", ".join(parents))
        if node["kind"] == ItemKind.PRODUCT.value or not parents:
            reasons.append("end product")
        if len(components) >= 2:
            reasons.append(f"kitting point ({len(components)} inputs: {', '.join(components)})")
        if reasons:
            decoupling[code] = reasons
    # a non-decoupled made item flows on into its only parent; a chain is linear, so a parent
    # continues into at most one such input (the first by code); the others are cut as well
    chain_child: dict[str, str] = {}
    for code in sorted(graph.nodes):
        if code in decoupling:
            continue
        (parent,) = list(graph.successors(code))
        if parent in chain_child:
            decoupling[code] = [f"parallel input of kitting point {parent} ({chain_child[parent]} continues its chain)"]
        else:
            chain_child[parent] = code
    intervals = []
    interval_of = {}
    for head in sorted(c for c in decoupling if graph.nodes[c]["kind"] != ItemKind.MATERIAL.value):
        members = [head]
        mult = {head: 1.0}
        while members[-1] in chain_child:
            child = chain_child[members[-1]]
            mult[child] = mult[members[-1]] * graph.edges[child, members[-1]]["qty"]
            members.append(child)
        inputs: dict[str, float] = {}
        run: dict[str, float] = {}
        setup: dict[str, float] = {}
        for m in members:
            for comp in graph.predecessors(m):
                if comp in mult:
                    continue
                inputs[comp] = inputs.get(comp, 0.0) + mult[m] * graph.edges[comp, m]["qty"]
            for op in graph.nodes[m]["ops"]:
                run[op.work_center] = run.get(op.work_center, 0.0) + mult[m] * op.run_min
                setup[op.work_center] = setup.get(op.work_center, 0.0) + op.setup_min
        code = f"I:{head}"
        for m in members:
            interval_of[m] = code
        lead = sum(graph.nodes[m]["lead_time"] for m in members)
        if any(True for _ in graph.successors(head)):  # feeds another interval
            lead = max(lead, min_interval_lead)
        intervals.append(Interval(code, head, tuple(members), mult, inputs, run, setup, lead,
                                  tuple(decoupling[head])))
    return Division(graph, intervals, decoupling, interval_of)

