"""An attacker's review of the consent-policy change (OvJ consent, versions, withholdings).

Promise 3 (criminal data only under the OvJ's consent, exactly as reviewed) and the
person's right of inzage, limited only on a recorded ground for a bounded time
(UAVG art. 41), across regions too (federation). Each test was seen to fail on the
merge it reviews (2e03c76) and to pass with its fix.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import yaml

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.stack import Stack
from gateway.demodata.people import demo_people
from tests.brokering.support import (
    BSN,
    CASUSOVERLEG,
    MOTIVATION,
    TEAM,
    change_covenant,
    is_problem,
    open_case,
    party_block,
)
from tests.consent.support import CRIMINAL, ask, in_days, om, pending_id
from tests.federation.conftest import Regions, regions  # noqa: F401  (module fixture)
from tests.federation.regions import PURPOSE, grant_criminal
from tests.web.conftest import hidden_fields, login

PROBLEM = "urn:ketenpoort:problem:"


def _decide(stack: Stack, consent_id: str, body: dict[str, Any]) -> httpx.Response:
    payload = {"decision": "granted", "reason": "proportioneel", "valid_until": in_days(30)}
    return om(stack).call("POST", f"/v1/consents/{consent_id}/decision", {**payload, **body})


def _status(stack: Stack, consent_id: str) -> str:
    return str(om(stack).call("GET", f"/v1/consents/{consent_id}").json()["status"])


# --- a grant without `version` on a request that changed after review -------------------


def test_grant_without_version_of_a_request_that_changed_is_refused(stack: Stack) -> None:
    """Promise 3: the OvJ weighed the case phase; a versionless grant of a moved request is 409.

    `version` is optional on the API and `categories` only pin the categories: a
    request whose case moved to another phase after the OvJ read it was still
    granted by a client that did not send the version it reviewed.
    """
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    reviewed = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert (reviewed["version"], reviewed["case_phase"]) == (1, "casusoverleg")
    moved = gemeente.call("PATCH", f"/v1/cases/{case_id}", {"phase": "plan_van_aanpak"})
    assert moved.status_code == 200, moved.text
    assert pending_id(ask(gemeente, case_id)) == consent_id

    blind = _decide(stack, consent_id, {"categories": [CRIMINAL]})
    assert blind.status_code == 409 and is_problem(blind), blind.text
    assert blind.json()["type"] == PROBLEM + "consent-request-changed"
    assert blind.json()["version"] == 2
    assert _status(stack, consent_id) == "pending"

    current = _decide(stack, consent_id, {"categories": [CRIMINAL], "version": 2})
    assert current.status_code == 200, current.text

    # The contract stays: a request that never changed may be granted without it,
    # and a refusal (it grants nothing) never needs it.
    unchanged = pending_id(ask(*open_case(stack)))
    assert _decide(stack, unchanged, {"categories": [CRIMINAL]}).status_code == 200
    other = pending_id(ask(*open_case(stack)))
    assert _decide(stack, other, {"decision": "refused"}).status_code == 200


# --- a withholding crossing a region border ------------------------------------------------


def test_peer_ovj_withholding_holds_in_the_requesting_region_inzage(regions: Regions) -> None:  # noqa: F811
    """Inzage (UAVG art. 41), federation: B's OvJ withheld a disclosure; A must not show it.

    Region A's partner receives criminal data from region B under B's OvJ consent,
    granted with `withheld_until`. B withholds it in its own inzage, but A logs the
    disclosure too (party gemeente-a, source zvh-b) and showed it in the person's
    inzage at A: the withholding was bypassed by asking through another region.
    """
    bsn = demo_people()[0].bsn.reveal()
    gemeente = regions.partner_a("gemeente-a")
    opened = gemeente.open_case("zvh-a", PURPOSE, bsn, [], "casusoverleg")
    assert opened.status_code == 201, opened.text
    case_id = str(opened.json()["id"])

    def ask_b() -> dict[str, Any]:
        response = gemeente.query(
            case_id, ["justitiele_gegevens"], ["zvh-b"], motivation=MOTIVATION
        )
        assert response.status_code == 200, response.text
        (found,) = [r for r in response.json()["results"] if r["source"] == "zvh-b"]
        return dict(found)

    pending = ask_b()
    assert pending["status"] == "pending_consent", pending
    withheld_until = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    grant_criminal(
        regions.partner_b("om-b"),
        pending["consent_id"],
        reason="lopend onderzoek",
        withheld_until=withheld_until,
    )
    disclosed = ask_b()
    assert disclosed["status"] == "ok" and disclosed["records"], disclosed
    ask_b()  # a second disclosure: withheld as well, one withholding kept

    person = login(regions.a.base_url, "persoon-a", "/mijn")
    try:
        mine = person.get("/v1/me/disclosures")
        assert mine.status_code == 200, mine.text
        body = mine.json()
        shown = [(d["source"], d["category"]) for d in body["disclosures"]]
        assert ("zvh-b", "justitiele_gegevens") not in shown, body
        assert body["withheld"]["count"] == 2, body
        assert body["withheld"]["until"] == withheld_until
        page = person.get("/mijn")
        assert page.status_code == 200
        assert "niet getoond tot" in page.text
    finally:
        person.close()
    assert disclosed.get("withheld_until") == withheld_until, "A's partner must know too"


# --- the OM of another covenant ---------------------------------------------------------


def _sans_instance(response: httpx.Response) -> dict[str, Any]:
    return {k: v for k, v in response.json().items() if k != "instance"}


def _second_covenant(stack: Stack, om_party: str = "om-demo") -> str:
    """A second covenant on the same gateway whose OM is ``om_party``."""
    path = stack.settings.policy_dir / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["id"] = "zvh-tweede"
    if om_party != "om-demo":
        party_block(document, "om-demo")["roles"] = ["toezicht"]
        party_block(document, om_party)["roles"].append("om")
    document["title"] = "Tweede convenant"
    second = stack.settings.policy_dir / "zvh-tweede.yaml"
    second.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    problems = stack.runtime.policy.reload()
    assert not [p for p in problems if p.severity == "error"], problems
    return "zvh-tweede"


def test_om_of_another_covenant_cannot_tell_its_ids_from_unknown_ones(stack: Stack) -> None:
    """Promise 11 (covenant boundaries) and 5: covenant B's OM learns nothing of A's requests.

    The OM of another covenant got 403 ``not-om`` for a real id of covenant A and
    404 for an unknown one: an oracle for which consent ids exist elsewhere. Now
    both are the same 404, and the attempt on A's request is logged with a reason.
    """
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    covenant = _second_covenant(stack)
    other_om = stack.client("om-demo", employee="ovj.b")
    other_om.login(covenant, CASUSOVERLEG)
    unknown = "oc-" + "0" * 20
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "/decision", {"decision": "refused", "reason": "nee"}),
        ("POST", "/revoke", {"reason": "nee"}),
    ):
        real = other_om.call(method, f"/v1/consents/{consent_id}{suffix}", body)
        fake = other_om.call(method, f"/v1/consents/{unknown}{suffix}", body)
        assert (real.status_code, _sans_instance(real)) == (
            fake.status_code,
            _sans_instance(fake),
        ), suffix
        assert real.status_code == 404 and is_problem(real), real.text
    assert _status(stack, consent_id) == "pending"
    listed = other_om.call("GET", "/v1/consents")
    assert listed.status_code == 200
    runtime = stack.runtime
    with runtime.db.session() as session:
        page = search_entries(
            session,
            runtime.audit.vault,
            EntryQuery(party="om-demo", kind="consent", outcome="denied", limit=100),
        )
    logged = sorted(
        (e for e in page.entries if e["consent_id"] == consent_id), key=lambda e: int(e["seq"])
    )
    assert [(e["reason"], e["details"]["action"]) for e in logged] == [
        ("other_covenant", "read"),
        ("other_covenant", "decide"),
        ("other_covenant", "revoke"),
    ]


def test_web_ovj_of_another_covenant_cannot_tell_its_ids_from_unknown_ones(stack: Stack) -> None:
    """Promise 11 (covenant boundaries): on /ovj too, a foreign request looks like no request.

    The page takes the covenant from the request itself; an OvJ whose party is
    the OM of another covenant only got 403 for a real id there and 404 for an
    unknown one. Now both are 404; the attempt is still logged (``not_om``).
    """
    covenant = _second_covenant(stack, om_party="reclassering-demo")
    gemeente = stack.client("gemeente-demo")
    gemeente.login(covenant, CASUSOVERLEG)
    opened = gemeente.open_case(covenant, CASUSOVERLEG, BSN, TEAM, "casusoverleg")
    assert opened.status_code == 201, opened.text
    consent_id = pending_id(ask(gemeente, str(opened.json()["id"])))

    ovj = login(stack.base_url, "ovj.demo", "/ovj")  # om-demo: OM of zvh-demo only
    try:
        unknown = "oc-" + "0" * 20
        assert ovj.get(f"/ovj/{unknown}").status_code == 404
        assert ovj.get(f"/ovj/{consent_id}").status_code == 404
        assert consent_id not in ovj.get("/ovj").text
    finally:
        ovj.close()
    other_om = stack.client("reclassering-demo", employee="ovj.tweede")
    other_om.login(covenant, CASUSOVERLEG)
    shown = other_om.call("GET", f"/v1/consents/{consent_id}")
    assert shown.status_code == 200 and shown.json()["status"] == "pending", shown.text


def test_ovj_form_with_a_non_ascii_digit_version_is_no_500(stack: Stack) -> None:
    """Charter (never a 500 for any input), /ovj: ``versie`` "²" passed isdigit() and crashed int().

    A non-decimal version is treated as absent: the request never changed, so the
    grant goes through; a changed one would be a 409 like any versionless grant.
    """
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    ovj = login(stack.base_url, "ovj.demo", f"/ovj/{consent_id}")
    try:
        page = ovj.get(f"/ovj/{consent_id}")
        assert page.status_code == 200
        posted = ovj.post(
            f"/ovj/{consent_id}/besluit",
            data={
                "csrf_token": hidden_fields(page.text)["csrf_token"],
                "versie": "\u00b2",
                "besluit": "granted",
                "categorie": CRIMINAL,
                "ontvanger": "gemeente-demo",
                "geldig_tot": in_days(30),
                "reden": "nodig voor plan van aanpak",
            },
        )
    finally:
        ovj.close()
    assert posted.status_code == 200, posted.text  # the redirect to the decided request
    assert _status(stack, consent_id) == "granted"


def test_ovj_cannot_grant_a_category_the_covenant_reserves_to_another_authority(
    stack: Stack,
) -> None:
    """Promise 3: only who the category's ``agreement_required_from`` names may consent.

    POLICY.md: ``agreement_required_from: [om, burgemeester]`` says who may
    consent (default ``[om]``). It was never read: the OvJ granted a category
    the covenant reserves to the mayor. Now 403 ``consent-not-competent``, logged.
    """

    def mayor_only(document: dict[str, Any]) -> None:
        party_block(document, "gemeente-demo")["roles"].append("burgemeester")
        for category in document["categories"]:
            if category["id"] == CRIMINAL:
                category["agreement_required_from"] = ["burgemeester"]

    change_covenant(stack, mayor_only)
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    granted = _decide(stack, consent_id, {"categories": [CRIMINAL]})
    assert granted.status_code == 403 and is_problem(granted), granted.text
    assert granted.json()["type"] == PROBLEM + "consent-not-competent"
    assert granted.json()["not_competent"] == [CRIMINAL]
    assert _status(stack, consent_id) == "pending"
    after = ask(gemeente, case_id)
    assert all("records" not in r for r in after.values())
    runtime = stack.runtime
    with runtime.db.session() as session:
        page = search_entries(
            session,
            runtime.audit.vault,
            EntryQuery(party="om-demo", kind="consent", outcome="denied", limit=100),
        )
    assert [(e["reason"], e["consent_id"]) for e in page.entries] == [("not_competent", consent_id)]
    refused = _decide(stack, consent_id, {"decision": "refused"})
    assert refused.status_code == 200, refused.text
