"""`lpms plan ...` and `lpms network ...` subcommands (registered by lpms.cli)."""
from __future__ import annotations

import argparse
from typing import Any, Callable


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the planning subcommands to the top-level parser."""
