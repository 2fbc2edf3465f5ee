"""Keep an unexpected exception's message and traceback inside the process.

Starlette answers an unhandled exception with the 500 handler and then
re-raises it; uvicorn logs the traceback, and a tracing middleware may record
it on the span (OpenTelemetry's ASGI middleware did, message and stack trace;
the gateway's own, gateway/telemetry/server.py, names the type only). An
exception message can carry request data (a BSN, a field value), so the edge
middleware (gateway/api/edge.py), the outermost of the app's own inside the
telemetry, catches it first and hands it to :func:`contain`: it answers the
RFC 9457 ``internal`` problem with a ``correlation_id``, logs one safe line
(exception classes, route template, correlation id: gateway/api/safe_logging.py)
plus the code locations (file, line, function; no message, no locals), marks the
span as an error by type name, and does not re-raise.
"""

from __future__ import annotations

import json
import logging
import traceback

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.requests import Request
from starlette.types import Scope, Send

from gateway.api.safe_logging import log_unexpected
from gateway.problems import PROBLEM_MEDIA_TYPE, InternalError
from gateway.redaction import redact_path

log = logging.getLogger("ketenpoort.errors")


FRAMES = 6


def code_locations(exc: BaseException, frames: int = FRAMES) -> str:
    """Where it happened: the innermost ``file:line in function`` frames; never the message."""
    summary = traceback.extract_tb(exc.__traceback__)[-frames:]
    return " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(summary))


async def _send_internal(send: Send, path: str, reference: str) -> None:
    problem = InternalError(extensions={"correlation_id": reference})
    body = json.dumps(problem.body(path)).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),  # sent past the edge's no-store (gateway/api/edge.py)
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def contain(scope: Scope, send: Send, exc: Exception, *, started: bool) -> None:
    """Answer and log an exception that reached the edge (gateway/api/edge.py); no re-raise."""
    path = redact_path(str(scope.get("path", "")))
    name = type(exc).__name__
    reference = log_unexpected(Request(scope), exc)
    log.error("correlation id %s happened at %s", reference, code_locations(exc))
    span = trace.get_current_span()
    if span.is_recording():
        span.set_status(Status(StatusCode.ERROR, name))
        span.add_event("exception", {"exception.type": name})
    if not started:
        await _send_internal(send, path, reference)
