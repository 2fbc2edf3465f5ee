"""The `gateway` connector: another region's Ketenpoort, asked through its partner API.

The peer is a covenant party like any source, but it decides for itself: it
authenticates us as *its* covenant party (``client_id``, private_key_jwt, the
token comes from its ``/oauth/token``), keeps a mirror case for the subject
(``POST /v1/federation/cases``) and answers the forwarded query through its
own broker (``POST /v1/cases/{id}/queries``, API.md §3). So its covenant, its
OvJ and its log apply on its side, ours on ours.

A correctie or verzet about the person is filed at the peer as the peer's
own rights request (``POST /v1/federation/rights-requests``, idempotent per
our request id, so it is retried like the other idempotent calls); its
outcome is read back later (``GET /v1/federation/rights-requests/{id}``).
An inzage is never sent: the person files it at the peer's own contact point.

Nothing here raises for a peer that says no or is down: every category gets a
`RemoteOutcome` (``denied``/``unavailable`` with a ``peer_*`` reason), answered
within ``timeout_s`` so the broker reports the specific reason rather than its
own generic timeout. Only idempotent calls are retried (token, mirror case,
known-elsewhere); the forwarded query is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import quote

import httpx
from opentelemetry import propagate
from pydantic import ValidationError

from connectors.errors import SourceUnavailable
from connectors.federation_wire import (
    WireKnownAnswer,
    WireMirrorCase,
    WireQueryAnswer,
    WireRightsOutcome,
    WireRightsReceipt,
)
from connectors.models import (
    DeletionPage,
    ForwardedRightsRequest,
    LookupRequest,
    LookupResult,
    PeerRightsOutcome,
    PeerRightsReceipt,
    Record,
    RemoteOutcome,
    RemoteStatus,
    Requester,
)
from connectors.peer_http import (
    Budget,
    PeerDenied,
    PeerDown,
    PeerScope,
    PeerTokens,
    call_peer,
    employee_at,
)
from gateway.subjects.bsn import Bsn

_Wire = TypeVar(
    "_Wire",
    WireQueryAnswer,
    WireMirrorCase,
    WireKnownAnswer,
    WireRightsReceipt,
    WireRightsOutcome,
)
# Who calls the peer for a rights request: the gateway itself, not an employee.
RIGHTS_EMPLOYEE: Final = Requester("ketenpoort", "rechten")

# Leave the broker's own bound (the same timeout_s) a little room to log our reason.
_BUDGET_SHARE: Final = 0.9
_PRIORITY: Final[tuple[RemoteStatus, ...]] = ("pending_consent", "unavailable", "not_found")


@dataclass(frozen=True, slots=True)
class GatewayPeer:
    """Another region's Ketenpoort: where to ask, as whom, under which covenant."""

    base_url: str
    jwks_uri: str | None = None
    client_id: str | None = None
    convenant: str | None = None
    purposes: Mapping[str, str] | None = None

    def peer_purpose(self, purpose: str) -> str:
        return (self.purposes or {}).get(purpose, purpose)


@dataclass(frozen=True, slots=True)
class KnownQuery:
    """'Is this person known at your region?' asked on behalf of one case."""

    subject: Bsn
    convenant: str
    purpose: str
    case: str
    phase: str
    requester: Requester


@dataclass(frozen=True, slots=True)
class KnownAnswer:
    status: str  # known | unknown | unavailable | denied
    reason: str


class GatewayConnector:
    """Speaks to one peer Ketenpoort; see the module docstring for the protocol."""

    consent_is_remote: Final = True

    def __init__(
        self,
        peer: GatewayPeer,
        client: httpx.AsyncClient,
        tokens: PeerTokens,
        timeout_s: float,
        *,
        client_id: str,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.peer = peer
        self.base_url = peer.base_url.rstrip("/")
        self.client_id = client_id
        self._client = client
        self._tokens = tokens
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"GatewayConnector({self.base_url!r} as {self.client_id!r})"

    def scope(self, convenant: str, purpose: str) -> PeerScope:
        return PeerScope(
            self.base_url,
            self.client_id,
            self.peer.convenant or convenant,
            self.peer.peer_purpose(purpose),
        )

    async def lookup(self, request: LookupRequest) -> LookupResult:
        budget = Budget(self._timeout_s * _BUDGET_SHARE)
        scope = self.scope(request.convenant, request.purpose)
        try:
            case_id = await self._mirror_case(scope, request, budget)
            content = await self._authorised(
                scope,
                budget,
                "POST",
                f"/v1/cases/{case_id}/queries",
                _query_body(request),
                employee_at(request.requester),
                retry=False,
            )
        except PeerDenied as denied:
            return _everything(request.categories, "denied", denied.reason)
        except PeerDown as down:
            return _everything(
                request.categories, "unavailable", down.reason, no_answer=down.no_answer
            )
        answer = _parse(WireQueryAnswer, content)
        return _combine(request.categories, answer)

    async def known(self, query: KnownQuery) -> KnownAnswer:
        budget = Budget(self._timeout_s * _BUDGET_SHARE)
        scope = self.scope(query.convenant, query.purpose)
        body = {
            "subject": {"bsn": query.subject.reveal()},
            "peer_case": query.case,
            "requester": {"party": query.requester.party, "employee": query.requester.employee},
        }
        try:
            content = await self._authorised(
                scope,
                budget,
                "POST",
                "/v1/federation/known",
                body,
                employee_at(query.requester),
                retry=True,
            )
            answer = _parse(WireKnownAnswer, content)
        except PeerDenied as denied:
            return KnownAnswer("denied", denied.reason)
        except PeerDown as down:
            return KnownAnswer("unavailable", down.reason)
        except SourceUnavailable:
            return KnownAnswer("unavailable", "peer_malformed")
        return KnownAnswer("known" if answer.known else "unknown", "permitted")

    async def forward_rights_request(
        self, request: ForwardedRightsRequest
    ) -> tuple[Record, ...] | None:
        """``RightsRequestForwarder``: filed at the peer; the peer never answers an inzage here."""
        await self.file_peer_rights_request(request)
        return None

    async def file_peer_rights_request(self, request: ForwardedRightsRequest) -> PeerRightsReceipt:
        """The peer files our correctie/verzet as its own request; raises PeerDown/PeerDenied.

        Scope: our covenant's peer covenant and the purpose of the request's
        case (``request.purpose``). Refused here, before anything is sent: an
        inzage (the person asks the peer's own contact point) and a request
        that itself came from a peer (one hop only: no ping-pong, no loops).
        """
        if request.type == "inzage":
            raise PeerDenied("peer_inzage_not_forwarded")
        if request.origin != "local":
            raise PeerDenied("peer_one_hop")
        if request.convenant is None or request.purpose is None:
            raise PeerDenied("peer_no_scope")
        budget = Budget(self._timeout_s * _BUDGET_SHARE)
        body = {
            "type": request.type,
            "subject": {"bsn": request.subject.reveal()},
            "peer_request": request.id,
            "details": request.details,
            "records": list(request.records),
            "deadline": request.deadline.isoformat(),
        }
        content = await self._authorised(
            self.scope(request.convenant, request.purpose),
            budget,
            "POST",
            "/v1/federation/rights-requests",
            body,
            employee_at(RIGHTS_EMPLOYEE),
            retry=True,  # idempotent at the peer per (our party, our request id)
        )
        try:
            receipt = _parse(WireRightsReceipt, content)
        except SourceUnavailable:
            raise PeerDown("peer_malformed") from None
        return PeerRightsReceipt(receipt.id, receipt.status)

    async def peer_rights_outcome(
        self, peer_request: str, convenant: str, purpose: str
    ) -> PeerRightsOutcome:
        """The peer's request as it stands; raises PeerDown/PeerDenied (``peer_not_found``)."""
        budget = Budget(self._timeout_s * _BUDGET_SHARE)
        content = await self._authorised(
            self.scope(convenant, purpose),
            budget,
            "GET",
            f"/v1/federation/rights-requests/{quote(peer_request, safe='')}",
            None,
            employee_at(RIGHTS_EMPLOYEE),
            retry=True,
        )
        try:
            answer = _parse(WireRightsOutcome, content)
        except SourceUnavailable:
            raise PeerDown("peer_malformed") from None
        if answer.id != peer_request:  # an answer about another request is no answer
            raise PeerDown("peer_malformed")
        return PeerRightsOutcome(
            answer.id, answer.status, answer.decided_at, answer.execute_by, answer.executed_at
        )

    async def deletions(self, since: str | None) -> DeletionPage:
        """A peer keeps its own sources' deletions; copies made here expire by retention."""
        return DeletionPage(events=[], next=since)

    async def _mirror_case(self, scope: PeerScope, request: LookupRequest, budget: Budget) -> str:
        body = {
            "subject": {"bsn": request.subject.reveal()},
            "phase": request.phase,
            "peer_case": request.case,
            "requester": {
                "party": request.requester.party,
                "employee": request.requester.employee,
            },
        }
        content = await self._authorised(
            scope,
            budget,
            "POST",
            "/v1/federation/cases",
            body,
            employee_at(request.requester),
            retry=True,
        )
        try:
            return _parse(WireMirrorCase, content).id
        except SourceUnavailable:
            raise PeerDown("peer_malformed") from None

    async def _authorised(
        self,
        scope: PeerScope,
        budget: Budget,
        method: str,
        path: str,
        body: object,
        employee: str,
        *,
        retry: bool,
    ) -> bytes:
        """One API call with the peer token; a refused token is fetched anew once."""
        for attempt in range(2):
            token = await self._tokens.access_token(scope, timeout_s=budget.left())
            headers = {
                "Authorization": f"Bearer {token}",
                "X-Ketenpoort-Employee": employee,
                "Accept": "application/json",
            }
            propagate.inject(headers)
            try:
                return await call_peer(
                    self._client, method, self.base_url + path, body, headers, budget, retry=retry
                )
            except PeerDown as down:
                if down.reason != "peer_unauthorized" or attempt == 1:
                    raise
                self._tokens.forget(scope)
        raise PeerDown("peer_unauthorized")  # pragma: no cover - the loop returns or raises


def _query_body(request: LookupRequest) -> dict[str, object]:
    """The peer's query; a motivation goes along so the peer's OvJ can weigh it."""
    body: dict[str, object] = {"categories": list(request.categories)}
    if request.motivation is not None:
        code, text = request.motivation
        body["motivation"] = {"code": code, "text": text}
    return body


def _parse(model: type[_Wire], content: bytes) -> _Wire:
    try:
        return model.model_validate_json(content)
    except ValidationError:
        raise SourceUnavailable("malformed") from None


def _everything(
    categories: Sequence[str], status: RemoteStatus, reason: str, *, no_answer: bool = False
) -> LookupResult:
    outcome = RemoteOutcome(status, reason, no_answer=no_answer)
    return LookupResult(
        subject_known=False, records=[], remote_outcomes=dict.fromkeys(categories, outcome)
    )


def _combine(categories: Sequence[str], answer: WireQueryAnswer) -> LookupResult:
    """One outcome per category from the peer's per-(source, category) results.

    Any source with data makes the category ``ok`` (records of every such
    source, ids prefixed with the peer's source); otherwise the most useful
    non-answer wins: a pending consent (its id travels back), then
    unavailable, then not found, then the first denial.
    """
    records: list[Record] = []
    outcomes: dict[str, RemoteOutcome] = {}
    for category in categories:
        mine = [r for r in answer.results if r.category == category]
        ok = [r for r in mine if r.status == "ok"]
        for result in ok:
            records += [
                Record(
                    id=f"{result.source}/{rec.id}",
                    category=category,
                    updated=rec.updated,
                    fields=rec.fields,
                    contested=rec.contested,
                )
                for rec in result.records or []
            ]
        consent = next((r.consent_id for r in ok if r.consent_id), None)
        withheld = max((r.withheld_until for r in ok if r.withheld_until), default=None)
        if ok:
            outcomes[category] = RemoteOutcome("ok", "permitted", consent, withheld)
            continue
        chosen = next(
            (r for status in _PRIORITY for r in mine if r.status == status),
            mine[0] if mine else None,
        )
        if chosen is None:
            outcomes[category] = RemoteOutcome("denied", "peer_no_answer")
        else:
            outcomes[category] = RemoteOutcome(
                chosen.status, "peer_" + chosen.reason, chosen.consent_id
            )
    known = any(o.status == "ok" for o in outcomes.values())
    return LookupResult(subject_known=known, records=records, remote_outcomes=outcomes)


__all__ = [
    "GatewayConnector",
    "GatewayPeer",
    "KnownAnswer",
    "KnownQuery",
    "PeerDenied",
    "PeerDown",
    "PeerScope",
    "PeerTokens",
]
