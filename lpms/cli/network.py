"""`lpms network show`: the intervals of the database's network, and its picture."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lpms.cli._common import Parser, with_database
from lpms.domain.errors import InvalidInput


def cmd_network_show(args: argparse.Namespace) -> int:
    from lpms.formats.network_svg import network_svg
    from lpms.formats.render import describe_network
    from lpms.services.network import divide_network

    division: Any = with_database(args, lambda uow, _s: divide_network(uow))
    print(describe_network(division))
    if args.svg:
        path = Path(args.svg)
        try:
            path.write_text(network_svg(division), encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"--svg {path}: cannot write ({exc.strerror})") from None
        print(f"picture written to {path}")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    net = sub.add_parser("network", help="Production network: intervals, kit points, picture.",
                         description="Production network: intervals, kit points, picture.")
    nsub = net.add_subparsers(dest="network_command", metavar="ACTION", parser_class=Parser)
    nsub.required = True
    show = nsub.add_parser("show", parents=[common], help="print the intervals of the database's network",
                           description="Divide the database's network into intervals and print them; --svg draws it.")
    show.add_argument("--svg", metavar="FILE", help="also write the network picture (SVG) to FILE")
    show.set_defaults(func=cmd_network_show)
