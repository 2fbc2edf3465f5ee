"""Rows at known moments, a runtime on a real database, and a runner with a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditDataKey
from gateway.auth.replay import UsedAssertion
from gateway.cases.models import Case, CaseParticipant, CaseSubject
from gateway.consent.models import ConsentRequest
from gateway.consent.withholdings import Withholding
from gateway.copies.models import CachedCopy
from gateway.retention import RetentionRunner, RunReport
from gateway.rights.models import PartnerWithholding, RightsRequest
from gateway.runtime import Runtime
from gateway.wiring.parts import build_retention_runner

COVENANT = "zvh-demo"  # retention: case_after_close P2Y, after_last_contact P5Y, copies P30D
T0 = datetime(2027, 3, 15, 10, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def pseudonym(n: int) -> str:
    return f"{n:064x}"


def add_case(
    session: Session,
    case_id: str,
    subject: str,
    *,
    closed_at: datetime | None,
    last_contact_at: datetime,
) -> None:
    if session.get(CaseSubject, subject) is None:
        session.add(CaseSubject(pseudonym=subject, sealed_bsn="dk-x.sealed", created_at=T0))
        session.flush()
    session.add(
        Case(
            id=case_id,
            convenant=COVENANT,
            purpose="pga-casusoverleg",
            subject_pseudonym=subject,
            phase="casusoverleg",
            status="closed" if closed_at is not None else "open",
            opened_by="gemeente-demo",
            created_at=T0 - timedelta(days=30),
            updated_at=T0,
            last_contact_at=last_contact_at,
            closed_at=closed_at,
        )
    )
    session.flush()
    session.add(CaseParticipant(case_id=case_id, party="gemeente-demo", added_by="x", added_at=T0))


def add_key(
    session: Session,
    key_id: str,
    subject: str,
    scope: str,
    case_id: str,
    used: datetime,
    wrapped: str = "not-a-real-wrapping",
) -> None:
    session.add(
        AuditDataKey(
            key_id=key_id,
            scope=scope,
            subject_pseudonym=subject,
            case_id=case_id,
            wrapped=wrapped,
            created_at=used,
            last_used_at=used,
            erased_at=None,
        )
    )


def add_consent(session: Session, consent_id: str, case_id: str, valid_until: date) -> None:
    session.add(
        ConsentRequest(
            id=consent_id,
            case_id=case_id,
            convenant=COVENANT,
            purpose="pga-casusoverleg",
            recipient="gemeente-demo",
            case_phase="casusoverleg",
            categories_json='["justitiele_gegevens"]',
            requested_by_employee="e",
            created_at=T0,
            status="granted",
            decided_at=T0,
            valid_until=valid_until,
        )
    )


def add_assertion(session: Session, key: str, expires_at: datetime) -> None:
    session.add(UsedAssertion(key=key, party="gemeente-demo", expires_at=expires_at))


def add_copy(session: Session, case_id: str, record_id: str, expires_at: datetime) -> None:
    session.add(
        CachedCopy(
            case_id=case_id,
            source="politie-demo",
            category="huisvesting",
            record_id=record_id,
            key_id="dk-x",
            sealed="sealed",
            stored_at=T0,
            expires_at=expires_at,
        )
    )


def add_partner_withholding(
    session: Session, case_id: str, subject: str, category: str, until: date
) -> None:
    session.add(
        PartnerWithholding(
            subject_pseudonym=subject,
            convenant=COVENANT,
            case_id=case_id,
            category=category,
            source="politie-demo",
            ground="bescherming_melder",
            until=until,
            created_by_employee="e",
            created_at=T0,
        )
    )


def add_withholding(
    session: Session, case_id: str, subject: str, category: str, until: date
) -> None:
    """An OvJ's withholding (``withholdings``), as a grant with ``withheld_until`` writes it."""
    session.add(
        Withholding(
            subject_pseudonym=subject,
            case_id=case_id,
            category=category,
            recipient="gemeente-demo",
            ground="lopend_onderzoek",
            until=until,
            consent_id=f"cr-{case_id}",
            created_by_party="om-demo",
            created_at=T0,
        )
    )


def add_rights_request(session: Session, request_id: str, subject: str, decided: datetime) -> None:
    session.add(
        RightsRequest(
            id=request_id,
            type="inzage",
            convenant=COVENANT,
            subject_pseudonym=subject,
            status="granted",
            channel="portal",
            responsible_party="gemeente-demo",
            cases_json="[]",
            records_json="[]",
            details_sealed="sealed",
            received_at=decided - timedelta(days=10),
            deadline=decided + timedelta(days=20),
            decided_at=decided,
            forwarded_json="[]",
        )
    )


def count(session: Session, model: type[object]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def runner_at(runtime: Runtime, moment: datetime, batch_size: int = 1000) -> RetentionRunner:
    return build_retention_runner(
        runtime.foundations, None, now=lambda: moment, batch_size=batch_size
    )


def run(runner: RetentionRunner, *, dry_run: bool = False) -> RunReport:
    return asyncio.run(runner.run(dry_run=dry_run))


def runtime_for(settings: object) -> Iterator[Runtime]:
    from gateway.settings import Settings

    assert isinstance(settings, Settings)
    runtime = Runtime.build(settings)
    try:
        yield runtime
    finally:
        runtime.close()
