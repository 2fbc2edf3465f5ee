"""BodySizeLimit passes a request through unwrapped only where its framing bounds the body.

The layer hands the app's own awaitable back (no frame, no wrappers) for a body
framed by one ``Content-Length`` within the limit; a body that could outgrow its
declared length (a ``Transfer-Encoding`` beside it, several lengths, none) is
still read through the guard and cut off with a 413 (docs/performance.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from gateway.api.limits import BodySizeLimit

LIMIT = 10


async def _reading_app(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _run(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, Any]:
    layer = BodySizeLimit(_reading_app, max_bytes=LIMIT)
    scope: Scope = {"type": "http", "path": "/v1/x", "headers": headers}
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> Any:
        handed = layer(scope, receive, send)
        await handed
        return handed

    handed = asyncio.run(main())
    return sent[0]["status"], handed


def test_a_body_framed_by_its_length_within_the_limit_goes_straight_to_the_app() -> None:
    status, handed = _run([(b"content-length", b"4")], [b"abcd"])
    assert status == 200
    assert handed.cr_code is _reading_app.__code__  # the app's own coroutine, no wrapper


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", b"4"), (b"transfer-encoding", b"chunked")],
        [(b"content-length", b"4"), (b"content-length", b"4")],
        [(b"transfer-encoding", b"chunked")],
        [],
    ],
    ids=["length-and-encoding", "two-lengths", "chunked", "no-length"],
)
def test_a_body_not_bounded_by_its_framing_is_still_cut_off(
    headers: list[tuple[bytes, bytes]],
) -> None:
    status, handed = _run(headers, [b"abcdefgh", b"ijklmnop"])
    assert status == 413
    assert handed.cr_code is not _reading_app.__code__


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    status, _ = _run([(b"content-length", b"11")], [b"x" * 11])
    assert status == 413


def test_an_invalid_length_is_a_400() -> None:
    status, _ = _run([(b"content-length", b"x")], [b""])
    assert status == 400
