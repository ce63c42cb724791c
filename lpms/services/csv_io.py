"""CSV import and export of master data, demand and stock.

Import is all or nothing: every file is parsed and validated row by row first, every
problem is reported as ``FILE:LINE: column COLUMN: reason``, and only a clean set is written,
in one transaction that holds the import lock (imports run one at a time). Rows are upserted
by business key, so re-importing is idempotent. Formats, limits and rules are documented in
docs/csv-formats.md.

Every error leaving this module is an ``LpmsError``: ValidationFailed for rejected files,
NotFound / InvalidInput for a missing or unusable directory, Busy when another import holds
the lock, DatabaseUnavailable (or another category, see lpms.db.session.database_error) when
the database fails.
"""
from __future__ import annotations

import csv
import datetime as dt
import errno
import io
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from lpms.db import locks
from lpms.db import models as m
from lpms.db.session import UnitOfWork, translated_errors
from lpms.domain.enums import Bucket, ItemKind, OffsetRule, OrderStatus
from lpms.domain.errors import InvalidInput, NotFound, Unavailable, ValidationFailed
from lpms.domain.limits import (
    MAX_CAPACITY_MIN,
    MAX_PERIOD,
    MAX_PRIORITY,
    MAX_QTY_PER,
    MAX_QUANTITY,
    MAX_RUN_MIN,
    MAX_SEQUENCE,
    MIN_NONZERO,
)
from lpms.planning.network import bom_cycles

IMPORT_LOCK_TIMEOUT_S = 30.0  # how long an import waits for another one to finish
BUSY_MESSAGE = "another import is running; try again"


class CellError(ValueError):
    """A cell's value is wrong; caught in parse_file and reported with file, line and column."""


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (decoded with surrogateescape)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # control characters and line separators
_LINE_END = re.compile(r"\r\n|\r|\n")


def _clean(text: str) -> str:
    """``text`` safe to print: undecodable bytes as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _show(raw: str, limit: int = 40) -> str:
    """A cell as quoted in a message: stripped, printable, at most ``limit`` characters."""
    text = _clean(raw.strip())
    return repr(text[:limit] + "…" if len(text) > limit else text)


def _short(text: str, limit: int = 40) -> str:
    return text[:limit] + "…" if len(text) > limit else text


def _limit(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:.6f}"


def _cell_problem(raw: str) -> str | None:
    """What makes any cell unacceptable whatever its column: bytes that are not UTF-8, control characters."""
    bad = _SURROGATE.search(raw)
    if bad:
        return f"is not UTF-8 text (byte 0x{ord(bad.group()) - 0xDC00:02X}); save the file as UTF-8"
    bad = _CONTROL.search(raw.strip())
    if bad:
        return f"contains a control character (U+{ord(bad.group()):04X})"
    return None


def _text(max_len: int, *, code: bool = False) -> Callable[[str], str]:
    """Free text (code=False) or a code: at most ``max_len`` characters; codes also without
    invisible formatting characters (zero-width space, direction marks, byte order mark)."""

    def parse(raw: str) -> str:
        text = raw.strip()
        if len(text) > max_len:
            raise CellError(f"is {len(text):,} characters long (at most {max_len})")
        if code:
            for ch in text:
                if unicodedata.category(ch) == "Cf":
                    raise CellError(f"contains an invisible formatting character (U+{ord(ch):04X})")
        return text

    return parse


def _number(maximum: float, *, positive: bool = False) -> Callable[[str], float]:
    """A decimal number (ASCII digits, optional exponent): 0 (or > 0) up to ``maximum``;
    non-zero values at least MIN_NONZERO."""

    def parse(raw: str) -> float:
        text = raw.strip()
        if not _NUMBER.fullmatch(text):
            raise CellError(f"{_show(raw)} is not a number")
        value = float(text)
        if value < 0:
            raise CellError(f"{_short(text)} is negative")
        if positive and value == 0:
            raise CellError("must be greater than 0")
        if value > maximum or not math.isfinite(value):
            raise CellError(f"{_short(text)} is too large (at most {_limit(maximum)})")
        if 0 < value < MIN_NONZERO:
            raise CellError(f"{_short(text)} is too small (non-zero values are at least {_limit(MIN_NONZERO)})")
        return value + 0.0  # -0 -> 0

    return parse


def _whole(minimum: int, maximum: int, *, below: str | None = None) -> Callable[[str], int]:
    """A whole number of ASCII digits between ``minimum`` and ``maximum``."""

    def parse(raw: str) -> int:
        text = raw.strip()
        if not _WHOLE.fullmatch(text):
            raise CellError(f"{_show(raw)} is not a whole number")
        digits = text.lstrip("+-").lstrip("0")
        value = int(text) if len(digits) <= 30 else (-1 if text.startswith("-") else 1) * 10 ** 30
        if value < minimum:
            if below:
                raise CellError(below)
            raise CellError(f"{_short(text)} is negative" if minimum == 0 else
                            f"{_short(text)} is too small (at least {minimum:,})")
        if value > maximum:
            raise CellError(f"{_short(text)} is too large (at most {maximum:,})")
        return value

    return parse


def _date(raw: str) -> dt.date:
    text = raw.strip()
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CellError(f"{_show(raw)} is not a date (YYYY-MM-DD)") from None


def _bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n"):
        return False
    raise CellError(f"{_show(raw)} is not true or false")


def _enum(enum_cls: type[StrEnum]) -> Callable[[str], StrEnum]:
    def parse(raw: str) -> StrEnum:
        try:
            return enum_cls(raw.strip())
        except ValueError:
            allowed = ", ".join(e.value for e in enum_cls)
            raise CellError(f"{_show(raw)} is not one of {allowed}") from None

    return parse


def _length(column: Any) -> int:
    """The length of a model's String column, so the importer and the schema cannot disagree."""
    return int(column.property.columns[0].type.length)


_code = _text(_length(m.Item.code), code=True)
_wc_code = _text(_length(m.WorkCenter.code), code=True)
_quantity = _number(MAX_QUANTITY)
_minutes = _number(MAX_RUN_MIN)
_capacity = _number(MAX_CAPACITY_MIN)
_periods = _whole(0, MAX_PERIOD)
_period = _whole(1, MAX_PERIOD, below="periods are numbered from 1")


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
    code_key: bool = False  # the key is one code, unique ignoring letter case

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


SPECS: tuple[FileSpec, ...] = (
    FileSpec("items", (
        Column("code", _code, True), Column("name", _text(_length(m.Item.name)), default=""),
        Column("kind", _enum(ItemKind), True), Column("unit", _text(_length(m.Item.unit)), default="pcs"),
        Column("lead_time_periods", _periods, default=0), Column("stocked", _bool, default=False),
        Column("safety_stock", _quantity, default=0.0),
        Column("offset_rule", _enum(OffsetRule), default=OffsetRule.BACKWARD),
        Column("backward_window", _periods), Column("forward_window", _periods),
    ), ("code",), code_key=True),
    FileSpec("work_centers", (Column("code", _wc_code, True),
                              Column("name", _text(_length(m.WorkCenter.name)), default="")), ("code",), code_key=True),
    FileSpec("calendar", (
        Column("period", _period, True), Column("bucket", _enum(Bucket), True),
        Column("start_date", _date, True), Column("end_date", _date, True),
    ), ("period",)),
    FileSpec("bom", (Column("parent", _code, True), Column("child", _code, True),
                     Column("qty_per", _number(MAX_QTY_PER, positive=True), True)), ("parent", "child")),
    FileSpec("routings", (
        Column("item", _code, True), Column("sequence", _whole(0, MAX_SEQUENCE), True),
        Column("work_center", _wc_code, True), Column("run_min", _minutes, True), Column("setup_min", _minutes, default=0.0),
    ), ("item", "sequence")),
    FileSpec("capacity", (
        Column("work_center", _wc_code, True), Column("period", _period, True),
        Column("regular_min", _capacity, True), Column("overtime_min", _capacity, default=0.0),
    ), ("work_center", "period")),
    FileSpec("forecasts", (
        Column("item", _code, True), Column("start_date", _date, True), Column("end_date", _date, True),
        Column("quantity", _quantity, True),
    ), ("item", "start_date", "end_date")),
    FileSpec("orders", (
        Column("number", _text(_length(m.CustomerOrder.number), code=True), True),
        Column("customer", _text(_length(m.CustomerOrder.customer)), True), Column("item", _code, True),
        Column("quantity", _number(MAX_QUANTITY, positive=True), True), Column("due_date", _date, True),
        Column("priority", _whole(-MAX_PRIORITY, MAX_PRIORITY), default=0),
        Column("status", _enum(OrderStatus), default=OrderStatus.OPEN),
    ), ("number",), code_key=True),
    FileSpec("stock", (Column("item", _code, True), Column("on_hand", _quantity, True)), ("item",)),
    FileSpec("receipts", (Column("item", _code, True), Column("due_date", _date, True),
                          Column("quantity", _number(MAX_QUANTITY, positive=True), True)), ("item", "due_date")),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}
KNOWN_FILES = ", ".join(s.filename for s in SPECS)


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

    def add(self, filename: str, line: int | None, column: str | None, reason: str) -> None:
        where = _clean(filename) if line is None else f"{_clean(filename)}:{line}"
        self.items.append(f"{where}: column {_clean(column)}: {reason}" if column else f"{where}: {reason}")


# ---------------------------------------------------------------- reading files

def decode(filename: str, data: bytes | str, problems: _Problems) -> str | None:
    """The file's text. Bytes that are not UTF-8 are kept as surrogate escapes, so each is
    reported with its line and column; a UTF-16 file is rejected as a whole."""
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            problems.add(filename, 1, None, "the file is UTF-16 text; save it as UTF-8")
            return None
        text = data.decode("utf-8", "surrogateescape")
    return text[1:] if text.startswith("\ufeff") else text


def split_fields(line: str) -> tuple[list[str], tuple[int, str] | None]:
    """One line's fields (RFC 4180 quoting, ``""`` inside quotes). A cell never spans lines, so a
    quote still open at the end of the line is an error; returns (fields so far, (index, reason))."""
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        j = i
        while j < n and line[j] in " \t":
            j += 1
        if j < n and line[j] == '"':
            parts = []
            k = j + 1
            while True:
                q = line.find('"', k)
                if q < 0:
                    return fields, (len(fields), "the quote opened here is not closed on this line "
                                                 "(a cell cannot span lines)")
                parts.append(line[k:q])
                if q + 1 < n and line[q + 1] == '"':
                    parts.append('"')
                    k = q + 2
                    continue
                break
            i = q + 1
            while i < n and line[i] in " \t":
                i += 1
            if i < n and line[i] != ",":
                return fields, (len(fields), "unexpected text after the closing quote")
            fields.append("".join(parts))
        else:
            c = line.find(",", i)
            c = n if c < 0 else c
            fields.append(line[i:c])
            i = c
        if i >= n:
            return fields, None
        i += 1


def parse_file(spec: FileSpec, text: str, problems: _Problems, filename: str | None = None) -> list[Row]:
    """Parse one CSV text against its spec, adding every problem found; returns good rows."""
    fname = filename or spec.filename
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not lines[0].strip():
        problems.add(fname, 1, None, "the first line must be the header (column names)")
        return []
    header, error = split_fields(lines[0])
    if error:
        problems.add(fname, 1, f"#{error[0] + 1}", error[1])
        return []
    header = [h.strip() for h in header]
    known = {c.name for c in spec.columns}
    bad_header = False
    for index, name in enumerate(header):
        label = name if name else f"#{index + 1}"
        cell = _cell_problem(name)
        if cell:
            problems.add(fname, 1, _show(name), cell)
            bad_header = True
        elif not name:
            problems.add(fname, 1, label, "the header cell is empty (a trailing comma?)")
            bad_header = True
        elif name not in known:
            problems.add(fname, 1, _show(name) if len(name) > 40 else name,
                         f"unknown column (expected some of: {', '.join(c.name for c in spec.columns)})")
            bad_header = True
        elif name in header[:index]:
            problems.add(fname, 1, name, "appears twice in the header")
            bad_header = True
    for col in spec.columns:
        if col.required and col.name not in header:
            problems.add(fname, 1, col.name, "required column is missing")
            bad_header = True
    if bad_header:
        return []
    rows: list[Row] = []
    seen: dict[tuple[Any, ...], tuple[int, tuple[Any, ...]]] = {}
    for line_no, line in enumerate(lines[1:], start=2):
        cells, error = split_fields(line)
        if error:
            index, reason = error
            problems.add(fname, line_no, header[index] if index < len(header) else f"#{index + 1}", reason)
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            problems.add(fname, line_no, header[len(cells)],
                         f"is missing (the line has {len(cells)} fields, the header {len(header)})")
            continue
        if len(cells) > len(header):
            problems.add(fname, line_no, f"#{len(header) + 1}",
                         f"is one field too many (the line has {len(cells)} fields, the header {len(header)})")
            continue
        raw = dict(zip(header, cells))
        values: dict[str, Any] = {}
        ok = True
        for col in spec.columns:
            cell = raw.get(col.name, "")
            if not cell.strip():
                if col.required:
                    problems.add(fname, line_no, col.name, "is empty")
                    ok = False
                else:
                    values[col.name] = col.default
                continue
            bad = _cell_problem(cell)
            try:
                if bad:
                    raise CellError(bad)
                values[col.name] = col.parse(cell)
            except CellError as exc:
                problems.add(fname, line_no, col.name, str(exc))
                ok = False
        if not ok:
            continue
        key = tuple(values[k] for k in spec.key)
        folded = tuple(v.casefold() for v in key) if spec.code_key else key
        if folded in seen:
            first_line, first_key = seen[folded]
            shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key, key))
            reason = f"duplicate key ({shown}), first on line {first_line}"
            if first_key != key:
                reason += f" as {first_key[0]!r} (codes are unique ignoring letter case)"
            problems.add(fname, line_no, spec.key[0], reason)
            continue
        seen[folded] = (line_no, key)
        rows.append(Row(line_no, values))
    return rows


@dataclass(frozen=True)
class SourceFile:
    """One file to import: the spec it matched, its name as found, its content."""

    spec: FileSpec
    filename: str
    data: bytes | str


def scan_dir(directory: Path) -> tuple[list[SourceFile], list[str]]:
    """The known CSV files in ``directory`` (names matched ignoring letter case) and the
    problems with the others: an unknown ``*.csv`` file, two names for one file, an
    unreadable file. Files not ending in ``.csv`` are not import files and are left alone."""
    shown = _clean(str(directory))
    try:
        if not directory.exists():
            raise NotFound(f"{shown}: no such directory")
        if not directory.is_dir():
            raise InvalidInput(f"{shown}: not a directory")
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise InvalidInput(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    found: dict[str, SourceFile] = {}
    problems: list[str] = []
    for path in entries:
        name = _clean(path.name)
        if not path.name.casefold().endswith(".csv"):
            continue
        spec = SPEC_BY_NAME.get(path.name[:-4].casefold())
        if spec is None:
            problems.append(f"{name}: unknown file (expected any of {KNOWN_FILES}; names ignore letter case)")
            continue
        if spec.name in found:
            problems.append(f"{name}: names the same file as {found[spec.name].filename} (file names ignore "
                            f"letter case); keep one of them")
            continue
        try:
            if not path.is_file():
                problems.append(f"{name}: not a regular file")
                continue
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{name}: cannot be read ({exc.strerror})")
            continue
        found[spec.name] = SourceFile(spec, name, data)
    if not found and not problems:
        raise ValidationFailed([f"{shown}: no known CSV file found (expected any of {KNOWN_FILES})"])
    return [found[s.name] for s in SPECS if s.name in found], problems


# ---------------------------------------------------------------- import

def import_texts(uow: UnitOfWork, texts: Mapping[str, str | bytes], *, actor: str, now: dt.datetime,
                 filenames: Mapping[str, str] | None = None,
                 lock_timeout: float = IMPORT_LOCK_TIMEOUT_S) -> ImportResult:
    """Validate and upsert the given CSV texts (file stem -> text or UTF-8 bytes) in one transaction,
    recording who imported what (an audit row) at ``now``.

    ``filenames`` (stem -> name) is how files are named in messages (default ``STEM.csv``).
    Waits up to ``lock_timeout`` seconds for another import to finish, then raises Busy.
    Raises ValidationFailed listing every problem; nothing is written then.
    """
    problems = _Problems()
    sources = []
    for name, data in texts.items():
        spec = SPEC_BY_NAME.get(name)
        if spec is None:
            problems.add(f"{name}.csv", None, None, f"unknown file (expected any of {KNOWN_FILES})")
            continue
        sources.append(SourceFile(spec, (filenames or {}).get(name, spec.filename), data))
    return _import(uow, sources, problems, lock_timeout, actor, now)


def import_dir(uow: UnitOfWork, directory: Path, *, actor: str, now: dt.datetime,
               lock_timeout: float = IMPORT_LOCK_TIMEOUT_S) -> ImportResult:
    """Import every known CSV file in ``directory`` (file names match ignoring letter case; an
    unknown ``*.csv`` file is an error, other files are left alone); see import_texts."""
    sources, file_problems = scan_dir(Path(directory))
    problems = _Problems()
    problems.items.extend(file_problems)
    return _import(uow, sources, problems, lock_timeout, actor, now)


def _import(uow: UnitOfWork, sources: list[SourceFile], problems: _Problems, lock_timeout: float, actor: str,
            now: dt.datetime) -> ImportResult:
    parsed: dict[str, list[Row]] = {}
    names: dict[str, str] = {}
    for src in sorted(sources, key=lambda f: SPECS.index(f.spec)):
        names[src.spec.name] = src.filename
        text = decode(src.filename, src.data, problems)
        parsed[src.spec.name] = [] if text is None else parse_file(src.spec, text, problems, src.filename)
    for spec in SPECS:
        names.setdefault(spec.name, spec.filename)
    with translated_errors(), uow:
        s = uow.session
        assert s is not None
        # first statement of the transaction: everything read below is what the last import committed
        locks.acquire(s, locks.IMPORT, timeout=lock_timeout, busy_message=BUSY_MESSAGE)
        items = {i.code: i for i in s.scalars(select(m.Item))}
        wcs = {w.code: w for w in s.scalars(select(m.WorkCenter))}
        periods = {p.seq: p for p in s.scalars(select(m.Period))}
        _Validator(s, parsed, names, items, wcs, periods, problems).run()
        if problems.items:
            raise ValidationFailed(problems.items)
        result = ImportResult()
        _write(s, parsed, items, wcs, periods, result, now)
        uow.audit.add(actor=actor, action="import", entity="master_data", entity_key="csv", at=now,
                      detail={"files": [names[n] for n in parsed], "after": result.counts})
        uow.commit()
    return result


class _Codes:
    """Codes known to the import (stored and imported): exact lookup, and a hint when a
    reference differs from a known code only in letter case."""

    def __init__(self, what: str, codes: Iterable[str]) -> None:
        self.what = what
        self.exact = set(codes)
        self.folded: dict[str, str] = {}
        for code in sorted(self.exact):
            self.folded.setdefault(code.casefold(), code)

    def problem(self, code: str) -> str | None:
        if code in self.exact:
            return None
        hint = self.folded.get(code.casefold())
        if hint is not None:
            return (f"unknown {self.what} {code!r} (did you mean {hint!r}? references must match a code exactly, "
                    f"including letter case)")
        return f"unknown {self.what} {code!r}"


class _Validator:
    """Checks across rows, files and the stored data (the rows themselves are already parsed)."""

    def __init__(self, s: Session, parsed: dict[str, list[Row]], names: dict[str, str], items: dict[str, m.Item],
                 wcs: dict[str, m.WorkCenter], periods: dict[int, m.Period], problems: _Problems) -> None:
        self.s, self.parsed, self.names, self.problems = s, parsed, names, problems
        self.items, self.wcs, self.periods = items, wcs, periods
        self.code_of = {i.id: code for code, i in items.items()}

    def add(self, file: str, row: Row, column: str, reason: str) -> None:
        self.problems.add(self.names[file], row.line, column, reason)

    def rows(self, file: str) -> list[Row]:
        return self.parsed.get(file, [])

    def run(self) -> None:
        self.case_duplicates("items", {code for code in self.items}, "code")
        self.case_duplicates("work_centers", set(self.wcs), "code")
        if self.rows("orders"):
            numbers = set(self.s.scalars(select(m.CustomerOrder.number)))
            self.case_duplicates("orders", numbers, "number")
        self.item_kind = {code: i.kind for code, i in self.items.items()}
        for row in self.rows("items"):
            self.item_kind[row.values["code"]] = row.values["kind"]
        self.item_codes = _Codes("item", self.item_kind)
        self.wc_codes = _Codes("work center", set(self.wcs) | {r.values["code"] for r in self.rows("work_centers")})
        self.calendar()
        self.references()
        self.materials()
        if self.rows("bom"):
            graph = self.bom_graph()
            if not self.cycles(graph):
                self.path_products(graph)

    def case_duplicates(self, file: str, stored: set[str], column: str) -> None:
        """A new code equal to a stored one but for letter case is a duplicate key."""
        folded: dict[str, str] = {}
        for code in sorted(stored):
            folded.setdefault(code.casefold(), code)
        for row in self.rows(file):
            code = row.values[column]
            other = folded.get(code.casefold())
            if code not in stored and other is not None:
                self.add(file, row, column, f"duplicate key ({column}={code}): {other!r} is already stored "
                                            f"(codes are unique ignoring letter case)")

    def calendar(self) -> None:
        """Dates consistent, periods in date order and not overlapping each other or stored periods."""
        cal = {seq: (p.start_date, p.end_date) for seq, p in self.periods.items()}
        lines: dict[int, Row] = {}
        for row in self.rows("calendar"):
            v = row.values
            if v["end_date"] < v["start_date"]:
                self.add("calendar", row, "end_date", f"{v['end_date']} is before start_date {v['start_date']}")
            cal[v["period"]] = (v["start_date"], v["end_date"])
            lines[v["period"]] = row
        ordered = sorted(cal.items())
        for (s1, (_, b1)), (s2, (a2, _)) in zip(ordered, ordered[1:]):
            if a2 <= b1:
                if s2 in lines:
                    self.add("calendar", lines[s2], "start_date", f"period {s2} starts {a2}, before period {s1} ends ({b1})")
                elif s1 in lines:
                    self.add("calendar", lines[s1], "end_date", f"period {s1} ends {b1}, after period {s2} starts ({a2})")
        for row in self.rows("forecasts"):
            if row.values["end_date"] < row.values["start_date"]:
                self.add("forecasts", row, "end_date",
                         f"{row.values['end_date']} is before start_date {row.values['start_date']}")

    def need(self, codes: _Codes, file: str, row: Row, column: str) -> bool:
        problem = codes.problem(row.values[column])
        if problem:
            self.add(file, row, column, problem)
        return problem is None

    def references(self) -> None:
        period_seqs = set(self.periods) | {r.values["period"] for r in self.rows("calendar")}
        for row in self.rows("bom"):
            self.need(self.item_codes, "bom", row, "parent")
            self.need(self.item_codes, "bom", row, "child")
            parent = row.values["parent"]
            if self.item_kind.get(parent) == ItemKind.MATERIAL:
                self.add("bom", row, "parent", f"{parent!r} is a purchased material and cannot have components")
        for row in self.rows("routings"):
            if self.need(self.item_codes, "routings", row, "item") and \
                    self.item_kind[row.values["item"]] == ItemKind.MATERIAL:
                self.add("routings", row, "item",
                         f"{row.values['item']!r} is a purchased material and cannot have a routing")
            self.need(self.wc_codes, "routings", row, "work_center")
        for row in self.rows("capacity"):
            self.need(self.wc_codes, "capacity", row, "work_center")
            if row.values["period"] not in period_seqs:
                self.add("capacity", row, "period", f"unknown period {row.values['period']} (not in the calendar)")
        for file in ("forecasts", "orders", "stock", "receipts"):
            for row in self.rows(file):
                self.need(self.item_codes, file, row, "item")

    def materials(self) -> None:
        """An item imported as a purchased material must not keep stored components or routing steps."""
        new_materials = {r.values["code"]: r for r in self.rows("items") if r.values["kind"] == ItemKind.MATERIAL}
        stored = {code: i.id for code, i in self.items.items() if code in new_materials}
        if not stored:
            return
        ids = list(stored.values())
        components: dict[int, list[str]] = {}
        for parent_id, child_id in self.s.execute(select(m.BomLine.parent_id, m.BomLine.child_id)
                                                  .where(m.BomLine.parent_id.in_(ids))):
            components.setdefault(parent_id, []).append(self.code_of[child_id])
        steps: dict[int, list[int]] = {}
        for item_id, seq in self.s.execute(select(m.Operation.item_id, m.Operation.sequence)
                                           .where(m.Operation.item_id.in_(ids))):
            steps.setdefault(item_id, []).append(seq)
        for code, item_id in stored.items():
            row = new_materials[code]
            if item_id in components:
                self.add("items", row, "kind", f"{code!r} cannot be a purchased material: it has components "
                                               f"({_list(sorted(components[item_id]))}) stored by an earlier import")
            if item_id in steps:
                self.add("items", row, "kind", f"{code!r} cannot be a purchased material: it has a routing "
                                               f"(sequence {_list(sorted(steps[item_id]))}) stored by an earlier import")

    def bom_graph(self) -> nx.DiGraph:
        """Edges child -> parent with qty and line (None: stored), stored lines overlaid by the file."""
        graph = nx.DiGraph()
        for line in self.s.scalars(select(m.BomLine)):
            graph.add_edge(self.code_of[line.child_id], self.code_of[line.parent_id], line=None, qty=line.qty_per)
        for row in self.rows("bom"):
            v = row.values
            if v["parent"] in self.item_kind and v["child"] in self.item_kind:
                graph.add_edge(v["child"], v["parent"], line=row, qty=v["qty_per"])
        return graph

    def cycles(self, graph: nx.DiGraph) -> bool:
        """Report BOM cycles (each once, parent first, on the line of the file closing it)."""
        cycles = bom_cycles(graph)
        for names in cycles:
            # the edge parent -> child of each step; report on the file line that closes the cycle
            steps = [(names[i], names[(i + 1) % len(names)]) for i in range(len(names))]
            from_file = [(graph.edges[child, parent]["line"].line, k) for k, (parent, child) in enumerate(steps)
                         if graph.edges[child, parent]["line"] is not None]
            line, start = min(from_file)
            names = names[start:] + names[:start]
            self.problems.add(self.names["bom"], line, "child", "BOM cycle: " + " -> ".join(names + names[:1]))
        return bool(cycles)

    def path_products(self, graph: nx.DiGraph) -> None:
        """qty_per multiplies along BOM paths; the product (units of a component per unit of an item
        above it) must stay within MIN_NONZERO .. MAX_QTY_PER, or the plan's numbers lose all precision."""
        order = list(nx.topological_sort(graph))  # children before parents (edges child -> parent)
        up: dict[str, dict[str, tuple[float, list[str]]]] = {"max": {}, "min": {}}  # from an item above down to n
        down: dict[str, dict[str, tuple[float, list[str]]]] = {"max": {}, "min": {}}  # from n down to a component
        for bound, better in (("max", max), ("min", min)):
            for n in reversed(order):  # parents first
                best = (1.0, [n])
                for parent in graph.successors(n):
                    value, path = up[bound][parent]
                    best = better(best, (value * graph.edges[n, parent]["qty"], path + [n]), key=lambda t: t[0])
                up[bound][n] = best
            for n in order:  # children first
                best = (1.0, [n])
                for child in graph.predecessors(n):
                    value, path = down[bound][child]
                    best = better(best, (graph.edges[child, n]["qty"] * value, [n] + path), key=lambda t: t[0])
                down[bound][n] = best
        reported: set[str] = set()
        file_edges = sorted((data["line"].line, child, parent, data) for child, parent, data in graph.edges(data=True)
                            if data["line"] is not None)
        for _, child, parent, data in file_edges:
            row = data["line"]
            for bound in ("max", "min"):
                above, top_path = up[bound][parent]
                below, bottom_path = down[bound][child]
                product = above * data["qty"] * below
                if MIN_NONZERO * (1 - 1e-9) <= product <= MAX_QTY_PER * (1 + 1e-9):
                    continue
                chain = " -> ".join(top_path + bottom_path)
                if chain in reported:  # one report per path, on its first line in the file
                    break
                reported.add(chain)
                limit = f"at most {_limit(MAX_QTY_PER)}" if bound == "max" else f"at least {_limit(MIN_NONZERO)}"
                self.add("bom", row, "qty_per", f"along {chain} the quantities per unit multiply to {product:.6g} "
                                                f"({limit} {bottom_path[-1]} per {top_path[0]})")
                break


def _list(values: list[Any], limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _upsert(result: ImportResult, name: str, existing: dict[Any, Any], key: Any, values: dict[str, Any],
            factory: Callable[[], Any], session: Session) -> Any:
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


def _move_periods_aside(s: Session, parsed: dict[str, list[Row]], periods: dict[int, m.Period]) -> None:
    """Start dates are unique: a calendar shifted by a period would collide with itself while
    being written row by row, so periods whose start date changes are first moved to
    placeholder dates (in year 1, before any real calendar) and flushed."""
    moving = [periods[r.values["period"]] for r in parsed.get("calendar", [])
              if r.values["period"] in periods and periods[r.values["period"]].start_date != r.values["start_date"]]
    if not moving:
        return
    for k, period in enumerate(moving):
        placeholder = dt.date(1, 1, 1) + dt.timedelta(days=2 * k)
        period.start_date, period.end_date = placeholder, placeholder
    s.flush()


def _write(s: Session, parsed: dict[str, list[Row]], items: dict[str, m.Item], wcs: dict[str, m.WorkCenter],
           periods: dict[int, m.Period], result: ImportResult, now: dt.datetime) -> None:
    existing: dict[Any, Any]
    for row in parsed.get("items", []):
        v = row.values
        item = _upsert(result, "items", items, v["code"], dict(v), m.Item, s)
        if item in s.new or s.is_modified(item):
            item.updated_at = now  # the import's time, not the database server's clock
    for row in parsed.get("work_centers", []):
        _upsert(result, "work_centers", wcs, row.values["code"], dict(row.values), m.WorkCenter, s)
    changed_dates = {r.values["period"]: (periods[r.values["period"]].start_date, periods[r.values["period"]].end_date)
                     for r in parsed.get("calendar", []) if r.values["period"] in periods}
    _move_periods_aside(s, parsed, periods)
    for row in parsed.get("calendar", []):
        v = row.values
        if v["period"] in changed_dates:  # compare with the stored dates, not the placeholders
            period = periods[v["period"]]
            period.start_date, period.end_date = changed_dates[v["period"]]
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
    with translated_errors(), uow:
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


def _os_error(path: Path, action: str, exc: OSError) -> InvalidInput | Unavailable:
    message = f"{_clean(str(path))}: cannot {action} ({exc.strerror or exc})"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return Unavailable(message)
    return InvalidInput(message)


def export_dir(uow: UnitOfWork, directory: Path, *, overwrite: bool = False) -> list[Path]:
    """Write every CSV file into ``directory`` (created if missing); returns the paths.

    A directory that already holds a ``*.csv`` file (any letter case) is refused with
    InvalidInput naming the file, unless ``overwrite``: then the ten files are replaced (a
    file named like one of them but for letter case is replaced too) and other files are kept.
    """
    directory = Path(directory)
    present: dict[str, Path] = {}
    try:
        if directory.exists() and not directory.is_dir():
            raise InvalidInput(f"{_clean(str(directory))}: exists and is not a directory")
        entries = sorted(directory.iterdir(), key=lambda p: p.name) if directory.is_dir() else []
    except OSError as exc:
        raise _os_error(directory, "be read", exc) from None
    if entries:
        csvs = [p for p in entries if p.name.casefold().endswith(".csv")]
        if csvs and not overwrite:
            raise InvalidInput(f"{_clean(str(csvs[0]))}: already exists; export into a new or empty directory, "
                               f"or overwrite the files (lpms export --overwrite)")
        present = {p.name.casefold(): p for p in csvs}
    texts = export_texts(uow)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(directory, "be created", exc) from None
    paths = []
    for name, text in texts.items():
        path = directory / f"{name}.csv"
        tmp = directory / f".{name}.csv.tmp"
        try:
            tmp.write_text(text, encoding="utf-8")
            old = present.get(path.name)
            if old is not None and old.name != path.name:
                old.unlink()  # Items.csv would shadow (or, on a case-blind file system, keep) the name
            os.replace(tmp, path)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise _os_error(path, "be written", exc) from None
        paths.append(path)
    return paths
