"""web/ stays thin (docs/architecture.md, docs/web.md): it parses input, calls services and
formats their answers. Stricter than the ring check of tests/unit/test_layers.py: web/ may not
query the database itself (no SQLAlchemy but its exception types, no LPMS database module but
the unit of work's type, no session), may not use the planning layer (but the solver options'
type), and holds no aggregation tools; reads that need computation are services
(lpms/services/views*.py)."""
from __future__ import annotations

import ast
from pathlib import Path

import web
from tests.unit.test_layers import _banned, _imports

WEB = Path(web.__file__).parent
BANNED = ("sqlalchemy", "lpms.db", "lpms.planning", "importlib", "statistics", "numpy", "pandas",
          "collections.Counter", "collections.defaultdict", "itertools.groupby")
ALLOWED = ("sqlalchemy.exc", "lpms.db.session", "lpms.planning.solver")


def _allowed(name: str) -> bool:
    return _banned(name, ALLOWED)


def offenders(root: Path = WEB) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        bad = sorted(n for n in _imports(path) if _banned(n, BANNED) and not _allowed(n))
        tree = ast.parse(path.read_text())
        sessions = sorted({node.lineno for node in ast.walk(tree)
                           if isinstance(node, ast.Attribute) and node.attr == "session"})
        if bad:
            found.append(f"{path.relative_to(root)} imports {bad}")
        if sessions:
            found.append(f"{path.relative_to(root)} uses a database session (lines {sessions})")
    return found


def test_web_only_calls_services_and_formats() -> None:
    assert list(WEB.glob("*.py")), "no web modules found"
    assert offenders() == []


def test_the_check_sees_queries_and_aggregations_in_web(tmp_path: Path) -> None:
    (tmp_path / "screen.py").write_text(
        "from collections import Counter\nfrom sqlalchemy import select\nfrom sqlalchemy.exc import SQLAlchemyError\n"
        "from lpms.db import models\nfrom lpms.db.session import SqlAlchemyUnitOfWork\n"
        "def view(uow):\n    with uow:\n        return uow.session.scalars(select(models.Item))\n")
    assert offenders(tmp_path) == [
        "screen.py imports ['collections.Counter', 'lpms.db', 'lpms.db.models', 'sqlalchemy', 'sqlalchemy.select']",
        "screen.py uses a database session (lines [8])"]
