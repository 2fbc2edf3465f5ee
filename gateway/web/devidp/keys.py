"""The dev IdP's ES256 signing key and the client secret it shares with our login.

Both live under ``<key_dir>/dev-idp/`` (0600), generated on first use, so a
restarted dev gateway keeps validating sessions started before the restart.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from gateway.web.keyfile import read_or_create_secret, write_private

ALG = "ES256"


def dev_idp_dir(key_dir: Path) -> Path:
    return key_dir / "dev-idp"


def dev_client_secret(key_dir: Path) -> str:
    """The secret of the gateway's login client at the dev IdP (both sides read it)."""
    return read_or_create_secret(dev_idp_dir(key_dir) / "client-secret")


@dataclass(frozen=True)
class DevIdpKeys:
    signing_key: ECKey

    @property
    def kid(self) -> str:
        return self.signing_key.thumbprint()

    @classmethod
    def load_or_create(cls, key_dir: Path) -> DevIdpKeys:
        path = dev_idp_dir(key_dir) / "signing-key.json"
        if not path.exists():
            key = ECKey.generate_key("P-256", private=True)
            with contextlib.suppress(FileExistsError):
                write_private(path, json.dumps(key.as_dict(private=True)))
        key = ECKey.import_key(json.loads(path.read_text(encoding="utf-8")))
        return cls(signing_key=key)

    def jwks(self) -> dict[str, Any]:
        public = self.signing_key.as_dict(private=False)
        public.update({"kid": self.kid, "alg": ALG, "use": "sig"})
        return {"keys": [public]}
