"""``/v1/audit``: signed checkpoints and proofs (public), the log search (privacy officer).

Checkpoints and proofs reveal no personal data (leaves are hashes of entries
whose identifiers are sealed), so anyone may fetch and check them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.checkpoint import Checkpoint
from gateway.audit.checkpoints import (
    NoCheckpoint,
    checkpoint_at,
    latest_checkpoint,
    prove_consistency,
    prove_inclusion,
)
from gateway.audit.merkle import MerkleError
from gateway.audit.search import MAX_LIMIT, BadCursor, EntryQuery, search_entries
from gateway.auth import Principal, require_role
from gateway.problems import NotFound, ServiceUnavailable, Unprocessable
from gateway.runtime import Runtime
from gateway.subjects.bsn import Bsn, InvalidBsnError

router = APIRouter(prefix="/v1/audit", tags=["audit"])

# Bounded by a signed 64-bit column: larger numbers are a 422, not a database overflow.
MAX_SEQ = 2**63 - 1
NonNegative = Annotated[int, Query(ge=0, le=MAX_SEQ)]


privacy_officer = require_role("privacy_officer")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _storage_down() -> ServiceUnavailable:
    return ServiceUnavailable(detail="The audit log's storage is unavailable.")


@router.get("/checkpoint", responses={404: {"description": "No checkpoint at that size"}})
def get_checkpoint(request: Request, size: NonNegative | None = None) -> dict[str, Any]:
    """The latest signed tree head, or the one signed at ``size``."""
    try:
        with _runtime(request).db.session() as session:
            head: Checkpoint | None
            head = checkpoint_at(session, size) if size is not None else latest_checkpoint(session)
    except NoCheckpoint:
        raise NotFound(detail="No signed checkpoint at that size.") from None
    except SQLAlchemyError:
        raise _storage_down() from None
    if head is None:
        raise NotFound(detail="No checkpoint has been signed yet.")
    return head.to_json()


@router.get("/jwks")
def get_jwks(request: Request) -> dict[str, Any]:
    """The public keys that sign checkpoints (current and retired), by ``kid``."""
    signer = _runtime(request).audit.signer
    if signer is None:
        raise ServiceUnavailable(detail="No checkpoint signer is configured.")
    return signer.jwks()


@router.get("/proofs/inclusion", responses={404: {}, 422: {}})
def get_inclusion(request: Request, seq: NonNegative, size: NonNegative) -> dict[str, Any]:
    """RFC 9162 §2.1.3 audit path of entry ``seq`` in the signed tree of ``size``."""
    if seq >= size:
        raise Unprocessable(detail="seq must be smaller than size.")
    try:
        with _runtime(request).db.session() as session:
            proof = prove_inclusion(session, seq, size)
    except NoCheckpoint:
        raise NotFound(detail="No signed checkpoint at that size.") from None
    except MerkleError:
        raise Unprocessable(detail="No such proof exists.") from None
    except SQLAlchemyError:
        raise _storage_down() from None
    return {
        "seq": seq,
        "size": size,
        "leaf_hash": proof.leaf_hash.hex(),
        "root_hash": proof.checkpoint.root_hash,
        "proof": [node.hex() for node in proof.path],
        "checkpoint": proof.checkpoint.to_json(),
    }


@router.get("/proofs/consistency", responses={404: {}, 422: {}})
def get_consistency(
    request: Request,
    first: Annotated[int, Query(alias="from", ge=0, le=MAX_SEQ)],
    second: Annotated[int, Query(alias="to", ge=0, le=MAX_SEQ)],
) -> dict[str, Any]:
    """RFC 9162 §2.1.4 proof that the signed tree of ``to`` extends the one of ``from``."""
    if first > second:
        raise Unprocessable(detail="from must not exceed to.")
    try:
        with _runtime(request).db.session() as session:
            proof = prove_consistency(session, first, second)
    except NoCheckpoint:
        raise NotFound(detail="No signed checkpoint at one of those sizes.") from None
    except MerkleError:
        raise Unprocessable(detail="No such proof exists.") from None
    except SQLAlchemyError:
        raise _storage_down() from None
    return {
        "from": first,
        "to": second,
        "proof": [node.hex() for node in proof.path],
        "from_checkpoint": proof.first.to_json() if proof.first is not None else None,
        "to_checkpoint": proof.second.to_json(),
    }


@router.get("/entries", responses={401: {}, 403: {}, 422: {}})
def get_entries(
    request: Request,
    *,
    _officer: Annotated[Principal, Depends(privacy_officer)],
    subject_bsn: str | None = None,
    party: str | None = None,
    purpose: str | None = None,
    case: str | None = None,
    decision: str | None = None,
    kind: str | None = None,
    time_from: Annotated[datetime | None, Query(alias="from")] = None,
    time_to: Annotated[datetime | None, Query(alias="to")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Filtered log entries, newest first; the BSN is pseudonymised here and never kept."""
    runtime = _runtime(request)
    pseudonym = None
    if subject_bsn is not None:
        try:
            pseudonym = runtime.pseudonymizer.pseudonym(Bsn(subject_bsn))
        except InvalidBsnError:
            raise Unprocessable(detail="subject_bsn is not a valid BSN.") from None
    query = EntryQuery(
        subject_pseudonym=pseudonym,
        party=party,
        purpose=purpose,
        case=case,
        outcome=decision,
        kind=kind,
        time_from=time_from,
        time_to=time_to,
        cursor=cursor,
        limit=limit,
    )
    try:
        with runtime.db.session() as session:
            page = search_entries(session, runtime.audit.vault, query)
    except BadCursor:
        raise Unprocessable(detail="Unknown cursor.") from None
    except SQLAlchemyError:
        raise _storage_down() from None
    return {"entries": page.entries, "next": page.next}
