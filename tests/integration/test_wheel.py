"""A plain (non-editable) install works: build the wheel, install it into a fresh venv from
the lock file, run `lpms demo` and `lpms plan solve --format json` in an empty directory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_demo_in_an_empty_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(dist.glob("lpms-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    # the migrations, the demo data and the package data travel inside the wheel
    assert "lpms/migrations/alembic.ini" in names
    assert "lpms/migrations/env.py" in names
    assert any(n.startswith("lpms/migrations/versions/") and n.endswith(".py") for n in names)
    assert "lpms/data/demo/plant/items.csv" in names
    assert not any(n.startswith(("tests/", "migrations/", "bench/")) for n in names)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-qq", "--disable-pip-version-check"]
    installed = _run(pip + ["--require-hashes", "-r", str(ROOT / "requirements.lock")], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    installed = _run(pip + ["--no-deps", str(wheel)], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LPMS_") and k != "PYTHONPATH"}
    lpms = str(env_dir / "bin" / "lpms")
    demo = _run([lpms, "demo"], cwd=empty, env=env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (empty / "instance" / "lpms.db").is_file()
    assert "plan run 1" in demo.stdout
    assert "Traceback" not in demo.stdout + demo.stderr

    solved = _run([lpms, "plan", "solve", str(ROOT / "examples" / "paper_table2.json"), "--format", "json"],
                  cwd=empty, env=env)
    assert solved.returncode == 0, solved.stderr
    assert json.loads(solved.stdout)["costs"]
