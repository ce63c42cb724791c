"""The one place that reads settings: defaults, then config/lpms.toml, then LPMS_* variables.

Nothing else in LPMS reads the environment; everything receives a ``Settings``.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

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
            value = float(raw)  # type: ignore[arg-type]
            if value < 0:
                raise ValueError("must not be negative")
            return value
        if kind == "int":
            if isinstance(raw, float) or (isinstance(raw, str) and not raw.strip().lstrip("-").isdigit()):
                raise ValueError("must be a whole number")
            value = int(raw)  # type: ignore[arg-type]
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
    settings = Settings(config_file=used_path, **values)  # type: ignore[arg-type]
    url = settings.resolved_database_url
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise SettingsError(f"database_url {url!r}: only sqlite:/// and postgresql+psycopg:// are supported")
    return settings
