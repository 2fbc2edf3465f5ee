"""Steps the consent tests share: ask for criminal data, decide as the OvJ, read the register."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from gateway.consent.models import ConsentRequest
from gateway.consent.service import ConsentNotice
from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.brokering.support import CASUSOVERLEG, MOTIVATION, Results, results

CRIMINAL = "justitiele_gegevens"
CRIMINAL_SOURCES = ("politie-demo", "reclassering-demo")
OVJ_EMPLOYEE = "ovj.17"


def today() -> date:
    return datetime.now(UTC).date()


def in_days(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def om(stack: Stack, employee: str = OVJ_EMPLOYEE) -> PartnerClient:
    client = stack.client("om-demo", employee=employee)
    client.login(DEMO_COVENANT, CASUSOVERLEG)
    return client


def ask(
    client: PartnerClient,
    case_id: str,
    categories: list[str] | None = None,
    motivation: dict[str, str] | None = None,
) -> Results:
    """Criminal data needs a motivation (API.md §3): the shared one unless another is given."""
    return results(
        client.query(case_id, categories or [CRIMINAL], motivation=motivation or MOTIVATION)
    )


def pending_id(found: Results, category: str = CRIMINAL) -> str:
    """The one consent id every source of ``category`` answered pending_consent with."""
    ids = {
        r["consent_id"]
        for (_source, cat), r in found.items()
        if cat == category and r["status"] == "pending_consent"
    }
    assert len(ids) == 1, found
    assert all("records" not in r for (_s, c), r in found.items() if c == category)
    return str(ids.pop())


def decide(om_client: PartnerClient, consent_id: str, **body: Any) -> httpx.Response:
    payload: dict[str, Any] = {"decision": "granted", "reason": "proportioneel", **body}
    if payload["decision"] == "granted":
        payload.setdefault("valid_until", in_days(30))
        if "categories" not in payload:  # a grant names its categories (API.md §4)
            shown = om_client.call("GET", f"/v1/consents/{consent_id}")
            if shown.status_code == 200:
                payload["categories"] = shown.json()["categories"]
    return om_client.call("POST", f"/v1/consents/{consent_id}/decision", payload)


def grant(om_client: PartnerClient, consent_id: str, **body: Any) -> dict[str, Any]:
    response = decide(om_client, consent_id, **body)
    assert response.status_code == 200, response.text
    granted: dict[str, Any] = response.json()
    return granted


def set_valid_until(stack: Stack, consent_id: str, day: date) -> None:
    """Move a consent's end date directly in the register (time passing, cheaply)."""
    with stack.runtime.db.session() as session:
        session.execute(
            update(ConsentRequest).where(ConsentRequest.id == consent_id).values(valid_until=day)
        )


def notice(n: int | str, convenant: str = "zvh-demo") -> ConsentNotice:
    """A consent notice as the consent desk hands it to the webhook (identifiers only)."""
    return ConsentNotice(
        id=f"oc-{n}",
        convenant=convenant,
        case="c-test",
        categories=("strafrechtelijk",),
        recipient="gemeente-demo",
        purpose="pga-casusoverleg",
        case_phase="casusoverleg",
        requested_by_employee="m.jansen",
        created_at=datetime.now(UTC),
    )
