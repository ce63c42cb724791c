"""CSV import and export of master data, demand and stock.

Import is all or nothing: every file is parsed and validated row by row first, every
problem is reported with file, line, column and reason, and only a clean set is written,
in one transaction. Rows are upserted by business key, so re-importing is idempotent.
Columns are documented in docs/csv-formats.md.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, Iterable

import networkx as nx
from sqlalchemy import select

from lpms.db import models as m
from lpms.db.session import UnitOfWork
from lpms.domain.enums import Bucket, ItemKind, OffsetRule, OrderStatus
from lpms.domain.errors import ValidationFailed


class CellError(ValueError):
    pass


def _text(raw: str) -> str:
    if not raw.strip():
        raise CellError("is empty")
    return raw.strip()


def _opt_text(raw: str) -> str:
    return raw.strip()


def _number(raw: str, *, positive: bool = False) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise CellError(f"{raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise CellError(f"{raw!r} is not a finite number")
    if value < 0:
        raise CellError(f"{raw} is negative")
    if positive and value == 0:
        raise CellError("must be greater than 0")
    return value


def _nonneg(raw: str) -> float:
    return _number(raw)


def _positive(raw: str) -> float:
    return _number(raw, positive=True)


def _count(raw: str) -> int:
    text = raw.strip()
    if not text.lstrip("-").isdigit():
        raise CellError(f"{raw!r} is not a whole number")
    value = int(text)
    if value < 0:
        raise CellError(f"{value} is negative")
    return value


def _int(raw: str) -> int:
    text = raw.strip()
    if not text.lstrip("-").isdigit():
        raise CellError(f"{raw!r} is not a whole number")
    return int(text)


def _period(raw: str) -> int:
    value = _count(raw)
    if value < 1:
        raise CellError("periods are numbered from 1")
    return value


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise CellError(f"{raw!r} is not a date (YYYY-MM-DD)") from None


def _bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n"):
        return False
    raise CellError(f"{raw!r} is not true or false")


def _enum(enum_cls: type[StrEnum]) -> Callable[[str], StrEnum]:
    def parse(raw: str) -> StrEnum:
        try:
            return enum_cls(raw.strip())
        except ValueError:
            allowed = ", ".join(e.value for e in enum_cls)
            raise CellError(f"{raw!r} is not one of {allowed}") from None

    return parse


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


SPECS: tuple[FileSpec, ...] = (
    FileSpec("items", (
        Column("code", _text, True), Column("name", _opt_text, default=""),
        Column("kind", _enum(ItemKind), True), Column("unit", _opt_text, default="pcs"),
        Column("lead_time_periods", _count, default=0), Column("stocked", _bool, default=False),
        Column("safety_stock", _nonneg, default=0.0),
        Column("offset_rule", _enum(OffsetRule), default=OffsetRule.BACKWARD),
        Column("backward_window", _count), Column("forward_window", _count),
    ), ("code",)),
    FileSpec("work_centers", (Column("code", _text, True), Column("name", _opt_text, default="")), ("code",)),
    FileSpec("calendar", (
        Column("period", _period, True), Column("bucket", _enum(Bucket), True),
        Column("start_date", _date, True), Column("end_date", _date, True),
    ), ("period",)),
    FileSpec("bom", (Column("parent", _text, True), Column("child", _text, True), Column("qty_per", _positive, True)),
             ("parent", "child")),
    FileSpec("routings", (
        Column("item", _text, True), Column("sequence", _count, True), Column("work_center", _text, True),
        Column("run_min", _nonneg, True), Column("setup_min", _nonneg, default=0.0),
    ), ("item", "sequence")),
    FileSpec("capacity", (
        Column("work_center", _text, True), Column("period", _period, True),
        Column("regular_min", _nonneg, True), Column("overtime_min", _nonneg, default=0.0),
    ), ("work_center", "period")),
    FileSpec("forecasts", (
        Column("item", _text, True), Column("start_date", _date, True), Column("end_date", _date, True),
        Column("quantity", _nonneg, True),
    ), ("item", "start_date", "end_date")),
    FileSpec("orders", (
        Column("number", _text, True), Column("customer", _text, True), Column("item", _text, True),
        Column("quantity", _positive, True), Column("due_date", _date, True),
        Column("priority", _int, default=0), Column("status", _enum(OrderStatus), default=OrderStatus.OPEN),
    ), ("number",)),
    FileSpec("stock", (Column("item", _text, True), Column("on_hand", _nonneg, True)), ("item",)),
    FileSpec("receipts", (Column("item", _text, True), Column("due_date", _date, True), Column("quantity", _positive, True)),
             ("item", "due_date")),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass
class Row:
    line: int
    values: dict[str, Any]


@dataclass
class ImportResult:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = []
        for name, c in self.counts.items():
            parts.append(f"{name}: {c['rows']} rows ({c['inserted']} new, {c['updated']} changed)")
        return "; ".join(parts) if parts else "no files"


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, filename: str, line: int, column: str | None, reason: str) -> None:
        where = f"{filename}:{line}"
        self.items.append(f"{where}: column {column}: {reason}" if column else f"{where}: {reason}")


def parse_file(spec: FileSpec, text: str, problems: _Problems) -> list[Row]:
    """Parse one CSV text against its spec, adding every problem found; returns good rows."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        problems.add(spec.filename, 1, None, "file is empty (a header line is required)")
        return []
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    known = {c.name for c in spec.columns}
    bad_header = False
    for name in header:
        if name not in known:
            problems.add(spec.filename, 1, name, f"unknown column (expected some of: {', '.join(c.name for c in spec.columns)})")
            bad_header = True
    if len(set(header)) != len(header):
        problems.add(spec.filename, 1, None, "a column name appears twice")
        bad_header = True
    for col in spec.columns:
        if col.required and col.name not in header:
            problems.add(spec.filename, 1, col.name, "required column is missing")
            bad_header = True
    if bad_header:
        return []
    rows: list[Row] = []
    seen: dict[tuple[Any, ...], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.add(spec.filename, line, None, f"has {len(cells)} fields, the header has {len(header)}")
            continue
        raw = dict(zip(header, cells))
        values: dict[str, Any] = {}
        ok = True
        for col in spec.columns:
            cell = raw.get(col.name, "")
            if not cell.strip():
                if col.required:
                    problems.add(spec.filename, line, col.name, "is empty")
                    ok = False
                else:
                    values[col.name] = col.default
                continue
            try:
                values[col.name] = col.parse(cell)
            except CellError as exc:
                problems.add(spec.filename, line, col.name, str(exc))
                ok = False
        if not ok:
            continue
        key = tuple(values[k] for k in spec.key)
        if key in seen:
            shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key, key))
            problems.add(spec.filename, line, spec.key[0], f"duplicate key ({shown}), first on line {seen[key]}")
            continue
        seen[key] = line
        rows.append(Row(line, values))
    return rows


def read_dir(directory: Path) -> dict[str, str]:
    """Read the known CSV files present in ``directory``."""
    if not directory.is_dir():
        raise ValidationFailed([f"{directory}: not a directory"])
    texts = {}
    for spec in SPECS:
        path = directory / spec.filename
        if path.is_file():
            try:
                texts[spec.name] = path.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ValidationFailed([f"{spec.filename}: not UTF-8 text ({exc.reason})"]) from None
    if not texts:
        expected = ", ".join(s.filename for s in SPECS)
        raise ValidationFailed([f"{directory}: no known CSV file found (expected any of {expected})"])
    return texts


def import_texts(uow: UnitOfWork, texts: dict[str, str]) -> ImportResult:
    """Validate and upsert the given CSV texts (file stem -> text) in one transaction.

    Raises ValidationFailed listing every problem; nothing is written then.
    """
    problems = _Problems()
    parsed = {name: parse_file(SPEC_BY_NAME[name], text, problems) for name, text in texts.items()}
    with uow:
        s = uow.session
        assert s is not None
        items = {i.code: i for i in s.scalars(select(m.Item))}
        wcs = {w.code: w for w in s.scalars(select(m.WorkCenter))}
        periods = {p.seq: p for p in s.scalars(select(m.Period))}
        _validate_references(s, parsed, items, wcs, periods, problems)
        if problems.items:
            raise ValidationFailed(problems.items)
        result = ImportResult()
        _write(s, parsed, items, wcs, periods, result)
        uow.commit()
    return result


def import_dir(uow: UnitOfWork, directory: Path) -> ImportResult:
    """Import every known CSV file in ``directory`` (see import_texts)."""
    return import_texts(uow, read_dir(directory))


def _validate_references(s, parsed, items, wcs, periods, problems: _Problems) -> None:  # type: ignore[no-untyped-def]
    item_kind = {code: i.kind for code, i in items.items()}
    for row in parsed.get("items", []):
        item_kind[row.values["code"]] = row.values["kind"]
    wc_codes = set(wcs) | {r.values["code"] for r in parsed.get("work_centers", [])}
    period_seqs = set(periods) | {r.values["period"] for r in parsed.get("calendar", [])}

    def need_item(fname: str, row: Row, column: str) -> None:
        code = row.values[column]
        if code not in item_kind:
            problems.add(fname, row.line, column, f"unknown item {code!r}")

    # calendar: dates consistent and not overlapping with each other or stored periods
    cal = {seq: (p.start_date, p.end_date, p.bucket) for seq, p in periods.items()}
    for row in parsed.get("calendar", []):
        v = row.values
        if v["end_date"] < v["start_date"]:
            problems.add("calendar.csv", row.line, "end_date", f"{v['end_date']} is before start_date {v['start_date']}")
        cal[v["period"]] = (v["start_date"], v["end_date"], v["bucket"])
    ordered = sorted(cal.items())
    cal_lines = {r.values["period"]: r.line for r in parsed.get("calendar", [])}
    for (s1, (a1, b1, _)), (s2, (a2, b2, _)) in zip(ordered, ordered[1:]):
        if a2 <= b1 and s2 in cal_lines:
            problems.add("calendar.csv", cal_lines[s2], "start_date",
                         f"period {s2} starts {a2}, before period {s1} ends ({b1})")
    for row in parsed.get("forecasts", []):
        if row.values["end_date"] < row.values["start_date"]:
            problems.add("forecasts.csv", row.line, "end_date",
                         f"{row.values['end_date']} is before start_date {row.values['start_date']}")
    for row in parsed.get("bom", []):
        need_item("bom.csv", row, "parent")
        need_item("bom.csv", row, "child")
        parent = row.values["parent"]
        if item_kind.get(parent) == ItemKind.MATERIAL:
            problems.add("bom.csv", row.line, "parent", f"{parent!r} is a purchased material and cannot have components")
    for row in parsed.get("routings", []):
        need_item("routings.csv", row, "item")
        if row.values["work_center"] not in wc_codes:
            problems.add("routings.csv", row.line, "work_center", f"unknown work center {row.values['work_center']!r}")
    for row in parsed.get("capacity", []):
        if row.values["work_center"] not in wc_codes:
            problems.add("capacity.csv", row.line, "work_center", f"unknown work center {row.values['work_center']!r}")
        if row.values["period"] not in period_seqs:
            problems.add("capacity.csv", row.line, "period", f"unknown period {row.values['period']} (not in the calendar)")
    for fname, rows in (("forecasts.csv", parsed.get("forecasts", [])), ("orders.csv", parsed.get("orders", [])),
                        ("stock.csv", parsed.get("stock", [])), ("receipts.csv", parsed.get("receipts", []))):
        for row in rows:
            need_item(fname, row, "item")
    if "bom" in parsed:
        _check_bom_cycles(s, parsed["bom"], items, problems)


def _check_bom_cycles(s, bom_rows: list[Row], items, problems: _Problems) -> None:  # type: ignore[no-untyped-def]
    code_of = {i.id: code for code, i in items.items()}
    graph = nx.DiGraph()
    for line in s.scalars(select(m.BomLine)):
        graph.add_edge(code_of[line.child_id], code_of[line.parent_id], line=None)
    for row in bom_rows:
        graph.add_edge(row.values["child"], row.values["parent"], line=row.line)
    seen: set[frozenset[str]] = set()
    for cycle in nx.simple_cycles(graph):
        key = frozenset(cycle)
        if key in seen:
            continue
        seen.add(key)
        # report the cycle parent-first as a user reads a BOM: parent -> child -> ... -> parent
        edges = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
        from_file = [(graph.edges[e]["line"], e) for e in edges if graph.edges[e]["line"] is not None]
        line, (_, parent) = min(from_file)
        # start the reported cycle at the parent of the offending row: parent -> child -> ... -> parent
        names = list(reversed(cycle))
        start = names.index(parent)
        names = names[start:] + names[:start]
        problems.add("bom.csv", line, "child", "BOM cycle: " + " -> ".join(names + names[:1]))
        if len(seen) >= 20:
            break


def _upsert(result: ImportResult, name: str, existing: dict[Any, Any], key: Any, values: dict[str, Any],
            factory: Callable[[], Any], session) -> Any:  # type: ignore[no-untyped-def]
    counts = result.counts.setdefault(name, {"rows": 0, "inserted": 0, "updated": 0})
    counts["rows"] += 1
    obj = existing.get(key)
    if obj is None:
        obj = factory()
        for attr, value in values.items():
            setattr(obj, attr, value)
        session.add(obj)
        existing[key] = obj
        counts["inserted"] += 1
        return obj
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    counts["updated"] += int(changed)
    return obj


def _write(s, parsed, items, wcs, periods, result: ImportResult) -> None:  # type: ignore[no-untyped-def]
    for row in parsed.get("items", []):
        v = row.values
        _upsert(result, "items", items, v["code"], dict(v), m.Item, s)
    for row in parsed.get("work_centers", []):
        _upsert(result, "work_centers", wcs, row.values["code"], dict(row.values), m.WorkCenter, s)
    for row in parsed.get("calendar", []):
        v = row.values
        _upsert(result, "calendar", periods, v["period"],
                {"seq": v["period"], "bucket": v["bucket"], "start_date": v["start_date"], "end_date": v["end_date"]},
                m.Period, s)
    s.flush()
    if "bom" in parsed:
        existing = {(b.parent_id, b.child_id): b for b in s.scalars(select(m.BomLine))}
        for row in parsed["bom"]:
            p, c = items[row.values["parent"]], items[row.values["child"]]
            _upsert(result, "bom", existing, (p.id, c.id),
                    {"parent_id": p.id, "child_id": c.id, "qty_per": row.values["qty_per"]}, m.BomLine, s)
    if "routings" in parsed:
        existing = {(o.item_id, o.sequence): o for o in s.scalars(select(m.Operation))}
        for row in parsed["routings"]:
            v = row.values
            it, wc = items[v["item"]], wcs[v["work_center"]]
            _upsert(result, "routings", existing, (it.id, v["sequence"]),
                    {"item_id": it.id, "sequence": v["sequence"], "work_center_id": wc.id,
                     "run_min": v["run_min"], "setup_min": v["setup_min"]}, m.Operation, s)
    if "capacity" in parsed:
        existing = {(c.work_center_id, c.period_id): c for c in s.scalars(select(m.Capacity))}
        for row in parsed["capacity"]:
            v = row.values
            wc, per = wcs[v["work_center"]], periods[v["period"]]
            _upsert(result, "capacity", existing, (wc.id, per.id),
                    {"work_center_id": wc.id, "period_id": per.id, "regular_min": v["regular_min"],
                     "overtime_min": v["overtime_min"]}, m.Capacity, s)
    if "forecasts" in parsed:
        existing = {(f.item_id, f.start_date, f.end_date): f for f in s.scalars(select(m.Forecast))}
        for row in parsed["forecasts"]:
            v = row.values
            it = items[v["item"]]
            _upsert(result, "forecasts", existing, (it.id, v["start_date"], v["end_date"]),
                    {"item_id": it.id, "start_date": v["start_date"], "end_date": v["end_date"],
                     "quantity": v["quantity"]}, m.Forecast, s)
    if "orders" in parsed:
        existing = {o.number: o for o in s.scalars(select(m.CustomerOrder))}
        for row in parsed["orders"]:
            v = dict(row.values)
            v["item_id"] = items[v.pop("item")].id
            _upsert(result, "orders", existing, v["number"], v, m.CustomerOrder, s)
    if "stock" in parsed:
        existing = {st.item_id: st for st in s.scalars(select(m.Stock))}
        for row in parsed["stock"]:
            it = items[row.values["item"]]
            _upsert(result, "stock", existing, it.id, {"item_id": it.id, "on_hand": row.values["on_hand"]}, m.Stock, s)
    if "receipts" in parsed:
        existing = {(r.item_id, r.due_date): r for r in s.scalars(select(m.ScheduledReceipt))}
        for row in parsed["receipts"]:
            v = row.values
            it = items[v["item"]]
            _upsert(result, "receipts", existing, (it.id, v["due_date"]),
                    {"item_id": it.id, "due_date": v["due_date"], "quantity": v["quantity"]}, m.ScheduledReceipt, s)
    s.flush()


# ---------------------------------------------------------------- export

def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def export_texts(uow: UnitOfWork) -> dict[str, str]:
    """Return every file's CSV text (file stem -> text), rows sorted by business key."""
    with uow:
        s = uow.session
        assert s is not None
        code = {i.id: i.code for i in s.scalars(select(m.Item))}
        wc = {w.id: w.code for w in s.scalars(select(m.WorkCenter))}
        seq = {p.id: p.seq for p in s.scalars(select(m.Period))}
        rows: dict[str, Iterable[list[Any]]] = {
            "items": [[i.code, i.name, i.kind, i.unit, i.lead_time_periods, i.stocked, float(i.safety_stock),
                       i.offset_rule, i.backward_window, i.forward_window] for i in s.scalars(select(m.Item))],
            "work_centers": [[w.code, w.name] for w in s.scalars(select(m.WorkCenter))],
            "calendar": [[p.seq, p.bucket, p.start_date, p.end_date] for p in s.scalars(select(m.Period))],
            "bom": [[code[b.parent_id], code[b.child_id], float(b.qty_per)] for b in s.scalars(select(m.BomLine))],
            "routings": [[code[o.item_id], o.sequence, wc[o.work_center_id], float(o.run_min), float(o.setup_min)]
                         for o in s.scalars(select(m.Operation))],
            "capacity": [[wc[c.work_center_id], seq[c.period_id], float(c.regular_min), float(c.overtime_min)]
                         for c in s.scalars(select(m.Capacity))],
            "forecasts": [[code[f.item_id], f.start_date, f.end_date, float(f.quantity)]
                          for f in s.scalars(select(m.Forecast))],
            "orders": [[o.number, o.customer, code[o.item_id], float(o.quantity), o.due_date, o.priority, o.status]
                       for o in s.scalars(select(m.CustomerOrder))],
            "stock": [[code[st.item_id], float(st.on_hand)] for st in s.scalars(select(m.Stock))],
            "receipts": [[code[r.item_id], r.due_date, float(r.quantity)] for r in s.scalars(select(m.ScheduledReceipt))],
        }
    out = {}
    for spec in SPECS:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.name for c in spec.columns])
        key_len = len(spec.key)
        body = sorted(([_fmt(v) for v in r] for r in rows[spec.name]), key=lambda r: _sort_key(r[:key_len]))
        writer.writerows(body)
        out[spec.name] = buf.getvalue()
    return out


def _sort_key(cells: list[str]) -> tuple[Any, ...]:
    return tuple((0, int(c), "") if c.isdigit() else (1, 0, c) for c in cells)


def export_dir(uow: UnitOfWork, directory: Path) -> list[Path]:
    """Write every CSV file into ``directory`` (created if missing); returns the paths."""
    texts = export_texts(uow)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = directory / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
