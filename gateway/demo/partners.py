"""Keys for the demo partner systems, so the demo covenant's ``jwks_file``s exist.

Development only: each party gets an ES256 key; the private half goes to
``keys/demo-partners/<party>.jwk.json`` (0600, git-ignored), the public JWKS
to the covenant's ``jwks_file`` (``keys/trust/<party>.json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from joserfc.jwk import ECKey

from gateway.policy.models import Covenant

PRIVATE_DIR = "demo-partners"


def private_key_path(key_dir: Path, party_id: str) -> Path:
    return key_dir / PRIVATE_DIR / f"{party_id}.jwk.json"


def load_partner_key(key_dir: Path, party_id: str) -> ECKey:
    data = json.loads(private_key_path(key_dir, party_id).read_text(encoding="utf-8"))
    return ECKey.import_key(data)


def ensure_partner_keys(covenant: Covenant, key_dir: Path) -> dict[str, ECKey]:
    """Create missing demo keys and trust files; keep existing ones (stable across restarts)."""
    keys: dict[str, ECKey] = {}
    for party in covenant.parties:
        if party.jwks_file is None:
            continue
        private_path = private_key_path(key_dir, party.id)
        if private_path.exists() and party.jwks_file.exists():
            keys[party.id] = load_partner_key(key_dir, party.id)
            continue
        key = ECKey.generate_key("P-256", parameters={"kid": f"{party.id}-1", "use": "sig"})
        private_path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(private_path, json.dumps(key.as_dict(private=True)))
        party.jwks_file.parent.mkdir(parents=True, exist_ok=True)
        public = {"keys": [key.as_dict(private=False)]}
        party.jwks_file.write_text(json.dumps(public, indent=2), encoding="utf-8")
        keys[party.id] = key
    return keys


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
