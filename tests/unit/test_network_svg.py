"""The network picture (lpms/formats/network_svg.py) on the demo plant's network: valid and
self-contained SVG, every interval a box listing its member items, edges labelled with the quantity
per, kitting points marked, no overlapping boxes and no edge through a box."""
from __future__ import annotations

import csv
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lpms.domain.enums import ItemKind
from lpms.formats.network_svg import layout, network_svg, sample_edge
from lpms.formats.render import qty
from lpms.planning.network import BomEdge, Division, ItemSpec, NetworkSnapshot, OperationSpec, build_graph, divide

DEMO = Path(__file__).resolve().parents[2] / "lpms" / "data" / "demo"
SVG = "{http://www.w3.org/2000/svg}"


def _rows(name: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for case in ("paper", "plant"):
        path = DEMO / case / name
        if path.exists():
            with path.open(newline="") as f:
                rows += list(csv.DictReader(f))
    return rows


def demo_division() -> Division:
    """The demo database's network (paper case and plant), read straight from the shipped CSV files."""
    items = tuple(ItemSpec(r["code"], ItemKind(r["kind"]), int(r["lead_time_periods"] or 0), r["stocked"] == "true")
                  for r in _rows("items.csv"))
    bom = tuple(BomEdge(r["parent"], r["child"], float(r["qty_per"])) for r in _rows("bom.csv"))
    ops = tuple(OperationSpec(r["item"], int(r["sequence"]), r["work_center"], float(r["run_min"]),
                              float(r["setup_min"] or 0)) for r in _rows("routings.csv"))
    wcs = tuple(sorted({r["code"] for r in _rows("work_centers.csv")}))
    return divide(build_graph(NetworkSnapshot(items, bom, ops, wcs)))


@pytest.fixture(scope="module")
def division() -> Division:
    return demo_division()


@pytest.fixture(scope="module")
def svg(division: Division) -> ET.Element:
    text = network_svg(division)
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    return ET.fromstring(text)  # valid XML


def texts(el: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in el.iter(f"{SVG}text")]


def named_groups(root: ET.Element) -> dict[str, ET.Element]:
    """The drawn boxes: groups whose tooltip starts with the box's name ('I:BL-24: ...', 'LCD-24: ...')."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        title = g.findtext(f"{SVG}title") or ""
        prefix = "I:" if title.startswith("I:") else ""
        out[prefix + title[len(prefix):].split(":")[0]] = g
    return out


def boxes_from_svg(root: ET.Element) -> dict[str, tuple[float, float, float, float]]:
    """Each drawn box's outline (the group's first rect) as (x0, y0, x1, y1)."""
    out = {}
    for name, g in named_groups(root).items():
        rect = g.find(f"{SVG}rect")
        assert rect is not None
        x, y, w, h = (float(rect.get(k, 0)) for k in ("x", "y", "width", "height"))
        out[name] = (x, y, x + w, y + h)
    return out


def test_the_picture_is_self_contained(division: Division) -> None:
    text = network_svg(division)
    for banned in ("href", "<script", "@import", "url(", "<image", "<foreignObject", "@font-face"):
        assert banned not in text


def test_every_interval_is_a_box_with_its_members_work_centers_and_lead_time(division: Division, svg: ET.Element) -> None:
    groups = named_groups(svg)
    for iv in division.intervals:
        g = groups[iv.code]
        words = texts(g)
        assert iv.code in words
        for m in iv.members:
            assert any(w == m or w.startswith(m + " ×") for w in words), f"{m} missing in {iv.code}"
            for op in division.graph.nodes[m]["ops"]:
                assert any(f"{op.work_center} {qty(op.run_min, 3)}" in w for w in words)
        lead = "lead time 0 (same period)" if iv.lead_time == 0 else f"lead time {iv.lead_time} period"
        assert any(w.startswith(lead) for w in words)
        assert any(w.startswith("cut: ") for w in words)
        assert ("KIT CHECK" in words) == iv.is_kitting
    assert len(division.intervals) == 12  # the demo's intervals (paper case and plant)


def test_kitting_points_are_marked_and_cut_reasons_shown(division: Division, svg: ET.Element) -> None:
    words = texts(svg)
    assert words.count("KIT CHECK") == len(division.kit_points) + 1  # one badge per kit point, one in the legend
    cut = " ".join(w for w in words if w.startswith("cut: ") or (w and w[0].islower()))
    assert "common part used by MON-24, MON-27" in cut and "kitting point: 4 inputs" in cut and "stocked" in cut


def test_edges_are_labelled_with_the_quantity_per(division: Division) -> None:
    lay = layout(division)
    g = division.graph
    crossing = [(c, p) for c, p in g.edges if division.interval_of.get(c, c) != division.interval_of.get(p, p)]
    assert sorted((e.source, e.target) for e in lay.edges) == sorted(crossing)
    text = network_svg(division)
    labels = re.findall(r">×([0-9.]+)</text>", text)
    assert sorted(labels[: len(lay.edges)]) == sorted(qty(g.edges[c, p]["qty"], 4) for c, p in crossing)
    assert {"12", "0.8", "1.4", "0.3", "0.5", "3", "2"} <= set(labels)


def test_no_boxes_overlap(svg: ET.Element) -> None:
    boxes = boxes_from_svg(svg)
    assert len(boxes) == 12 + 15  # intervals and purchased items
    for (a, ba), (b, bb) in itertools.combinations(boxes.items(), 2):
        apart = ba[2] <= bb[0] or bb[2] <= ba[0] or ba[3] <= bb[1] or bb[3] <= ba[1]
        assert apart, f"{a} {ba} overlaps {b} {bb}"
    width, height = float(svg.get("width", 0)), float(svg.get("height", 0))
    assert all(0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height for x0, y0, x1, y1 in boxes.values())


def test_no_edge_runs_through_a_box(division: Division) -> None:
    lay = layout(division)
    boxes = lay.boxes()
    for e in lay.edges:
        for x, y in sample_edge(e.points, 48)[1:-1]:
            for name, (x0, y0, x1, y1) in boxes.items():
                assert not (x0 + 1 < x < x1 - 1 and y0 + 1 < y < y1 - 1), f"{e.source}->{e.target} runs through {name}"


def test_edges_run_left_to_right_into_the_consuming_member(division: Division) -> None:
    lay = layout(division)
    for e in lay.edges:
        xs = [p[0] for p in e.points]
        assert xs == sorted(xs)
        target = lay.nodes[e.chain[-1]]
        row = target.row_of(e.target)
        assert row is not None and target.y + row.y <= e.points[-1][1] <= target.y + row.y + row.h
        assert lay.nodes[e.chain[0]].layer > target.layer


def test_a_small_network_draws_too() -> None:
    snap = NetworkSnapshot((ItemSpec("P", ItemKind.PRODUCT), ItemSpec("X", ItemKind.PART), ItemSpec("M", ItemKind.MATERIAL)),
                           (BomEdge("P", "X", 1), BomEdge("P", "M", 2)),
                           (OperationSpec("P", 10, "W1", 1), OperationSpec("X", 10, "W2", 1)), ("W1", "W2"))
    root = ET.fromstring(network_svg(divide(build_graph(snap))))
    words = texts(root)
    assert "I:P" in words and "KIT CHECK" in words and "×2" in words
