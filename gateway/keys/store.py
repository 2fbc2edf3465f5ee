"""The gateway's own signing keys: one set per use, private halves encrypted at rest.

``token`` keys (ES256) sign access tokens and the short tokens sent to partner
sources; ``audit`` keys (Ed25519) sign the audit log's checkpoints. Keeping the
two apart means a leaked token key cannot forge the log and the other way round.

Layout under ``<key_dir>/gateway/``: ``manifest.json`` plus one PKCS#8 PEM per
key, named by its RFC 7638 thumbprint, mode 0600. Rotation adds a new current
key and marks the old one retired; a retired token key stays published until
every token it could have signed has expired, a retired audit key stays
published for good (old checkpoints must stay verifiable).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from threading import Lock
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc.jwk import ECKey, KeyParameters, KeySet, KeySetSerialization, OKPKey

from gateway.keys.manifest import (
    KEY_USES,
    MANIFEST_FILE,
    KeyRecord,
    KeyStoreError,
    KeyUse,
    read_manifest,
    write_manifest,
    write_private_file,
)
from gateway.settings import Settings

log = logging.getLogger("ketenpoort.keys")

# Ed25519 by its RFC 9864 name: the polymorphic "EdDSA" is deprecated (joserfc warns).
ALGORITHMS: dict[KeyUse, str] = {"token": "ES256", "audit": "Ed25519"}
MAX_TOKEN_LIFETIME = timedelta(seconds=900)
CLOCK_LEEWAY = timedelta(seconds=60)
# A retired token key is listed until every token it signed has expired.
TOKEN_KEY_GRACE = MAX_TOKEN_LIFETIME + CLOCK_LEEWAY
MANIFEST_RECHECK_S = 1.0
"""A store looks at its manifest (one ``stat``) at most once per this many seconds.

So a key rotated in or removed from the manifest by another process takes
effect in a running gateway within this bound (docs/operations.md), and a
brokered query no longer stats the file once for its token check and again for
its source token. The store's own ``ensure``/``rotate`` take effect at once.
"""
_FOREVER = datetime.max.replace(tzinfo=UTC)

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
JoseKey = ECKey | OKPKey


@dataclass(frozen=True)
class SigningKey:
    """A current private key: ``private_key`` for raw signing, ``jwk`` for JOSE."""

    kid: str
    use: KeyUse
    alg: str
    private_key: PrivateKey
    jwk: JoseKey

    def public_jwk(self) -> dict[str, Any]:
        return _public_jwk(self.jwk, self.kid, self.alg)


def _public_jwk(key: JoseKey, kid: str, alg: str) -> dict[str, Any]:
    document = dict(key.as_dict(private=False))
    document.update({"kid": kid, "alg": alg, "use": "sig"})
    return document


# ``datetime.now(UTC)`` without a Python frame of its own (a C partial): asked per query.
_utcnow: Callable[[], datetime] = partial(datetime.now, UTC)


class KeyStore:
    """Reads the manifest again whenever it changes, so ``keys rotate`` needs no restart.

    A change is noticed within :data:`MANIFEST_RECHECK_S` (``monotonic`` is the
    clock that bound is measured with; tests inject one).
    """

    def __init__(
        self,
        key_dir: Path,
        passphrase: str | None,
        *,
        dev_mode: bool = False,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not passphrase and not dev_mode:
            raise KeyStoreError(
                "KETENPOORT_KEY_PASSPHRASE is required to protect the gateway's private keys "
                "(only dev mode may keep them unencrypted)"
            )
        self._directory = key_dir / "gateway"
        # Stat on every signing-key lookup (a source call asks once per source): the
        # manifest's path as a plain string, not a Path joined and converted each time.
        self._manifest_file = os.fspath(self._directory / MANIFEST_FILE)
        self._passphrase = passphrase.encode("utf-8") if passphrase else None
        self._clock = clock
        self._monotonic = monotonic
        self._lock = Lock()
        self._stamp: tuple[int, int] | None = None
        self._recheck_at = float("-inf")  # monotonic time of the next look at the manifest
        self._generation = 0  # bumped whenever the records are read anew
        self._records: list[KeyRecord] = []
        self._private: dict[str, SigningKey] = {}
        self._public: dict[str, JoseKey] = {}
        # use -> (generation, current key): the signing key without a search per call
        self._current: dict[KeyUse, tuple[int, SigningKey]] = {}
        # use -> (generation, published until, kids, key set)
        self._keysets: dict[KeyUse, tuple[int, datetime, tuple[str, ...], KeySet]] = {}
        if self._passphrase is None:
            log.warning("dev mode: gateway private keys are stored WITHOUT encryption")

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyStore:
        secret = settings.key_passphrase
        return cls(
            settings.key_dir,
            secret.get_secret_value() if secret is not None else None,
            dev_mode=settings.dev_mode,
        )

    def ensure(self) -> list[KeyRecord]:
        """Create a key for every use that has none; returns what was created."""
        created: list[KeyRecord] = []
        with self._exclusive():
            records = self._load_locked()
            for use in KEY_USES:
                if not any(r.use == use and r.is_current for r in records):
                    record = self._create_locked(use)
                    records.append(record)
                    created.append(record)
            if created:
                write_manifest(self._manifest_path, records)
                self._invalidate()
        return created

    def rotate(self, use: KeyUse) -> KeyRecord:
        """Make a new key current for ``use``; the old one is retired, not removed."""
        now = self._clock()
        with self._exclusive():
            records = [
                r.retire(now) if r.use == use and r.is_current else r for r in self._load_locked()
            ]
            record = self._create_locked(use)
            records.append(record)
            write_manifest(self._manifest_path, records)
            self._invalidate()
        log.info("rotated %s key; new kid %s", use, record.kid)
        return record

    def records(self, use: KeyUse | None = None) -> list[KeyRecord]:
        self._refresh()
        return [r for r in self._records if use is None or r.use == use]

    def current(self, use: KeyUse) -> SigningKey:
        """The key that signs now; raises :class:`KeyStoreError` if there is none or it is bad."""
        if self._monotonic() >= self._recheck_at:  # _refresh's own test, without its call
            self._refresh()
        with self._lock:
            generation, records = self._generation, self._records
            known = self._current.get(use)
        if known is not None and known[0] == generation:
            return known[1]
        candidates = [r for r in records if r.use == use and r.is_current]
        if not candidates:
            raise KeyStoreError(f"no current {use} key; run `ketenpoort keys generate`")
        record = max(candidates, key=lambda r: r.created)
        with self._lock:
            cached = self._private.get(record.kid)
            if cached is None:
                cached = self._load_private(record)
                self._private[record.kid] = cached
            self._current[use] = (generation, cached)
            return cached

    def published(self, use: KeyUse) -> list[KeyRecord]:
        """Current keys plus retired ones whose signatures may still be presented."""
        self._refresh()
        return _published(self._records, use, self._clock())

    def jwks(self, use: KeyUse) -> dict[str, Any]:
        """The public JWKS for ``use`` (what ``/oauth/jwks`` and ``/v1/audit/jwks`` serve)."""
        return self._jwks_of(self.published(use))

    def _jwks_of(self, records: list[KeyRecord]) -> dict[str, Any]:
        return {"keys": [_public_jwk(self._public_key(r), r.kid, r.alg) for r in records]}

    def verification_keys(self, use: KeyUse) -> KeySet:
        """The published public keys, ready for :func:`joserfc.jwt.decode`.

        Kept while the manifest is unchanged and no retired key's grace has
        ended (the earliest such end is kept with the set), so a request does
        not filter the records again; and kept across a manifest change while
        the set of published kids is unchanged: a kid's key never changes, and
        importing the set anew cost every request a key parse.
        """
        if self._monotonic() >= self._recheck_at:  # _refresh's own test, without its call
            self._refresh()
        now = self._clock()
        with self._lock:
            generation, records = self._generation, self._records
            cached = self._keysets.get(use)
        if cached is not None and cached[0] == generation and now < cached[1]:
            return cached[3]
        published = _published(records, use, now)
        until = min(
            [
                r.retired_at + TOKEN_KEY_GRACE
                for r in published
                if r.retired_at is not None and use != "audit"
            ],
            default=_FOREVER,
        )
        kids = tuple([r.kid for r in published])
        if cached is not None and cached[2] == kids:
            keyset = cached[3]
        else:
            keyset = KeySet.import_key_set(cast(KeySetSerialization, self._jwks_of(published)))
        with self._lock:
            self._keysets[use] = (generation, until, kids, keyset)
        return keyset

    def check(self) -> None:
        """Fail with a clear :class:`KeyStoreError` unless every use has a usable current key."""
        for use in KEY_USES:
            self.current(use)

    @property
    def directory(self) -> Path:
        """Where this gateway's keys and their manifest live (fixed for the store's life)."""
        return self._directory

    @property
    def _manifest_path(self) -> Path:
        return self._directory / MANIFEST_FILE

    def _refresh(self) -> None:
        """Read the manifest again if it changed; looked at once per :data:`MANIFEST_RECHECK_S`.

        A failed look (the file unreadable, the manifest corrupt) sets no next
        time: every call looks again and fails closed until it is fixed.
        """
        now = self._monotonic()
        if now < self._recheck_at:
            return
        try:
            stat = os.stat(self._manifest_file)
        except FileNotFoundError:
            stamp = None
        except OSError as error:
            raise KeyStoreError(f"key manifest not readable ({type(error).__name__})") from None
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp is None or stamp != self._stamp:
                self._records = read_manifest(self._manifest_path)
                self._stamp = stamp
                self._generation += 1
            self._recheck_at = now + MANIFEST_RECHECK_S

    def _invalidate(self) -> None:
        """After this store wrote the manifest: the next look reads it, whatever the clock says."""
        with self._lock:
            self._stamp = None
            self._recheck_at = float("-inf")

    def _load_locked(self) -> list[KeyRecord]:
        self._invalidate()
        return read_manifest(self._manifest_path)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One writer at a time across processes (two `serve`s starting together)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    def _create_locked(self, use: KeyUse) -> KeyRecord:
        private: PrivateKey
        if use == "token":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            private = ed25519.Ed25519PrivateKey.generate()
        jwk = _to_jose(private)
        kid = jwk.thumbprint()
        file = f"{use}-{kid}.pem"
        write_private_file(
            self.directory / file,
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(self._passphrase)
                if self._passphrase
                else serialization.NoEncryption(),
            ),
        )
        return KeyRecord(kid=kid, use=use, alg=ALGORITHMS[use], created=self._clock(), file=file)

    def _load_private(self, record: KeyRecord) -> SigningKey:
        path = self.directory / record.file
        try:
            data = path.read_bytes()
        except OSError as error:
            reason = type(error).__name__
            raise KeyStoreError(f"{path}: private key unreadable ({reason})") from None
        try:
            private = serialization.load_pem_private_key(data, password=self._passphrase)
        except TypeError:
            raise KeyStoreError(
                f"{path}: encrypted key but no passphrase, or a passphrase for a plain key"
            ) from None
        except ValueError:
            raise KeyStoreError(f"{path}: cannot decrypt or parse (wrong passphrase?)") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise KeyStoreError(f"{path}: unexpected key type {type(private).__name__}")
        if _to_jose(private).thumbprint() != record.kid:
            raise KeyStoreError(f"{path}: key does not match its kid in the manifest")
        jwk = _to_jose(private, kid=record.kid)
        return SigningKey(
            kid=record.kid, use=record.use, alg=record.alg, private_key=private, jwk=jwk
        )

    def _public_key(self, record: KeyRecord) -> JoseKey:
        with self._lock:
            cached = self._public.get(record.kid)
        if cached is not None:
            return cached
        public = _public_only(self._load_private(record).jwk)
        with self._lock:
            self._public[record.kid] = public
        return public


def _published(records: list[KeyRecord], use: KeyUse, now: datetime) -> list[KeyRecord]:
    return [
        r
        for r in records
        if r.use == use
        and (r.retired_at is None or use == "audit" or now < r.retired_at + TOKEN_KEY_GRACE)
    ]


def _to_jose(private: PrivateKey, kid: str | None = None) -> JoseKey:
    parameters: KeyParameters | None = {"kid": kid} if kid else None
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return OKPKey.import_key(private, parameters)
    return ECKey.import_key(private, parameters)


def _public_only(key: JoseKey) -> JoseKey:
    document = key.as_dict(private=False)
    if isinstance(key, OKPKey):
        return OKPKey.import_key(document)
    return ECKey.import_key(document)
