"""Value objects shared by every layer."""
from __future__ import annotations

from dataclasses import dataclass

from lpms.domain.enums import Objective


@dataclass(frozen=True)
class Costs:
    """The paper's cost coefficients: L (late, per unit and period delayed), J (balance, per unit
    of standard deviation), K (inventory, per unit and period held), A (overtime, per unit or
    minute made on overtime)."""

    late: float = 0.0
    balance: float = 0.0
    inventory: float = 0.0
    overtime: float = 0.0

    def as_weights(self) -> dict[str, float]:
        return {o.value: float(getattr(self, o.value)) for o in Objective}


# The one default, used wherever costs are not given (plan runs, scenario files, the CLI).
DEFAULT_COSTS = Costs(late=100.0, inventory=1.0, overtime=1.0)
