"""The production WSGI server behind ``lpms serve`` (docs/web.md, "Serving"): granian.

granian's HTTP handling (parsing, keep-alive, writing answers) is compiled Rust; only the
application runs in Python, on ``--threads`` threads per worker process. ``--processes N``
starts N worker processes on one listening socket (Linux and macOS; granian serves Windows with
one): a Python process runs Python code on one core at a time, so a second process is what lets
the web use a second core. Each worker builds its own application and database pool
(``load_app``, after the worker started). SIGINT and SIGTERM stop the workers (a worker not
stopped within ``STOP_TIMEOUT_S`` is killed; requests still running are cut off, and a report
cut off before its commit is simply not recorded: its resend records it) and return from
``serve``.

Measured against the servers it replaced (bench/RESULTS.md, "Web"): per completion report over
HTTP, gunicorn's threaded workers took 1.5-1.7 ms of server CPU, granian 1.2-1.3 ms; waitress
(pure Python, one process) more than either.

Proxy headers: trusted only from the ``trusted_proxy`` address (one hop): the client's address,
scheme, host and port then come from that proxy's ``X-Forwarded-*`` headers; from anyone else
those headers are dropped, so a client cannot pose as another address.
"""
from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from lpms.settings import Settings

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
STOP_TIMEOUT_S = 5  # a worker not stopped this long after SIGINT / SIGTERM is killed


class TrustedProxy:
    """WSGI middleware: X-Forwarded-* headers from ``proxy`` (``*``: any peer) are applied
    (werkzeug's ProxyFix, one hop); from any other peer they are removed."""

    def __init__(self, app: WsgiApp, proxy: str) -> None:
        self.app = app
        self.proxy = proxy
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.proxy and (self.proxy == "*" or environ.get("REMOTE_ADDR") == self.proxy):
            return self.fixed(environ, start_response)
        for name in FORWARDED_HEADERS:
            environ.pop(name, None)
        return self.app(environ, start_response)


def load_app(settings: Settings, threads: int) -> WsgiApp:
    """A worker's application: its own database pool, a connection per server thread (a smaller
    pool would open and close a connection per request beyond its size), behind the proxy
    middleware. Module-level, so that a worker started by ``spawn`` (macOS) can unpickle it."""
    import traceback

    from lpms.bootstrap import open_database, write_crash_log
    from lpms.domain.errors import LpmsError
    from web import create_app

    try:
        app = create_app(settings, database=open_database(settings, connections=threads))
    except LpmsError as exc:  # e.g. the database went away after the server's own check
        print(f"lpms serve: a worker could not start: {exc}", file=sys.stderr, flush=True)
        os._exit(3)
    except Exception as exc:  # noqa: BLE001 - one line here, the details in the crash log
        path = write_crash_log(settings, "".join(traceback.format_exception(exc)))
        print(f"lpms serve: a worker could not start: internal error ({type(exc).__name__}: {exc}); details in "
              f"{path}", file=sys.stderr, flush=True)
        os._exit(3)
    return TrustedProxy(app, settings.trusted_proxy)


class ServerFailed(RuntimeError):
    """The server stopped without being asked to (its workers kept failing)."""


FAILED = "a server worker failed again right after it was restarted; the server stopped (its error is above)"


def check_address(host: str, port: int) -> None:
    """Raise OSError when ``host:port`` cannot be listened on (in use, not an address of this
    machine), before any worker starts (granian's own error is a Rust backtrace)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if sys.platform != "win32":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        probe.bind((host, port))


def serve(settings: Settings, *, host: str, port: int, processes: int, threads: int) -> None:
    """Serve until SIGINT or SIGTERM: ``processes`` granian workers of ``threads`` threads.
    Raises OSError when the address cannot be listened on."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    check_address(host, port)
    # errors only: granian's warnings are sizing advice (it finds 8 threads many for 2 cores;
    # ours wait on the database most of the time)
    # workers_kill_timeout: a worker that got SIGINT and SIGTERM at once (Ctrl-C reaches the whole
    # process group) sometimes never stops on a busy machine (granian 2.8; seen here about one
    # stop in two under full CPU load); it is killed after this many seconds
    # respawn_failed_workers: a worker that dies (killed, out of memory) is started again; without
    # it granian stops the whole server, and a worker failing again within 5.5 s stops it too
    server = Granian("lpms", address=host, port=port, interface=Interfaces.WSGI, workers=processes,
                     blocking_threads=threads, websockets=False, log_level=LogLevels.error, log_access=False,
                     workers_kill_timeout=STOP_TIMEOUT_S, respawn_failed_workers=True)
    try:
        server.serve(target_loader=partial(load_app, settings, threads), wrap_loader=False)
    except RuntimeError as exc:  # the listening socket, should it be taken between the check and here
        if "in use" in str(exc):
            raise OSError(f"address {host}:{port} is in use") from None
        raise
    except SystemExit as exc:  # granian exits 1 when its workers keep failing
        if exc.code in (0, None):
            return
        raise ServerFailed(FAILED) from None
    if not server.interrupt_signal:  # not stopped by SIGINT / SIGTERM: its workers kept failing
        raise ServerFailed(FAILED)
