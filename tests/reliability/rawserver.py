"""A misbehaving HTTP peer on loopback: resets mid-response, answers garbage JSON or broken HTTP."""

from __future__ import annotations

import contextlib
import functools
import gzip
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

Mode = Literal[
    "reset", "garbage", "not_http", "short_body", "bad_gzip", "drip_head", "drip_body", "gzip_bomb"
]
DRIP_INTERVAL_S = 0.1
DRIP_FOR_S = 30.0
GARBAGE = b'{"subject_known": true, "records": [{"id": '


@functools.cache
def gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * 50_000_000, compresslevel=9)


def _serve_one(conn: socket.socket, mode: Mode) -> None:
    with conn:
        conn.settimeout(5)
        try:
            conn.recv(65536)
            if mode == "reset":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-le")
                # SO_LINGER 0: close sends RST instead of FIN (a connection reset).
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if mode == "not_http":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6 not an http answer\r\n\r\n")
                return
            if mode == "short_body":  # promises 1000 bytes, sends 10, closes
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + GARBAGE[:10])
                return
            if mode in (
                "drip_head",
                "drip_body",
            ):  # a byte at a time, each well within a read timeout
                head = b"HTTP/1.1 200 OK\r\n"
                if mode == "drip_body":
                    head += b"content-type: application/json\r\ncontent-length: 4000\r\n\r\n"
                else:
                    head += b"x-drip: "
                conn.sendall(head)
                for _ in range(int(DRIP_FOR_S / DRIP_INTERVAL_S)):
                    time.sleep(DRIP_INTERVAL_S)
                    conn.sendall(b" ")
                return
            if mode == "gzip_bomb":  # 50 MB of zeros in ~50 kB, declared honestly
                bomb = gzip_bomb()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-encoding: gzip\r\n"
                    + f"content-length: {len(bomb)}\r\nconnection: close\r\n\r\n".encode()
                    + bomb
                )
                return
            if mode == "bad_gzip":
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 10\r\n"
                    b"connection: close\r\n\r\n" + b"0123456789"
                )
                return
            head = (
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                f"content-length: {len(GARBAGE)}\r\nconnection: close\r\n\r\n"
            )
            conn.sendall(head.encode() + GARBAGE)
        except OSError:
            return


@contextmanager
def raw_server(mode: Mode) -> Iterator[str]:
    """Yields the base URL; every connection gets the same misbehaviour."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if stopping.is_set():  # the wake-up connection below
                conn.close()
                return
            threading.Thread(target=_serve_one, args=(conn, mode), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        # accept() does not return when another thread closes the socket: wake it.
        with contextlib.suppress(OSError):
            socket.create_connection(listener.getsockname(), timeout=1).close()
        thread.join(5)
        listener.close()


def ends_within(call: Callable[[], object], seconds: float) -> object:
    """What ``call`` returned or raised, run in a thread; fails if it runs past ``seconds``.

    For exchanges with a misbehaving server that would otherwise go on for
    ``DRIP_FOR_S``: a liveness check with a wide margin, not a timing.
    """
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "still running: the exchange outlived its bound"
    return outcome[0]
