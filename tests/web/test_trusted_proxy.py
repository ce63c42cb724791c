"""The trusted_proxy setting: behind a reverse proxy, the client's address (which login throttling
counts) comes from the proxy's X-Forwarded-For; without the setting such headers are dropped, so
a client cannot pose as another address. Through the production server (granian, in a
subprocess) and web.servers.TrustedProxy, as ``lpms serve`` runs them."""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(trusted_proxy: str) -> Iterator[int]:
    port = _free_port()
    env = dict(os.environ, LPMS_TEST_TRUSTED_PROXY=trusted_proxy, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "wsgi", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
                             "tests.web.echo_app:make"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "granian exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "granian did not listen within 30 s"
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def _address_seen(port: int, forwarded_for: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"X-Forwarded-For": forwarded_for})
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client() -> None:
    with _serving("127.0.0.1") as port:
        assert _address_seen(port, "10.1.2.3") == "10.1.2.3"


def test_without_the_setting_a_forwarded_address_is_ignored() -> None:
    with _serving("") as port:
        assert _address_seen(port, "10.1.2.3") == "127.0.0.1"


def test_a_forwarded_address_from_another_peer_is_ignored() -> None:
    with _serving("10.9.9.9") as port:
        assert _address_seen(port, "10.1.2.3") == "127.0.0.1"
