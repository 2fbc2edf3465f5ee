"""The FG sees the whole covenant they are FG of: consent register and case metadata, logged."""

from __future__ import annotations

import re

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.simulate import Simulated
from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.reports.conftest import CASES
from tests.security.fgscope_support import COVENANT_B, partner, two_covenants

__all__ = ["two_covenants"]
PURPOSE = "pga-casusoverleg"


def _reads(stack: Stack, party: str, action: str) -> list[dict[str, object]]:
    with stack.runtime.db.session() as session:
        page = search_entries(
            session,
            stack.runtime.audit.vault,
            EntryQuery(kind="audit", party=party, limit=500),
        )
    return [e for e in page.entries if e["details"].get("action") == action]  # type: ignore[union-attr]


def test_fg_lists_cases_and_consents_without_personal_data(
    simulated: tuple[Stack, Simulated],
) -> None:
    stack, result = simulated
    fg = partner(stack, "fg-demo")
    listed = fg.call("GET", "/v1/cases?limit=1000")
    assert listed.status_code == 200, listed.text
    cases = listed.json()["cases"]
    assert len(cases) == CASES
    text = listed.text
    assert not re.search(r"9999900\d\d", text) and "pseudonym" not in text
    closed = fg.call("GET", "/v1/cases?status=closed").json()["cases"]
    assert closed and all(case["status"] == "closed" for case in closed)
    consents = fg.call("GET", "/v1/consents")
    assert consents.status_code == 200, consents.text
    assert len(consents.json()["consents"]) >= result.consents
    assert [e["outcome"] for e in _reads(stack, "fg-demo", "cases")] == ["read", "read"]
    assert len(_reads(stack, "fg-demo", "consents")) == 1


def test_partners_and_hostile_filters_are_refused(stack: Stack) -> None:
    politie = partner(stack, "politie-demo")
    listed = politie.call("GET", "/v1/cases")
    assert listed.status_code == 403
    assert listed.headers["content-type"].startswith("application/problem+json")
    assert politie.call("GET", "/v1/consents").status_code == 403
    fg = partner(stack, "fg-demo")
    for query in (
        "from=0001-01-01",
        "municipality=Amsterdam",
        "limit=0",
        "status=x",
        "to=2026-02-30",
    ):
        response = fg.call("GET", f"/v1/cases?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("application/problem+json")


def test_fg_of_covenant_b_sees_only_covenant_b(two_covenants: Stack) -> None:
    gemeente = partner(two_covenants, "gemeente-demo")
    opened = gemeente.open_case(DEMO_COVENANT, PURPOSE, "999990019", [], "casusoverleg")
    assert opened.status_code == 201, opened.text
    fg_b = partner(two_covenants, "fg-b", COVENANT_B)
    cases = fg_b.call("GET", "/v1/cases").json()["cases"]
    assert all(case["convenant"] == COVENANT_B for case in cases)
    assert opened.json()["id"] not in {case["id"] for case in cases}
    assert all(
        c["convenant"] == COVENANT_B for c in fg_b.call("GET", "/v1/consents").json()["consents"]
    )
