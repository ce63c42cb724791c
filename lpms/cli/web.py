"""`lpms serve` and `lpms users ...`: the web application and its users (docs/web.md)."""
from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's commands to the `lpms` parser (none yet)."""
