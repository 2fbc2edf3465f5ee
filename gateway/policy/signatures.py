"""Activation of a covenant by its parties' signatures (POLICY.md, ``require_signatures``).

Each signature is a compact JWS (RFC 7515) with a detached payload: the
RFC 8785 canonical JSON of the covenant file without ``signatures``. Any edit
changes that payload, so every earlier signature stops verifying. As in the
FSC standard's contracts, a party may also sign a ``reject`` or ``revoke``;
the kind and the party are in the *protected* header, so an approval cannot be
relabelled as a rejection or the other way round.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, KeySet, OKPKey
from joserfc.registry import HeaderParameter

from gateway.policy.document import read_document
from gateway.policy.models import Party, SignatureEntry, SignatureKind, TrustStoreError

# "Ed25519" is the fully specified name of RFC 9864; "EdDSA" is still accepted.
VERIFY_ALGORITHMS = ("Ed25519", "EdDSA", "ES256")

_REGISTRY = jws.JWSRegistry(
    header_registry={
        "kind": HeaderParameter("Ketenpoort signature kind: sign, reject or revoke", "str", True),
        "party": HeaderParameter("Ketenpoort party id of the signer", "str", True),
    },
    algorithms=list(VERIFY_ALGORITHMS),
)


def signing_payload(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of the covenant without its ``signatures``."""
    return rfc8785.dumps({key: value for key, value in document.items() if key != "signatures"})


def covenant_version(document: Mapping[str, Any]) -> str:
    """Hex SHA-256 of :func:`signing_payload`; audit entries name the covenant by it."""
    return hashlib.sha256(signing_payload(document)).hexdigest()


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    party: str
    kind: SignatureKind
    valid: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    """Whether the signatures activate the covenant, and why not."""

    active: bool
    checks: tuple[SignatureCheck, ...]
    missing: tuple[str, ...]
    blocked_by: tuple[str, ...]


def verify_signatures(
    document: Mapping[str, Any],
    parties: Sequence[Party],
    entries: Sequence[SignatureEntry],
) -> SignatureStatus:
    """Active only when every party signed validly and no valid reject/revoke exists."""
    payload = signing_payload(document)
    by_id = {party.id: party for party in parties}
    checks = tuple(_check(entry, by_id.get(entry.party), payload) for entry in entries)
    signed = {check.party for check in checks if check.valid and check.kind == "sign"}
    blocked = tuple(sorted({c.party for c in checks if c.valid and c.kind != "sign"}))
    missing = tuple(party.id for party in parties if party.id not in signed)
    return SignatureStatus(not missing and not blocked, checks, missing, blocked)


def _check(entry: SignatureEntry, party: Party | None, payload: bytes) -> SignatureCheck:
    def result(valid: bool, reason: str) -> SignatureCheck:
        return SignatureCheck(entry.party, entry.kind, valid, reason)

    if party is None:
        return result(False, "the signer is not a party of this covenant")
    try:
        document = party.jwks_document()
    except TrustStoreError as error:
        return result(False, f"the party's keys cannot be read: {error}")
    if document is None:
        return result(False, "the party's keys are not available (jwks_uri or missing trust file)")
    try:
        keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        verified = jws.deserialize_compact(
            entry.jws,
            keys,
            payload=payload,
            registry=_REGISTRY,
            algorithms=list(VERIFY_ALGORITHMS),
        )
    except (JoseError, ValueError) as error:
        return result(False, f"does not verify over this file ({type(error).__name__})")
    header = verified.protected
    if header.get("kind") != entry.kind or header.get("party") != entry.party:
        return result(False, "the signed kind or party differs from the entry")
    return result(True, "valid")


def sign_covenant(
    path: Path,
    party_id: str,
    private_jwk: Mapping[str, Any] | OKPKey | ECKey,
    kind: SignatureKind = "sign",
) -> dict[str, str]:
    """A signature entry for ``party_id`` over the covenant file as it is now.

    The caller appends it to ``signatures``; adding entries does not change
    the signed payload.
    """
    document, problems = read_document(path)
    if document is None or not isinstance(document.data, dict):
        raise ValueError("; ".join(str(problem) for problem in problems) or "not a covenant")
    parties = document.data.get("parties") or []
    if not any(isinstance(p, dict) and p.get("id") == party_id for p in parties):
        raise ValueError(f"{party_id!r} is not a party of {path}")
    key = private_jwk if isinstance(private_jwk, OKPKey | ECKey) else _import_key(private_jwk)
    protected: dict[str, Any] = {
        "alg": _algorithm(key),
        "kid": key.kid or key.thumbprint(),
        "kind": kind,
        "party": party_id,
    }
    compact = jws.serialize_compact(
        protected,
        signing_payload(document.data),
        key,
        registry=_REGISTRY,
        algorithms=list(VERIFY_ALGORITHMS),
    )
    return {"party": party_id, "kind": kind, "jws": jws.detach_content(compact)}


def _import_key(data: Mapping[str, Any]) -> OKPKey | ECKey:
    key = JWKRegistry.import_key(json.loads(json.dumps(dict(data))))
    if not isinstance(key, OKPKey | ECKey):
        raise ValueError("a covenant is signed with an Ed25519 or P-256 key")
    return key


def _algorithm(key: OKPKey | ECKey) -> str:
    curve = key.as_dict().get("crv")
    if isinstance(key, OKPKey) and curve == "Ed25519":
        return "Ed25519"
    if isinstance(key, ECKey) and curve == "P-256":
        return "ES256"
    raise ValueError(f"unsupported signing key curve {curve!r}; use Ed25519 or P-256")
