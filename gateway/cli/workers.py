"""``ketenpoort serve --workers N``: N processes, each with its own SO_REUSEPORT socket.

Why not ``uvicorn --workers``: there all workers accept from one shared
listening socket, and the worker that happens to be awake takes nearly every
connection (measured: CPU ticks 11 vs 1,015 over 12 s with two workers). With
``SO_REUSEPORT`` each worker has its own socket and accept queue on the same
port, and the kernel spreads new connections over them by a hash of the
connection's addresses, so the load is shared however busy each worker is.

The parent prepares once (migrations, keys, covenants), then only supervises:
it restarts a worker that dies and stops them all on SIGTERM or SIGINT. Each
worker is a whole gateway (its own engine, audit writer and retention job);
the database already serialises what instances share (the audit head row,
the retention run lock), exactly as for several ``serve`` instances.
SQLite allows one writing process, so several workers need PostgreSQL.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

log = logging.getLogger("ketenpoort.workers")

RESTART_PAUSE_S = 1.0
STOP_GRACE_S = 20.0


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other workers may bind to the same address as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int) -> None:
    """One gateway process on its own SO_REUSEPORT socket (runs in a spawned child)."""
    from gateway.app import create_app
    from gateway.cli.serve import prepare
    from gateway.httpserver import server_config
    from gateway.settings import Settings

    settings = Settings()
    app = create_app(settings, prepare(settings))
    config = server_config(app, log_level="info", proxy_headers=False)
    uvicorn.Server(config).run(sockets=[reuseport_socket(host, port)])


class Supervisor:
    """Keeps ``count`` workers running until told to stop."""

    def __init__(self, host: str, port: int, count: int) -> None:
        self.host, self.port, self.count = host, port, count
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[BaseProcess] = []
        self._stopping = False

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(
            target=_worker, args=(self.host, self.port), name="ketenpoort-worker", daemon=False
        )
        process.start()
        return process

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._workers = [self._spawn() for _ in range(self.count)]
        try:
            while not self._stopping:
                wait([w.sentinel for w in self._workers], timeout=0.5)
                for index, worker in enumerate(self._workers):
                    if worker.exitcode is not None and not self._stopping:
                        log.warning(
                            "worker %s exited (%s); restarting", worker.pid, worker.exitcode
                        )
                        time.sleep(RESTART_PAUSE_S)
                        self._workers[index] = self._spawn()
        finally:
            self.stop()

    def stop(self) -> None:
        for worker in self._workers:
            if worker.exitcode is None and worker.pid is not None:
                worker.terminate()  # SIGTERM: uvicorn finishes in-flight requests
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.exitcode is None:
                worker.kill()
                worker.join()
