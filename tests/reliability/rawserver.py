"""A misbehaving HTTP peer on loopback: resets mid-response, answers garbage JSON or broken HTTP."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Mode = Literal["reset", "garbage", "not_http", "short_body", "bad_gzip"]
GARBAGE = b'{"subject_known": true, "records": [{"id": '


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
            threading.Thread(target=_serve_one, args=(conn, mode), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        listener.close()
        thread.join(5)
