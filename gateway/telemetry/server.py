"""The SERVER span and the request-duration metric of every request, in one pure-ASGI layer.

OpenTelemetry's ASGI middleware cost ~700 Python calls per brokered query
(``python -m bench.query_cost --by-function``): it decoded every request header
once per header it looked up, built its attributes through the semantic-convention
helpers (each asking which convention set is in force), set them on the span a
second time one by one, recorded four metric instruments per request with a
trace-based exemplar filter, and our hooks then read its attributes back to link
the caller's trace and to redact. This layer makes the same span with the OTel
API directly: one pass over the raw header list, one attributes dict built (and
redacted, ``gateway.redaction``) before the span starts, the caller's
``traceparent`` parsed only when one was sent, and one histogram record.

What a span carries is what the instrumentation carried in its default mode (the
HTTP conventions of schema 1.11.0, scope ``opentelemetry.instrumentation.fastapi``):
the name and ``http.route`` from :class:`RouteNames`; ``http.method``,
``http.scheme``, ``http.flavor``, ``http.host`` and ``net.host.port`` (the server
socket), ``http.server_name`` (the Host headers), ``http.target`` (the path),
``http.url``, ``http.user_agent``, ``net.peer.ip`` and ``net.peer.port``; at the end
``http.status_code``, and status ERROR for a 5xx. Every value a caller chooses
has its query values and BSN-shaped digit runs redacted; a caller's trace is a
link holding its ids only (``gateway.tracecontext``). The metric is
``http.server.duration`` (ms) with the instrumentation's attributes for it
(method, scheme, flavor, host, port, status code and, for a matched route, the
route template as ``http.target``) but the server name: that is the caller's
Host, on the span only, so a caller cannot mint a metric series per host. The size histograms and
the active-requests counter are not kept (opt-in metrics in the stable HTTP
conventions; nothing here reads them), nor ``user_agent.synthetic.type`` (an
experimental attribute of recent instrumentation versions), nor header capture,
nor the ``OTEL_SEMCONV_STABILITY_OPT_IN`` switch. ``tests/foundation/test_server_spans.py``
pins all of it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from timeit import default_timer

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import Meter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.redaction import redact_path, redact_query, redact_target
from gateway.spans import mark_failed, status_set
from gateway.telemetry.routes import RouteNames, sanitized_method
from gateway.tracecontext import caller_link

# Not traced: the probes' own paths exactly (a load balancer asks them every few seconds).
PROBES = frozenset({"/health/live", "/health/ready"})
DURATION_METRIC = "http.server.duration"
_ROOT = Context()  # every server span starts a trace of the gateway's own
_DEFAULT_SERVER = ("0.0.0.0", 80)  # noqa: S104 - what the instrumentation reports without one

Attributes = dict[str, AttributeValue]

# ``redact_path`` remembered for the values that recur request after request (the
# server's address, the Host header, the caller's address, the route's path): a hit
# is one C call instead of ~2 Python calls per value (issue 16). Bounded, so a caller
# sending ever new values only evicts; the output is the same function's.
_shown: Callable[[str], str] = functools.lru_cache(maxsize=1024)(redact_path)


def request_attributes(
    scope: Scope, method: str, route: str | None
) -> tuple[Attributes, Attributes, bytes | None]:
    """(span attributes, metric attributes, the caller's ``traceparent`` or None).

    One pass over the raw header list; only what the span shows is decoded, as
    latin-1 (what ASGI says header bytes are; no byte can fail to decode).
    """
    hosts: list[bytes] = []
    agent = parent = None
    for key, value in scope.get("headers") or ():
        if key == b"host":
            hosts.append(value)
        elif key == b"user-agent":
            agent = value if agent is None else agent
        elif key == b"traceparent":
            parent = value if parent is None else parent
    server_ip, port = scope.get("server") or _DEFAULT_SERVER
    server = f"{server_ip}:{port}" if str(port) != "80" else str(server_ip)
    scheme = scope.get("scheme") or "http"
    path = scope.get("path") or ""
    query = scope.get("query_string") or b""
    shown_server = _shown(server)
    common: Attributes = {"http.scheme": scheme, "http.host": shown_server}
    if port:
        common["net.host.port"] = int(port)
    flavor = scope.get("http_version")
    if flavor:
        common["http.flavor"] = flavor
    if scope.get("method"):
        common["http.method"] = method
    attributes = common.copy()
    # Each value redacted once and reused: the URL's host is the (first) Host header
    # or the server, its path the target's (redact_request_url's parts, not re-redacted).
    if hosts:
        # On the span only: the metric's series are keyed by its attributes, and a
        # caller could otherwise mint a series per Host it sends (Edge refuses the
        # host inside this middleware) until the SDK's 2,000-series cap folds the
        # real ones into its overflow series.
        attributes["http.server_name"], url_host = _shown_hosts(hosts)
    else:
        url_host = _url_host(server) if "@" in server else shown_server
    shown_path = _shown(path)
    url = f"{scheme}://{url_host}{shown_path}"
    attributes["http.url"] = f"{url}?{redact_query(query.decode('latin-1'))}" if query else url
    if path:
        # A percent-encoded "?" is one in the decoded scope path: cut as a target would be.
        attributes["http.target"] = shown_path if "?" not in path else redact_target(path)
    if agent:
        attributes["http.user_agent"] = _shown(agent.decode("latin-1"))
    client = scope.get("client")
    if client:
        if client[0]:
            attributes["net.peer.ip"] = _shown(str(client[0]))
        if client[1]:
            attributes["net.peer.port"] = int(client[1])
    if route:
        attributes["http.route"] = route
        common["http.target"] = f"{scope.get('root_path', '')}{route}"
    return attributes, common, parent


def _url_host(host: str) -> str:
    """A host as :func:`gateway.redaction.redact_request_url` shows it: no user info, redacted."""
    return _shown(host.rsplit("@", 1)[-1])


def _shown_hosts(hosts: list[bytes]) -> tuple[str, str]:
    """(``http.server_name``, the URL's host) from the Host headers sent, each redacted once."""
    first = hosts[0].decode("latin-1")
    if len(hosts) > 1:
        return _shown(b",".join(hosts).decode("latin-1")), _url_host(first)
    shown = _shown(first)
    return shown, (shown if "@" not in first else _url_host(first))


class ServerSpans:
    """Pure-ASGI middleware: a SERVER span per request (but the probes), current while it runs."""

    def __init__(self, app: ASGIApp, *, names: RouteNames, tracer: Tracer, meter: Meter) -> None:
        self.app = app
        self._names = names
        self._tracer = tracer
        self._duration = meter.create_histogram(
            name=DURATION_METRIC,
            unit="ms",
            description="Measures the duration of inbound HTTP requests.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if (kind != "http" and kind != "websocket") or scope["path"] in PROBES:  # noqa: PLR1714
            await self.app(scope, receive, send)
            return
        start = default_timer()
        method = sanitized_method(scope)
        name, route = self._names.describe(scope, method)
        attributes, measured, traceparent = request_attributes(scope, method, route)
        parent, links = _ROOT, None
        if traceparent is not None:
            caller = caller_link(traceparent.decode("latin-1"))
            if caller is not None:
                parent, link = caller
                links = (link,)
        span = self._tracer.start_span(
            name, parent, kind=SpanKind.SERVER, attributes=attributes, links=links
        )
        current = trace.set_span_in_context(span, parent)
        token = otel_context.attach(current)
        status = 0

        async def traced_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, traced_send)
        except BaseException as exc:
            mark_failed(span, type(exc).__name__)
            raise
        finally:
            otel_context.detach(token)
            if status:
                span.set_attribute("http.status_code", status)
                measured["http.status_code"] = status
                if (status >= 500 or status < 100) and not status_set(span):
                    span.set_status(Status(StatusCode.ERROR))
            span.end()
            if kind == "http":
                elapsed = max(round((default_timer() - start) * 1000), 0)
                self._duration.record(elapsed, measured, context=current)
