"""Checks of the values a user gives the process-management services (one message each)."""
from __future__ import annotations

import math
import unicodedata

from lpms.domain.errors import InvalidInput
from lpms.domain.limits import MAX_QUANTITY

LOCK_TIMEOUT_S = 10.0  # how long a shop-floor write waits for a row another transaction holds
EPS = 1e-9  # relative tolerance when quantities are compared


def close_to_or_below(value: float, limit: float) -> bool:
    """``value <= limit`` up to rounding of float sums."""
    return value <= limit + EPS * max(1.0, abs(limit))


def quantity(value: float, what: str, *, zero: bool = True, negative: bool = False) -> float:
    """A finite number within the limits; 0 only when ``zero``, below 0 only when ``negative``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InvalidInput(f"{what}: {value!r} is not a finite number")
    if number < 0 and not negative:
        raise InvalidInput(f"{what}: {number:g} is negative")
    if number == 0 and not zero:
        raise InvalidInput(f"{what}: must not be 0")
    if abs(number) > MAX_QUANTITY:
        raise InvalidInput(f"{what}: {number:g} is larger than {MAX_QUANTITY:,}")
    return number + 0.0


def text(value: str | None, what: str, *, max_len: int, required: bool = False) -> str:
    """Trimmed printable text of at most ``max_len`` characters."""
    result = (value or "").strip()
    if required and not result:
        raise InvalidInput(f"{what} is required")
    if len(result) > max_len:
        raise InvalidInput(f"{what} is {len(result)} characters long (at most {max_len})")
    for ch in result:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise InvalidInput(f"{what} contains a control or formatting character (U+{ord(ch):04X})")
    return result


def client_key(value: str) -> str:
    """An idempotency key: 1 to 64 printable characters, no spaces at either end."""
    key = text(value, "client key", max_len=64, required=True)
    if key != value:
        raise InvalidInput(f"client key {value!r} has spaces at an end")
    return key


def fmt(value: float) -> str:
    """A quantity for a message: up to 6 decimals, no trailing zeros (55.000001, 40, 0.5)."""
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
