"""Telling the OM's system that a consent request waits (optional, per covenant).

An OM party may name ``consent_webhook: {url, timeout_s, max_attempts,
backoff_s}`` in the covenant. Each new request is POSTed there by a few
background delivery threads, so a query never waits for the OM's system;
failures are retried with exponential backoff. A delivery waiting for its
retry holds no thread: it waits in a schedule the threads take from, and that
schedule is bounded, so a receiver that is down or drips its answers while a
partner makes request after request costs at most ``DELIVERY_THREADS``
threads and ``MAX_WAITING`` scheduled deliveries (one thread per delivery, as
before, let every new request add a thread living for minutes).

The threads and the schedule serve every OM party of every covenant, so one
receiver (an OM party at one URL) that stalls must not take them from the
others (review: with one shared heap, a receiver that ran into its 60 s
timeout on every attempt held all (then four) threads and filled the schedule, so
other covenants' notices, ``widened``/``changed`` ones too, waited minutes and
then were dropped). Hence per receiver:

* at most ``MAX_IN_FLIGHT_PER_RECEIVER`` (one) delivery is in flight; a thread
  takes the earliest due delivery whose receiver has none in flight, so a
  stalled receiver holds one thread and its backlog waits in the schedule;
* at most its share of the schedule is taken (waiting and in flight):
  ``MAX_WAITING`` divided by the number of receivers the policy names, at most
  ``MAX_WAITING_PER_RECEIVER``. The shares add up to no more than the whole, so
  a receiver below its share always finds room, whatever the others do.

A notice that finds its receiver's share full is not sent and logged: the
request itself waits in the gateway as always, and the OM finds it through
``GET /v1/consents``. A retry keeps the place its delivery held, so it is
never dropped. The body holds identifiers only (never the
BSN). ``Authorization: Bearer`` carries a JWT signed with the gateway's
current ``token`` key (verifiable with ``/oauth/jwks``) whose ``aud`` is the
webhook URL and whose ``body_sha256`` binds it to this very body.

A pending request that changes (categories added, new case phase) is
announced again with ``event`` ``widened``/``changed`` and its new ``version``:
the OM must never decide on a request that grew behind its back. Each version
has its own ``Idempotency-Key`` (``<id>`` for the first, ``<id>.v<n>`` after),
so a receiver that de-duplicates still sees every change.

The URL passed the covenant's checks at load (https, no literal non-public
address: ``gateway.policy.webhook_url``); each delivery resolves the host
again, refuses (logs, sends nothing, gives up) if any address it resolves to
is loopback, private, link-local or otherwise non-public, and connects to the
address it checked (TLS still verifies the name), so a name that a DNS answer
points into the gateway's own network between check and connect is not
followed there.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address

import httpx
from joserfc import jwt

from gateway.consent.service import ConsentNotice
from gateway.keys import KeyStore, KeyStoreError
from gateway.outbound import Answer, OutboundRefused, bounded_exchange, run_exchange
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.models import ConsentWebhook
from gateway.policy.webhook_url import Address, address_refused, url_problem

log = logging.getLogger("ketenpoort.consent.webhook")

OM_ROLE = "om"
TOKEN_LIFETIME_S = 300
MAX_BACKOFF_S = 300.0
JWT_TYPE = "ketenpoort-consent-notice+jwt"
_RETRY_STATUSES = frozenset({408, 425, 429})
DELIVERY_THREADS = 8  # started only as needed; a stalled receiver holds one
MAX_WAITING = 10_000
MAX_WAITING_PER_RECEIVER = 1_000
MAX_IN_FLIGHT_PER_RECEIVER = 1


class WebhookRefused(Exception):
    """The webhook's host is, or resolves to, an address a notice may not go to."""


Receiver = tuple[str, str]
"""An OM party at one webhook URL: the unit that gets its own share of threads and schedule."""


def notice_body(notice: ConsentNotice) -> dict[str, object]:
    return {
        "consent_id": notice.id,
        "convenant": notice.convenant,
        "case": notice.case,
        "categories": list(notice.categories),
        "recipient": notice.recipient,
        "purpose": notice.purpose,
        "case_phase": notice.case_phase,
        "requested_by_employee": notice.requested_by_employee,
        "created_at": notice.created_at.isoformat(),
        "version": notice.version,
        "event": notice.event,
        "added_categories": list(notice.added_categories),
    }


def idempotency_key(notice: ConsentNotice) -> str:
    return notice.id if notice.version == 1 else f"{notice.id}.v{notice.version}"


@dataclass(order=True)
class _Delivery:
    """One notice for one OM party, due at ``due`` (``time.monotonic``), on its ``attempt``."""

    due: float
    order: int
    notice: ConsentNotice = field(compare=False)
    party: str = field(compare=False)
    hook: ConsentWebhook = field(compare=False)
    attempt: int = field(compare=False, default=1)

    @property
    def receiver(self) -> Receiver:
        return (self.party, self.hook.url)


@dataclass
class _Line:
    """One receiver's part of the schedule: its waiting deliveries and how many are in flight."""

    waiting: list[_Delivery] = field(default_factory=list)
    in_flight: int = 0

    @property
    def held(self) -> int:
        return len(self.waiting) + self.in_flight


def webhook_receivers(policy: CompiledPolicy) -> int:
    """How many receivers (OM party, URL) the policy names: the schedule is shared among them."""
    return len(
        {
            (party.id, party.consent_webhook.url)
            for compiled in policy.covenants.values()
            for party in compiled.covenant.parties
            if OM_ROLE in party.roles and party.consent_webhook is not None
        }
    )


class ConsentWebhooks:
    """The ``notifier`` of :class:`ConsentService`; safe to call from any thread."""

    def __init__(
        self,
        keys: KeyStore,
        issuer: str,
        policy: Callable[[], CompiledPolicy],
        *,
        threads: int = DELIVERY_THREADS,
        max_waiting: int = MAX_WAITING,
        max_waiting_per_receiver: int = MAX_WAITING_PER_RECEIVER,
        in_flight_per_receiver: int = MAX_IN_FLIGHT_PER_RECEIVER,
        dev_mode: bool = False,
    ) -> None:
        self._keys = keys
        self._dev_mode = dev_mode
        self._issuer = issuer
        self._policy = policy
        self._threads = threads
        self._max_waiting = max_waiting
        self._max_per_receiver = max_waiting_per_receiver
        self._in_flight_limit = in_flight_per_receiver
        # Receivers with deliveries waiting or in flight; a line leaves when it holds none.
        self._lines: dict[Receiver, _Line] = {}
        self._held = 0
        self._counted: tuple[CompiledPolicy, int] | None = None
        self._order = itertools.count()
        self._started = 0
        self._busy = 0
        self._changed = threading.Condition(threading.Lock())

    def __call__(self, notice: ConsentNotice) -> None:
        policy = self._policy()
        share = self._share(policy)
        for party, hook in self._targets(policy, notice.convenant):
            self._schedule(
                _Delivery(time.monotonic(), next(self._order), notice, party, hook), share
            )

    def _share(self, policy: CompiledPolicy) -> int:
        """How many deliveries one receiver may hold (waiting and in flight).

        The whole schedule divided among the policy's receivers: the shares add
        up to at most ``max_waiting``, so one receiver's backlog never takes
        the room another's notices need.
        """
        counted = self._counted
        if counted is None or counted[0] is not policy:
            counted = (policy, max(1, webhook_receivers(policy)))
            self._counted = counted
        return max(1, min(self._max_per_receiver, self._max_waiting // counted[1]))

    def _schedule(self, delivery: _Delivery, share: int) -> None:
        with self._changed:
            line = self._lines.get(delivery.receiver)
            held = 0 if line is None else line.held
            if held >= share or self._held >= self._max_waiting:
                log.error(
                    "consent notice %s to %s not announced: %d deliveries already wait for it",
                    delivery.notice.id,
                    delivery.party,
                    held,
                )
                return
            if line is None:
                line = self._lines[delivery.receiver] = _Line()
            heapq.heappush(line.waiting, delivery)
            self._held += 1
            if self._started < self._threads and self._started - self._busy < len(self._lines):
                self._started += 1
                threading.Thread(target=self._work, name="consent-webhook", daemon=True).start()
            # Every idle thread looks again: one woken alone may take this delivery and
            # leave another receiver's, due sooner than it waited for, without a waiter.
            self._changed.notify_all()

    def _next_due(self) -> _Delivery:
        """Wait for a delivery to come due and take it (holding the lock).

        The earliest due delivery of a receiver with room for one more in
        flight: a receiver that keeps a thread busy (a stalled one) has the rest
        of its deliveries wait their turn without holding up anyone else's.
        """
        while True:
            first: _Line | None = None
            for line in self._lines.values():
                free = line.waiting and line.in_flight < self._in_flight_limit
                if free and (first is None or line.waiting[0] < first.waiting[0]):
                    first = line
            if first is None:
                self._changed.wait()
                continue
            wait = first.waiting[0].due - time.monotonic()
            if wait <= 0:
                first.in_flight += 1
                self._busy += 1
                return heapq.heappop(first.waiting)
            self._changed.wait(wait)

    def _work(self) -> None:
        """A delivery thread: for the life of the process, take what is due and try it once."""
        while True:
            with self._changed:
                delivery = self._next_due()
            try:
                again = self._try(delivery)
            except Exception as exc:  # noqa: BLE001 - a dead thread would leave later notices unsent
                # The type only, no traceback: logs carry no stack traces (docs/security.md).
                log.error(
                    "consent notice %s: delivery failed: %s", delivery.notice.id, type(exc).__name__
                )
                again = None
            with self._changed:
                self._busy -= 1
                line = self._lines[delivery.receiver]
                line.in_flight -= 1
                if again is not None:  # keeps the place its first attempt took
                    heapq.heappush(line.waiting, again)
                else:
                    self._held -= 1
                    if not line.held:
                        del self._lines[delivery.receiver]
                self._changed.notify_all()

    def _try(self, delivery: _Delivery) -> _Delivery | None:
        """One attempt; the delivery's next attempt when it is to be tried again."""
        notice, party, hook = delivery.notice, delivery.party, delivery.hook
        outcome = self._attempt(hook, notice)
        if outcome == "done":
            log.info("consent notice %s delivered to %s", notice.id, party)
            return None
        if outcome == "give_up":
            return None
        if delivery.attempt >= hook.max_attempts:
            log.error("consent notice %s to %s: attempts exhausted", notice.id, party)
            return None
        backoff = min(hook.backoff_s * 2 ** (delivery.attempt - 1), MAX_BACKOFF_S)
        return _Delivery(
            time.monotonic() + backoff,
            next(self._order),
            notice,
            party,
            hook,
            delivery.attempt + 1,
        )

    def _targets(self, policy: CompiledPolicy, convenant: str) -> list[tuple[str, ConsentWebhook]]:
        covenant = policy.covenant(convenant)
        if covenant is None:
            return []
        return [
            (party.id, party.consent_webhook)
            for party in covenant.parties
            if OM_ROLE in party.roles and party.consent_webhook is not None
        ]

    def authorization(self, hook: ConsentWebhook, body: bytes, consent_id: str) -> str:
        current = self._keys.current("token")
        now = int(time.time())
        claims = {
            "iss": self._issuer,
            "sub": self._issuer,
            "aud": hook.url,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
            "jti": secrets.token_urlsafe(18),
            "consent_id": consent_id,
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        header = {"alg": current.alg, "kid": current.kid, "typ": JWT_TYPE}
        return "Bearer " + jwt.encode(header, claims, current.jwk, algorithms=[current.alg])

    def _attempt(self, hook: ConsentWebhook, notice: ConsentNotice) -> str:
        """``done``, ``retry`` or ``give_up``.

        Bounded in all by the hook's ``timeout_s`` (a receiver that drips its answer
        byte by byte is abandoned), and the receiver's body is never read: only
        its status counts.
        """
        body = json.dumps(notice_body(notice), sort_keys=True).encode()
        try:
            headers = {
                "Authorization": self.authorization(hook, body, notice.id),
                "Content-Type": "application/json",
                "Idempotency-Key": idempotency_key(notice),
            }
        except KeyStoreError:
            log.error("consent notice %s not signed: no usable token key", notice.id)
            return "retry"

        def exchange(client: httpx.AsyncClient) -> Awaitable[Answer]:
            return self._pinned_post(client, hook, headers, body)

        try:
            status = run_exchange(exchange).status
        except WebhookRefused as refused:
            # Our own message (the host and why), as text: the log filter shows an
            # exception object by its type only, which would drop the reason.
            log.error("consent notice %s not sent: %s", notice.id, str(refused))
            return "give_up"
        except OutboundRefused as refused:
            log.warning("consent notice %s not delivered: %s", notice.id, refused.reason)
            return "retry"
        if 200 <= status < 300:
            return "done"
        if status >= 500 or status in _RETRY_STATUSES:
            log.warning("consent notice %s: receiver said %s", notice.id, status)
            return "retry"
        log.error("consent notice %s refused with %s", notice.id, status)
        return "give_up"

    async def _pinned_post(
        self,
        client: httpx.AsyncClient,
        hook: ConsentWebhook,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        """POST to the address the host resolves to, once every such address is allowed."""
        problem = url_problem(hook.url, dev_mode=self._dev_mode)
        if problem is not None:
            raise WebhookRefused(f"webhook URL {problem}")
        target = httpx.URL(hook.url)
        address = await self._checked_address(target, hook.timeout_s)
        pinned = target.copy_with(host=str(address))
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else None
        return await bounded_exchange(
            client,
            "POST",
            str(pinned),
            headers={**headers, "Host": target.netloc.decode("ascii")},
            content=body,
            timeout_s=hook.timeout_s,
            max_bytes=0,
            extensions=extensions,
        )

    async def _checked_address(self, target: httpx.URL, timeout_s: float) -> Address:
        """The first address ``target``'s host resolves to; refused if any is not allowed."""
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            async with asyncio.timeout(timeout_s):
                found = await asyncio.get_running_loop().getaddrinfo(
                    target.host, port, type=socket.SOCK_STREAM
                )
        except (TimeoutError, OSError):
            raise OutboundRefused("unreachable") from None
        addresses: list[Address] = []
        for *_, sockaddr in found:
            try:
                addresses.append(ip_address(str(sockaddr[0])))
            except ValueError:  # an IPv6 address with a zone (%eth0) is link-local
                raise WebhookRefused(f"{target.host} resolves to a non-public address") from None
        if not addresses:
            raise OutboundRefused("unreachable")
        if any(address_refused(a, dev_mode=self._dev_mode) for a in addresses):
            raise WebhookRefused(f"{target.host} resolves to a non-public address")
        return addresses[0]

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is scheduled or in flight (shutdown, tests); False if some is."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._lines:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True
