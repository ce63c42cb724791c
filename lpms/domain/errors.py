"""Domain errors: one hierarchy by category, each message naming what is wrong.

Every layer raises these (never a bare ``ValueError`` across a layer). Each entrypoint
maps the *category* to its own answer in one place: the CLI to an exit status
(``lpms.cli``), the web application to an HTTP status.

=============  ==============================================  ====  ====
category       examples                                        exit  HTTP
=============  ==============================================  ====  ====
invalid_input  wrong argument, setting, file, value            2     400 (422)
not_found      unknown plan run, item, work order              2     404
conflict       idempotency key reused, illegal state change    2     409
infeasible     no plan satisfies the data                      3     422
unavailable    database unreachable or busy, solver failed     4     503
internal       a bug                                           1     500
=============  ==============================================  ====  ====
"""
from __future__ import annotations


class LpmsError(Exception):
    """Base of every error LPMS reports to a user. ``category`` selects exit code / HTTP status."""

    category = "internal"


# --- the six categories -------------------------------------------------------------------


class InvalidInput(LpmsError):
    """The user's input (argument, setting, file, value) is wrong."""

    category = "invalid_input"


class NotFound(LpmsError):
    """A named thing (plan run, item, work order, file) does not exist."""

    category = "not_found"


class Conflict(LpmsError):
    """The request contradicts the current state (illegal transition, concurrent edit)."""

    category = "conflict"


class Infeasible(LpmsError):
    """No plan satisfies the data; the message says where capacity or material is short."""

    category = "infeasible"


class Unavailable(LpmsError):
    """A resource LPMS depends on is unreachable, busy, or failed (database, solver)."""

    category = "unavailable"


class InternalError(LpmsError):
    """A bug: the message says where the details were logged."""

    category = "internal"


# --- specific errors ----------------------------------------------------------------------


class ValidationFailed(InvalidInput):
    """Input was rejected; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s)"
        super().__init__(head + ":\n" + "\n".join(self.problems))


class BomCycleError(InvalidInput):
    """The bill of material contains a cycle; ``cycle`` lists the item codes in order."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("BOM cycle: " + " -> ".join(self.cycle + self.cycle[:1]))


class IllegalTransition(Conflict):
    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity}: cannot go from {current!r} to {target!r}")
        self.entity, self.current, self.target = entity, current, target


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached, does not exist, or is busy."""


class DatabaseMissing(NotFound):
    """There is no database yet (only ``lpms demo`` and ``lpms db upgrade`` create one)."""


class SolverFailed(Unavailable):
    """The solver failed or stopped without a usable plan."""


class Busy(Unavailable):
    """Another process holds the lock this operation needs; try again."""


class StockShortage(Conflict):
    """Taking stock would drive on-hand below zero; ``shortages`` lists (item, required, on hand)."""

    def __init__(self, what: str, shortages: list[tuple[str, float, float]]) -> None:
        self.shortages = list(shortages)
        parts = "; ".join(f"{item} needs {_qty(need)}, {_qty(have)} on hand (short {_qty(need - have)})"
                          for item, need, have in self.shortages)
        super().__init__(f"{what}: not enough stock: {parts}")


def _qty(value: float) -> str:
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
