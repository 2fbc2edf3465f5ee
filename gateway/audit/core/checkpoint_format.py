"""Signed tree heads (checkpoints) as published by ``GET /v1/audit/checkpoint``.

The signature is Ed25519 (RFC 8032) over the RFC 8785 bytes of
``{"size", "root_hash", "time"}``, so anyone with the JWKS can check a head
with stock tooling. Keys travel as RFC 8037 OKP JWKs named by their RFC 7638
thumbprint: the ``kid`` is derived from the key, never chosen, so two keys can
never share a name and an old head keeps pointing at the key that signed it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import OKPKey

from gateway.audit.core.canonical import canonical_bytes

_HEX_ROOT = re.compile(r"[0-9a-f]{64}")
_ACCEPTED_ALGS = frozenset({"EdDSA", "Ed25519"})


class CheckpointError(ValueError):
    """A checkpoint that must not be trusted; the message names the reason."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; anything else is refused, not repaired."""
    if not isinstance(text, str) or "=" in text:
        raise CheckpointError("not unpadded base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("not unpadded base64url") from exc
    if b64url(data) != text:
        raise CheckpointError("not canonical base64url")
    return data


def rfc3339_utc(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC with a ``Z`` and whole seconds: one spelling per instant."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def public_jwk(public_key: Ed25519PublicKey, kid: str | None = None) -> dict[str, str]:
    """RFC 8037 OKP JWK for a checkpoint key; ``kid`` defaults to the RFC 7638 thumbprint."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    jwk.update({"kid": kid or key_id(public_key), "alg": "Ed25519", "use": "sig"})
    return jwk


def key_id(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    okp = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)})
    return okp.thumbprint()


@dataclass(frozen=True)
class Checkpoint:
    size: int
    root_hash: str
    time: str
    kid: str
    signature: str

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.size, self.root_hash, self.time)

    def root(self) -> bytes:
        return bytes.fromhex(self.root_hash)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse and shape-check; the signature is checked by :func:`verify_checkpoint`."""
        size, root_hash, time = data.get("size"), data.get("root_hash"), data.get("time")
        kid, signature = data.get("kid"), data.get("signature")
        if type(size) is not int or size < 0:
            raise CheckpointError("size is not a non-negative integer")
        if not isinstance(root_hash, str) or not _HEX_ROOT.fullmatch(root_hash):
            raise CheckpointError("root_hash is not 64 lowercase hex digits")
        if not isinstance(time, str) or not _is_rfc3339_utc(time):
            raise CheckpointError("time is not an RFC 3339 UTC timestamp")
        if not isinstance(kid, str) or not kid:
            raise CheckpointError("kid is missing")
        if not isinstance(signature, str):
            raise CheckpointError("signature is missing")
        return cls(size=size, root_hash=root_hash, time=time, kid=kid, signature=signature)


def _is_rfc3339_utc(text: str) -> bool:
    if not text.endswith("Z") or "T" not in text:
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def signed_bytes(size: int, root_hash: str, time: str) -> bytes:
    return canonical_bytes({"size": size, "root_hash": root_hash, "time": time})


def sign_checkpoint(
    size: int,
    root: bytes,
    private_key: Ed25519PrivateKey,
    *,
    time: datetime | None = None,
    kid: str | None = None,
) -> Checkpoint:
    """Sign the head of a tree of ``size`` leaves with root ``root``."""
    if size < 0 or len(root) != 32:
        raise CheckpointError("a checkpoint needs a size >= 0 and a 32-byte root")
    root_hex = root.hex()
    stamp = rfc3339_utc(time)
    signature = private_key.sign(signed_bytes(size, root_hex, stamp))
    return Checkpoint(
        size=size,
        root_hash=root_hex,
        time=stamp,
        kid=kid or key_id(private_key.public_key()),
        signature=b64url(signature),
    )


def public_key_from_jwks(jwks: Mapping[str, Any], kid: str) -> Ed25519PublicKey:
    """The Ed25519 key named ``kid`` in a JWKS; refuses anything that is not one."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise CheckpointError("JWKS has no 'keys' list")
    for jwk in keys:
        if isinstance(jwk, Mapping) and jwk.get("kid") == kid:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise CheckpointError(f"key {kid!r} is not an Ed25519 OKP key")
            if "alg" in jwk and jwk["alg"] not in _ACCEPTED_ALGS:
                raise CheckpointError(f"key {kid!r} is not meant for Ed25519")
            raw = b64url_decode(jwk.get("x", ""))
            if len(raw) != 32:
                raise CheckpointError(f"key {kid!r} has a malformed 'x'")
            return Ed25519PublicKey.from_public_bytes(raw)
    raise CheckpointError(f"no key {kid!r} in the JWKS")


def verify_checkpoint(checkpoint: Checkpoint, jwks: Mapping[str, Any]) -> None:
    """Raise :class:`CheckpointError` unless the JWKS key ``kid`` signed this head."""
    public_key = public_key_from_jwks(jwks, checkpoint.kid)
    signature = b64url_decode(checkpoint.signature)
    try:
        public_key.verify(signature, checkpoint.signed_bytes())
    except InvalidSignature as exc:
        raise CheckpointError("signature does not match") from exc
