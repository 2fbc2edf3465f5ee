"""Log records about failures carry no message text from the exception (promise 10).

An exception's message is data: SQLAlchemy puts the statement's parameters in
``str(exc)`` (a pseudonym, a sealed BSN, a case note), a driver quotes the
offending value of a constraint violation, and Starlette re-raises every
unhandled error to uvicorn, which logs the whole traceback with that message.
So every log record in the process passes one guard, installed as the log
record factory (the only hook that sees the records of every logger,
uvicorn's and third-party ones included, whatever handlers are configured
later):

- ``exc_info`` is replaced by a traceback of code locations and exception
  class names only ("(message withheld)"); the frames are our source lines,
  never values;
- an exception passed as a message argument is logged as its class name.

:func:`log_unexpected` writes the one summary of an unhandled error: its
class, the method and route template (never the concrete path, which holds
ids), and a correlation id (the trace id when there is one) that the client
also receives, so the two can be matched.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from starlette.requests import Request

WITHHELD = "(message withheld)"
_MAX_CHAIN = 10
_install_lock = threading.Lock()
_installed = False

log = logging.getLogger("ketenpoort.errors")


def exception_summary(exc: BaseException) -> str:
    """``IntegrityError <- UniqueViolation``: the class names along the cause chain."""
    return " <- ".join(_name(item) for item in _chain(exc))


def safe_traceback(exc: BaseException) -> str:
    """The traceback text without any exception message (oldest cause first)."""
    parts: list[str] = []
    for position, item in enumerate(reversed(_chain(exc))):
        if position:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_list(traceback.extract_tb(item.__traceback__)))
        parts.append(f"{_name(item)}: {WITHHELD}\n")
        if isinstance(item, BaseExceptionGroup):
            inner = ", ".join(exception_summary(sub) for sub in item.exceptions[:_MAX_CHAIN])
            parts.append(f"  contained: {inner}\n")
    return "".join(parts).rstrip("\n")


def _name(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, newest first, cycle-safe."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < _MAX_CHAIN and current not in chain:
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    return chain


def _safe_arg(value: object) -> object:
    return f"<{exception_summary(value)}>" if isinstance(value, BaseException) else value


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Make one record safe in place (idempotent)."""
    exc_info = record.exc_info
    if exc_info and exc_info[1] is not None:
        record.exc_text = safe_traceback(exc_info[1])
        record.exc_info = None
    if isinstance(record.msg, BaseException):
        record.msg = f"<{exception_summary(record.msg)}>"
    args = record.args
    if isinstance(args, tuple) and any(isinstance(arg, BaseException) for arg in args):
        record.args = tuple(_safe_arg(arg) for arg in args)
    elif isinstance(args, dict) and any(isinstance(v, BaseException) for v in args.values()):
        record.args = {key: _safe_arg(value) for key, value in args.items()}
    return record


def install_safe_logging() -> None:
    """Wrap the process's log record factory once; every later record is scrubbed."""
    global _installed  # noqa: PLW0603 - the record factory is process-wide by logging's design
    with _install_lock:
        if _installed:
            return
        previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return scrub(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True


def correlation_id() -> str:
    """The current trace id (hex) when a span is recording, else a fresh random id."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return format(context.trace_id, "032x")
    return uuid.uuid4().hex


def log_unexpected(request: Request, exc: BaseException) -> str:
    """Log an unhandled error safely; returns the correlation id to give the client."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "(no route)"
    reference = correlation_id()
    log.error(
        "unhandled %s during %s %s (correlation id %s)",
        exception_summary(exc),
        request.method,
        template,
        reference,
    )
    return reference
