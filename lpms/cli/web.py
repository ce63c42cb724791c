"""`lpms serve` and `lpms users ...`: the web application and its users (docs/web.md)."""
from __future__ import annotations

import argparse
import dataclasses
import getpass
import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from lpms.cli._common import Parser, UsageError, actor, now_of, settings_of
from lpms.domain.enums import Role
from lpms.settings import Settings

DEFAULT_SECRET = "dev-only-change-me"  # Settings' default: never good enough to serve with
SECRET_FILE = "secret_key"


def demo_secret(instance: Path) -> str:
    """The demo instance's secret key: generated once into instance/secret_key (mode 0600)."""
    path = instance / SECRET_FILE
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if len(text) >= 32:
            return text
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def serving_settings(settings: Settings, *, demo: bool) -> Settings:
    """The settings to serve with: a configured secret key, or (demo only) the instance's own."""
    if demo:
        if settings.secret_key and settings.secret_key != DEFAULT_SECRET:
            return settings
        return dataclasses.replace(settings, secret_key=demo_secret(settings.instance_dir))
    if not settings.secret_key or settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 16:
        raise UsageError("lpms serve: no secret key configured: set secret_key (at least 16 characters) in "
                         "config/lpms.toml or LPMS_SECRET_KEY, e.g. from python3 -c \"import secrets; "
                         "print(secrets.token_urlsafe(48))\" (the demo instance: lpms serve --demo)")
    return settings


def _start_jobs(args: argparse.Namespace) -> subprocess.Popen[bytes] | None:
    """The jobs process beside the demo server (`lpms jobs run`), when this build has it."""
    if importlib.util.find_spec("jobs") is None:
        print("jobs process: not part of this installation (plan runs stay queued)", file=sys.stderr)
        return None
    cmd = [sys.executable, "-m", "lpms", "jobs", "run"]
    if getattr(args, "database_url", None):
        cmd += ["--database-url", args.database_url]
    return subprocess.Popen(cmd)


def cmd_serve(args: argparse.Namespace) -> int:
    from lpms.bootstrap import open_database
    from web import servers

    settings = serving_settings(settings_of(args), demo=args.demo)
    processes = args.processes
    if processes < 1 or args.threads < 1:
        raise UsageError("lpms serve: --processes and --threads must be at least 1")
    if processes > 1 and sys.platform == "win32":
        raise UsageError("lpms serve: more than one process needs Linux or macOS; on Windows serve with one "
                         "process (--processes 1)")
    try:
        servers.check_address(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"lpms serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    url = f"http://{args.host}:{args.port}"
    jobs = None
    if args.demo:
        from lpms.services.users import ensure_demo_users

        with open_database(settings) as database:
            demo_users = ensure_demo_users(database.uow(), actor=actor(), now=now_of(args))
        jobs = _start_jobs(args)
        print(f"LPMS demo plant at {url}  (Ctrl-C stops the server and the jobs process)")
        print("demo users (user / password):")
        for name, role, password in demo_users:
            print(f"  {name:<11} {password:<16} {role.value}")
    else:
        open_database(settings).dispose()  # a missing or old database is refused before the workers start
        how = f"{processes} processes x {args.threads} threads" if processes > 1 else f"{args.threads} threads"
        print(f"LPMS at {url}  ({how}; Ctrl-C stops)")
    sys.stdout.flush()
    try:
        servers.serve(settings, host=args.host, port=args.port, processes=processes, threads=args.threads)
    except OSError as exc:
        raise UsageError(f"lpms serve: cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}") from None
    except servers.ServerFailed as exc:
        print(f"lpms serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if jobs is not None:
            jobs.terminate()
            try:
                jobs.wait(timeout=10)
            except subprocess.TimeoutExpired:
                jobs.kill()
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageError("lpms users: --password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("lpms users: no terminal to type the password at: pipe it in with --password-stdin")
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except EOFError:
        raise UsageError("lpms users: no password given (type it at the prompt, or pipe it in with "
                         "--password-stdin)") from None
    if again != first:
        raise UsageError("lpms users: the two passwords differ")
    return first


def _users(args: argparse.Namespace, use: Any) -> int:
    from lpms.bootstrap import open_database

    with open_database(settings_of(args)) as db:
        return int(use(db.uow()) or 0)


def cmd_users(args: argparse.Namespace) -> int:
    from lpms.services import users

    now = now_of(args)
    who = actor()
    if args.action == "list":
        def show(uow: Any) -> None:
            for u in users.list_users(uow):
                print(f"{u.username:<20} {u.role.value:<11} {'active' if u.active else 'inactive':<9} {u.display_name}")
            for t in users.list_tokens(uow):
                state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
                print(f"token {t.id:<5} {t.username:<20} {t.prefix}...  {state}  {t.name}")
        return _users(args, show)
    if not args.name:
        raise UsageError(f"lpms users {args.action}: name the user (or the token id for revoke)")
    if args.action == "add":
        if not args.role:
            raise UsageError("lpms users add: --role is required (supervisor, planner, manager, admin)")
        password = _password(args)
        return _users(args, lambda uow: print(
            f"user {users.add_user(uow, args.name, args.role, password, display_name=args.display_name or '', actor=who, now=now).username} added"))
    if args.action == "passwd":
        password = _password(args)
        return _users(args, lambda uow: print(
            f"password of {users.set_password(uow, args.name, password, actor=who, now=now).username} changed"))
    if args.action == "token":
        def token(uow: Any) -> None:
            new = users.create_token(uow, args.name, name=args.token_name or "", actor=who, now=now)
            print(new.secret)
            print(f"token {new.record.id} for {args.name}: shown once, store it now "
                  f"(Authorization: Bearer TOKEN)", file=sys.stderr)
        return _users(args, token)
    # revoke
    if not args.name.isdigit():
        raise UsageError("lpms users revoke: give the token's id (lpms users list shows them)")
    return _users(args, lambda uow: print(f"token {users.revoke_token(uow, int(args.name), actor=who, now=now).id} revoked"))


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[common], help="Serve the web application (granian).",
                       description="Serve the web screens and the JSON API with granian: --processes worker "
                                   "processes (more than one: Linux and macOS) of --threads threads. Needs a secret key "
                                   "(secret_key setting) except with --demo, which generates one into the "
                                   "instance folder, creates the demo users, starts the jobs process beside "
                                   "the server and prints the URL and the users.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--threads", type=int, default=8, help="worker threads per process (default 8)")
    p.add_argument("--processes", type=int, default=1,
                   help="server worker processes (default 1; more: Linux and macOS), one per core to use")
    p.add_argument("--demo", action="store_true", help="the demo instance: own secret key, demo users, jobs process")
    p.set_defaults(func=cmd_serve)

    u = sub.add_parser("users", parents=[common], help="Users and API tokens of the web application.",
                       description="lpms users add NAME --role ROLE | passwd NAME | token NAME [--name TEXT] | "
                                   "revoke TOKEN_ID | list")
    u.add_argument("action", choices=["add", "passwd", "token", "revoke", "list"])
    u.add_argument("name", nargs="?", help="user name (token id for revoke)")
    u.add_argument("--role", choices=[r.value for r in Role],
                   help="supervisor, planner, manager or admin (add)")
    u.add_argument("--display-name", help="shown on screens (add)")
    u.add_argument("--name", dest="token_name", help="what the token is for (token)")
    u.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    u.set_defaults(func=cmd_users)


__all__ = ["Parser", "register"]
