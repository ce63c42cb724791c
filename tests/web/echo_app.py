"""A WSGI app for tests/web/test_trusted_proxy.py: answers with the client address it sees,
behind web.servers.TrustedProxy (the proxy address from LPMS_TEST_TRUSTED_PROXY), served by
granian in a subprocess like ``lpms serve``."""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from web.servers import TrustedProxy, WsgiApp


def _echo_address(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("REMOTE_ADDR", "").encode()]


def make() -> WsgiApp:
    return TrustedProxy(_echo_address, os.environ.get("LPMS_TEST_TRUSTED_PROXY", ""))
