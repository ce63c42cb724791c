"""The production WSGI servers behind ``lpms serve`` (docs/web.md, "Serving").

One process (the default): waitress, pure Python, on Linux and Windows, a thread pool.
More than one process (``--processes N``, Linux and macOS): gunicorn's pre-fork arbiter with
threaded workers (``gthread``); each worker builds its own application and database pool after
the fork. A Python process runs Python code on one core at a time, so a second process is what
lets the web use a second core.

Proxy headers: trusted only from the ``trusted_proxy`` address (one hop): the client's address,
scheme, host and port then come from that proxy's ``X-Forwarded-*`` headers; from anyone else
those headers are dropped, so a client cannot pose as another address.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def waitress_proxy_options(trusted_proxy: str) -> dict[str, Any]:
    """waitress's own options for a trusted reverse proxy (none without one)."""
    if not trusted_proxy:
        return {}
    return {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port"}


class TrustedProxy:
    """WSGI middleware for gunicorn: X-Forwarded-* headers from ``proxy`` (``*``: any peer) are
    applied (werkzeug's ProxyFix, one hop); from any other peer they are removed."""

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


def serve_waitress(app: WsgiApp, *, host: str, port: int, threads: int, trusted_proxy: str) -> None:
    import waitress

    waitress.serve(app, host=host, port=port, threads=threads, ident="lpms", clear_untrusted_proxy_headers=True,
                   **waitress_proxy_options(trusted_proxy))


def serve_gunicorn(make_app: Callable[[], WsgiApp], *, host: str, port: int, processes: int, threads: int,
                   trusted_proxy: str) -> None:
    """Serve with ``processes`` gunicorn workers of ``threads`` threads; ``make_app`` runs in each
    worker after the fork. Returns when the arbiter stops (SIGINT, SIGTERM)."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for name, value in {"bind": [f"{host}:{port}"], "workers": processes, "worker_class": "gthread",
                                "threads": threads, "preload_app": False, "accesslog": None, "errorlog": "-",
                                "loglevel": "warning", "forwarded_allow_ips": "",
                                "proc_name": "lpms"}.items():
                self.cfg.set(name, value)

        def load(self) -> WsgiApp:
            return TrustedProxy(make_app(), trusted_proxy)

    Application().run()
