"""The app's outermost middleware: containment, the Host check and ``Cache-Control``.

One pure-ASGI layer with three jobs, in this order (they were three middlewares
until issue 16; each was one more coroutine frame that every resumption of a
request's await chain passes through, ~9 per brokered query, and one more send
wrapper):

1. containment, outermost: whatever is raised inside leaves as the
   ``internal`` problem, never with its text (gateway/api/contain.py);
2. the Host check, before anything else answers;
3. ``no-store`` on every answer that did not set its own cache policy.

Host: pages and redirects build absolute URLs from the request's Host header,
so a forged Host could plant links to an attacker's site (cache poisoning,
password-reset style phishing). Only the host of ``KETENPOORT_BASE_URL`` is
accepted, plus ``KETENPOORT_ALLOWED_HOSTS`` and, in dev mode, the loopback
names and Starlette's test client host. ``/health/*`` is exempt: orchestrators
probe it by pod address and it builds no URLs.

Cache-Control: API answers and pages carry personal data, and a shared or
browser cache must not keep them. Every response gets ``no-store`` unless it
set its own policy (the public key sets do) or is a static asset.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.contain import contain
from gateway.httpserver import has_header
from gateway.problems import PROBLEM_MEDIA_TYPE, BadRequest
from gateway.settings import Settings

DEV_HOSTS = ("127.0.0.1", "localhost", "::1", "testserver")
HOST_EXEMPT_PREFIXES = ("/health/",)
CACHEABLE_PREFIXES = ("/static/",)


def allowed_hosts(settings: Settings) -> frozenset[str]:
    hosts = {(urlsplit(settings.base_url).hostname or "").lower()}
    hosts.update(host.lower() for host in settings.extra_hosts)
    if settings.dev_mode:
        hosts.update(DEV_HOSTS)
    hosts.discard("")
    return frozenset(hosts)


@functools.lru_cache(maxsize=256)
def _host_name(value: str) -> str:
    """The name in a Host header, ``""`` unless what follows it is nothing or ``:digits``.

    Anything else after the name (``gateway.example:health/live``,
    ``gateway.example:@evil.example``, ``[::1]x``) is not a Host (RFC 9110 §7.2)
    and was taken as the name before it. Cached (a pure function of the header;
    bounded, so a caller sending many Hosts only evicts): a hit costs no Python call.
    """
    value = value.strip().lower()
    if value.startswith("["):  # "[::1]:8080"
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1 :]) if end > 0 else ("", "")
    elif value.count(":") == 1:
        name, rest = value.split(":")
        rest = ":" + rest
    else:  # no port, or an unbracketed IPv6 address
        name, rest = value, ""
    port = rest[1:]
    if rest and not (rest[0] == ":" and (not port or (port.isascii() and port.isdigit()))):
        return ""
    return name


async def _refuse_host(send: Send, path: str) -> None:
    body = json.dumps(BadRequest(detail="Unknown Host header.").body(path)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Edge:
    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(hosts)

    def _host_allowed(self, scope: Scope, path: str) -> bool:
        host = ""
        for name, value in scope.get("headers", ()):  # the first Host header, no call
            if name == b"host":
                host = str(value.decode("latin-1"))
                break
        return _host_name(host) in self.hosts or path.startswith(HOST_EXEMPT_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path = str(scope.get("path", ""))
        if kind != "http":
            if kind == "websocket" and not self._host_allowed(scope, path):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        if not self._host_allowed(scope, path):
            await _refuse_host(send, path)
            return
        no_store = not path.startswith(CACHEABLE_PREFIXES)
        started = False

        async def edge_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if no_store:
                    # MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
                    # without the object: the headers become a list, and the header is
                    # appended only when no cache-control is there.
                    headers = message["headers"] = list(message["headers"])
                    if not has_header(headers, b"cache-control"):
                        headers.append((b"cache-control", b"no-store"))
            await send(message)

        try:
            await self.app(scope, receive, edge_send)
        except Exception as exc:  # noqa: BLE001 - contained on purpose (gateway/api/contain.py)
            await contain(scope, send, exc, started=started)
