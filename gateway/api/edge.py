"""What every response crosses on its way out: the Host check and ``Cache-Control``.

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

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # "[::1]:8080"
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostCheck:
    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        host = _host_name(Headers(scope=scope).get("host", ""))
        if host in self.hosts or path.startswith(HOST_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
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


class NoStore:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(CACHEABLE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_wrapper)
