"""``/v1/audit``: signed checkpoints and proofs (public), the log search (privacy officer).

Checkpoints and proofs reveal no personal data (leaves are hashes of entries
whose identifiers are sealed), so anyone may fetch and check them.

The search is scoped to the officer's covenant and every search (and every
refusal) is itself logged (gateway.audit.officer_reads). A BSN never travels in
a URL: the person search is ``POST /v1/audit/entries/search``; ``GET`` refuses a
``subject_bsn`` parameter. Numbers in query strings are ASCII digits only,
bounded, so Unicode digits or huge values are a 422 and never reach the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StringConstraints

from gateway.api.models import StrictBody
from gateway.api.openapi import partner_credentials
from gateway.api.schemas.audit import (
    CheckpointOut,
    ConsistencyProofOut,
    EntryPageOut,
    InclusionProofOut,
)
from gateway.api.schemas.common import Jwks
from gateway.audit.desk import AuditReadDesk
from gateway.audit.officer import PRIVACY_OFFICER, Reader, officer_covenants
from gateway.audit.search import MAX_LIMIT, EntryQuery
from gateway.auth.dependencies import CovenantRefused, current_principal
from gateway.problems import Forbidden, Unprocessable
from gateway.subjects.bsn import Bsn, InvalidBsnError
from gateway.wiring import runtime_of

router = APIRouter(prefix="/v1/audit", tags=["audit"])

# Bounded by a signed 64-bit column: larger numbers are a 422, not a database overflow.
MAX_SEQ = 2**63 - 1
# ASCII digits only: int() and str.isdigit() also take "²" or "٣", pydantic takes "1_0" or " 5".
_DIGITS = r"^[0-9]{1,19}$"
Digits = Annotated[str, Query(pattern=_DIGITS)]
BSN_IN_URL = "subject_bsn"


def _number(name: str, text: str, maximum: int = MAX_SEQ, minimum: int = 0) -> int:
    """``text`` (already ASCII digits by the pattern) as an int within bounds, else a 422."""
    value = int(text, 10)
    if not minimum <= value <= maximum:
        raise Unprocessable(detail=f"{name} must be between {minimum} and {maximum}.")
    return value


async def privacy_officer(request: Request) -> Reader:
    """The verified caller as a reader of its token's covenant, if it is that covenant's FG.

    The role must be in the token *and* in the policy in force for the token's
    covenant. A refusal of a verified caller is itself logged (then 403).
    """
    principal = await current_principal(request)
    policy = runtime_of(request).policy.current
    oversees = principal.covenant in officer_covenants(policy, principal.party)
    if principal.has_role(PRIVACY_OFFICER) and oversees:
        return Reader(principal.party, principal.employee, (principal.covenant,), "api")
    # Every denial names its reason, as require_role does: a role the token carried but
    # the covenant in force no longer grants is role_revoked (covenant-binding problem).
    revoked = PRIVACY_OFFICER in principal.revoked_roles
    reason = "role_revoked" if revoked else "role_missing"
    refused = Reader(principal.party, principal.employee, (principal.covenant,), "api")
    await _desk(request).refuse_async(refused, "search", reason)
    detail = "this needs the role privacy_officer in the token's covenant"
    if revoked:
        raise CovenantRefused(detail=detail, extensions={"reason": reason})
    raise Forbidden(detail=detail, extensions={"reason": reason})


def _desk(request: Request) -> AuditReadDesk:
    return runtime_of(request).audit_desk


@router.get(
    "/checkpoint",
    response_model=CheckpointOut,
    responses={404: {"description": "No checkpoint at that size"}},
)
def get_checkpoint(request: Request, size: Digits | None = None) -> dict[str, Any]:
    """The latest signed tree head, or the one signed at ``size``."""
    at = _number("size", size) if size is not None else None
    return _desk(request).checkpoint(at).to_json()


@router.get("/jwks", response_model=Jwks)
def get_jwks(request: Request) -> dict[str, Any]:
    """The public keys that sign checkpoints (current and retired), by ``kid``."""
    return _desk(request).jwks()


@router.get("/proofs/inclusion", response_model=InclusionProofOut, responses={404: {}, 422: {}})
def get_inclusion(request: Request, seq: Digits, size: Digits) -> dict[str, Any]:
    """RFC 9162 §2.1.3 audit path of entry ``seq`` in the signed tree of ``size``."""
    first, second = _number("seq", seq), _number("size", size)
    proof = _desk(request).inclusion(first, second)
    return {
        "seq": first,
        "size": second,
        "leaf_hash": proof.leaf_hash.hex(),
        "root_hash": proof.checkpoint.root_hash,
        "proof": [node.hex() for node in proof.path],
        "checkpoint": proof.checkpoint.to_json(),
    }


@router.get("/proofs/consistency", response_model=ConsistencyProofOut, responses={404: {}, 422: {}})
def get_consistency(
    request: Request,
    first_text: Annotated[str, Query(alias="from", pattern=_DIGITS)],
    second_text: Annotated[str, Query(alias="to", pattern=_DIGITS)],
) -> dict[str, Any]:
    """RFC 9162 §2.1.4 proof that the signed tree of ``to`` extends the one of ``from``."""
    first, second = _number("from", first_text), _number("to", second_text)
    proof = _desk(request).consistency(first, second)
    return {
        "from": first,
        "to": second,
        "proof": [node.hex() for node in proof.path],
        "from_checkpoint": proof.first.to_json() if proof.first is not None else None,
        "to_checkpoint": proof.second.to_json(),
    }


Filter = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
Cursor = Annotated[str, StringConstraints(max_length=40)]
QueryFilter = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")]


class EntrySearch(StrictBody):
    """``POST /v1/audit/entries/search``: the GET's filters plus the person's BSN."""

    subject_bsn: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = None
    party: Filter | None = None
    purpose: Filter | None = None
    case: Filter | None = None
    decision: Filter | None = None
    kind: Filter | None = None
    time_from: datetime | None = Field(default=None, alias="from")
    time_to: datetime | None = Field(default=None, alias="to")
    cursor: Cursor | None = None
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT, strict=True)


def _page(request: Request, reader: Reader, query: EntryQuery) -> dict[str, Any]:
    page = _desk(request).search(reader, query)
    return {"entries": page.entries, "next": page.next}


@router.get(
    "/entries",
    response_model=EntryPageOut,
    responses={401: {}, 403: {}, 422: {}},
    dependencies=[Depends(partner_credentials)],
)
def get_entries(
    request: Request,
    *,
    reader: Annotated[Reader, Depends(privacy_officer)],
    party: QueryFilter = None,
    purpose: QueryFilter = None,
    case: QueryFilter = None,
    decision: QueryFilter = None,
    kind: QueryFilter = None,
    time_from: Annotated[datetime | None, Query(alias="from")] = None,
    time_to: Annotated[datetime | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Digits = "50",
) -> dict[str, Any]:
    """Filtered log entries of the officer's covenant, newest first.

    A ``subject_bsn`` parameter is refused (without echoing it): search for a
    person with ``POST /v1/audit/entries/search``.
    """
    if BSN_IN_URL in request.query_params:
        raise Unprocessable(
            detail="A BSN never travels in a URL: use POST /v1/audit/entries/search."
        )
    query = EntryQuery(
        party=party,
        purpose=purpose,
        case=case,
        outcome=decision,
        kind=kind,
        time_from=time_from,
        time_to=time_to,
        cursor=cursor,
        limit=_number("limit", limit, maximum=MAX_LIMIT, minimum=1),
    )
    return _page(request, reader, query)


@router.post(
    "/entries/search",
    response_model=EntryPageOut,
    responses={401: {}, 403: {}, 422: {}},
    dependencies=[Depends(partner_credentials)],
)
def search_entries_by_body(
    request: Request,
    body: EntrySearch,
    reader: Annotated[Reader, Depends(privacy_officer)],
) -> dict[str, Any]:
    """The same search with the filters in a JSON body; ``subject_bsn`` is pseudonymised here."""
    pseudonym = None
    if body.subject_bsn is not None:
        try:
            pseudonym = _desk(request).pseudonym(Bsn(body.subject_bsn))
        except InvalidBsnError:
            raise Unprocessable(detail="subject_bsn is not a valid BSN.") from None
    query = EntryQuery(
        subject_pseudonym=pseudonym,
        party=body.party,
        purpose=body.purpose,
        case=body.case,
        outcome=body.decision,
        kind=body.kind,
        time_from=body.time_from,
        time_to=body.time_to,
        cursor=body.cursor,
        limit=body.limit,
    )
    return _page(request, reader, query)
