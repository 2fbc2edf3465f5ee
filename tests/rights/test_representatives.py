"""Representatives: a parent of a child under 16 or a mandated person acts for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.demo.people import demo_people
from gateway.demo.stack import Stack
from gateway.web.login import InvalidClaims, user_from_claims
from tests.brokering.support import change_covenant, open_case
from tests.rights.conftest import csrf_of, person_login
from tests.rights.support import patient_sources, rights_entries

CHILD = demo_people()[2]
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp()


def _claims(acts_for: object) -> dict[str, Any]:
    return {"sub": "u1", "name": "Ouder", "ketenpoort_acts_for": acts_for}


def test_a_parent_of_a_child_under_16_acts_for_it() -> None:
    user = user_from_claims(
        _claims({"bsn": CHILD.bsn.reveal(), "relation": "ouder", "birthdate": "2011-06-01"}), NOW
    )
    assert (user.bsn, user.representative) == (CHILD.bsn.reveal(), "ouder")
    mandated = user_from_claims(
        _claims({"bsn": CHILD.bsn.reveal(), "relation": "gemachtigde"}), NOW
    )
    assert mandated.representative == "gemachtigde"


@pytest.mark.parametrize(
    "acts_for",
    [
        {"bsn": "999990032", "relation": "ouder", "birthdate": "2009-06-01"},  # 17: no mandate
        {"bsn": "999990032", "relation": "ouder", "birthdate": "2010-12-01"},  # 16 today
        {"bsn": "999990032", "relation": "voogd"},  # no birthdate: cannot tell
        {"bsn": "999990032", "relation": "ouder", "birthdate": "morgen"},
        {"bsn": "999990032", "relation": "buurman"},
        {"bsn": 999990032, "relation": "gemachtigde"},
        {"relation": "gemachtigde"},
        "999990032",
        None,
    ],
)
def test_a_representative_without_a_mandate_cannot_log_in(acts_for: object) -> None:
    with pytest.raises(InvalidClaims):
        user_from_claims(_claims(acts_for), NOW)


def test_the_parent_files_for_the_child_and_every_entry_says_so(stack: Stack) -> None:
    patient_sources(stack)
    open_case(stack, bsn=CHILD.bsn.reveal())
    parent = person_login(stack, "ouder.demo")
    home = parent.get("/mijn")
    assert 'id="namens"' in home.text and "ouder" in home.text
    filed = parent.post("/mijn/inzage", data={"csrf_token": csrf_of(parent)})
    assert filed.status_code == 200
    request_id = filed.url.path.rsplit("/", 1)[-1]
    seen = parent.get(f"/v1/rights-requests/{request_id}").json()
    assert seen["representative"] == {"relation": "ouder"}
    assert "een ouder namens de betrokkene" in filed.text

    entries = rights_entries(stack, CHILD.bsn.reveal())
    assert entries, "the request is in the child's log"
    for entry in entries:
        assert entry["details"].get("representative") == "ouder", entry["outcome"]
    assert {"filed", "forward_forwarded", "inzage_shown"} <= {e["outcome"] for e in entries}, [
        (e["outcome"], e.get("reason"), e.get("source")) for e in entries
    ]


def test_what_a_representative_may_do_follows_the_covenant(stack: Stack) -> None:
    open_case(stack, bsn=CHILD.bsn.reveal())

    def only_inzage_for_parents(document: dict[str, Any]) -> None:
        document["rights"]["representatives"] = {"ouder": ["inzage"], "gemachtigde": []}

    change_covenant(stack, only_inzage_for_parents)
    parent = person_login(stack, "ouder.demo")
    verzet = parent.post(
        "/v1/rights-requests",
        json={"type": "verzet", "details": "bezwaar"},
        headers={"X-Ketenpoort-CSRF": csrf_of(parent)},
    )
    assert verzet.status_code == 422
    inzage = parent.post("/mijn/inzage", data={"csrf_token": csrf_of(parent)})
    assert inzage.status_code == 200  # allowed; but the sources' copies are not shown to them
    assert "Kopie van uw gegevens bij de organisaties" not in parent.get("/mijn").text

    client = person_login(stack, "gemachtigde.demo")
    open_case(stack, bsn=demo_people()[1].bsn.reveal())
    blocked = client.get("/mijn")
    assert 'id="geen-inzage-recht"' in blocked.text
    assert client.get("/v1/me/disclosures").status_code == 403
