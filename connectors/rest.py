"""The `rest` connector: a partner's bronregistratie behind the Source API over HTTP.

Every failure mode collapses into `SourceUnavailable(reason)` so the broker can
answer `unavailable` for this source without waiting on it or repeating what it
said: the body of an error answer is never read into an exception or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from json import JSONEncoder
from typing import Final, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from pydantic import BaseModel, ValidationError

from connectors.errors import SourceUnavailable
from connectors.models import (
    DeletionPage,
    ForwardedRightsRequest,
    LookupRequest,
    LookupResult,
    Record,
)
from connectors.protocol import TokenProvider
from connectors.source_api import (
    WireDeletionPage,
    WireLookupResult,
    WireRightsAnswer,
    to_deletion_event,
)
from connectors.source_http import SourceHttp

DEFAULT_MAX_RESPONSE_BYTES: Final = 5 * 1024 * 1024
# Serialised as httpx did: compact UTF-8, no NaN. One encoder for every call (it keeps
# no state between calls); json.dumps with these options would build one per call.
_JSON: Final = JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_Model = TypeVar("_Model", bound=BaseModel)


class RestConnector:
    """Speaks SOURCE-API.md to one source.

    `audience` is what the source expects in the token's `aud`; by default its
    base URL, the usual identifier of a resource server. `source_party` (the
    covenant party whose source this is) is named on every call's CLIENT span
    (`ketenpoort.source`); the broker then makes no span of its own around it.
    """

    def __init__(
        self,
        base_url: str,
        http: SourceHttp,
        timeout_s: float,
        token_provider: TokenProvider,
        *,
        audience: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        source_party: str | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.base_url = base_url.rstrip("/")
        self.audience = audience or self.base_url
        self.source_party = source_party
        self._http = http
        self._timeout_s = timeout_s
        self._token_provider = token_provider
        self._max_response_bytes = max_response_bytes

    def __repr__(self) -> str:
        return f"RestConnector({self.base_url!r})"

    @property
    def timeout_s(self) -> float:
        """The bound on one exchange: the covenant's timeout or the gateway's setting."""
        return self._timeout_s

    async def lookup(self, request: LookupRequest) -> LookupResult:
        body = {
            "subject": {"bsn": request.subject.reveal()},
            "categories": list(request.categories),
            "convenant": request.convenant,
            "purpose": request.purpose,
            "case": request.case,
            "requester": {
                "party": request.requester.party,
                "employee": request.requester.employee,
            },
        }
        content = await self._call("POST", "/lookup", json=body, traceparent=request.traceparent)
        answer = _parse(WireLookupResult, content)
        return LookupResult(
            subject_known=answer.subject_known,
            records=[
                Record(id=r.id, category=r.category, updated=r.updated, fields=r.fields)
                for r in answer.records
            ],
        )

    async def deletions(self, since: str | None) -> DeletionPage:
        params = {} if since is None else {"since": since}
        page = _parse(WireDeletionPage, await self._call("GET", "/deletions", params=params))
        return DeletionPage(events=[to_deletion_event(e) for e in page.events], next=page.next)

    async def forward_rights_request(
        self, request: ForwardedRightsRequest
    ) -> tuple[Record, ...] | None:
        """``None``: the source took the request; records: it answered an inzage at once."""
        body = {
            "id": request.id,
            "type": request.type,
            "subject": {"bsn": request.subject.reveal()},
            "records": list(request.records),
            "details": request.details,
            "deadline": request.deadline.isoformat(),
        }
        content = await self._call("POST", "/rights-requests", json=body, accept=range(200, 300))
        if request.type != "inzage" or not content.strip():
            return None
        answer = _parse(WireRightsAnswer, content)
        if answer.records is None:
            return None
        return tuple(
            Record(id=r.id, category=r.category, updated=r.updated, fields=r.fields)
            for r in answer.records
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
        traceparent: str | None = None,
        accept: range = range(200, 201),
    ) -> bytes:
        """One bounded exchange: connect, send and read together fit in timeout_s."""
        token = await self._token_provider(self.audience)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        body = None
        if json is not None:
            body = _JSON.encode(json).encode()
            headers["Content-Type"] = "application/json"
        # Outside a span, continue the caller's trace: the client span of the
        # exchange is then a child of it, so the source still sees the same trace id.
        attached = None
        if traceparent is not None and not trace.get_current_span().get_span_context().is_valid:
            attached = otel_context.attach(propagate.extract({"traceparent": traceparent}))
        try:
            # Awaited here, not in a helper coroutine: every coroutine frame between the
            # broker and aiohttp is resumed again each time the exchange wakes up.
            return await self._http.exchange(
                method,
                self.base_url + path,
                headers=headers,
                body=body,
                params=params,
                timeout_s=self._timeout_s,
                max_bytes=self._max_response_bytes,
                accept=accept,
                source=self.source_party,
            )
        finally:
            if attached is not None:
                otel_context.detach(attached)


def _parse(model: type[_Model], content: bytes) -> _Model:
    try:
        return model.model_validate_json(content)
    except ValidationError:
        raise SourceUnavailable("malformed") from None
