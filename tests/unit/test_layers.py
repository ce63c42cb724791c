"""The pure layers must not import the frameworks (HOUSE_STYLE: layout that shows the architecture)."""
from __future__ import annotations

import ast
from pathlib import Path

import lpms

FORBIDDEN = {
    "domain": {"flask", "sqlalchemy", "apscheduler", "alembic", "pulp", "highspy", "networkx"},
    "planning": {"flask", "sqlalchemy", "apscheduler", "alembic"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_domain_and_planning_do_not_import_frameworks() -> None:
    root = Path(lpms.__file__).parent
    offenders = []
    for layer, banned in FORBIDDEN.items():
        files = list((root / layer).rglob("*.py"))
        assert files, f"no files in lpms/{layer}"
        for path in files:
            bad = _imports(path) & banned
            if bad:
                offenders.append(f"{path.relative_to(root)} imports {sorted(bad)}")
    assert offenders == []
