"""The reports desk: who may read a covenant's figures, and the read logged with the answer.

The stuurgroep and the privacy officer (FG) of a covenant may read its
reports and its register; nobody else, and never another covenant's. Every
read (and every refusal) is an audit entry of kind ``audit`` written in the
same transaction that computed the figures (fail closed: a read that cannot
be logged is not served). Figures are protected before they leave this desk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.events import AuditEvent
from gateway.audit.log import AuditLog
from gateway.audit.officer import PRIVACY_OFFICER, Reader
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.models import Covenant
from gateway.reports.annual import build_annual
from gateway.reports.facts import EntryFacts, aware, cases_of, entries_of
from gateway.reports.model import REPORT_KINDS, Report
from gateway.reports.period import Period
from gateway.reports.privacy import RightsFacts, build_privacy
from gateway.reports.protect import protect
from gateway.reports.register import Register, build_register
from gateway.rights.models import RightsRequest
from gateway.storage.db import Database

STUURGROEP = "stuurgroep"
READER_ROLES = (STUURGROEP, PRIVACY_OFFICER)


def accountability_activity(convenant: str) -> str:
    """The processing activity of reading reports and the log (accountability, AVG art. 5(2))."""
    return f"urn:ketenpoort:processing:{convenant}:verantwoording"


class ReportRefused(PermissionError):
    """The caller holds neither ``stuurgroep`` nor ``privacy_officer`` in that covenant."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownReport(LookupError):
    """No such report kind or covenant."""


@dataclass(frozen=True)
class ReportDesk:
    db: Database
    audit: AuditLog
    policy: Callable[[], CompiledPolicy]
    threshold: int = 5
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def may_read(self, party: str | None, convenant: str) -> bool:
        policy = self.policy()
        return bool(party) and any(
            policy.has_role(convenant, str(party), role) for role in READER_ROLES
        )

    def readable_covenants(self, party: str | None) -> tuple[str, ...]:
        return tuple(sorted(c for c in self.policy().covenants if self.may_read(party, c)))

    def _covenant(self, reader: Reader, convenant: str, action: str) -> Covenant:
        if convenant not in reader.covenants or not self.may_read(reader.party, convenant):
            self.log_refusal(reader, action, "role_missing")
            raise ReportRefused("role_missing")
        covenant = self.policy().covenant(convenant)
        if covenant is None:
            raise UnknownReport("covenant")
        return covenant

    def report(self, reader: Reader, kind: str, convenant: str, period: Period) -> Report:
        """The protected report; the read is logged in the transaction that computed it."""
        if kind not in REPORT_KINDS:
            raise UnknownReport("kind")
        covenant = self._covenant(reader, convenant, f"report_{kind}")
        with self.db.session() as session:
            raw = self.compute(session, covenant, kind, period)
            report = protect(raw)
            self.audit.append_in(
                session,
                [self.read_event(reader, convenant, f"report_{kind}", period, len(report.tables))],
            )
        return report

    def operator_report(
        self,
        operator: Reader,
        kind: str,
        convenant: str,
        period: Period,
        progress: Callable[[int], None] | None = None,
    ) -> Report:
        """The CLI's report: the operator has the database anyway, but the read is logged."""
        if kind not in REPORT_KINDS:
            raise UnknownReport("kind")
        covenant = self.policy().covenant(convenant)
        if covenant is None:
            raise UnknownReport("covenant")
        with self.db.session() as session:
            report = protect(self.compute(session, covenant, kind, period, progress))
            self.audit.append_in(
                session,
                [
                    self.read_event(
                        operator, convenant, f"report_{kind}", period, len(report.tables)
                    )
                ],
            )
        return report

    def operator_register(self, operator: Reader, convenant: str) -> Register:
        covenant = self.policy().covenant(convenant)
        if covenant is None:
            raise UnknownReport("covenant")
        register = build_register(covenant)
        self.audit.append_sync([self.read_event(operator, convenant, "register", None, 1)])
        return register

    def compute(
        self,
        session: Session,
        covenant: Covenant,
        kind: str,
        period: Period,
        progress: Callable[[int], None] | None = None,
    ) -> Report:
        """Raw (unprotected) figures: for :func:`protect` and tests only, never for output."""
        entries = _counting(entries_of(session, covenant.id, period.start, period.end), progress)
        if kind == "annual":
            return build_annual(
                covenant, period, cases_of(session, covenant.id), entries, self.threshold
            )
        return build_privacy(
            covenant,
            period,
            entries,
            _rights(session, covenant.id, period),
            self.threshold,
            now=self.clock(),
        )

    def register(self, reader: Reader, convenant: str) -> Register:
        covenant = self._covenant(reader, convenant, "register")
        register = build_register(covenant)
        self.audit.append_sync([self.read_event(reader, convenant, "register", None, 1)])
        return register

    def read_event(
        self, reader: Reader, convenant: str, action: str, period: Period | None, tables: int
    ) -> AuditEvent:
        return AuditEvent(
            kind="audit",
            outcome="read",
            party=reader.party,
            employee=reader.employee,
            convenant=convenant,
            processing_activity=accountability_activity(convenant),
            details={
                "channel": reader.channel,
                "action": action,
                "from": period.first.isoformat() if period else None,
                "to": period.last.isoformat() if period else None,
                "returned": tables,
            },
        )

    def log_refusal(self, reader: Reader, action: str, reason: str) -> None:
        self.audit.append_sync(
            [
                AuditEvent(
                    kind="audit",
                    outcome="denied",
                    party=reader.party,
                    employee=reader.employee,
                    convenant=covenant,
                    reason=reason,
                    details={"channel": reader.channel, "action": action},
                )
                for covenant in (reader.covenants or (None,))
            ]
        )


def _counting(
    entries: Iterator[EntryFacts], progress: Callable[[int], None] | None
) -> Iterator[EntryFacts]:
    """``entries``, telling ``progress`` every thousand (long reports show a progress bar)."""
    done = 0
    for entry in entries:
        yield entry
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done)
    if progress is not None:
        progress(done)


def _rights(session: Session, convenant: str, period: Period) -> list[RightsFacts]:
    statement = select(RightsRequest).where(
        RightsRequest.received_at >= period.start, RightsRequest.received_at < period.end
    )
    out: list[RightsFacts] = []
    for row in session.scalars(statement):
        if convenant not in row.covenants:
            continue
        out.append(
            RightsFacts(
                type=row.type,
                received_at=aware(row.received_at),
                deadline=aware(row.deadline),
                decided_at=aware(row.decided_at) if row.decided_at else None,
                extended=getattr(row, "extended_at", None) is not None,
            )
        )
    return out
