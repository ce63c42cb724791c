"""The completion report's statements on PostgreSQL, straight on the driver's connection.

``ShopReports.claim_completion`` and ``ShopReports.record_completion`` use this module on
PostgreSQL; on SQLite they compose the general repository methods. A report is the hot write of
the shop floor (every tablet, every scanner), and through SQLAlchemy's execution path its dozen
statements cost more Python time than PostgreSQL time; here they go straight to the psycopg
connection the session holds (same transaction, one cursor, statements prepared by psycopg
after their fifth use):

1. the lock timeout and the report with the key, if any, with its moves (a resend: the work
   order is read without a lock; nothing is written); else the work order's
   row locked (``FOR NO KEY UPDATE``), then its operations and components, read by a statement
   that starts once the row lock is held (READ COMMITTED: it sees every report committed
   before);
2. (the service checks its rules) the report, the operation's and the order's new totals, the
   audit row and the stock moves in one statement (data-modifying CTEs; nothing is written when
   a send of the same key committed meanwhile); then the component items locked in id order and
   their on-hand read after the lock;
3. the commit (the unit of work's).

Six statements and BEGIN/COMMIT for a report that issues components, four for one that does
not, three for a resend.

(psycopg's pipeline mode, which sends such statements without waiting for each answer, was
measured slower here: on a local server its bookkeeping costs more CPU than the round trips it
saves -- 195 against 100-140 us for four statements and a commit.)

Values are passed as the database stores them (enum values, aware UTC datetimes, JSON), the
same columns the ORM models map. A driver error is re-raised as SQLAlchemy's DBAPIError, so that
``lpms.db.session.database_error`` translates it (a lock timeout is Busy) as for any statement.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# the lock timeout, and the report with the key if there is one (a resend is answered without
# locks): one row per stock move it made (item code, kind, quantity), or one row of NULLs
_START = """
SELECT set_config('lock_timeout', %(ms)s, true), r.id, r.client_key, w.number, r.operation_seq, r.good_qty,
       r.scrap_qty, r.corrects_id, r.reported_by, r.reported_at, r.note, c.client_key, i.code, v.kind, v.quantity
FROM (SELECT 1) AS one
LEFT JOIN completion_reports r ON r.client_key = %(key)s
LEFT JOIN work_orders w ON w.id = r.work_order_id
LEFT JOIN completion_reports c ON c.id = r.corrects_id
LEFT JOIN stock_moves v ON v.completion_report_id = r.id
LEFT JOIN items i ON i.id = v.item_id
ORDER BY v.id"""

_HEAD = """
SELECT w.id, w.number, w.plan_run_id, i.code, w.interval_code, w.start_period_seq, w.due_period_seq,
       w.quantity, w.good_qty, w.scrap_qty, w.status, w.priority, w.version, w.close_reason, w.created_by,
       w.created_at, w.updated_at, w.finished_at, i.id
FROM work_orders w JOIN items i ON i.id = w.item_id
WHERE w.number = %(number)s{lock}"""

# one row per operation (kind 0) and per component (kind 1), with the item's id
_LINES = """
SELECT 0 AS kind, o.seq, i.code, o.routing_seq, c.code, o.run_min, o.setup_min, o.good_qty, o.scrap_qty,
       i.id, 0 AS cid
FROM work_order_operations o JOIN items i ON i.id = o.item_id JOIN work_centers c ON c.id = o.work_center_id
WHERE o.work_order_id = (SELECT id FROM work_orders WHERE number = %(number)s)
UNION ALL
SELECT 1, NULL, i.code, NULL, NULL, k.qty_per, NULL, NULL, NULL, i.id, k.id
FROM work_order_components k JOIN items i ON i.id = k.item_id
WHERE k.work_order_id = (SELECT id FROM work_orders WHERE number = %(number)s)
ORDER BY 1, 2, 11"""

# the report (unless its key was taken meanwhile: then nothing else is written either), the
# operation's and the order's totals, the audit row and the stock moves, in one statement
_WRITE = """
WITH rep AS (
    INSERT INTO completion_reports (client_key, work_order_id, operation_seq, good_qty, scrap_qty, corrects_id,
                                    reported_by, reported_at, note)
    VALUES (%(key)s, %(wo_id)s, %(seq)s, %(report_good)s, %(report_scrap)s, NULL, %(by)s, %(at)s, '')
    ON CONFLICT (client_key) DO NOTHING
    RETURNING id),
op AS (
    UPDATE work_order_operations SET good_qty = %(op_good)s, scrap_qty = %(op_scrap)s
    WHERE work_order_id = %(wo_id)s AND seq = %(seq)s AND EXISTS (SELECT 1 FROM rep) RETURNING 1),
wo AS (
    UPDATE work_orders SET good_qty = %(good)s, scrap_qty = %(scrap)s, status = %(status)s,
        finished_at = %(finished)s, version = version + 1, updated_at = %(now)s
    WHERE id = %(wo_id)s AND EXISTS (SELECT 1 FROM rep) RETURNING 1),
audit AS (
    INSERT INTO audit_log (at, actor, action, entity, entity_key, detail)
    SELECT %(now)s, %(actor)s, %(action)s, %(entity)s, %(key)s, %(detail)s FROM rep RETURNING 1),
moves AS (
    INSERT INTO stock_moves (item_id, kind, quantity, work_order_id, completion_report_id, customer_order_id,
                             reference, reason, posted_by, posted_at)
    SELECT m.item_id, m.kind, m.quantity, %(wo_id)s, rep.id, NULL, '', '', %(actor)s, %(now)s
    FROM unnest(%(move_items)s::integer[], %(move_kinds)s::varchar[], %(move_qty)s::float8[])
         AS m(item_id, kind, quantity) CROSS JOIN rep
    RETURNING 1)
SELECT (SELECT id FROM rep), (SELECT count(*) FROM op), (SELECT count(*) FROM wo), (SELECT count(*) FROM audit),
       (SELECT count(*) FROM moves)"""

_LOCK_ITEMS = "SELECT id FROM items WHERE id = ANY(%(ids)s::integer[]) ORDER BY id{lock}"

_ON_HAND = """
SELECT i.id, (SELECT s.on_hand FROM stock s WHERE s.item_id = i.id),
       (SELECT sum(v.quantity) FROM stock_moves v WHERE v.item_id = i.id)
FROM items i WHERE i.id = ANY(%(ids)s::integer[])"""


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection of the session's transaction (begun if it was not)."""
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


@contextmanager
def _driver_errors(sql: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


def claim(session: Session, *, lock_timeout_ms: int, lock_rows: bool, number: str, key: str
          ) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The report's first statements: (the work order's head row or None, its lines, the rows of
    the report that had the key (``_START``'s report columns; empty: none)).

    A key reported before is answered from its report, with the work order read without a lock
    (nothing is written); else the order is locked (the report is inserted by ``record``)."""
    cur = driver_connection(session).cursor()
    params = {"ms": str(lock_timeout_ms), "number": number, "key": key}
    with _driver_errors(_HEAD):
        before = [row[1:] for row in cur.execute(_START, params).fetchall() if row[1] is not None]
        replay = bool(before)
        lock = " FOR NO KEY UPDATE OF w" if lock_rows and not replay else ""
        head_row = cur.execute(_HEAD.format(lock=lock), params).fetchone()
        line_rows = [] if head_row is None else cur.execute(_LINES, params).fetchall()
    return head_row, line_rows, before


def record(session: Session, *, lock_rows: bool, key: str, wo_id: int, seq: int, report_good: float,
           report_scrap: float, reported_by: str, reported_at: dt.datetime, op_good: float, op_scrap: float,
           good: float, scrap: float, status: str, finished: dt.datetime | None, now: dt.datetime, actor: str,
           action: str, entity: str, detail: Mapping[str, Any], moves: Sequence[tuple[int, str, float]],
           take: Sequence[int]) -> tuple[int | None, tuple[int, ...], dict[int, float]]:
    """The report and its writes (``_WRITE``); then the ``take`` items locked (id order) and their
    on-hand read after the lock (this report's moves included). Returns (the report's id, None
    when its key was taken meanwhile and nothing was written; rows changed: the operation, the
    order, the audit row, the moves; on-hand per item id)."""
    cur = driver_connection(session).cursor()
    params = {"key": key, "wo_id": wo_id, "seq": seq, "report_good": report_good, "report_scrap": report_scrap,
              "by": reported_by, "at": reported_at, "op_good": op_good, "op_scrap": op_scrap, "good": good,
              "scrap": scrap, "status": status, "finished": finished, "now": now, "actor": actor, "action": action,
              "entity": entity, "detail": Json(dict(detail)), "move_items": [m[0] for m in moves],
              "move_kinds": [m[1] for m in moves], "move_qty": [m[2] for m in moves], "ids": sorted(set(take))}
    with _driver_errors(_WRITE):
        written = cur.execute(_WRITE, params).fetchone()
        assert written is not None
        if written[0] is None:
            return None, (), {}
        levels: list[tuple[Any, ...]] = []
        if take:
            cur.execute(_LOCK_ITEMS.format(lock=" FOR NO KEY UPDATE" if lock_rows else ""), params)
            levels = cur.execute(_ON_HAND, params).fetchall()
    return (int(written[0]), tuple(int(c) for c in written[1:]),
            {int(item_id): round(float(start or 0.0) + float(moved or 0.0), 9) + 0.0
             for item_id, start, moved in levels})
