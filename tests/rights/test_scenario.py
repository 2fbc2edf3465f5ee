"""The whole story of issue 18, over the real stack (gateway, seven HTTP sources, dev IdP).

A mother, as representative of her 15-year-old child, files an inzage; the
controller extends it once; the sources answer and one is late; one entry is
withheld to protect a reporter; she files a correctie that is granted and
carried out, and the old value is never served again — seen on /mijn, on
/privacy and in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from gateway.copies.models import CachedCopy
from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from tests.brokering.support import logged_in, open_case, results
from tests.rights.conftest import csrf_of, person_login
from tests.rights.support import patient_sources, rights_entries, set_times
from tests.web.conftest import login

CHILD = demo_people()[2]  # persoon-c, 15 years old in the dev IdP's ouder.demo mandate
OLD, NEW = "Kastanjehof 3, Demostad", "Kastanjehof 5, Demostad"
LATE = "verslavingszorg-demo"


def _copies(stack: Stack, case_id: str, source: str) -> int:
    with stack.runtime.db.session() as session:
        found = session.scalar(
            select(func.count())
            .select_from(CachedCopy)
            .where(CachedCopy.case_id == case_id, CachedCopy.source == source)
        )
    return int(found or 0)


def test_a_mother_uses_her_childs_rights_from_inzage_to_correctie(stack: Stack) -> None:
    patient_sources(stack)
    gemeente, case_id = open_case(stack, bsn=CHILD.bsn.reveal())
    before = results(gemeente.query(case_id, ["huisvesting", "sociale_relaties"]))
    assert before[("gemeente-demo", "huisvesting")]["records"][0]["fields"]["adres"] == OLD
    assert _copies(stack, case_id, "gemeente-demo") > 0

    # GGZ withholds its disclosure of the child's social network: a reporter is protected.
    ggz = logged_in(stack, "ggz-demo")
    until = (datetime.now(UTC) + timedelta(days=180)).date().isoformat()
    hold = {"case": case_id, "category": "sociale_relaties", "ground": "bescherming_melder"}
    assert ggz.call("POST", "/v1/withholdings", {**hold, "until": until}).status_code == 201
    outside = {**hold, "category": "huisvesting"}  # not GGZ's data
    assert ggz.call("POST", "/v1/withholdings", {**outside, "until": until}).status_code == 403

    # The mother files an inzage for her child; one source will not answer in time.
    stack.sources.source(LATE).answer_inzage_later = True
    mother = person_login(stack, "ouder.demo")
    filed = mother.post("/mijn/inzage", data={"csrf_token": csrf_of(mother)})
    assert filed.status_code == 200
    inzage_id = filed.url.path.rsplit("/", 1)[-1]
    inzage = mother.get(f"/v1/rights-requests/{inzage_id}").json()
    assert inzage["representative"] == {"relation": "ouder"}
    status = {s["party"]: s["status"] for s in inzage["sources"]}
    assert status[LATE] == "sent"
    assert [p for p, s in status.items() if s == "answered"] and len(status) == 7

    # The controller extends it once, with a reason the mother reads.
    first = datetime.fromisoformat(inzage["deadline"])
    extended = gemeente.call(
        "POST",
        f"/v1/rights-requests/{inzage_id}/extend",
        {"until": (first + timedelta(days=30)).date().isoformat(), "reason": "Zeven organisaties."},
    )
    assert extended.status_code == 200, extended.text
    assert "Zeven organisaties." in mother.get(f"/mijn/verzoeken/{inzage_id}").text

    # Time passes beyond the extended deadline: the silent source is late.
    past = datetime.now(UTC) - timedelta(days=1)
    set_times(stack, inzage_id, received_at=past - timedelta(days=90), deadline=past)
    home = mother.get("/mijn")
    assert 'id="namens"' in home.text
    assert "niet op tijd beantwoord" in home.text
    assert "begeleid wonen" in home.text  # the copy gemeente sent
    assert 'id="achtergehouden"' in home.text and "bescherming van een melder" in home.text
    shown = mother.get("/v1/me/disclosures").json()
    assert shown["withheld"]["count"] >= 1
    assert not [
        d
        for d in shown["disclosures"]
        if d["category"] == "sociale_relaties" and d["source"] == "ggz-demo"
    ]
    officer = login(stack.base_url, "fg.demo", "/privacy")
    privacy = officer.get("/privacy").text
    assert inzage_id in privacy and "organisatie heeft niet op tijd geantwoord" in privacy

    # The mother asks gemeente to correct the address; while pending it is contested.
    corrected = mother.post(
        "/mijn/correctie",
        data={
            "csrf_token": csrf_of(mother),
            "details": "Het adres is Kastanjehof 5.",
            "source": "gemeente-demo",
        },
    )
    assert corrected.status_code == 200
    correctie_id = corrected.url.path.rsplit("/", 1)[-1]
    during = results(gemeente.query(case_id, ["huisvesting"]))
    assert during[("gemeente-demo", "huisvesting")]["records"][0]["contested"] is True

    decided = gemeente.call(
        "POST",
        f"/v1/rights-requests/{correctie_id}/decision",
        {"decision": "granted", "reason": "Adres aangepast."},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["execute_by"]
    assert _copies(stack, case_id, "gemeente-demo") == 0  # the old value's copy is gone
    page = mother.get(f"/mijn/verzoeken/{correctie_id}").text
    assert "Uitvoeren uiterlijk" in page and "nog niet uitgevoerd" in page

    # Gemeente carries it out in its source and reports it.
    record_id = before[("gemeente-demo", "huisvesting")]["records"][0]["id"]
    assert stack.sources.source("gemeente-demo").correct(record_id, {"adres": NEW})
    done = gemeente.call("POST", f"/v1/rights-requests/{correctie_id}/executed")
    assert done.status_code == 200 and done.json()["executed_at"]
    assert "uitgevoerd op" in mother.get(f"/mijn/verzoeken/{correctie_id}").text

    after = gemeente.query(case_id, ["huisvesting"])
    assert NEW in after.text and OLD not in after.text
    stack.sources.source("gemeente-demo").fail = True  # even from the copy: never the old one
    unavailable = gemeente.query(case_id, ["huisvesting"])
    assert OLD not in unavailable.text
    stack.sources.source("gemeente-demo").fail = False

    # The log holds every step, each request's entries naming the representative.
    entries = rights_entries(stack, CHILD.bsn.reveal())
    outcomes = [e["outcome"] for e in entries]
    for step in ("filed", "extended", "source_answered", "withheld", "granted", "executed"):
        assert step in outcomes, step
    for entry in entries:
        if (entry.get("details") or {}).get("request") in (inzage_id, correctie_id):
            assert entry["details"]["representative"] == "ouder", entry["outcome"]
