"""The trusted_proxy setting: behind a reverse proxy, the client's address (which login throttling
counts) comes from the proxy's X-Forwarded-For; without the setting such headers are dropped, so
a client cannot pose as another address."""
from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import waitress.server
from waitress import wasyncore

from lpms.settings import Settings
from web.servers import waitress_proxy_options


def _echo_address(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("REMOTE_ADDR", "").encode()]


@contextmanager
def _serving(settings: Settings) -> Iterator[int]:
    server: Any = waitress.server.create_server(_echo_address, host="127.0.0.1", port=0, threads=1,
                                                clear_untrusted_proxy_headers=True, **waitress_proxy_options(settings.trusted_proxy))
    stop = threading.Event()

    def loop() -> None:  # the server's own loop, in short turns, so that it can be stopped cleanly
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        stop.set()
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)  # the listening socket and the connections it accepted


def _address_seen(port: int, forwarded_for: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"X-Forwarded-For": forwarded_for})
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client() -> None:
    with _serving(Settings(trusted_proxy="127.0.0.1")) as port:
        assert _address_seen(port, "10.1.2.3") == "10.1.2.3"


def test_without_the_setting_a_forwarded_address_is_ignored() -> None:
    assert waitress_proxy_options(Settings().trusted_proxy) == {}
    with _serving(Settings()) as port:
        assert _address_seen(port, "10.1.2.3") == "127.0.0.1"
