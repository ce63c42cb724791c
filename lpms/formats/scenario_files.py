"""Reading scenario files (JSON) for `lpms plan solve`; parsing their content is in lpms.planning.scenario."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lpms.domain.errors import InvalidInput


class ScenarioFileError(InvalidInput):
    """The scenario file cannot be read or is not JSON."""


def load_scenario_file(path: Path) -> Any:
    """The file's JSON value. Raises ScenarioFileError naming the file (and the line, for bad JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioFileError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ScenarioFileError(f"{path}: nested too deeply") from None
