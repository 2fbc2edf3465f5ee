"""A partner system as the gateway sees one: private_key_jwt, a token, the API.

Used by the demo walk-through, the benchmarks and the end-to-end tests, so
all three exercise the real OAuth flow over real HTTP rather than a shortcut.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import Key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class PartnerClient:
    def __init__(
        self,
        base_url: str,
        party: str,
        key: Key,
        *,
        alg: str = "ES256",
        employee: str = "demo.medewerker",
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.party = party
        self.key = key
        self.alg = alg
        self.employee = employee
        self.http = client or httpx.Client(base_url=self.base_url, timeout=30.0)
        self._token: str | None = None
        self._token_expires = 0.0

    def assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self.party,
            "sub": self.party,
            "aud": self.base_url + "/oauth/token",
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(
            {"alg": self.alg, "kid": self.key.kid}, claims, self.key, algorithms=[self.alg]
        )

    def request_token(self, convenant: str, purpose: str) -> httpx.Response:
        return self.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "scope": f"convenant:{convenant} purpose:{purpose}",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(),
            },
        )

    def login(self, convenant: str, purpose: str) -> str:
        response = self.request_token(convenant, purpose)
        response.raise_for_status()
        body = response.json()
        self._token = str(body["access_token"])
        self._token_expires = time.time() + float(body.get("expires_in", 60)) - 5
        return self._token

    def headers(self) -> dict[str, str]:
        if self._token is None:
            raise RuntimeError("call login() first")
        return {"Authorization": f"Bearer {self._token}", "X-Ketenpoort-Employee": self.employee}

    def call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=json, headers=self.headers())

    def open_case(
        self, convenant: str, purpose: str, bsn: str, participants: list[str], phase: str
    ) -> httpx.Response:
        return self.call(
            "POST",
            "/v1/cases",
            {
                "convenant": convenant,
                "purpose": purpose,
                "subject": {"bsn": bsn},
                "participants": participants,
                "phase": phase,
            },
        )

    def query(
        self,
        case_id: str,
        categories: list[str],
        sources: list[str] | None = None,
        *,
        motivation: dict[str, str] | None = None,
        subject: str | None = None,
    ) -> httpx.Response:
        """``motivation`` ({code, text}) is required for strafrechtelijke categories."""
        body: dict[str, Any] = {"categories": categories}
        if sources is not None:
            body["sources"] = sources
        if motivation is not None:
            body["motivation"] = motivation
        if subject is not None:
            body["subject"] = subject
        return self.call("POST", f"/v1/cases/{case_id}/queries", body)

    def close(self) -> None:
        self.http.close()
