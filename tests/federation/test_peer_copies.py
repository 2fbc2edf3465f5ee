"""Copies of a peer region's answers (docs/retention.md): the peer decides live.

Region A counts a peer's consent as given (only B's OvJ can see it), so A keeps
no copy of what B's OvJ decides on and never serves one when B is down: the
revocation at B would not reach a copy. A copy of a category without consent is
kept and bridges B being down, until B's own answer is not records; then it goes.
This module stops region B once, at the end of its one test, and starts it again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from gateway.demodata.people import demo_people
from tests.brokering.support import MOTIVATION
from tests.federation.conftest import Regions
from tests.federation.regions import PURPOSE, grant_criminal

BSN = demo_people()[0].bsn.reveal()  # persoon-a: known to the demo police and housing
CATEGORIES = ["justitiele_gegevens", "huisvesting"]


def _ask(regions: Regions, case_id: str) -> dict[str, dict[str, Any]]:
    response = regions.partner_a("gemeente-a").query(
        case_id, CATEGORIES, ["zvh-b"], motivation=MOTIVATION
    )
    assert response.status_code == 200, response.text
    return {r["category"]: r for r in response.json()["results"] if r["source"] == "zvh-b"}


def _copies_at_a(regions: Regions, case_id: str) -> dict[str, int]:
    """Rows of A's copy store for this case, per category."""
    engine = create_engine(regions.a.env["KETENPOORT_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT category, count(*) FROM cached_copies "
                    "WHERE case_id = :case AND source = 'zvh-b' GROUP BY category"
                ),
                {"case": case_id},
            )
            return {str(category): int(n) for category, n in rows}
    finally:
        engine.dispose()


def test_a_peers_consent_data_is_never_copied_and_its_no_ends_a_copy(regions: Regions) -> None:
    gemeente = regions.partner_a("gemeente-a")
    opened = gemeente.open_case("zvh-a", PURPOSE, BSN, [], "casusoverleg")
    assert opened.status_code == 201, opened.text
    case_id = str(opened.json()["id"])

    first = _ask(regions, case_id)
    assert first["justitiele_gegevens"]["status"] == "pending_consent"
    consent_id = str(first["justitiele_gegevens"]["consent_id"])
    grant_criminal(regions.partner_b("om-b"), consent_id)
    granted = _ask(regions, case_id)
    assert granted["justitiele_gegevens"]["status"] == "ok", granted
    assert granted["huisvesting"]["status"] == "ok", granted
    assert _copies_at_a(regions, case_id) == {
        "huisvesting": len(granted["huisvesting"]["records"])
    }, "what B's OvJ decides on is not kept at A"

    revoked = regions.partner_b("om-b").call(
        "POST", f"/v1/consents/{consent_id}/revoke", {"reason": "nieuwe feiten"}
    )
    assert revoked.status_code == 200, revoked.text
    assert _ask(regions, case_id)["justitiele_gegevens"]["status"] != "ok"

    regions.b.stop()
    try:
        down = _ask(regions, case_id)
        criminal = down["justitiele_gegevens"]
        assert criminal["status"] == "unavailable" and "records" not in criminal, criminal
        housing = down["huisvesting"]
        assert (housing["status"], housing["reason"]) == ("ok", "cached_copy"), housing
    finally:
        regions.b.start()

    # B's own "no" for housing (its covenant allows casusoverleg only) ends A's copy.
    changed = gemeente.call(
        "PATCH", f"/v1/cases/{case_id}", {"phase": "plan_van_aanpak", "reason": "plan gemaakt"}
    )
    assert changed.status_code == 200, changed.text
    refused = _ask(regions, case_id)["huisvesting"]
    assert (refused["status"], refused["reason"]) == ("denied", "peer_phase"), refused
    assert _copies_at_a(regions, case_id) == {}
    regions.b.stop()
    try:
        down = _ask(regions, case_id)["huisvesting"]
        assert down["status"] == "unavailable" and "records" not in down, down
    finally:
        regions.b.start()
