"""The completion report's statements on PostgreSQL, straight on the driver's connection.

``ShopReports.claim_completion`` and ``ShopReports.record_completion`` use this module on
PostgreSQL; on SQLite they compose the general repository methods. A report is the hot write of
the shop floor (every tablet, every scanner), and through SQLAlchemy's execution path its dozen
statements cost more Python time than PostgreSQL time; here they go straight to the psycopg
connection the session holds (same transaction, one cursor, statements prepared by psycopg
after their fifth use):

1. ``_CLAIM``: the lock timeout; the report with the key, if any, with its moves (a resend:
   nothing is locked or written); else the work order's row locked (``FOR NO KEY UPDATE``) and,
   for a report of its first operation (which issues the components), its component items in
   id order; the order with its operations and components. A statement reads the tables as they
   were when it started, before it waited for a lock (READ COMMITTED); the locked row comes back
   as it is once the lock is held. When its version differs from the one read, another report
   changed the order meanwhile and the statement runs again, now holding the locks;
2. (the service checks its rules) ``_WRITE``: the report, the operation's and the order's new
   totals, the audit row and the stock moves in one statement (data-modifying CTEs; nothing is
   written when a send of the same key committed meanwhile), which also reads the on-hand of the
   items the claim locked (the service refuses, and the transaction is rolled back, when a
   component would go below zero);
3. the commit (the unit of work's).

Two statements and BEGIN/COMMIT for a report (was six), one for a resend (was three); one more
when the claim waited for another report of the same order.

(psycopg's pipeline mode, which sends such statements without waiting for each answer, was
measured slower here: on a local server its bookkeeping costs more CPU than the round trips it
saves -- 195 against 100-140 us for four statements and a commit.)

Values are passed as the database stores them (enum values, aware UTC datetimes, JSON), the
same columns the ORM models map. A driver error is re-raised as SQLAlchemy's DBAPIError, so that
``lpms.db.session.database_error`` translates it (a lock timeout is Busy) as for any statement.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from psycopg.types.json import Json
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# The first statement of a report (``claim``), one row. The lock timeout; the report that has
# the key (a resend), with its stock moves; unless there is one, the work order's row locked
# (``lk``) and, when the report is for the order's first operation (where components are issued),
# its component items locked in id order (``lki``); the work order with its operations and
# components as the statement's snapshot saw them (READ COMMITTED: taken before any lock wait),
# and the locked row's version (the row as it is once the lock is held). The two versions differ
# only when another transaction changed the order while this one waited for it: every change of
# an order's operations adds 1 to its version (``_WRITE``, ``WorkOrders.update``); then the
# statement is run again, holding the locks, and sees the order as it is.
# ``cfg`` is joined into ``lk`` so that the timeout is set before the first lock is asked for.
_CLAIM = """
WITH cfg AS MATERIALIZED (SELECT set_config('lock_timeout', %(ms)s, true) AS ms),
prev AS MATERIALIZED (
    SELECT r.id, r.client_key, pw.number, r.operation_seq, r.good_qty, r.scrap_qty, r.corrects_id, r.reported_by,
           r.reported_at, r.note, c.client_key AS corrects_key,
           (SELECT json_agg(json_build_array(mi.code, v.kind, v.quantity) ORDER BY v.id)
            FROM stock_moves v JOIN items mi ON mi.id = v.item_id WHERE v.completion_report_id = r.id) AS moves
    FROM completion_reports r JOIN work_orders pw ON pw.id = r.work_order_id
    LEFT JOIN completion_reports c ON c.id = r.corrects_id
    WHERE r.client_key = %(key)s),
lk AS MATERIALIZED (
    SELECT w.id, w.version FROM work_orders w CROSS JOIN cfg
    WHERE w.number = %(number)s AND cfg.ms IS NOT NULL AND NOT EXISTS (SELECT 1 FROM prev){lock_order}),
lki AS MATERIALIZED (
    SELECT i.id FROM items i
    WHERE i.id IN (SELECT k.item_id FROM work_order_components k JOIN lk ON k.work_order_id = lk.id
                   WHERE %(seq)s = (SELECT min(o.seq) FROM work_order_operations o WHERE o.work_order_id = lk.id))
    ORDER BY i.id{lock_items})
SELECT p.id, p.client_key, p.number, p.operation_seq, p.good_qty, p.scrap_qty, p.corrects_id, p.reported_by,
       p.reported_at, p.note, p.corrects_key, p.moves,
       w.id, w.number, w.plan_run_id, hi.code, w.interval_code, w.start_period_seq, w.due_period_seq, w.quantity,
       w.good_qty, w.scrap_qty, w.status, w.priority, w.version, w.close_reason, w.created_by, w.created_at,
       w.updated_at, w.finished_at, hi.id,
       (SELECT json_agg(json_build_array(o.seq, oi.code, o.routing_seq, oc.code, o.run_min, o.setup_min, o.good_qty,
                                         o.scrap_qty, oi.id) ORDER BY o.seq)
        FROM work_order_operations o JOIN items oi ON oi.id = o.item_id JOIN work_centers oc ON oc.id = o.work_center_id
        WHERE o.work_order_id = w.id),
       (SELECT json_agg(json_build_array(ki.code, k.qty_per, ki.id) ORDER BY k.id)
        FROM work_order_components k JOIN items ki ON ki.id = k.item_id WHERE k.work_order_id = w.id),
       (SELECT version FROM lk), (SELECT array_agg(id ORDER BY id) FROM lki)
FROM (SELECT 1) AS one
LEFT JOIN prev p ON true
LEFT JOIN (work_orders w JOIN items hi ON hi.id = w.item_id) ON w.number = %(number)s"""

# the report (unless its key was taken meanwhile: then nothing else is written either), the
# operation's and the order's totals, the audit row, the stock moves and the items' balances
# (``stock_balances``, in item id order), in one statement; and the on-hand of the items taken
# (``ids``, locked by ``_CLAIM`` or by ``_LOCK_ITEMS`` just before, so read as it is: this
# statement began once the locks were held), before this report's moves (a statement does not
# see the rows its own WITH parts insert)
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
    RETURNING 1),
bal AS (
    INSERT INTO stock_balances (item_id, moved)
    SELECT m.item_id, sum(m.quantity)
    FROM unnest(%(move_items)s::integer[], %(move_qty)s::float8[]) AS m(item_id, quantity) CROSS JOIN rep
    GROUP BY m.item_id ORDER BY m.item_id
    ON CONFLICT (item_id) DO UPDATE SET moved = stock_balances.moved + excluded.moved)
SELECT (SELECT id FROM rep), (SELECT count(*) FROM op), (SELECT count(*) FROM wo), (SELECT count(*) FROM audit),
       (SELECT count(*) FROM moves),
       (SELECT json_agg(json_build_array(i.id, (SELECT s.on_hand FROM stock s WHERE s.item_id = i.id),
                                         (SELECT b.moved FROM stock_balances b WHERE b.item_id = i.id)))
        FROM items i WHERE i.id = ANY(%(ids)s::integer[]))"""

_LOCK_ITEMS = "SELECT id FROM items WHERE id = ANY(%(ids)s::integer[]) ORDER BY id{lock}"


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection of the session's transaction (begun if it was not)."""
    conn = session.connection().connection.driver_connection
    assert isinstance(conn, psycopg.Connection)
    return conn


def _array(values: Iterable[int | float | str]) -> str:
    """A PostgreSQL array literal of integers, floats (``repr``: read back exactly) or enum values
    (plain words, nothing to quote), cast by the statement (``%(x)s::integer[]``). Cheaper for the
    driver than a list, whose element type it looks up per call."""
    return "{" + ",".join(map(str, values)) + "}"


@contextmanager
def _driver_errors(sql: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


class ClaimRows(NamedTuple):
    """What ``_CLAIM`` read (one row, split)."""

    before: tuple[Any, ...] | None  # the report that has the key: id, key, order number, operation, good,
    # scrap, corrects id, reported by, reported at, note, corrected report's key (None: no such report)
    before_moves: list[tuple[str, str, float]]  # its stock moves (item code, kind, quantity)
    head: tuple[Any, ...] | None  # the work order (``_CLAIM``'s 19 columns from w.id; None: no such order)
    operations: list[list[Any]]  # seq, item, routing seq, work center, run, setup, good, scrap, item id
    components: list[list[Any]]  # item, quantity per unit, item id
    held_items: tuple[int, ...]  # the component items locked (id order)


_CLAIM_SQL: dict[bool, str] = {}


def claim(session: Session, *, lock_timeout_ms: int, lock_rows: bool, number: str, key: str, seq: int) -> ClaimRows:
    """The report's first statement (``_CLAIM``; run again when the order changed while this
    transaction waited for it). A key reported before is answered from its report, with the work
    order read without a lock (nothing is written); else the order is locked, and its component
    items too when ``seq`` is its first operation (the report is inserted by ``record``)."""
    sql = _CLAIM_SQL.get(lock_rows)
    if sql is None:
        sql = _CLAIM_SQL[lock_rows] = _CLAIM.format(lock_order=" FOR NO KEY UPDATE OF w" if lock_rows else "",
                                                    lock_items=" FOR NO KEY UPDATE OF i" if lock_rows else "")
    cur = driver_connection(session).cursor()
    params = {"ms": str(lock_timeout_ms), "number": number, "key": key, "seq": seq}
    with _driver_errors(sql):
        row = cur.execute(sql, params).fetchone()
        assert row is not None
        locked_version = row[33]
        if locked_version is not None and locked_version != row[24]:  # changed while this one waited
            row = cur.execute(sql, params).fetchone()
            assert row is not None
    return ClaimRows(before=None if row[0] is None else row[:11],
                     before_moves=[(code, kind, float(q)) for code, kind, q in (row[11] or ())],
                     head=None if row[12] is None else row[12:31], operations=row[31] or [], components=row[32] or [],
                     held_items=tuple(row[34] or ()))


def record(session: Session, *, lock_rows: bool, key: str, wo_id: int, seq: int, report_good: float,
           report_scrap: float, reported_by: str, reported_at: dt.datetime, op_good: float, op_scrap: float,
           good: float, scrap: float, status: str, finished: dt.datetime | None, now: dt.datetime, actor: str,
           action: str, entity: str, detail: Mapping[str, Any], moves: Sequence[tuple[int, str, float]],
           take: Sequence[int], held: Sequence[int]) -> tuple[int | None, tuple[int, ...], dict[int, float]]:
    """The report and its writes (``_WRITE``) and the on-hand of the ``take`` items before this
    report's moves. The ``take`` items are locked: by ``claim`` (``held``), or here, in id order,
    before the writes (as every writer locks: item rows, then their balance rows), so that
    ``_WRITE`` reads their on-hand once the locks are held. Returns (the report's id, None when
    its key was taken meanwhile and nothing was written; rows changed: the operation, the order,
    the audit row, the moves; on-hand per item id)."""
    wanted = sorted(set(take))
    cur = driver_connection(session).cursor()
    params = {"key": key, "wo_id": wo_id, "seq": seq, "report_good": report_good, "report_scrap": report_scrap,
              "by": reported_by, "at": reported_at, "op_good": op_good, "op_scrap": op_scrap, "good": good,
              "scrap": scrap, "status": status, "finished": finished, "now": now, "actor": actor, "action": action,
              "entity": entity, "detail": Json(dict(detail)), "move_items": _array(m[0] for m in moves),
              "move_kinds": _array(m[1] for m in moves), "move_qty": _array(m[2] for m in moves),
              "ids": _array(wanted)}
    with _driver_errors(_WRITE):
        if not set(wanted) <= set(held):  # not locked by the claim: lock them now, before the writes
            cur.execute(_LOCK_ITEMS.format(lock=" FOR NO KEY UPDATE" if lock_rows else ""), params)
        written = cur.execute(_WRITE, params).fetchone()
        assert written is not None
        if written[0] is None:
            return None, (), {}
        levels = [tuple(x) for x in written[5] or ()]
    return (int(written[0]), tuple(int(c) for c in written[1:5]),
            {int(item_id): round(float(start or 0.0) + float(moved or 0.0), 9) + 0.0
             for item_id, start, moved in levels})
