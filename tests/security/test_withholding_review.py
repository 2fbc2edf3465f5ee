"""A source's own withholdings (``rights_withholdings``): bounded in time, gone with the case.

The person's right of inzage (AVG art. 15) may be limited only on a recorded
ground and for a bounded time (UAVG art. 41, the covenant's
``rights.withheld_max``); what limited it must not outlive the person's
erasure (promise 7). Each test was seen to fail on the code before its fix.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update

from gateway.cases.models import Case
from gateway.demo.stack import Stack
from gateway.retention.runner import RunReport
from gateway.rights.models import PartnerWithholding
from gateway.wiring.parts import build_retention_runner
from tests.brokering.support import logged_in, open_case
from tests.rights.support import patient_sources

PROBLEM = "urn:ketenpoort:problem:"
CATEGORY = "huisvesting"  # woningcorporatie-demo's own


def _withhold(stack: Stack, case_id: str, until: date) -> tuple[int, dict[str, object]]:
    woning = logged_in(stack, "woningcorporatie-demo")
    body = {"case": case_id, "category": CATEGORY, "ground": "bescherming_melder"}
    answer = woning.call("POST", "/v1/withholdings", {**body, "until": until.isoformat()})
    return answer.status_code, answer.json()


def _run_retention_at(stack: Stack, now: datetime) -> RunReport:
    runner = build_retention_runner(stack.runtime.foundations, None, now=lambda: now)
    return asyncio.run(runner.run())


def _rows(stack: Stack) -> list[PartnerWithholding]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(PartnerWithholding)))


def _backdate(stack: Stack, *, created: datetime, until: date | None = None) -> None:
    """The first withholding as if posted earlier (the clock cannot be moved in a live stack)."""
    values: dict[str, object] = {"created_at": created}
    if until is not None:
        values["until"] = until
    with stack.runtime.db.session() as session:
        session.execute(update(PartnerWithholding).values(**values))
        session.commit()


def test_a_sources_withholding_is_gone_once_its_case_and_the_person_are(stack: Stack) -> None:
    """Promise 7: withholding, closure, retention ten years on: no row names the person."""
    patient_sources(stack)
    gemeente, case_id = open_case(stack)
    status, _ = _withhold(stack, case_id, datetime.now(UTC).date() + timedelta(days=300))
    assert status == 201
    closed = gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": "doelen_bereikt"})
    assert closed.status_code == 200, closed.text

    report = _run_retention_at(stack, datetime.now(UTC) + timedelta(days=3650))
    assert report.rule("case_after_close").counts["withholdings"] == 1
    with stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert _rows(stack) == []


def test_a_renewed_withholding_cannot_reach_past_the_first_plus_withheld_max(
    stack: Stack,
) -> None:
    """Inzage right: re-posting before expiry does not restart the term (default P4Y)."""
    _, case_id = open_case(stack)
    today = datetime.now(UTC).date()
    status, _ = _withhold(stack, case_id, today + timedelta(days=300))
    assert status == 201
    year_ago = datetime.now(UTC) - timedelta(days=365)
    _backdate(stack, created=year_ago)

    status, refused = _withhold(stack, case_id, today + timedelta(days=4 * 365))
    assert status == 422 and refused["type"] == PROBLEM + "withholding-until", refused
    assert refused["since"] == year_ago.date().isoformat()
    latest = date.fromisoformat(str(refused["latest"]))
    assert latest < today + timedelta(days=3 * 366 + 1)
    assert _withhold(stack, case_id, latest + timedelta(days=1))[0] == 422
    assert _withhold(stack, case_id, latest)[0] == 201


def test_a_lapsed_withholding_still_caps_the_next_while_its_case_lives(stack: Stack) -> None:
    """Letting it expire for a day and posting again does not restart the term either."""
    _, case_id = open_case(stack)
    today = datetime.now(UTC).date()
    assert _withhold(stack, case_id, today + timedelta(days=30))[0] == 201
    _backdate(
        stack,
        created=datetime.now(UTC) - timedelta(days=4 * 366 + 1),
        until=today - timedelta(days=1),
    )
    report = _run_retention_at(stack, datetime.now(UTC))
    assert report.rule("partner_withholdings").rows == 0  # the anchor of the cap stays
    assert len(_rows(stack)) == 1

    status, refused = _withhold(stack, case_id, today + timedelta(days=30))
    assert status == 422 and refused["type"] == PROBLEM + "withholding-until", refused
    assert refused["status"] == 422 and refused["latest"] < today.isoformat()
