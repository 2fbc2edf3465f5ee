"""A span made current for a block, for the gateway's own spans on the query path.

``tracer.start_as_current_span`` nests three generator context managers (the
proxy tracer's, the SDK tracer's and ``use_span``), ~25 Python calls per span
before any work; a brokered query opens three such spans per source. This is
the same thing (start the span, make it current, end it) as one small class,
with the attributes given at the start in one dict rather than set one by one.

An exception that leaves the block marks the span as an error by its type name
only. ``start_as_current_span`` would record the exception's message and stack
trace on the span, and a message can carry request data (a BSN, a field value)
to the collector; gateway/api/contain.py treats the SERVER span the same way.
"""

from __future__ import annotations

from contextvars import Token
from types import TracebackType

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import Attributes

# The context key the OTel API keeps the current span under (``get_current_span``'s),
# found through the public API rather than imported by its private name.
SPAN_KEY = next(iter(trace.set_span_in_context(trace.INVALID_SPAN, Context())))
SPAN_TYPES: set[type] = set()
"""Concrete classes seen to be :class:`opentelemetry.trace.Span` (filled by :func:`is_span`).

``Span`` is an ABC, so ``isinstance`` against it runs Python code each time; a
hot path checks ``type(value) in SPAN_TYPES`` and asks :func:`is_span` only
for a class it has not seen.
"""


def is_span(value: object) -> bool:
    """Whether ``get_current_span`` would take ``value`` as the span (remembering its class)."""
    if isinstance(value, trace.Span):
        SPAN_TYPES.add(type(value))
        return True
    return False


class CurrentSpan:
    """``with CurrentSpan(tracer, name, attributes) as span:`` — started, current, then ended.

    ``current=False`` is for a leaf span nothing in the block looks up (a source
    call's CLIENT span, whose ``traceparent`` is built from the span itself): it
    is started as a child of the current span and ended the same way, without
    the three context steps (~6 Python calls) that would make it current.
    """

    __slots__ = ("_current", "_span", "_token")

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        attributes: Attributes = None,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        current: bool = True,
    ) -> None:
        # The context once, passed on: each OTel step would otherwise read it again.
        parent = otel_context.get_current()
        self._span = tracer.start_span(name, parent, kind=kind, attributes=attributes)
        self._current = trace.set_span_in_context(self._span, parent) if current else None
        self._token: Token[Context] | None = None

    def __enter__(self) -> trace.Span:
        if self._current is not None:
            self._token = otel_context.attach(self._current)
        return self._span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
        if kind is not None:
            mark_failed(self._span, kind.__name__)
        self._span.end()


def status_set(span: trace.Span) -> bool:
    """Whether the span's status was set already (a source call names its reason)."""
    status = getattr(span, "status", None)  # the SDK's spans have one; the API's do not say
    return isinstance(status, Status) and status.status_code is not StatusCode.UNSET


def mark_failed(span: trace.Span, name: str) -> None:
    """Status ERROR described by an exception's type name, unless a status was set already."""
    if span.is_recording() and not status_set(span):
        span.set_status(Status(StatusCode.ERROR, name))
