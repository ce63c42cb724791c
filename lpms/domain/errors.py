"""Domain errors: each names what is wrong so a user can act on it."""
from __future__ import annotations


class LpmsError(Exception):
    """Base of every error LPMS reports to a user."""


class IllegalTransition(LpmsError):
    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity}: cannot go from {current!r} to {target!r}")
        self.entity, self.current, self.target = entity, current, target


class BomCycleError(LpmsError):
    """The bill of material contains a cycle; ``cycle`` lists the item codes in order."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("BOM cycle: " + " -> ".join(self.cycle + self.cycle[:1]))


class NotFound(LpmsError):
    pass


class ValidationFailed(LpmsError):
    """Input was rejected; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s)"
        super().__init__(head + ":\n" + "\n".join(self.problems))
