"""Steps the ground tests share: record, list and withdraw a legal ground."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.demo.partner_client import PartnerClient

GGZ = "psychisch_welzijn"
CONSENT_FORM = "toestemmingsformulier privacy getekend 2026-11-20, dossier GGZ-123"


def record_ground(client: PartnerClient, case_id: str, **body: Any) -> httpx.Response:
    payload: dict[str, Any] = {
        "subject": "s1",
        "ground": "toestemming_betrokkene",
        "reference": CONSENT_FORM,
        "categories": [GGZ],
        **body,
    }
    return client.call("POST", f"/v1/cases/{case_id}/grounds", payload)


def recorded(client: PartnerClient, case_id: str, **body: Any) -> dict[str, Any]:
    response = record_ground(client, case_id, **body)
    assert response.status_code == 201, response.text
    ground: dict[str, Any] = response.json()
    return ground


def withdraw(client: PartnerClient, case_id: str, ground_id: str) -> httpx.Response:
    return client.call(
        "POST",
        f"/v1/cases/{case_id}/grounds/{ground_id}/withdraw",
        {"reason": "betrokkene trekt toestemming in"},
    )
