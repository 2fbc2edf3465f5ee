"""The privacy officer's view of a whole covenant: case metadata and the consent register.

An FG oversees every case and every OvJ consent request of the covenant they
are FG of, and nothing of another covenant (promise 11). Case metadata here
carries no personal data: no pseudonym, no BSN, no birth year, no free text
(triage reason, closure note); subjects appear only as ``{ref, role}``. Every
read is an audit entry written in the same transaction as the read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog
from gateway.audit.officer import PRIVACY_OFFICER, Reader, officer_covenants
from gateway.cases.models import Case
from gateway.consent.models import ConsentRequest
from gateway.consent.service import ConsentView, view_of
from gateway.policy.compiled import CompiledPolicy
from gateway.reports.desk import accountability_activity
from gateway.reports.facts import CASE_ATTRIBUTES, aware
from gateway.storage.db import Database

MAX_CASES = 1000


class NotOfficer(PermissionError):
    """The caller is not privacy officer of the covenant it acts in."""


@dataclass(frozen=True)
class CaseFilter:
    phase: str | None = None
    status: str | None = None
    case_type: str | None = None
    municipality: str | None = None
    referrer: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    limit: int = 200

    def names(self) -> list[str]:
        return [
            name
            for name in ("phase", "status", "case_type", "municipality", "referrer")
            if getattr(self, name) is not None
        ] + [name for name in ("opened_from", "opened_to") if getattr(self, name) is not None]


def case_metadata(case: Case) -> dict[str, Any]:
    """One case without personal data."""
    subjects = [
        {"ref": getattr(s, "ref", None), "role": getattr(s, "role", None)}
        for s in (getattr(case, "subjects", None) or [])
    ]
    data: dict[str, Any] = {
        "id": case.id,
        "convenant": case.convenant,
        "purpose": case.purpose,
        "phase": case.phase,
        "status": case.status,
        "opened_by": case.opened_by,
        "participants": sorted(p.party for p in case.participants),
        "created_at": aware(case.created_at).isoformat(),
        "closed_at": aware(case.closed_at).isoformat() if case.closed_at else None,
        "subjects": subjects or [{"ref": "s1", "role": "hoofdpersoon"}],
    }
    for name in CASE_ATTRIBUTES:
        data[name] = getattr(case, name, None)
    return data


@dataclass(frozen=True)
class OversightDesk:
    db: Database
    audit: AuditLog
    policy: Callable[[], CompiledPolicy]

    def officer(
        self, party: str | None, employee: str | None, covenant: str, channel: str
    ) -> Reader:
        """The reader if ``party`` is FG of ``covenant`` now; else the refusal is logged."""
        reader = Reader(party, employee, (covenant,), channel)
        if covenant not in officer_covenants(self.policy(), party):
            self._log(reader, "denied", "oversight", reason="role_missing")
            raise NotOfficer(PRIVACY_OFFICER)
        return reader

    def cases(self, reader: Reader, filters: CaseFilter) -> list[dict[str, Any]]:
        statement = select(Case).where(Case.convenant.in_(reader.covenants))
        for name in ("phase", "status", "case_type", "municipality", "referrer"):
            value = getattr(filters, name)
            column = getattr(Case, name, None)
            if value is not None and column is not None:
                statement = statement.where(column == value)
        if filters.opened_from is not None:
            statement = statement.where(Case.created_at >= filters.opened_from)
        if filters.opened_to is not None:
            statement = statement.where(Case.created_at < filters.opened_to)
        statement = statement.order_by(Case.created_at.desc(), Case.id).limit(
            max(1, min(filters.limit, MAX_CASES))
        )
        with self.db.session() as session:
            found = [case_metadata(case) for case in session.scalars(statement)]
            self._log_in(session, reader, "cases", returned=len(found), filters=filters.names())
        return found

    def consents(self, reader: Reader, status: str | None) -> list[ConsentView]:
        statement = select(ConsentRequest).where(ConsentRequest.convenant.in_(reader.covenants))
        if status in ("pending", "granted", "refused", "revoked"):
            statement = statement.where(ConsentRequest.status == status)
        with self.db.session() as session:
            views = [
                view_of(row)
                for row in session.scalars(statement.order_by(ConsentRequest.created_at))
            ]
            if status in ("granted", "expired"):
                today = datetime.now(UTC).date()
                views = [v for v in views if v.effective_status(today) == status]
            self._log_in(
                session,
                reader,
                "consents",
                returned=len(views),
                filters=["status"] if status else [],
            )
        return views

    def _event(
        self,
        reader: Reader,
        covenant: str | None,
        outcome: str,
        action: str,
        reason: str | None = None,
        returned: int | None = None,
        filters: list[str] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            kind="audit",
            outcome=outcome,
            party=reader.party,
            employee=reader.employee,
            convenant=covenant,
            reason=reason,
            processing_activity=accountability_activity(covenant) if covenant else None,
            details={
                "channel": reader.channel,
                "action": action,
                "returned": returned,
                "filters": ",".join(sorted(filters)) if filters else None,
            },
        )

    def _log_in(
        self, session: Session, reader: Reader, action: str, *, returned: int, filters: list[str]
    ) -> None:
        self.audit.append_in(
            session,
            [
                self._event(reader, c, "read", action, returned=returned, filters=filters)
                for c in reader.covenants
            ],
        )

    def _log(self, reader: Reader, outcome: str, action: str, reason: str) -> None:
        self.audit.append_sync(
            [self._event(reader, c, outcome, action, reason=reason) for c in reader.covenants]
        )
