"""The gateway's own symmetric secrets on disk: the vault master key and the
pseudonym secret (promises 7 and 10).

Each is 256 random bits in a 0600 file under ``key_dir/gateway/``, created on
first use. Outside dev mode the file is sealed with the key passphrase
(scrypt, RFC 7914, then AES-256-GCM), so a copied key directory alone reveals
nothing; a plain file is accepted only in dev mode. Creation is race-free
across processes: the file appears by ``link`` of a finished temporary file,
so a second process either wins or reads the first one's key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SECRET_BYTES = 32
_SCRYPT_N = 2**15
_SCRYPT_R = 8
_SCRYPT_P = 1
_FORMAT = "ketenpoort-secret/1"


class KeyFileError(RuntimeError):
    """A secret file that is missing its protection, unreadable or corrupt."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise KeyFileError("secret file field is not a string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError("secret file field is not base64url") from exc


def _kdf(passphrase: str, salt: bytes) -> bytes:
    scrypt = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return scrypt.derive(passphrase.encode("utf-8"))


def _encode(secret: bytes, passphrase: str | None, label: str) -> bytes:
    doc: dict[str, object]
    if passphrase is None:
        doc = {"format": _FORMAT, "protection": "none", "secret": _b64(secret)}
    else:
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(_kdf(passphrase, salt)).encrypt(nonce, secret, label.encode())
        doc = {
            "format": _FORMAT,
            "protection": "scrypt-aes256gcm",
            "scrypt": {"n": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P},
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "ciphertext": _b64(sealed),
        }
    return json.dumps(doc, indent=1).encode("utf-8") + b"\n"


def _decode(raw: bytes, passphrase: str | None, dev_mode: bool, label: str) -> bytes:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise KeyFileError("secret file is not JSON") from exc
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise KeyFileError("secret file has an unknown format")
    if doc.get("protection") == "none":
        if not dev_mode:
            raise KeyFileError("secret file is not passphrase-protected (allowed in dev mode only)")
        secret = _unb64(doc.get("secret"))
    elif doc.get("protection") == "scrypt-aes256gcm":
        if passphrase is None:
            raise KeyFileError("secret file is passphrase-protected; set KETENPOORT_KEY_PASSPHRASE")
        params = doc.get("scrypt")
        if params != {"n": _SCRYPT_N, "r": _SCRYPT_R, "p": _SCRYPT_P}:
            raise KeyFileError("secret file has unsupported scrypt parameters")
        key = _kdf(passphrase, _unb64(doc.get("salt")))
        try:
            secret = AESGCM(key).decrypt(
                _unb64(doc.get("nonce")), _unb64(doc.get("ciphertext")), label.encode()
            )
        except InvalidTag as exc:
            raise KeyFileError("wrong key passphrase or damaged secret file") from exc
    else:
        raise KeyFileError("secret file has an unknown protection")
    if len(secret) != SECRET_BYTES:
        raise KeyFileError("secret file holds a secret of the wrong length")
    return secret


def load_or_create_secret(path: Path, *, passphrase: str | None, dev_mode: bool) -> bytes:
    """The 256-bit secret in ``path``; made on first use. Refuses plain files outside dev mode."""
    if passphrase is None and not dev_mode:
        raise KeyFileError("KETENPOORT_KEY_PASSPHRASE is required outside dev mode")
    label = path.name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(_encode(os.urandom(SECRET_BYTES), passphrase, label))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read secret file {path.name} ({type(exc).__name__})") from exc
    return _decode(raw, passphrase, dev_mode, label)


def gateway_secret_path(key_dir: Path, name: str) -> Path:
    return key_dir / "gateway" / name
