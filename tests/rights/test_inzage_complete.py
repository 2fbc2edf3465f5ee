"""The inzage accounts for every disclosure: nothing older drops out unannounced.

A partner with a valid rule could repeat a query until 5,000 newer
disclosure entries existed; an earlier disclosure to the police then vanished
from /mijn and /v1/me/disclosures without notice. Now every entry is read
(keyset pages), ``summary`` counts them all, and a cut itemised list says so.
"""

from __future__ import annotations

from gateway.audit.events import AuditEvent
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.rights.inzage import MAX_ENTRIES
from gateway.subjects.bsn import Bsn
from tests.brokering.support import BSN
from tests.rights.conftest import person_login

CASE = "c-aaaaaaaaaaaaaaaaaaaa"


def disclosure(stack: Stack, party: str) -> AuditEvent:
    return AuditEvent(
        kind="disclosure",
        outcome="permit",
        party=party,
        convenant=DEMO_COVENANT,
        purpose="pga-casusoverleg",
        case=CASE,
        source="gemeente-demo",
        category="huisvesting",
        records=1,
        subject_pseudonym=stack.runtime.pseudonymizer.pseudonym(Bsn(BSN)),
    )


def test_an_old_disclosure_is_still_accounted_for_after_5000_newer_ones(stack: Stack) -> None:
    audit = stack.runtime.audit
    audit.append_sync([disclosure(stack, "politie-demo")])
    for _ in range(5):
        audit.append_sync([disclosure(stack, "reclassering-demo") for _ in range(1000)])
    person = person_login(stack, "persoon-a")

    answer = person.get("/v1/me/disclosures")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert len(found["disclosures"]) == MAX_ENTRIES
    assert found["complete"] is False
    assert found["total"] == MAX_ENTRIES + 1
    counts = {(g["recipient"], g["case"]): g["count"] for g in found["summary"]}
    assert counts == {("politie-demo", CASE): 1, ("reclassering-demo", CASE): MAX_ENTRIES}
    assert sum(g["count"] for g in found["summary"]) == found["total"]

    older = person.get("/v1/me/disclosures", params={"before": found["next_before"]}).json()
    assert [d["recipient"] for d in older["disclosures"]] == ["politie-demo"]
    assert "next_before" not in older
    assert older["total"] == MAX_ENTRIES + 1  # the summary still covers everything

    page = person.get("/mijn")
    assert 'id="niet-alles-getoond"' in page.text
    overview = page.text[page.text.index('id="overzicht-verstrekkingen"') :]
    assert "Politie" in overview[: overview.index("</table>")]


def test_a_short_inzage_is_complete_and_its_summary_matches_the_list(stack: Stack) -> None:
    audit = stack.runtime.audit
    audit.append_sync([disclosure(stack, "politie-demo"), disclosure(stack, "politie-demo")])
    person = person_login(stack, "persoon-a")

    found = person.get("/v1/me/disclosures").json()
    assert found["complete"] is True and found["total"] == 2
    assert "next_before" not in found
    [group] = found["summary"]
    assert (group["recipient"], group["count"], group["records"]) == ("politie-demo", 2, 2)
    assert group["first"] <= group["last"]
    assert 'id="niet-alles-getoond"' not in person.get("/mijn").text


def test_a_bad_before_is_a_422_not_a_guess(stack: Stack) -> None:
    """ASCII digits only, as the audit API's numbers ("1_0", " 5", "+5" were taken as numbers)."""
    person = person_login(stack, "persoon-a")
    for bad in (" 5", "1_0", "1.0", "+5", "0", "-1", "²", "9" * 40):
        answer = person.get("/v1/me/disclosures", params={"before": bad})
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert person.get("/v1/me/disclosures", params={"before": "5"}).status_code == 200
