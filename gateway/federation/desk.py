"""A peer's mirror case with its audit entry in one transaction, and the refusal logged.

The partner API's federation router comes through here: opening or syncing the
mirror case and its ``case``/``mirror_*`` entry commit together or not at all.
A peer that may not mirror (``FederationRefused``) leaves a ``decision``/``denied``
entry naming no subject (nothing about the person was processed), written in
its own transaction because the refused one is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.audit.appender import AuditAppender
from gateway.audit.events import AuditEvent
from gateway.cases.service import Actor
from gateway.federation.mirror import MirrorCase, MirrorCases
from gateway.federation.rules import FederationRefused, refused_event
from gateway.policy.compiled import CompiledPolicy
from gateway.storage.db import Database
from gateway.subjects.bsn import Bsn


class FederationDesk:
    def __init__(
        self,
        db: Database,
        mirrors: MirrorCases,
        audit: AuditAppender,
        policy: Callable[[], CompiledPolicy],
    ) -> None:
        self._db = db
        self._mirrors = mirrors
        self._audit = audit
        self._policy = policy

    def mirror(
        self,
        actor: Actor,
        bsn: Bsn,
        phase: str,
        *,
        peer_case: str | None,
        peer_requester: str | None,
    ) -> MirrorCase:
        """The peer's mirror case for this subject, in the phase of the peer's own case."""
        try:
            with self._db.session() as session:
                mirror = self._mirrors.open_or_sync(session, actor, bsn, phase)
                event = self._mirror_event(actor, mirror, peer_case, peer_requester)
                self._audit.append_in(session, [event])
        except FederationRefused as refused:
            reason = str(refused.extensions.get("reason", "forbidden"))
            self._audit.append_sync([refused_event(self._policy(), actor, reason, "mirror_case")])
            raise
        return mirror

    def _mirror_event(
        self,
        actor: Actor,
        mirror: MirrorCase,
        peer_case: str | None,
        peer_requester: str | None,
    ) -> AuditEvent:
        case = mirror.case
        return AuditEvent(
            kind="case",
            outcome="mirror_" + mirror.change,
            party=actor.party,
            employee=actor.employee,
            convenant=case.convenant,
            purpose=case.purpose,
            case=case.id,
            subject_pseudonym=case.subject_pseudonym,
            covenant_version=self._policy().covenant_version(case.convenant),
            details={
                "phase": case.phase,
                "peer_case": peer_case,
                "peer_requester": peer_requester,
            },
        )
