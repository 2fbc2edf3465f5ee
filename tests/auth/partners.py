"""A small policy directory with partner keys made in the test, and assertions they sign.

Parties (covenant ``kv-test``, active, purposes ``triage`` and ``overleg``):
``politie-t`` ES256, ``ggz-t`` Ed25519, ``om-t`` PS256 (role ``om``), ``fg-t``
(role ``privacy_officer``). Covenant ``kv-oud`` has expired and lists
``politie-t`` too; ``buiten-t`` is a party of ``kv-oud`` only.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
ISSUER = "https://gateway.test"
TOKEN_URL = ISSUER + "/oauth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "convenant:kv-test purpose:triage"


@dataclass
class Partner:
    id: str
    key: Key
    alg: str
    roles: tuple[str, ...]

    @property
    def kid(self) -> str:
        assert self.key.kid is not None
        return self.key.kid

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def assertion(self, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A valid client assertion; keyword arguments replace claims (None removes one)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.id,
            "sub": self.id,
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
        }
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        head = {"alg": self.alg, "kid": self.kid, **(header or {})}
        return jwt.encode(head, body, self.key, algorithms=[head["alg"]])


def make_partners() -> dict[str, Partner]:
    return {
        "politie-t": Partner(
            "politie-t",
            ECKey.generate_key("P-256", parameters={"kid": "politie-1"}),
            "ES256",
            ("politie",),
        ),
        "ggz-t": Partner(
            "ggz-t",
            OKPKey.generate_key("Ed25519", parameters={"kid": "ggz-1"}),
            "Ed25519",
            ("ggz", "zorg"),
        ),
        "om-t": Partner(
            "om-t", RSAKey.generate_key(2048, parameters={"kid": "om-1"}), "PS256", ("om",)
        ),
        "fg-t": Partner(
            "fg-t",
            ECKey.generate_key("P-256", parameters={"kid": "fg-1"}),
            "ES256",
            ("privacy_officer",),
        ),
        "buiten-t": Partner(
            "buiten-t",
            ECKey.generate_key("P-256", parameters={"kid": "buiten-1"}),
            "ES256",
            ("gemeente",),
        ),
    }


def _party(partner: Partner, trust: Path, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": partner.id,
        "name": f"Partij {partner.id}",
        "roles": list(partner.roles),
        "jwks_file": str(trust / f"{partner.id}.json"),
    }
    entry.update(extra)
    return entry


def _covenant(
    covenant_id: str, parties: list[dict[str, Any]], valid_until: str, controller: str
) -> dict[str, Any]:
    return {
        "id": covenant_id,
        "title": f"Testconvenant {covenant_id}",
        "valid_from": "2020-01-01",
        "valid_until": valid_until,
        "controller": controller,
        "parties": parties,
        "case_opening_roles": ["politie"],
        "categories": [
            {"id": "huisvesting", "sensitivity": "gewoon", "fields": ["woonsituatie"]},
        ],
        "purposes": [
            {"id": "triage", "description": "Triage", "legal_basis": "AVG art. 6 lid 1 sub e"},
            {"id": "overleg", "description": "Overleg", "legal_basis": "AVG art. 6 lid 1 sub e"},
        ],
        "rules": [
            {
                "id": "r1",
                "purpose": "triage",
                "phases": ["triage"],
                "recipients": [parties[0]["id"]],
                "sources": [parties[-1]["id"]],
                "categories": ["huisvesting"],
            }
        ],
        "retention": {
            "case_after_close": "P2Y",
            "after_last_contact": "P5Y",
            "copies": "P30D",
            "consent_max": "P1Y",
        },
        "rights": {"inzage": "P1M", "correctie": "P14D", "verzet": "P28D"},
    }


def write_policy_dir(
    root: Path, partners: dict[str, Partner], *, jwks_uri_party: tuple[Partner, str] | None = None
) -> Path:
    """Write ``root/policies`` (catalogue, two covenants) and ``root/trust`` (public JWKS)."""
    directory = root / "policies"
    trust = root / "trust"
    directory.mkdir(parents=True)
    trust.mkdir(parents=True)
    shutil.copy(REPO_POLICIES / "catalogue.yaml", directory / "catalogue.yaml")
    for partner in partners.values():
        (trust / f"{partner.id}.json").write_text(json.dumps(partner.public_jwks()))
    current = [_party(partners[p], trust) for p in ("politie-t", "ggz-t", "om-t", "fg-t")]
    if jwks_uri_party is not None:
        partner, uri = jwks_uri_party
        current.append(
            {"id": partner.id, "name": "Via URI", "roles": list(partner.roles), "jwks_uri": uri}
        )
    old = [_party(partners[p], trust) for p in ("politie-t", "buiten-t")]
    for name, data in (
        ("kv-test.yaml", _covenant("kv-test", current, "2099-12-31", "politie-t")),
        ("kv-oud.yaml", _covenant("kv-oud", old, "2021-12-31", "politie-t")),
    ):
        (directory / name).write_text(yaml.safe_dump(data, sort_keys=False))
    return directory
