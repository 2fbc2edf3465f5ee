"""A demo partner's bronregistratie behind the Source API (SOURCE-API.md).

Small on purpose, but honest about the contract: it checks the gateway's token,
answers only the categories asked for, keeps a deletion feed with integer
cursors and accepts forwarded rights requests. `delay_s`, `fail` and
`refuse` let the demo and the tests show a slow, broken or refusing source.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from connectors.source_api import WireLookupRequest, WireRightsRequest
from gateway.demo.token_check import GatewayTokenVerifier, TokenRejectedError
from gateway.demodata.people import SourceRecord
from gateway.subjects.bsn import Bsn

# A broken source's error page, with the kind of secret a careless backend
# leaks; the tests prove Ketenpoort never passes it on.
LEAKY_ERROR_BODY = (
    "Traceback (most recent call last): psycopg.OperationalError: "
    "password=demo-db-secret-4711 host=db.internal"
)
_DEFAULT_PAGE = 100


@dataclass(frozen=True, slots=True)
class _Deletion:
    record: SourceRecord
    deleted_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedRightsRequest:
    id: str
    type: str
    records: tuple[str, ...]


class DemoSource:
    """The state behind one demo source app; safe to use from the test thread."""

    def __init__(self, party_id: str, records: Sequence[SourceRecord]) -> None:
        self.party_id = party_id
        self.delay_s = 0.0
        self.fail = False
        self.refuse = False
        """True: every lookup is refused with 403, as a source that withdrew our access."""
        self.last_traceparent: str | None = None
        self.last_token_claims: dict[str, Any] | None = None
        self.rights_requests: list[ReceivedRightsRequest] = []
        self.answer_inzage_later = False
        """True: an inzage is only received (202), never answered at once — a late source."""
        self._records = {record.id: record for record in records}
        self._deletions: list[_Deletion] = []
        self._lock = threading.Lock()

    def records_about(
        self, subject: Bsn, categories: Sequence[str]
    ) -> tuple[bool, list[SourceRecord]]:
        with self._lock:
            own = [r for r in self._records.values() if r.subject == subject]
        wanted = set(categories)
        return bool(own), [r for r in own if r.category in wanted]

    def all_about(self, subject: Bsn) -> list[SourceRecord]:
        """Every record about the person: what an inzage (AVG art. 15) gets a copy of."""
        with self._lock:
            return [r for r in self._records.values() if r.subject == subject]

    def correct(self, record_id: str, fields: dict[str, Any]) -> bool:
        """Carries out a correctie as the partner would: the record's fields change."""
        with self._lock:
            record = self._records.get(record_id)
            if record is None:
                return False
            self._records[record_id] = replace(
                record, fields={**record.fields, **fields}, updated=datetime.now(UTC)
            )
            return True

    def delete(self, record_id: str) -> int | None:
        """Deletes a record as the partner would; returns the feed cursor, None if unknown."""
        with self._lock:
            record = self._records.pop(record_id, None)
            if record is None:
                return None
            self._deletions.append(_Deletion(record, datetime.now(UTC)))
            return len(self._deletions)

    def deletions_after(self, cursor: int, limit: int) -> tuple[list[_Deletion], int]:
        with self._lock:
            page = self._deletions[cursor : cursor + limit]
        return page, cursor + len(page)


def _problem(status: int, title: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status},
        status_code=status,
        media_type="application/problem+json",
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _wire(record: SourceRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "category": record.category,
        "updated": _iso(record.updated),
        "fields": dict(record.fields),
    }


def _default_issuer(jwks_url: str) -> str:
    if not jwks_url.endswith("/oauth/jwks"):
        raise ValueError("give expected_issuer when jwks_url is not <issuer>/oauth/jwks")
    return jwks_url.removesuffix("/oauth/jwks")


def source_of(app: FastAPI) -> DemoSource:
    """The DemoSource behind an app made by `create_source_app`."""
    source = app.state.source
    assert isinstance(source, DemoSource)
    return source


def create_source_app(
    party_id: str,
    records: Sequence[SourceRecord],
    *,
    delay_s: float = 0.0,
    jwks_url: str | None,
    expected_audience: str | None,
    expected_issuer: str | None = None,
    fail: bool = False,
) -> FastAPI:
    """Without `jwks_url` tokens are not checked (tests of other concerns only)."""
    source = DemoSource(party_id, records)
    source.delay_s = delay_s
    source.fail = fail
    verifier: GatewayTokenVerifier | None = None
    if jwks_url is not None:
        if expected_audience is None:
            raise ValueError("expected_audience is required when tokens are checked")
        issuer = expected_issuer or _default_issuer(jwks_url)
        verifier = GatewayTokenVerifier(jwks_url, issuer, expected_audience)

    app = FastAPI(title=f"Bronregistratie {party_id} (demo)", openapi_url=None)
    app.state.source = source

    async def authenticate(request: Request) -> JSONResponse | None:
        source.last_traceparent = request.headers.get("traceparent")
        if verifier is None:
            return None
        try:
            source.last_token_claims = await verifier.verify(request.headers.get("authorization"))
        except TokenRejectedError as error:
            return _problem(401, str(error))
        return None

    @app.post("/lookup")
    async def lookup(request: Request) -> Response:
        if (refused := await authenticate(request)) is not None:
            return refused
        if source.refuse:
            return _problem(403, "access withdrawn")
        if source.fail:
            return Response(LEAKY_ERROR_BODY, status_code=500, media_type="text/plain")
        try:
            asked = WireLookupRequest.model_validate_json(await request.body())
        except ValidationError:
            return _problem(422, "request does not match the Source API")
        if source.delay_s > 0:
            await asyncio.sleep(source.delay_s)
        known, found = source.records_about(Bsn(asked.subject.bsn), asked.categories)
        return JSONResponse(
            {
                "subject_known": known,
                "records": [_wire(r) for r in found],
            }
        )

    @app.get("/deletions")
    async def deletions(
        request: Request, since: str | None = None, limit: int = _DEFAULT_PAGE
    ) -> Response:
        if (refused := await authenticate(request)) is not None:
            return refused
        if since is not None and not since.isdigit():
            return _problem(400, "since must be a cursor from an earlier page")
        page, cursor = source.deletions_after(int(since or 0), max(1, min(limit, 1000)))
        return JSONResponse(
            {
                "events": [
                    {
                        "record_id": d.record.id,
                        "subject": {"bsn": d.record.subject.reveal()},
                        "category": d.record.category,
                        "deleted_at": _iso(d.deleted_at),
                    }
                    for d in page
                ],
                "next": str(cursor),
            }
        )

    @app.post("/rights-requests")
    async def rights_requests(request: Request) -> Response:
        if (refused := await authenticate(request)) is not None:
            return refused
        try:
            received = WireRightsRequest.model_validate_json(await request.body())
        except ValidationError:
            return _problem(422, "request does not match the Source API")
        source.rights_requests.append(
            ReceivedRightsRequest(received.id, received.type, tuple(received.records))
        )
        if received.type == "inzage" and not source.answer_inzage_later:
            found = source.all_about(Bsn(received.subject.bsn))
            return JSONResponse({"id": received.id, "records": [_wire(r) for r in found]})
        return JSONResponse({"id": received.id, "status": "received"}, status_code=202)

    @app.post("/admin/delete/{record_id}")
    async def delete_record(record_id: str) -> Response:
        """Demo control, not part of the Source API: the partner deletes a record."""
        cursor = source.delete(record_id)
        if cursor is None:
            return _problem(404, "no such record")
        return JSONResponse({"record_id": record_id, "cursor": str(cursor)})

    return app
