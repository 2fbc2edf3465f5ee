"""/v1/reports and /v1/register: who may read, what they see, hostile input, every read logged."""

from __future__ import annotations

import pytest

from gateway.audit.search import EntryQuery, search_entries
from gateway.demo.simulate import Simulated
from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.reports.conftest import CASES, small_counts
from tests.security.fgscope_support import COVENANT_B, partner, two_covenants

__all__ = ["two_covenants"]
PURPOSE = "pga-casusoverleg"
PROBLEM = "application/problem+json"


def _client(stack: Stack, party: str) -> object:
    client = stack.client(party)
    client.login(DEMO_COVENANT, PURPOSE)
    return client


def _cells(body: dict[str, object]) -> list[object]:
    tables = body["tables"]
    assert isinstance(tables, dict)
    return [cell for table in tables.values() for row in table["rows"] for cell in row]


@pytest.mark.parametrize("party", ["fg-demo", "stuurgroep-demo"])
def test_fg_and_stuurgroep_read_both_reports_without_small_counts(
    simulated: tuple[Stack, Simulated], party: str
) -> None:
    stack, result = simulated
    client = _client(stack, party)
    annual = client.call("GET", "/v1/reports/annual?from=2026-01-01&to=2026-12-31")  # type: ignore[attr-defined]
    assert annual.status_code == 200, annual.text
    body = annual.json()
    assert body["convenant"] == DEMO_COVENANT and body["suppressed_below"] == 5
    triage = {row[0]: row[1] for row in body["tables"]["triage"]["rows"]}
    assert triage["Totaal"] == CASES
    # A count may be hidden to protect a small neighbour (secondary suppression), never wrong.
    assert triage["Opgepakt"] in (result.taken_up, "< 5")
    assert triage["Niet opgepakt"] in (result.not_taken_up, "< 5")
    assert small_counts(_cells(body)) == []
    privacy = client.call("GET", "/v1/reports/privacy")  # type: ignore[attr-defined]
    assert privacy.status_code == 200, privacy.text
    assert small_counts(_cells(privacy.json())) == []
    assert "< 5" in str(_cells(privacy.json())) or "< 5" in str(_cells(body))


def test_a_partner_gets_403_and_the_refusal_is_logged(stack: Stack) -> None:
    client = _client(stack, "politie-demo")
    for path in ("/v1/reports/annual", "/v1/reports/privacy", "/v1/register"):
        response = client.call("GET", path)  # type: ignore[attr-defined]
        assert response.status_code == 403
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["reason"] == "role_missing"
    with stack.runtime.db.session() as session:
        page = search_entries(
            session,
            stack.runtime.audit.vault,
            EntryQuery(kind="audit", party="politie-demo", outcome="denied", limit=50),
        )
    assert len(page.entries) >= 3


@pytest.mark.parametrize(
    "path",
    [
        "/v1/reports/jaar",
        "/v1/reports/ANNUAL",
        "/v1/reports/annual?from=2026-13-01",
        "/v1/reports/annual?from=2026-12-31&to=2026-01-01",
        "/v1/reports/annual?from=0001-01-01&to=9999-12-31",
        "/v1/reports/annual?from=2020-01-01&to=2026-12-31",
        "/v1/reports/annual?from=%00&to=x",
        "/v1/reports/annual?convenant=../../etc",
        "/v1/reports/annual?convenant=" + "a" * 300,
        "/v1/reports/%2e%2e",
    ],
)
def test_hostile_parameters_are_problem_json(stack: Stack, path: str) -> None:
    response = _client(stack, "fg-demo").call("GET", path)  # type: ignore[attr-defined]
    assert response.status_code in (404, 422), (path, response.status_code)
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "Traceback" not in response.text


def test_periods_one_day_apart_give_the_same_whole_month_report(
    simulated: tuple[Stack, Simulated],
) -> None:
    """Differencing two reports a day apart would single out what happened on that day."""
    stack, _ = simulated
    client = _client(stack, "fg-demo")
    bodies = []
    for last in ("2026-03-15", "2026-03-16"):
        for kind in ("annual", "privacy"):
            response = client.call("GET", f"/v1/reports/{kind}?from=2026-01-14&to={last}")  # type: ignore[attr-defined]
            assert response.status_code == 200, response.text
            bodies.append(response.json())
    assert bodies[0]["from"] == "2026-01-01" and bodies[0]["to"] == "2026-03-31"
    assert bodies[0] == bodies[2] and bodies[1] == bodies[3]


def test_every_report_read_is_an_audit_entry(stack: Stack) -> None:
    client = _client(stack, "stuurgroep-demo")
    assert client.call("GET", "/v1/reports/annual").status_code == 200  # type: ignore[attr-defined]
    with stack.runtime.db.session() as session:
        page = search_entries(
            session,
            stack.runtime.audit.vault,
            EntryQuery(kind="audit", party="stuurgroep-demo", outcome="read", limit=50),
        )
    actions = [entry["details"]["action"] for entry in page.entries]
    assert actions == ["report_annual"]
    assert page.entries[0]["processing_activity"] == (
        f"urn:ketenpoort:processing:{DEMO_COVENANT}:verantwoording"
    )


def test_register_activities_are_the_uris_the_log_carries(
    simulated: tuple[Stack, Simulated],
) -> None:
    stack, _ = simulated
    register = _client(stack, "fg-demo").call("GET", "/v1/register")  # type: ignore[attr-defined]
    assert register.status_code == 200, register.text
    activities = {a["processing_activity"] for a in register.json()["activities"]}
    with stack.runtime.db.session() as session:
        page = search_entries(
            session,
            stack.runtime.audit.vault,
            EntryQuery(covenants=(DEMO_COVENANT,), kind="disclosure", limit=500),
        )
    carried = {entry["processing_activity"] for entry in page.entries}
    assert carried and carried <= activities
    first = register.json()["activities"][0]
    assert first["controllers"][0]["id"] == "gemeente-demo"
    assert first["legal_ground"] and first["safeguards"] and first["retention"]


def test_fg_of_another_covenant_gets_403(two_covenants: Stack) -> None:
    fg_b = partner(two_covenants, "fg-b", COVENANT_B)
    own = fg_b.call("GET", f"/v1/reports/annual?convenant={COVENANT_B}")
    assert own.status_code == 200, own.text
    other = fg_b.call("GET", f"/v1/reports/annual?convenant={DEMO_COVENANT}")
    assert other.status_code == 403
    assert other.headers["content-type"].startswith(PROBLEM)
    assert fg_b.call("GET", f"/v1/register?convenant={DEMO_COVENANT}").status_code == 403
