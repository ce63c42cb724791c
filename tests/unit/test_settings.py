from __future__ import annotations

from pathlib import Path

import pytest

from lpms.settings import SettingsError, load_settings


def test_defaults_use_sqlite_under_instance(tmp_path: Path) -> None:
    s = load_settings(environ={})
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.resolved_database_url.endswith("instance/lpms.db")


def test_file_then_environment_then_override(tmp_path: Path) -> None:
    cfg = tmp_path / "lpms.toml"
    cfg.write_text('[lpms]\nsolver_threads = 2\ndatabase_url = "sqlite:///from-file.db"\n')
    s = load_settings(environ={"LPMS_CONFIG": str(cfg)})
    assert (s.solver_threads, s.database_url) == (2, "sqlite:///from-file.db")
    s = load_settings(environ={"LPMS_CONFIG": str(cfg), "LPMS_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.solver_threads == 2
    s = load_settings(environ={"LPMS_CONFIG": str(cfg)}, solver_threads=4)
    assert s.solver_threads == 4


def test_bad_values_name_the_key_and_source(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="environment LPMS_SOLVER_THREADS: solver_threads='many'"):
        load_settings(environ={"LPMS_SOLVER_THREADS": "many"})
    cfg = tmp_path / "lpms.toml"
    cfg.write_text("[lpms]\ncolour = 'red'\n")
    with pytest.raises(SettingsError, match="unknown setting 'colour'"):
        load_settings(environ={"LPMS_CONFIG": str(cfg)})
    with pytest.raises(SettingsError, match="only sqlite"):
        load_settings(environ={"LPMS_DATABASE_URL": "mysql://x"})
