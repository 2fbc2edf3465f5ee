"""Serve any ASGI app over real HTTP on loopback for the length of a `with` block.

    with serve_app(app) as base_url:
        httpx.get(base_url + "/health/live")

The server runs in a background thread on a free port (port 0), is ready to
accept connections when the block starts, and is shut down (in-flight
requests get a second to finish) when it ends, even if the block raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

from gateway.demo.serving import BackgroundServer


@contextmanager
def serve_app(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Yields the base URL, e.g. "http://127.0.0.1:53121" (no trailing slash)."""
    with BackgroundServer(app, host, port) as server:
        yield server.base_url
