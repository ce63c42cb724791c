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
    cycle = None
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
    if cycle:
        # edges are child -> parent; name the cycle parent first as a BOM reads
        names = [v for _, v in cycle][::-1]
        raise BomCycleError(names)
    if problems:
        raise NetworkError(problems)
    return graph


def divide(graph: nx.DiGraph) -> Division:
    """Cut the network at decoupling points into intervals (BOM chains with continuous flow)."""
    decoupling: dict[str, list[str]] = {}
    for code in graph.nodes:
        node = graph.nodes[code]
        parents = sorted(graph.successors(code))
        inputs = sorted(graph.predecessors(code))
        reasons = []
        if node["kind"] == ItemKind.MATERIAL.value:
            reasons.append("purchased")
        if node["stocked"]:
            reasons.append("stocked")
        if len(parents) > 1:
            reasons.append("common part used by " + ", ".join(parents))
        if node["kind"] == ItemKind.PRODUCT.value or not parents:
            reasons.append("end product")
        if len(inputs) >= 2:
            reasons.append(f"kitting point ({len(inputs)} inputs: {', '.join(inputs)})")
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
        intervals.append(Interval(code, head, tuple(members), mult, inputs, run, setup,
                                  sum(graph.nodes[m]["lead_time"] for m in members), tuple(decoupling[head])))
    return Division(graph, intervals, decoupling, interval_of)


def describe(division: Division) -> str:
    """Text listing of the intervals, their chains, inputs, loads and cut reasons."""
    lines = [f"{len(division.intervals)} intervals, {len(division.kit_points)} kitting points, "
             f"{sum(1 for r in division.decoupling.values() if 'purchased' in r)} purchased items"]
    for iv in division.intervals:
        chain = " <- ".join(iv.members)
        lines.append(f"{iv.code}{'  [kit check]' if iv.is_kitting else ''}")
        lines.append(f"  chain: {chain} (lead time {iv.lead_time})")
        lines.append(f"  cut: {'; '.join(iv.cut_reasons)}")
        if iv.inputs:
            lines.append("  inputs: " + ", ".join(f"{k} x{v:g}" for k, v in sorted(iv.inputs.items())))
        if iv.run_min:
            lines.append("  load min/unit: " + ", ".join(f"{k} {v:g}" for k, v in sorted(iv.run_min.items())))
    return "\n".join(lines)


def network_svg(division: Division, width_per_level: int = 230, row_h: int = 34) -> str:
    """A self-contained SVG of the network: items by BOM level, intervals as boxes, kit points
    and buffers marked. No external resources."""
    g = division.graph
    level: dict[str, int] = {}
    for code in nx.topological_sort(g.reverse(copy=False)):
        parents = list(g.successors(code))
        level[code] = 0 if not parents else 1 + max(level[p] for p in parents)
    max_level = max(level.values(), default=0)
    # one row per interval (its chain runs left to right inside one box), purchased items below
    row_of: dict[str, int] = {}
    ordered = sorted(division.intervals, key=lambda iv: (level[iv.head], iv.head))
    for r, iv in enumerate(ordered):
        for mbr in iv.members:
            row_of[mbr] = r
    free = [c for c in g.nodes if c not in row_of]
    per_col: dict[int, int] = {}
    base = len(ordered)
    for code in sorted(free, key=lambda c: (level[c], c)):
        col = level[code]
        row_of[code] = base + per_col.get(col, 0)
        per_col[col] = per_col.get(col, 0) + 1
    pos = {code: (40 + (max_level - level[code]) * width_per_level, 40 + row_of[code] * row_h) for code in g.nodes}
    height = 80 + row_h * (max(row_of.values(), default=0) + 1)
    width = 80 + (max_level + 1) * width_per_level
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">'
           '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    palette = ["#e3f2fd", "#fce4ec", "#e8f5e9", "#fff3e0", "#ede7f6", "#e0f7fa", "#f9fbe7", "#efebe9"]
    for k, iv in enumerate(division.intervals):
        xs = [pos[m][0] for m in iv.members]
        ys = [pos[m][1] for m in iv.members]
        out.append(f'<rect x="{min(xs) - 8}" y="{min(ys) - 14}" width="{max(xs) - min(xs) + 176}" height="{max(ys) - min(ys) + 28}" '
                   f'rx="8" fill="{palette[k % len(palette)]}" stroke="#90a4ae"><title>{esc(iv.code)}</title></rect>')
    for child, parent in g.edges:
        (x1, y1), (x2, y2) = pos[child], pos[parent]
        discrete = division.interval_of.get(child) != division.interval_of.get(parent)
        dash = ' stroke-dasharray="5,3"' if discrete else ""
        out.append(f'<line x1="{x1 + 160}" y1="{y1}" x2="{x2 - 4}" y2="{y2}" stroke="#555"{dash} marker-end="url(#arrow)"/>')
    for code, (x, y) in pos.items():
        kind = g.nodes[code]["kind"]
        buffered = code in division.decoupling
        kit = any(iv.head == code and iv.is_kitting for iv in division.intervals)
        fill = "#cfd8dc" if kind == ItemKind.MATERIAL.value else "#ffffff"
        stroke = "#d32f2f" if kit else "#37474f"
        out.append(f'<rect x="{x}" y="{y - 10}" width="160" height="20" rx="3" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="{2 if kit else 1}"><title>{esc(code)}: {esc("; ".join(division.decoupling.get(code, ["continuous flow"])))}</title></rect>')
        label = esc(code) + (" ▲" if buffered and kind != ItemKind.MATERIAL.value else "") + (" ◆kit" if kit else "")
        out.append(f'<text x="{x + 6}" y="{y + 4}">{label}</text>')
    out.append(f'<text x="40" y="{height - 12}" fill="#37474f">boxes: intervals (continuous flow); dashed: discrete flow '
               'between buffers; ▲ buffer; red ◆kit: kit check; grey: purchased</text>')
    out.append("</svg>")
    return "\n".join(out)
