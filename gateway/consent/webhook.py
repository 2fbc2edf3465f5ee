"""Telling the OM's system that a consent request waits (optional, per covenant).

An OM party may name ``consent_webhook: {url, timeout_s, max_attempts,
backoff_s}`` in the covenant. Each new request is POSTed there from a
background thread, so a query never waits for the OM's system; failures are
retried with exponential backoff. The body holds identifiers only (never the
BSN). ``Authorization: Bearer`` carries a JWT signed with the gateway's
current ``token`` key (verifiable with ``/oauth/jwks``) whose ``aud`` is the
webhook URL and whose ``body_sha256`` binds it to this very body.

A pending request that changes (categories added, new case phase) is
announced again with ``event`` ``widened``/``changed`` and its new ``version``:
the OM must never decide on a request that grew behind its back. Each version
has its own ``Idempotency-Key`` (``<id>`` for the first, ``<id>.v<n>`` after),
so a receiver that de-duplicates still sees every change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable

import httpx
from joserfc import jwt

from gateway.consent.service import ConsentNotice
from gateway.keys import KeyStore, KeyStoreError
from gateway.outbound import Answer, OutboundRefused, bounded_exchange, run_exchange
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.models import ConsentWebhook

log = logging.getLogger("ketenpoort.consent.webhook")

OM_ROLE = "om"
TOKEN_LIFETIME_S = 300
MAX_BACKOFF_S = 300.0
JWT_TYPE = "ketenpoort-consent-notice+jwt"
_RETRY_STATUSES = frozenset({408, 425, 429})


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


class ConsentWebhooks:
    """The ``notifier`` of :class:`ConsentService`; safe to call from any thread."""

    def __init__(
        self,
        keys: KeyStore,
        issuer: str,
        policy: Callable[[], CompiledPolicy],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._policy = policy
        self._sleep = sleep
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def __call__(self, notice: ConsentNotice) -> None:
        for party, hook in self._targets(notice.convenant):
            thread = threading.Thread(
                target=self._deliver,
                args=(notice, party, hook),
                name=f"consent-webhook-{notice.id}",
                daemon=True,
            )
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def _targets(self, convenant: str) -> list[tuple[str, ConsentWebhook]]:
        covenant = self._policy().covenant(convenant)
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
            return bounded_exchange(
                client,
                "POST",
                hook.url,
                headers=headers,
                content=body,
                timeout_s=hook.timeout_s,
                max_bytes=0,
            )

        try:
            status = run_exchange(exchange).status
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

    def _deliver(self, notice: ConsentNotice, party: str, hook: ConsentWebhook) -> None:
        try:
            for attempt in range(1, hook.max_attempts + 1):
                outcome = self._attempt(hook, notice)
                if outcome == "done":
                    log.info("consent notice %s delivered to %s", notice.id, party)
                    return
                if outcome == "give_up":
                    return
                if attempt < hook.max_attempts:
                    self._sleep(min(hook.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            log.error("consent notice %s to %s: attempts exhausted", notice.id, party)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait for deliveries in flight (shutdown, tests); False if some still run."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                running = list(self._threads)
            if not running:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            running[0].join(remaining)
