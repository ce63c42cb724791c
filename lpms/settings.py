"""The one place that reads settings: defaults, then config/lpms.toml, then LPMS_* variables.

Nothing else in LPMS reads the environment; everything receives a ``Settings``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lpms.domain.errors import InvalidInput


class SettingsError(InvalidInput):
    """A settings file or variable holds a value LPMS cannot use."""


@dataclass(frozen=True)
class Settings:
    instance_dir: Path = Path("instance")
    database_url: str = ""
    solver_time_limit_s: float = 300.0
    solver_threads: int = 1
    balance_gap_rel: float = 1e-6
    log_level: str = "INFO"
    secret_key: str = "dev-only-change-me"
    # process management: the plant's clock and calendar
    timezone: str = "UTC"  # IANA name; calendar periods are plant-local dates
    as_of: str = ""  # ISO 8601 date-time that pins "now" for reproducible runs (empty: the clock)
    horizon_periods: int = 12  # rolling horizon: periods kept ahead of now
    release_fence_periods: int = 2  # periods released as work orders and frozen against re-planning
    # shop-floor rules
    over_completion_tolerance: float = 0.0  # fraction of a work order's quantity that may be over-completed
    allow_negative_stock: bool = False
    # re-planning
    replan_auto_approve: bool = True
    nervousness_cost: float = 0.01  # per unit of change against the previous approved plan, outside the fence
    # fluctuation thresholds
    behind_plan_units: float = 1.0
    behind_plan_fraction: float = 0.1
    kit_rate_threshold: float = 0.9
    downtime_threshold_min: float = 60.0
    scrap_threshold_fraction: float = 0.05
    # scheduled jobs (docs/jobs.md); times of day are plant time, HH:MM
    rolling_replan_time: str = "02:00"
    daily_report_time: str = "06:00"
    fluctuation_check_minutes: int = 15
    plan_run_poll_seconds: int = 5
    job_lease_seconds: int = 60  # SQLite: how long a runner's lease on a job lasts unless renewed
    buffer_shortfall_units: float = 0.0  # a buffer more than this many units under its safety stock
    demand_change_units: float = 0.0  # order and forecast quantity changes up to this are ignored
    api_token_cache_seconds: float = 5.0  # web: a checked API token is trusted this long (0: check every request)
    trusted_proxy: str = ""  # web: address of a reverse proxy whose X-Forwarded-* headers are believed (empty: none)
    config_file: Path | None = field(default=None, compare=False)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_dir / 'lpms.db').resolve()}"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "config_file"}


def _convert(name: str, raw: object, source: str) -> object:
    kind = _FIELDS[name].type
    try:
        if kind in ("Path",):
            return Path(str(raw))
        if kind == "float":
            value = float(str(raw))
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError("must be true or false")
        if kind == "int":
            if isinstance(raw, float) or (isinstance(raw, str) and not raw.strip().lstrip("-").isdigit()):
                raise ValueError("must be a whole number")
            value = int(str(raw))
            if value < 0:
                raise ValueError("must not be negative")
            return value
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{source}: {name}={raw!r}: {exc}") from None


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    **overrides: object,
) -> Settings:
    """Build the settings: defaults, then the TOML file, then LPMS_* variables, then overrides.

    The TOML file is ``LPMS_CONFIG`` if set, else ``config/lpms.toml`` under the working
    directory when it exists. Raises SettingsError naming the key and the source.
    """
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    path = config_path or (Path(env["LPMS_CONFIG"]) if env.get("LPMS_CONFIG") else Path("config/lpms.toml"))
    used_path: Path | None = None
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from None
        section = data.get("lpms", data)
        for key, raw in section.items():
            if key not in _FIELDS:
                raise SettingsError(f"{path}: unknown setting {key!r}")
            values[key] = _convert(key, raw, str(path))
        used_path = path
    elif config_path is not None or env.get("LPMS_CONFIG"):
        raise SettingsError(f"settings file {path} does not exist")
    for key, raw in env.items():
        if not key.startswith("LPMS_") or key == "LPMS_CONFIG":
            continue
        name = key[5:].lower()
        if name in _FIELDS:
            values[name] = _convert(name, raw, f"environment {key}")
    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _convert(name, raw, "override")
    if "log_level" in values:
        level = str(values["log_level"]).upper()
        if level not in LOG_LEVELS:
            raise SettingsError(f"{_source_of('log_level', env, used_path)}: log_level={values['log_level']!r}: "
                                f"not one of {', '.join(LOG_LEVELS)}")
        values["log_level"] = level
    for name in FRACTIONS:
        if name in values and not 0 <= float(values[name]) <= 1:  # type: ignore[arg-type]  # converted to float
            raise SettingsError(f"{_source_of(name, env, used_path, overrides)}: {name}={values[name]!r}: "
                                f"must be a fraction between 0 and 1")
    if "timezone" in values:
        _check_timezone(str(values["timezone"]), _source_of("timezone", env, used_path, overrides))
    if values.get("as_of"):
        values["as_of"] = parse_as_of(str(values["as_of"]), _source_of("as_of", env, used_path, overrides)).isoformat()
    if values.get("database_url"):
        values["database_url"] = _check_database_url(str(values["database_url"]),
                                                     _source_of("database_url", env, used_path, overrides))
    return Settings(config_file=used_path, **values)  # type: ignore[arg-type]  # values were converted per field type by _convert


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FRACTIONS = ("over_completion_tolerance", "behind_plan_fraction", "kit_rate_threshold", "scrap_threshold_fraction")


def _check_timezone(name: str, source: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{source}: timezone={name!r}: not an IANA time zone name (e.g. Europe/Berlin)") from None


def parse_as_of(text: str, source: str = "as_of") -> dt.datetime:
    """An ISO 8601 date-time as an aware UTC datetime (UTC when it carries no offset)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SettingsError(f"{source}: {text!r} is not an ISO 8601 date-time (e.g. 2026-12-01T08:00)") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _source_of(name: str, env: Mapping[str, str], path: Path | None,
               overrides: Mapping[str, object] | None = None) -> str:
    if overrides and overrides.get(name) is not None:
        return "--" + name.replace("_", "-")
    if f"LPMS_{name.upper()}" in env:
        return f"environment LPMS_{name.upper()}"
    return str(path) if path else "settings"


def _check_database_url(url: str, source: str) -> str:
    """Accept sqlite:///FILE and postgresql[+psycopg]://...; the PostgreSQL driver is always psycopg 3."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError(f"{source}: database_url {url!r} is not a database URL "
                            f"(e.g. sqlite:///instance/lpms.db or postgresql+psycopg://user@host:5432/lpms)") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite":
        if not parsed.database:
            raise SettingsError(f"{source}: database_url {url!r} names no file (e.g. sqlite:///instance/lpms.db)")
        return url
    if backend == "postgresql":
        if driver not in ("psycopg", "psycopg2") or "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif driver != "psycopg":
            raise SettingsError(f"{source}: database_url: driver {driver!r} is not installed; use postgresql+psycopg://")
        if not parsed.database:
            raise SettingsError(f"{source}: database_url {url!r} names no database (e.g. .../lpms)")
        return parsed.render_as_string(hide_password=False)
    raise SettingsError(f"{source}: database_url {url!r}: only sqlite:/// and postgresql+psycopg:// are supported")
