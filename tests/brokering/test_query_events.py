"""The audit entries a brokered query leaves, pinned field by field (promises 5 and 6).

``query_events`` builds them once per query from the results; these entries are
hashed into the Merkle log, so what it hands the store must not change when its
building gets cheaper: every result shape below has its exact event written out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from gateway.audit.events import AuditEvent
from gateway.brokering.audit_events import query_events
from gateway.brokering.results import SourceResult
from gateway.cases.service import Actor, CaseRecord
from gateway.copies.records import DisclosedRecord
from gateway.policy import CompiledPolicy, compile_policy, load_policy_dir

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
ACTOR = Actor("reclassering-demo", "medewerker-7", "zvh-demo", "pga-casusoverleg")
ACTIVITY = "urn:ketenpoort:processing:zvh-demo:pga-casusoverleg"
MOMENT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CASE = CaseRecord(
    id="case-1",
    convenant="zvh-demo",
    purpose="pga-casusoverleg",
    phase="casusoverleg",
    status="open",
    participants=("reclassering-demo", "gemeente-demo"),
    opened_by="gemeente-demo",
    created_at=MOMENT,
    updated_at=MOMENT,
    closed_at=None,
    subject_pseudonym="ps-1",
)
HOUSEHOLD = CaseRecord(**{**CASE.__dict__, "subject_ref": "s2", "subject_role": "partner"})
RECORD = DisclosedRecord("r1", "2026-01-01T00:00:00+00:00", {"woonsituatie": "huur"})


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))


def _event(policy: CompiledPolicy, **values: object) -> AuditEvent:
    common: dict[str, object] = {
        "party": ACTOR.party,
        "employee": ACTOR.employee,
        "convenant": ACTOR.covenant,
        "purpose": ACTOR.purpose,
        "case": "case-1",
        "subject_pseudonym": "ps-1",
        "covenant_version": policy.covenant_version("zvh-demo"),
        "processing_activity": ACTIVITY,
    }
    return AuditEvent(**{**common, **values})  # type: ignore[arg-type]


RESULTS = [
    SourceResult("gemeente-demo", "huisvesting", "ok", "permitted", None, [RECORD], 2),
    SourceResult(
        "politie-demo", "politie_contacten", "ok", "permitted", "c-9", [RECORD, RECORD], 0
    ),
    SourceResult("ggz-demo", "psychisch_welzijn", "ok", "permitted", None, [], 0, ground="gr-1"),
    SourceResult(
        "woningcorporatie-demo",
        "huisvesting",
        "ok",
        "permitted",
        None,
        [RECORD],
        0,
        date(2027, 1, 1),
        contested_withheld=2,
    ),
    SourceResult(
        "politie-demo", "justitiele_gegevens", "pending_consent", "consent_required", "c-8"
    ),
    SourceResult("politie-demo", "detentie", "denied", "consent_revoked", "c-7"),
    SourceResult("ggz-demo", "huisvesting", "unavailable", "timeout"),
    SourceResult("reclassering-demo", "huisvesting", "not_found", "subject_unknown"),
    SourceResult("gemeente-demo", "sociale_relaties", "denied", "no_rule"),
    SourceResult(None, "onbekend", "denied", "no_rule"),
    SourceResult("ggz-demo", "middelengebruik", "denied", "phase"),
]


def _disclosed(policy: CompiledPolicy, source: str, category: str, **values: object) -> AuditEvent:
    return _event(
        policy,
        kind="disclosure",
        outcome="ok",
        reason="permitted",
        source=source,
        category=category,
        **values,
    )


def _decided(
    policy: CompiledPolicy, status: tuple[str, str], source: str, category: str, **values: object
) -> AuditEvent:
    outcome, reason = status
    return _event(
        policy,
        kind="decision",
        outcome=outcome,
        reason=reason,
        source=source,
        category=category,
        **values,
    )


def _expected(policy: CompiledPolicy, subject: dict[str, object]) -> list[AuditEvent]:
    return [
        _disclosed(
            policy, "gemeente-demo", "huisvesting", records=1, trimmed_fields=2, details=subject
        ),
        # Criminal data disclosed: its entry is sealed under the strafrechtelijk key.
        _disclosed(
            policy,
            "politie-demo",
            "politie_contacten",
            consent_id="c-9",
            records=2,
            trimmed_fields=0,
            subject_scope="strafrechtelijk",
            details=subject,
        ),
        _disclosed(
            policy,
            "ggz-demo",
            "psychisch_welzijn",
            records=0,
            trimmed_fields=0,
            details={**subject, "ground": "gr-1"},
        ),
        _disclosed(
            policy,
            "woningcorporatie-demo",
            "huisvesting",
            records=1,
            trimmed_fields=0,
            details={**subject, "contested_withheld": 2},
        ),
        # Not disclosed: the case's key, whatever the category.
        _decided(
            policy,
            ("pending_consent", "consent_required"),
            "politie-demo",
            "justitiele_gegevens",
            consent_id="c-8",
            details=subject,
        ),
        _decided(
            policy,
            ("denied", "consent_revoked"),
            "politie-demo",
            "detentie",
            consent_id="c-7",
            details=subject,
        ),
        _decided(policy, ("unavailable", "timeout"), "ggz-demo", "huisvesting", details=subject),
        _decided(
            policy,
            ("not_found", "subject_unknown"),
            "reclassering-demo",
            "huisvesting",
            details=subject,
        ),
        _event(  # the plain denials, in one entry, last
            policy,
            kind="decision",
            outcome="denied",
            reason="several",
            details={
                "denied_pairs": 3,
                **subject,
                "gemeente-demo/sociale_relaties": "no_rule",
                "-/onbekend": "no_rule",
                "ggz-demo/middelengebruik": "phase",
            },
        ),
    ]


def test_each_result_shape_has_its_exact_entry(policy: CompiledPolicy) -> None:
    events = query_events(ACTOR, CASE, policy, RESULTS)
    assert events == _expected(policy, {})
    assert [list(e.details.items()) for e in events] == [
        list(e.details.items()) for e in _expected(policy, {})
    ]


def test_a_household_member_is_named_in_every_entry(policy: CompiledPolicy) -> None:
    household = {"subject_ref": "s2", "subject_role": "partner"}
    events = query_events(ACTOR, HOUSEHOLD, policy, RESULTS)
    assert events == _expected(policy, household)
    assert [list(e.details.items()) for e in events] == [
        list(e.details.items()) for e in _expected(policy, household)
    ]
    # Built once per query, but no entry shares its details with another.
    with_details = [id(e.details) for e in events]
    assert len(set(with_details)) == len(with_details)


def test_one_plain_denial_names_its_pair_and_reason(policy: CompiledPolicy) -> None:
    events = query_events(ACTOR, CASE, policy, [RESULTS[8]])
    assert events == [
        _event(
            policy,
            kind="decision",
            outcome="denied",
            reason="no_rule",
            source="gemeente-demo",
            category="sociale_relaties",
            details={"denied_pairs": 1, "gemeente-demo/sociale_relaties": "no_rule"},
        )
    ]


def test_an_unknown_covenant_still_logs_every_result(policy: CompiledPolicy) -> None:
    """A token whose covenant is gone (reloaded away) gets no version and no criminal scope."""
    stranger = Actor(ACTOR.party, ACTOR.employee, "zvh-weg", ACTOR.purpose)
    events = query_events(stranger, CASE, policy, RESULTS[:2])
    assert [(e.convenant, e.covenant_version, e.subject_scope) for e in events] == [
        ("zvh-weg", None, "case"),
        ("zvh-weg", None, "case"),
    ]
