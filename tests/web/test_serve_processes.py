"""`lpms serve --processes N`: granian's worker processes (each with its own application and
database pool) serve the app; SIGTERM stops the server and its workers, exit status 0. And the
proxy middleware the workers run behind (web.servers.TrustedProxy)."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lpms.db import migrate
from web.servers import TrustedProxy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    """Until the server answers /healthz with 200 (60 s at most; fails if it exits)."""
    deadline = time.monotonic() + 60
    status = 0
    while time.monotonic() < deadline and status != 200:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            status, _ = _get(port, "/healthz")
        except OSError:
            time.sleep(0.2)
    assert status == 200


def _serve_command(tmp_path: Path, *options: str) -> tuple[list[str], dict[str, str], int]:
    """``lpms serve`` on a new SQLite database: (command, environment, port)."""
    url = f"sqlite:///{tmp_path / 'lpms.db'}"
    migrate.upgrade(url)
    port = _free_port()
    env = dict(os.environ, LPMS_SECRET_KEY="test-" + "k" * 40, LPMS_LOG_LEVEL="WARNING")
    return [sys.executable, "-m", "lpms", "serve", *options, "--port", str(port), "--database-url", url], env, port


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc: Linux")
def test_two_processes_serve_and_stop_on_sigterm(tmp_path: Path) -> None:
    cmd, env, port = _serve_command(tmp_path, "--processes", "2", "--threads", "2")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_healthy(proc, port)
        for _ in range(10):  # new connections: the kernel hands them to either worker
            assert _get(port, "/healthz")[0] == 200
        assert _get(port, "/api/v1/items")[0] == 401  # the app itself, not just the probe
        workers = _children(proc.pid)
        assert len(workers) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert b"2 processes x 2 threads" in out
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_trusted_proxy_applies_forwarded_headers_only_from_the_proxy() -> None:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append({k: environ.get(k) for k in ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_X_FORWARDED_FOR")})
        start_response("200 OK", [])
        return [b""]

    wrapped = TrustedProxy(app, "10.0.0.1")
    headers = {"HTTP_X_FORWARDED_FOR": "192.168.5.5", "HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "lpms",
               "wsgi.url_scheme": "http", "SERVER_NAME": "lpms", "SERVER_PORT": "80"}
    wrapped({**headers, "REMOTE_ADDR": "10.0.0.1"}, lambda *a: None)
    wrapped({**headers, "REMOTE_ADDR": "10.0.0.9"}, lambda *a: None)
    assert seen[0]["REMOTE_ADDR"] == "192.168.5.5" and seen[0]["wsgi.url_scheme"] == "https"
    assert seen[1] == {"REMOTE_ADDR": "10.0.0.9", "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_FOR": None}
    TrustedProxy(app, "")({**headers, "REMOTE_ADDR": "10.0.0.1"}, lambda *a: None)
    assert seen[2]["REMOTE_ADDR"] == "10.0.0.1" and seen[2]["HTTP_X_FORWARDED_FOR"] is None


def test_one_process_serves_and_an_address_in_use_is_refused_plainly(tmp_path: Path) -> None:
    cmd, env, port = _serve_command(tmp_path, "--threads", "2")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_healthy(proc, port)
        # a second server on the same port: a plain message, exit status 2, nothing started
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        assert second.stderr.strip() == f"lpms serve: cannot listen on 127.0.0.1:{port}: Address already in use"
        assert "LPMS at" not in second.stdout
        assert _get(port, "/healthz")[0] == 200  # the first still serves
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert b"2 threads" in out and not err.strip(), err.decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc: Linux")
def test_a_worker_that_dies_is_started_again(tmp_path: Path) -> None:
    cmd, env, port = _serve_command(tmp_path, "--threads", "2")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_healthy(proc, port)
        (worker,) = _children(proc.pid)
        os.kill(worker, signal.SIGKILL)  # out of memory, say
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_children(proc.pid) in ([], [worker])):
            time.sleep(0.1)
        (again,) = _children(proc.pid)
        assert again != worker
        _wait_healthy(proc, port)  # the server still answers, from the new worker
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
