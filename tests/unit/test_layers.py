"""The rings of the architecture (docs/architecture.md): an inner ring never imports an outer
one or a framework it must not know. Checked on full module paths, so an import between LPMS
layers is seen, not only a third-party name."""
from __future__ import annotations

import ast
from pathlib import Path

import lpms

ROOT = Path(lpms.__file__).parent
OUTER = ("lpms.cli", "lpms.bootstrap", "web", "jobs")
FRAMEWORKS = ("flask", "apscheduler", "sqlalchemy", "alembic")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": ("lpms.planning", "lpms.formats", "lpms.db", "lpms.services", *OUTER, *FRAMEWORKS,
               "pulp", "highspy", "networkx", "numpy"),
    "planning": ("lpms.formats", "lpms.db", "lpms.services", *OUTER, *FRAMEWORKS),
    "formats": ("lpms.db", "lpms.services", *OUTER, *FRAMEWORKS),
    "db": ("lpms.services", *OUTER, "flask", "apscheduler"),
    "services": (*OUTER, "flask", "apscheduler"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _banned(name: str, banned: tuple[str, ...]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


def offenders(root: Path = ROOT) -> list[str]:
    found = []
    for layer, banned in FORBIDDEN.items():
        for path in sorted((root / layer).rglob("*.py")):
            bad = sorted(n for n in _imports(path) if _banned(n, banned))
            if bad:
                found.append(f"{path.relative_to(root)} imports {bad}")
    return found


def test_each_ring_imports_only_inner_rings_and_allowed_frameworks() -> None:
    for layer in ("domain", "planning", "db", "services"):
        assert list((ROOT / layer).rglob("*.py")), f"no files in lpms/{layer}"
    assert offenders() == []


def test_the_check_sees_an_import_between_lpms_layers(tmp_path: Path) -> None:
    # the mutation the old check missed: planning importing a service
    (tmp_path / "planning").mkdir()
    (tmp_path / "planning" / "demand.py").write_text("from lpms.services import csv_io\nimport lpms.db.models\n")
    found = offenders(tmp_path)
    assert found == ["planning/demand.py imports ['lpms.db.models', 'lpms.services', 'lpms.services.csv_io']"]
