"""Promise 10 and "no input gives a 500" for what people type and what sources send.

Free text (a query's motivation, a ground's reference, a withdrawal or decision
reason, a rights request's details) is stored and shown in clear: one holding a
BSN as people write it is refused (422 ``unprocessable``, as a workflow reason
is) and nothing is stored. A string that is not valid UTF-8 (a lone surrogate,
``"\\udfff"`` in JSON) is refused in any request body (422 ``validation``), so a
source cannot make the person's /mijn page fail for good.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from gateway.demo.stack import Stack
from tests.brokering.support import BSN, logged_in, open_case
from tests.grounds.support import recorded
from tests.rights.conftest import csrf_of, person_login
from tests.rights.support import file_as_person, patient_sources

GROUPED = f"{BSN[:4]} {BSN[4:6]} {BSN[6:]}"
UNPROCESSABLE = "urn:ketenpoort:problem:unprocessable"
# "application/json" exactly is the lean route's; with a charset FastAPI's own path answers.
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8"]


def _post(client: Any, path: str, body: dict[str, Any], content_type: str) -> Any:
    headers = {**client.headers(), "Content-Type": content_type}
    return client.http.post(path, content=json.dumps(body), headers=headers)


def _column(stack: Stack, sql: str) -> list[Any]:
    with stack.runtime.db.engine.connect() as connection:
        return [row[0] for row in connection.execute(text(sql))]


def _refused_for_bsn(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == UNPROCESSABLE, problem
    assert problem["detail"] == f"{field} must not contain a BSN."
    assert BSN[:4] not in answer.text and BSN not in answer.text


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_a_query_motivation_or_ground_reference_holding_a_bsn_is_refused(
    stack: Stack, content_type: str
) -> None:
    """The review's repro: a BSN in ``motivation.text`` and in a ground's ``reference`` was
    stored in clear (consent_requests, case_grounds). Now each is 422 and nothing is stored,
    on the lean route and on FastAPI's path alike."""
    patient_sources(stack)
    gemeente, case_id = open_case(stack)
    query = _post(
        gemeente,
        f"/v1/cases/{case_id}/queries",
        {
            "categories": ["justitiele_gegevens"],
            "motivation": {"code": "plan_van_aanpak", "text": f"betreft BSN {GROUPED}"},
        },
        content_type,
    )
    _refused_for_bsn(query, "motivation.text")
    ground = _post(
        gemeente,
        f"/v1/cases/{case_id}/grounds",
        {
            "subject": "s1",
            "ground": "toestemming_betrokkene",
            "reference": f"formulier getekend door BSN {BSN[:3]}_{BSN[3:6]}_{BSN[6:]}",
            "categories": ["psychisch_welzijn"],
        },
        content_type,
    )
    _refused_for_bsn(ground, "reference")
    assert _column(stack, "SELECT motivation_text FROM consent_requests") == []
    assert _column(stack, "SELECT reference FROM case_grounds") == []


def test_a_withdrawal_or_decision_reason_holding_a_bsn_is_refused(stack: Stack) -> None:
    """A ground's withdrawal reason, a rights request's details and a rights decision's reason
    are ``Text`` too: each holding a BSN is 422 and changes nothing."""
    patient_sources(stack)
    gemeente, case_id = open_case(stack)
    ground = recorded(gemeente, case_id)
    withdrawn = gemeente.call(
        "POST",
        f"/v1/cases/{case_id}/grounds/{ground['id']}/withdraw",
        {"reason": f"ingetrokken door {BSN[:3]}\u200b{BSN[3:]}"},
    )
    _refused_for_bsn(withdrawn, "reason")
    assert _column(stack, "SELECT withdrawn_at FROM case_grounds") == [None]

    person = person_login(stack, "persoon-a")
    details = person.post(
        "/v1/rights-requests",
        json={"type": "correctie", "details": f"mijn BSN is {GROUPED}", "source": "gemeente-demo"},
        headers={"X-Ketenpoort-CSRF": csrf_of(person)},
    )
    _refused_for_bsn(details, "details")
    form = person.post(
        "/mijn/correctie",
        data={
            "csrf_token": csrf_of(person),
            "details": f"mijn BSN is {GROUPED}",
            "source": "gemeente-demo",
        },
    )
    assert form.status_code == 400, form.text
    assert "geen burgerservicenummer" in form.text
    assert _column(stack, "SELECT id FROM rights_requests") == []

    filed = file_as_person(
        person, {"type": "correctie", "details": "adres klopt niet", "source": "gemeente-demo"}
    )
    decided = gemeente.call(
        "POST",
        f"/v1/rights-requests/{filed['id']}/decision",
        {"decision": "refused", "reason": f"BSN {BSN} onbekend"},
    )
    _refused_for_bsn(decided, "reason")
    assert person.get(f"/v1/rights-requests/{filed['id']}").json().get("decision") is None


# As JSON escapes, and as raw CESU-8 bytes (json.loads reads bytes with "surrogatepass").
@pytest.mark.parametrize(
    "fields",
    [
        b'{"naam": "x\\udfff"}',
        b'{"\\udfff": "x"}',
        b'{"lijst": [{"diep": ["\\ud800"]}]}',
        b'{"naam": "x\xed\xbf\xbf"}',
    ],
)
def test_a_lone_surrogate_in_an_answer_is_refused_and_mijn_still_shows(
    stack: Stack, fields: bytes
) -> None:
    """A source answering an inzage with ``"x\\udfff"`` (valid JSON, not UTF-8) in a field
    value or key was stored, and every later /mijn visit failed on encoding it (500). Now
    the answer is 422 ``validation`` and not stored; /mijn stays 200."""
    patient_sources(stack)
    open_case(stack)
    stack.sources.source("woningcorporatie-demo").answer_inzage_later = True
    person = person_login(stack, "persoon-a")
    filed = file_as_person(person, {"type": "inzage", "details": "graag"})
    woning = logged_in(stack, "woningcorporatie-demo")
    body = (
        b'{"records": [{"id": "woni-9", "category": "huisvesting",'
        b' "updated": "2026-10-01T09:00:00Z", "fields": ' + fields + b"}]}"
    )
    answer = woning.http.post(
        f"/v1/rights-requests/{filed['id']}/answer",
        content=body,
        headers={**woning.headers(), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "urn:ketenpoort:problem:validation"
    seen = person.get(f"/v1/rights-requests/{filed['id']}").json()
    assert {s["party"]: s["status"] for s in seen["sources"]}["woningcorporatie-demo"] == "sent"
    assert person.get("/mijn").status_code == 200


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_a_lone_surrogate_is_refused_alike_on_both_paths(stack: Stack, content_type: str) -> None:
    """The lean route parses partner bodies itself; a lone surrogate anywhere (here a field
    pydantic takes as it comes, and an unknown key) is the same 422 on both paths."""
    gemeente, case_id = open_case(stack)
    for body in (
        {"categories": ["huisvesting"], "x\udfff": 1},
        {"categories": ["huisvesting"], "motivation": {"code": "x\udfff", "text": "t"}},
    ):
        answer = _post(gemeente, f"/v1/cases/{case_id}/queries", body, content_type)
        assert answer.status_code == 422, answer.text
        assert answer.json()["type"] == "urn:ketenpoort:problem:validation"
