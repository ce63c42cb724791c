"""What every command module shares: the parser class, usage errors, settings and the database."""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lpms.bootstrap import Database, clock, open_database
from lpms.settings import Settings, SettingsError, load_settings, parse_as_of


class UsageError(Exception):
    """A wrong argument: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # argparse's error() returns NoReturn
        raise UsageError(f"{self.prog}: {message}")


def as_of(text: str) -> dt.datetime:
    """An ISO 8601 date-time; UTC when it carries no offset."""
    try:
        return parse_as_of(text, "--as-of")
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--as-of: ")) from None


def database_options() -> argparse.ArgumentParser:
    """The options of every command that works on the database."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="database URL (default: settings; SQLite file under instance/)")
    common.add_argument("--as-of", type=as_of, metavar="DATETIME",
                        help="the time the command acts at (ISO 8601, UTC without an offset; default: now)")
    return common


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(database_url=getattr(args, "database_url", None))


def actor() -> str:
    """Who acts when a person runs the CLI: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def now_of(args: argparse.Namespace) -> dt.datetime:
    """The command's time: --as-of, else the ``as_of`` setting, else the clock (read here, at the edge)."""
    value = getattr(args, "as_of", None)
    return value if value is not None else clock(settings_of(args))


@contextmanager
def database(args: argparse.Namespace) -> Iterator[Database]:
    """The migrated database named by the settings (one engine for the command)."""
    with open_database(settings_of(args)) as db:
        yield db


def with_database(args: argparse.Namespace, use: Callable[..., object]) -> object:
    """Open the migrated database, call ``use(uow, settings)``, close it."""
    settings = settings_of(args)
    with open_database(settings) as db:
        return use(db.uow(), settings)
