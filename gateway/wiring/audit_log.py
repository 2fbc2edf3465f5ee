"""How a gateway process assembles its audit log and pseudonymizer from settings.

Nothing here reads a key file or opens a connection: secrets are loaded on
first use, so an app can start (and report not-ready) without them.
"""

from __future__ import annotations

from functools import partial

from gateway.audit.keyfiles import gateway_secret_path, load_or_create_secret
from gateway.audit.log import AuditLog
from gateway.audit.signer import CheckpointSigner, KeyStoreSigner
from gateway.audit.subject_keys import SubjectVault
from gateway.keys import KeyStore
from gateway.settings import Settings
from gateway.storage.db import Database
from gateway.subjects.bsn import Pseudonymizer

MASTER_KEY_FILE = "master.key"
PSEUDONYM_KEY_FILE = "pseudonym.key"


def load_secret(settings: Settings, name: str) -> bytes:
    passphrase = settings.key_passphrase
    return load_or_create_secret(
        gateway_secret_path(settings.key_dir, name),
        passphrase=passphrase.get_secret_value() if passphrase is not None else None,
        dev_mode=settings.dev_mode,
    )


def build_audit_log(
    settings: Settings, db: Database, signer: CheckpointSigner | None = None
) -> AuditLog:
    """The log with the vault on ``master.key`` and the key store's audit key as signer."""
    vault = SubjectVault(partial(load_secret, settings, MASTER_KEY_FILE))
    return AuditLog(
        db,
        vault,
        signer or KeyStoreSigner(partial(KeyStore.from_settings, settings)),
        checkpoint_interval_s=settings.checkpoint_interval_s,
        timeout_s=settings.db_timeout_s,
    )


def build_pseudonymizer(settings: Settings) -> Pseudonymizer:
    """The BSN pseudonymizer keyed by ``pseudonym.key`` (promise 10)."""
    return Pseudonymizer(load_secret(settings, PSEUDONYM_KEY_FILE))
