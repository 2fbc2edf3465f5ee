"""Run an ASGI app with uvicorn on a real loopback socket in a background thread.

Used by the demo runner and by tests that need a live HTTP peer. The socket is
bound before the thread starts, so port 0 gives a free port with no race and a
bind failure surfaces in the caller.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Final

import uvicorn
from starlette.types import ASGIApp

from gateway.httpserver import server_config

_STARTUP_TIMEOUT_S: Final = 10.0
_STOP_TIMEOUT_S: Final = 5.0


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound TCP socket; bind it first when the app must know its own URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP; with proto 0, Nagle + delayed ACK add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class BackgroundServer:
    """One uvicorn server in one daemon thread; `start()` returns once it accepts."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sock: socket.socket | None = None,
    ) -> None:
        self._socket = sock if sock is not None else bind_socket(host, port)
        self.base_url = url_of(self._socket)
        config = server_config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="auto",
            timeout_graceful_shutdown=1,
            ws="none",
            # As `ketenpoort serve`: the gateway resolves X-Forwarded-For itself, from
            # KETENPOORT_TRUSTED_PROXIES only (gateway/auth/client_address.py).
            proxy_headers=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run,
            name=f"uvicorn {self.base_url}",
            daemon=True,
        )

    def _run(self) -> None:
        with contextlib.suppress(SystemExit):  # a failed lifespan startup; start() reports it
            self._server.run(sockets=[self._socket])

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                self._socket.close()
                raise RuntimeError(f"server on {self.base_url} failed to start")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server on {self.base_url} did not start in time")
            time.sleep(0.005)

    def request_stop(self) -> None:
        """Starts shutting down without waiting; lets a caller stop many servers at once."""
        self._server.should_exit = True

    def stop(self) -> None:
        """Asks uvicorn to finish in-flight requests, then forces it after a bound."""
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(_STOP_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
