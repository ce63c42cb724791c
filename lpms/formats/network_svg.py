"""The production network as a picture (self-contained SVG: no scripts, no external fonts or links).

Layout, left to right in the direction of material flow:

* one column per level of the interval network: end products on the right; every box sits one
  level to the left of the deepest box it feeds (longest path), so edges run left to right;
* each interval (a BOM chain with continuous flow) is one box listing its member items, head
  first, each with its work centers and run minutes per unit, then its lead time and why it was
  cut (decoupling reasons); kitting points (kit check before the interval starts) carry a red
  border and a KIT CHECK badge; purchased items are small grey boxes with their lead time;
* an edge runs from a supplier's buffer to the member item that consumes it and is labelled
  with the quantity per unit of that item; edges skipping a level pass through a reserved
  lane in the column between, so no edge crosses a box;
* within a column the boxes are ordered to reduce crossings (barycenter sweeps) and placed
  as close as possible to the boxes they connect to without overlapping (isotonic regression).

:func:`layout` returns the coordinates (used by the tests to check overlaps), :func:`network_svg`
draws them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lpms.formats.render import qty

# geometry (pixels)
MARGIN = 30
TOP = 78  # title and column headers above the boxes
CARD_W = 268
MAT_W = 150
GUTTER = 150
GAP = 14  # vertical gap between boxes in a column
HEADER_H = 22
ROW_H = 18
PORT_GAP = 14  # vertical distance between edge ends on a box side
LINE_H = 14
PAD = 6
DUMMY_H = 8
FONT = 11
SMALL = 10

PALETTE = ["#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#283593",
           "#558b2f", "#d84315", "#00695c", "#5d4037", "#7b1fa2", "#0277bd", "#9e9d24", "#c62828"]


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _text_w(s: str, size: float, bold: bool = False) -> float:
    """Estimated width of sans-serif text (the picture uses no web fonts)."""
    return len(s) * size * (0.72 if bold else 0.58)


def _wrap(text: str, width: float, size: float) -> list[str]:
    max_chars = max(8, int(width / (size * 0.58)))
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        cand = word if not cur else f"{cur} {word}"
        if len(cand) > max_chars and cur:
            lines.append(cur)
            cur = word
        else:
            cur = cand
    if cur:
        lines.append(cur)
    return lines


def _short_reason(reason: str) -> str:
    if reason.startswith("kitting point (") and ":" in reason:
        return reason.split(":", 1)[0].replace("kitting point (", "kitting point: ").rstrip()
    return reason


@dataclass
class Row:
    item: str
    text: str  # work centers and minutes per unit
    y: float = 0.0  # offset of the row's zone from the box top
    h: float = ROW_H
    multiplier: float = 1.0


@dataclass
class Node:
    id: str
    kind: str  # "interval", "material", "lane" (a reserved lane of an edge that skips a level)
    layer: int
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0
    rows: list[Row] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    kit: bool = False
    end_product: bool = False
    title: str = ""  # tooltip
    lead_time: int = 0
    text_x: float = 0.0  # offset of the work-center column inside an interval box

    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    def row_of(self, item: str) -> Row | None:
        return next((r for r in self.rows if r.item == item), None)


@dataclass
class Edge:
    source: str  # supplying item (an interval head or a purchased item)
    target: str  # consuming member item
    qty: float
    chain: list[str]  # node ids: source node, lanes..., target node
    points: list[tuple[float, float]] = field(default_factory=list)  # port, lane ends..., port
    color: str = "#555"


@dataclass
class Layout:
    nodes: dict[str, Node]
    edges: list[Edge]
    layers: int
    width: float
    height: float
    column_x: list[float]  # left x of each layer's column
    column_w: list[float]

    def boxes(self) -> dict[str, tuple[float, float, float, float]]:
        """Boxes drawn (intervals and purchased items): id -> (x0, y0, x1, y1)."""
        return {k: n.box() for k, n in self.nodes.items() if n.kind != "lane"}


def _interval_node(iv: Any, graph: Any, n_in: dict[str, int]) -> Node:
    rows = []
    for m in iv.members:
        ops = sorted(graph.nodes[m].get("ops", []), key=lambda o: o.sequence)
        text = " · ".join(f"{o.work_center} {qty(o.run_min, 3)}" for o in ops)
        rows.append(Row(m, (text + " min") if text else "no routing", multiplier=iv.multiplier.get(m, 1.0)))
    y = HEADER_H + 4
    for r in rows:
        r.y = y
        r.h = max(ROW_H, PORT_GAP * n_in.get(r.item, 0))
        y += r.h
    lt = iv.lead_time
    footer = [f"lead time {lt} period{'s' if lt != 1 else ''}" if lt else "lead time 0 (same period)"]
    # width: the widest member name, then the work centers; the header with the kit badge
    name_w = max(_text_w(_member_name(r), FONT, bold=True) for r in rows)
    text_x = PAD + 10 + name_w + 14
    w = max(CARD_W, text_x + max(_text_w(r.text, SMALL) for r in rows) + PAD,
            PAD + _text_w(iv.code, 12, bold=True) + 90)
    footer += _wrap("cut: " + "; ".join(_short_reason(r) for r in iv.cut_reasons), w - 2 * PAD - 4, SMALL)
    h = y + 4 + LINE_H * len(footer) + PAD
    end = any(r == "end product" for r in iv.cut_reasons)
    title = f"{iv.code}: {' <- '.join(iv.members)}; lead time {lt}; cut: {'; '.join(iv.cut_reasons)}"
    return Node(iv.code, "interval", 0, w, h, rows=rows, footer=footer, kit=iv.is_kitting,
                end_product=end, title=title, lead_time=lt, text_x=text_x)


def _member_name(r: Row) -> str:
    return r.item + (f" ×{qty(r.multiplier, 4)}" if abs(r.multiplier - 1) > 1e-9 else "")


def layout(division: Any) -> Layout:
    """Place the division's intervals and purchased items in levels and route the edges."""
    g = division.graph
    node_of = {code: division.interval_of.get(code, code) for code in g.nodes}
    # edges of the picture: between different boxes (flow inside an interval is its chain)
    raw = sorted(((c, p, float(g.edges[c, p]["qty"])) for c, p in g.edges if node_of[c] != node_of[p]),
                 key=lambda e: (node_of[e[1]], e[1], e[0]))
    n_in: dict[str, int] = {}
    n_out: dict[str, int] = {}
    for c, p, _ in raw:
        n_in[p] = n_in.get(p, 0) + 1
        n_out[node_of[c]] = n_out.get(node_of[c], 0) + 1
    nodes: dict[str, Node] = {}
    for iv in division.intervals:
        nodes[iv.code] = _interval_node(iv, g, n_in)
    for code in sorted(g.nodes):
        if node_of[code] == code and code not in nodes:
            lt = int(g.nodes[code].get("lead_time", 0))
            reasons = division.decoupling.get(code, [])
            nodes[code] = Node(code, "material", 0, MAT_W, max(24.0, 10.0 * n_out.get(code, 0) + 8), lead_time=lt,
                               title=f"{code}: {'; '.join(reasons) or 'purchased'}; lead time {lt}")
    # levels: longest path to an end product over the boxes
    consumers: dict[str, set[str]] = {k: set() for k in nodes}
    for c, p, _ in raw:
        consumers[node_of[c]].add(node_of[p])
    level: dict[str, int] = {}

    def lev(k: str) -> int:
        if k not in level:
            level[k] = 0 if not consumers[k] else 1 + max(lev(c) for c in consumers[k])
        return level[k]

    for k in sorted(nodes):
        lev(k)
        nodes[k].layer = level[k]
    n_layers = max(level.values(), default=0) + 1
    # edges, with a lane in every level they skip
    edges: list[Edge] = []
    for c, p, q in raw:
        s, t = node_of[c], node_of[p]
        chain = [s]
        for L in range(level[s] - 1, level[t], -1):
            lane = f"lane:{c}>{p}:{L}"
            nodes[lane] = Node(lane, "lane", L, 0, DUMMY_H)
            chain.append(lane)
        chain.append(t)
        edges.append(Edge(c, p, q, chain))
    order = _order(nodes, edges, n_layers)
    # columns: x from the left (deepest level) to the right (end products)
    column_w = [max([nodes[k].w for k in order[L]] + [MAT_W]) for L in range(n_layers)]
    column_x = [0.0] * n_layers
    x = float(MARGIN)
    for L in range(n_layers - 1, -1, -1):
        column_x[L] = x
        x += column_w[L] + GUTTER
    width = x - GUTTER + MARGIN
    for L in range(n_layers):
        for k in order[L]:
            n = nodes[k]
            if n.kind in ("lane", "interval"):  # boxes of a column share its width
                n.x, n.w = column_x[L], column_w[L]
            else:  # right-aligned: outputs leave the column's right side
                n.x = column_x[L] + column_w[L] - n.w
    _place(nodes, edges, order, n_layers)
    _route(nodes, edges)
    sources = sorted({e.chain[0] for e in edges})
    for e in edges:
        e.color = PALETTE[sources.index(e.chain[0]) % len(PALETTE)]
    bottom = max((n.y + n.h for n in nodes.values()), default=TOP)
    return Layout(nodes, edges, n_layers, width, bottom + 110, column_x, column_w)


def _order(nodes: dict[str, Node], edges: list[Edge], n_layers: int) -> list[list[str]]:
    """Order each column to reduce crossings: barycenter sweeps, the best order seen is kept."""
    layers: list[list[str]] = [[] for _ in range(n_layers)]
    for k in sorted(nodes, key=lambda k: (nodes[k].kind == "material", nodes[k].kind == "lane", k)):
        layers[nodes[k].layer].append(k)
    # links between adjacent levels (supplier in L+1, consumer in L), with the row they reach
    links: list[tuple[str, str, float]] = []
    for e in edges:
        for a, b in zip(e.chain, e.chain[1:]):
            frac = 0.0
            tn = nodes[b]
            if tn.kind == "interval":
                idx = next((i for i, r in enumerate(tn.rows) if r.item == e.target), 0)
                frac = 0.3 * idx / max(1, len(tn.rows))
            links.append((a, b, frac))
    # start: end products with their supplier trees together (depth-first from each end product)
    suppliers: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b, _ in links:
        suppliers[b].append(a)
    seen: list[str] = []

    def visit(k: str) -> None:
        if k in seen:
            return
        seen.append(k)
        for s in suppliers[k]:
            visit(s)

    for k in sorted(layers[0], key=lambda k: (not suppliers[k], k)):  # unconnected boxes last
        visit(k)
    rank = {k: i for i, k in enumerate(seen)}
    layers = [sorted(layer, key=lambda k: rank.get(k, 1e9)) for layer in layers]

    def pos() -> dict[str, float]:
        return {k: float(i) for layer in layers for i, k in enumerate(layer)}

    def crossings() -> int:
        p = pos()
        total = 0
        for L in range(n_layers - 1):
            pairs = [(p[a], p[b] + f) for a, b, f in links if nodes[a].layer == L + 1]
            for i in range(len(pairs)):
                for j in range(i + 1, len(pairs)):
                    if (pairs[i][0] - pairs[j][0]) * (pairs[i][1] - pairs[j][1]) < 0:
                        total += 1
        return total

    best = [list(layer) for layer in layers]
    best_c = crossings()
    for _ in range(12):
        for direction in (1, -1):
            rng = range(1, n_layers) if direction == 1 else range(n_layers - 2, -1, -1)
            for L in rng:
                p = pos()
                bary: dict[str, float] = {}
                for k in layers[L]:
                    if direction == 1:  # by consumers (level L - 1)
                        ys = [p[b] + f for a, b, f in links if a == k]
                    else:  # by suppliers (level L + 1)
                        ys = [p[a] - f for a, b, f in links if b == k]
                    # a box without links here keeps its place; unconnected boxes stay at the bottom
                    bary[k] = sum(ys) / len(ys) if ys else (p[k] if suppliers[k] or any(a == k for a, _, _ in links)
                                                            else len(layers[L]) + p[k])
                layers[L] = sorted(layers[L], key=lambda k: (bary[k], p[k]))
            c = crossings()
            if c < best_c:
                best, best_c = [list(layer) for layer in layers], c
        # transpose: swap neighbours in a column while that removes crossings
        layers = [list(layer) for layer in best]
        improved = True
        while improved:
            improved = False
            for layer in layers:
                for i in range(len(layer) - 1):
                    layer[i], layer[i + 1] = layer[i + 1], layer[i]
                    c = crossings()
                    if c < best_c:
                        best, best_c, improved = [list(la) for la in layers], c, True
                    else:
                        layer[i], layer[i + 1] = layer[i + 1], layer[i]
    return best


def _isotonic(targets: list[float], weights: list[float]) -> list[float]:
    """Weighted least-squares nondecreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t, w in zip(targets, weights):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for m, _, c in blocks:
        out.extend([m] * int(c))
    return out


def _anchor(n: Node, item: str | None) -> float:
    """Vertical offset, from the box top, where an edge meets the box (a member's row, or the middle)."""
    if n.kind == "interval":
        r = n.row_of(item) if item else None
        if r is None:
            r = n.rows[0]
        return r.y + r.h / 2
    return n.h / 2


def _place(nodes: dict[str, Node], edges: list[Edge], order: list[list[str]], n_layers: int) -> None:
    """Vertical positions: each box as near as it can be to the boxes it connects to, in its column's
    order and without overlaps (least squares under order constraints, solved exactly by isotonic
    regression); a few sweeps over the columns."""
    # neighbours: (my anchor offset, other node, other anchor offset)
    nb: dict[str, list[tuple[float, str, float]]] = {k: [] for k in nodes}
    for e in edges:
        for a, b in zip(e.chain, e.chain[1:]):
            na, nbn = nodes[a], nodes[b]
            oa = _anchor(na, e.source if na.kind == "interval" else None)
            ob = _anchor(nbn, e.target if nbn.kind == "interval" else None)
            nb[a].append((oa, b, ob))
            nb[b].append((ob, a, oa))
    for layer in order:  # start stacked from the top
        y = float(TOP)
        for k in layer:
            nodes[k].y = y
            y += nodes[k].h + GAP
    sweep = list(range(n_layers)) + list(range(n_layers - 2, -1, -1))
    for _ in range(6):
        for L in sweep:
            _place_column(nodes, order[L], nb)
    # the tallest column may now start lower than needed: shift everything up to the top
    lowest = min((n.y for n in nodes.values()), default=TOP)
    for n in nodes.values():
        n.y += TOP - lowest


def _place_column(nodes: dict[str, Node], layer: list[str], nb: dict[str, list[tuple[float, str, float]]]) -> None:
    targets, weights, offsets = [], [], []
    off = 0.0
    for k in layer:
        n = nodes[k]
        links = nb[k]
        if links:
            want = sum(nodes[o].y + oo - mine for mine, o, oo in links) / len(links)
            w = float(len(links))
        else:
            want, w = n.y, 0.05
        targets.append(want - off)
        weights.append(w)
        offsets.append(off)
        off += n.h + GAP
    # clamping a nondecreasing fit at a lower bound keeps it optimal under that bound
    for k, z, o in zip(layer, _isotonic(targets, weights), offsets):
        nodes[k].y = max(z, TOP) + o


def _route(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """Edge ends: outgoing ports on a box's right side, incoming ports in the target row's zone on the
    left side, each sorted by the other end's height so that edges do not cross at the boxes."""
    outgoing: dict[str, list[Edge]] = {}
    incoming: dict[tuple[str, str], list[Edge]] = {}
    for e in edges:
        outgoing.setdefault(e.chain[0], []).append(e)
        incoming.setdefault((e.chain[-1], e.target), []).append(e)

    def center(k: str, item: str | None = None) -> float:
        n = nodes[k]
        return n.y + _anchor(n, item)

    src_y: dict[int, float] = {}
    for k, es in outgoing.items():
        n = nodes[k]
        es.sort(key=lambda e: (center(e.chain[1], e.target if len(e.chain) == 2 else None), e.target))
        mid = center(k, k if n.kind == "interval" else None)
        spacing = 10.0 if n.kind == "material" else PORT_GAP
        lo, hi = n.y + (HEADER_H if n.kind == "interval" else 4), n.y + n.h - 4
        span = spacing * (len(es) - 1)
        start = min(max(mid - span / 2, lo), max(lo, hi - span))
        for i, e in enumerate(es):
            src_y[id(e)] = start + i * spacing
    tgt_y: dict[int, float] = {}
    for (k, item), es in incoming.items():
        n = nodes[k]
        row = n.row_of(item)
        assert row is not None
        es.sort(key=lambda e: (nodes[e.chain[-2]].y + nodes[e.chain[-2]].h / 2 if len(e.chain) > 2
                               else src_y[id(e)], e.source))
        for i, e in enumerate(es):
            tgt_y[id(e)] = n.y + row.y + (i + 0.5) * row.h / len(es)
    for e in edges:
        s, t = nodes[e.chain[0]], nodes[e.chain[-1]]
        pts = [(s.x + s.w, src_y[id(e)])]
        for lane in e.chain[1:-1]:
            ln = nodes[lane]
            pts += [(ln.x, ln.y + ln.h / 2), (ln.x + ln.w, ln.y + ln.h / 2)]
        pts.append((t.x, tgt_y[id(e)]))
        e.points = pts


def edge_path(points: list[tuple[float, float]]) -> str:
    """SVG path: a horizontal-tangent cubic between columns, straight through a lane."""
    (x0, y0) = points[0]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for i in range(1, len(points)):
        (xa, ya), (xb, yb) = points[i - 1], points[i]
        if i % 2 == 1:  # across a gutter
            mx = (xa + xb) / 2
            d.append(f"C{mx:.1f},{ya:.1f} {mx:.1f},{yb:.1f} {xb:.1f},{yb:.1f}")
        else:  # through a lane
            d.append(f"L{xb:.1f},{yb:.1f}")
    return " ".join(d)


def sample_edge(points: list[tuple[float, float]], steps: int = 24) -> list[tuple[float, float]]:
    """Points along the drawn edge (for checks that edges stay out of boxes)."""
    out = [points[0]]
    for i in range(1, len(points)):
        (xa, ya), (xb, yb) = points[i - 1], points[i]
        if i % 2 == 1:
            mx = (xa + xb) / 2
            for s in range(1, steps + 1):
                t = s / steps
                u = 1 - t
                x = u ** 3 * xa + 3 * u * u * t * mx + 3 * u * t * t * mx + t ** 3 * xb
                y = u ** 3 * ya + 3 * u * u * t * ya + 3 * u * t * t * yb + t ** 3 * yb
                out.append((x, y))
        else:
            out.append((xb, yb))
    return out


def network_svg(division: Any) -> str:
    """The network picture as a self-contained SVG document (see the module docstring)."""
    lay = layout(division)
    n_kit = len(division.kit_points)
    n_bought = sum(1 for n in lay.nodes.values() if n.kind == "material")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" height="{lay.height:.0f}" '
           f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" '
           f'font-size="{FONT}">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{MARGIN}" y="26" font-size="16" font-weight="bold" fill="#263238">Production network: '
           f'{len(division.intervals)} intervals, {n_kit} kitting points, {n_bought} purchased items</text>']
    for L in range(lay.layers):
        cx = lay.column_x[L] + lay.column_w[L] / 2
        label = "level 0: end products" if L == 0 else f"level {L}"
        out.append(f'<text x="{cx:.1f}" y="58" text-anchor="middle" font-weight="bold" fill="#546e7a">{label}</text>')
        out.append(f'<line x1="{lay.column_x[L]:.1f}" y1="64" x2="{lay.column_x[L] + lay.column_w[L]:.1f}" y2="64" '
                   'stroke="#cfd8dc" stroke-width="2"/>')
    # edges below the boxes, labels above them
    labels = []
    for e in lay.edges:
        out.append(f'<path d="{edge_path(e.points)}" fill="none" stroke="{e.color}" stroke-width="1.4" '
                   f'stroke-opacity="0.85"><title>{_esc(e.source)} -&gt; {_esc(e.target)}: '
                   f'{qty(e.qty, 4)} per {_esc(e.target)}</title></path>')
        x, y = e.points[-1]
        out.append(f'<path d="M{x - 7:.1f},{y - 3.5:.1f} L{x:.1f},{y:.1f} L{x - 7:.1f},{y + 3.5:.1f} z" fill="{e.color}"/>')
        labels.append(f'<text x="{x - 9:.1f}" y="{y - 2.5:.1f}" text-anchor="end" font-size="{SMALL}" '
                      f'font-weight="bold" fill="{e.color}" stroke="white" stroke-width="3" paint-order="stroke">'
                      f'×{_esc(qty(e.qty, 4))}</text>')
    for n in lay.nodes.values():
        if n.kind == "interval":
            out.extend(_card(n))
        elif n.kind == "material":
            out.extend(_material(n))
    out.extend(labels)
    out.extend(_legend(lay))
    out.append("</svg>")
    return "\n".join(out)


def _card(n: Node) -> list[str]:
    x, y, w, h = n.x, n.y, n.w, n.h
    stroke, sw = ("#c62828", 2.5) if n.kit else ("#546e7a", 1.2)
    head_fill = "#bbdefb" if n.end_product else "#c8e6c9"
    out = [f'<g><title>{_esc(n.title)}</title>',
           f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" fill="white" stroke="{stroke}" '
           f'stroke-width="{sw}"/>',
           f'<path d="M{x + 1:.1f},{y + HEADER_H:.1f} V{y + 6:.1f} Q{x + 1:.1f},{y + 1:.1f} {x + 6:.1f},{y + 1:.1f} '
           f'H{x + w - 6:.1f} Q{x + w - 1:.1f},{y + 1:.1f} {x + w - 1:.1f},{y + 6:.1f} V{y + HEADER_H:.1f} z" '
           f'fill="{head_fill}"/>',
           f'<text x="{x + PAD:.1f}" y="{y + 15:.1f}" font-size="12" font-weight="bold" fill="#263238">{_esc(n.id)}</text>']
    if n.kit:
        bw = 70
        out.append(f'<rect x="{x + w - bw - 5:.1f}" y="{y + 4:.1f}" width="{bw}" height="14" rx="7" fill="#c62828"/>')
        out.append(f'<text x="{x + w - bw / 2 - 5:.1f}" y="{y + 14.5:.1f}" text-anchor="middle" font-size="9" '
                   f'font-weight="bold" fill="white">KIT CHECK</text>')
    for i, r in enumerate(n.rows):
        ty = y + r.y + r.h / 2 + 4
        out.append(f'<text x="{x + PAD + 10:.1f}" y="{ty:.1f}" font-weight="bold" fill="#263238">'
                   f'{_esc(_member_name(r))}</text>')
        out.append(f'<text x="{x + n.text_x:.1f}" y="{ty:.1f}" font-size="{SMALL}" fill="#37474f">{_esc(r.text)}</text>')
        if i > 0:  # continuous flow up the chain: this member feeds the one above
            prev = n.rows[i - 1]
            y0, y1 = y + r.y + r.h / 2 - 4, y + prev.y + prev.h / 2 + 5
            out.append(f'<path d="M{x + PAD + 3:.1f},{y0:.1f} V{y1 + 4:.1f}" stroke="#546e7a" stroke-width="1.2"/>')
            out.append(f'<path d="M{x + PAD:.1f},{y1 + 5:.1f} L{x + PAD + 3:.1f},{y1:.1f} L{x + PAD + 6:.1f},{y1 + 5:.1f} z" '
                       'fill="#546e7a"/>')
    sep = y + n.rows[-1].y + n.rows[-1].h + 2
    out.append(f'<line x1="{x + PAD:.1f}" y1="{sep:.1f}" x2="{x + w - PAD:.1f}" y2="{sep:.1f}" stroke="#cfd8dc"/>')
    for i, line in enumerate(n.footer):
        color = "#37474f" if i == 0 else "#6d4c41"
        style = "" if i == 0 else ' font-style="italic"'
        out.append(f'<text x="{x + PAD:.1f}" y="{sep + 12 + i * LINE_H:.1f}" font-size="{SMALL}" fill="{color}"{style}>'
                   f'{_esc(line)}</text>')
    out.append("</g>")
    return out


def _material(n: Node) -> list[str]:
    x, y, w, h = n.x, n.y, n.w, n.h
    ty = y + h / 2 + 4
    return [f'<g><title>{_esc(n.title)}</title>',
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" fill="#eceff1" stroke="#90a4ae"/>',
            f'<text x="{x + PAD:.1f}" y="{ty:.1f}" font-weight="bold" fill="#37474f">{_esc(n.id)}</text>',
            f'<text x="{x + w - PAD:.1f}" y="{ty:.1f}" text-anchor="end" font-size="{SMALL}" fill="#607d8b">'
            f'lead time {n.lead_time}</text>',
            "</g>"]


def _legend(lay: Layout) -> list[str]:
    y = lay.height - 88
    x = MARGIN
    out = [f'<line x1="{x}" y1="{y - 12:.1f}" x2="{lay.width - MARGIN:.1f}" y2="{y - 12:.1f}" stroke="#cfd8dc"/>']
    # sample card header, kit badge, purchased box, edge
    out.append(f'<rect x="{x}" y="{y:.1f}" width="34" height="16" rx="4" fill="#bbdefb" stroke="#546e7a"/>')
    out.append(f'<rect x="{x + 40}" y="{y:.1f}" width="34" height="16" rx="4" fill="#c8e6c9" stroke="#546e7a"/>')
    out.append(f'<text x="{x + 82}" y="{y + 12:.1f}">interval (BOM chain with continuous flow, ends in a buffer): '
               'blue = end product, green = made part; members listed head first with work centers and run minutes '
               'per unit, then lead time and why the network is cut there</text>')
    y += 24
    out.append(f'<rect x="{x}" y="{y:.1f}" width="74" height="16" rx="8" fill="#c62828"/>')
    out.append(f'<text x="{x + 37}" y="{y + 11.5:.1f}" text-anchor="middle" font-size="9" font-weight="bold" '
               'fill="white">KIT CHECK</text>')
    out.append(f'<text x="{x + 82}" y="{y + 12:.1f}">kitting point (red border): the interval starts only when the '
               'complete set of its inputs is in the buffers</text>')
    y += 24
    out.append(f'<rect x="{x}" y="{y:.1f}" width="74" height="16" rx="4" fill="#eceff1" stroke="#90a4ae"/>')
    out.append(f'<text x="{x + 82}" y="{y + 12:.1f}">purchased item with its lead time</text>')
    ex = x + 300
    out.append(f'<path d="M{ex},{y + 8:.1f} H{ex + 70}" stroke="#1565c0" stroke-width="1.4"/>')
    out.append(f'<path d="M{ex + 63},{y + 4.5:.1f} L{ex + 70},{y + 8:.1f} L{ex + 63},{y + 11.5:.1f} z" fill="#1565c0"/>')
    out.append(f'<text x="{ex + 58}" y="{y + 5.5:.1f}" text-anchor="end" font-size="{SMALL}" font-weight="bold" '
               'fill="#1565c0">×2</text>')
    out.append(f'<text x="{ex + 80}" y="{y + 12:.1f}">flow between buffers to the member that uses it, labelled '
               'with the quantity per unit of that member; ↑ inside a box: continuous flow along the chain</text>')
    return out
