#!/usr/bin/env python3
"""Self-contained developer tasks (standard library only): `python3 tasks.py demo|test|bench`.

Each task creates .venv and installs LPMS with its test extra when missing or when
setup.cfg changed, then runs.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*cmd: object, check: bool = True) -> int:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if check and rc != 0:
        raise SystemExit(rc)
    return rc


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        raise SystemExit(f"LPMS needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    stamp = hashlib.sha256((ROOT / "setup.cfg").read_bytes()).hexdigest()
    marker = VENV / ".lpms-installed"
    if marker.exists() and marker.read_text() == stamp and PY.exists():
        return
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", ".[test]")
    marker.write_text(stamp)


def demo(args: list[str]) -> None:
    run(BIN / "lpms", "demo", *args)


def test(args: list[str]) -> None:
    # 1. the whole suite, database tests on SQLite
    run(PY, "-m", "pytest", "--db=sqlite", *args)
    # 2. the database tests again on PostgreSQL (required: an unreachable server fails the run)
    run(PY, "-m", "pytest", "-m", "db", "--db=postgresql", *args)
    # 3. alembic check: models and migrations agree
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/check.db"
        run(BIN / "lpms", "db", "upgrade", "--database-url", url)
        run(BIN / "lpms", "db", "check", "--database-url", url)


def bench(args: list[str]) -> None:
    run(PY, "-m", "bench", *args)


TASKS = {"demo": demo, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        raise SystemExit(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [ARGS...]")
    ensure_venv()
    TASKS[sys.argv[1]](sys.argv[2:])
