"""A source's pushed deletions (API.md §7), with their audit entries in one transaction.

The partner API's sources router comes through here. Only the source party
itself may push, and only for its own records: the token's party must be the
party named, and that party must hold a source in the token's covenant. Every
category must be one of the catalogue's (free-text categories would flood the
log). The copies go and their ``deletion`` entries are written in the same
commit (:func:`gateway.retention.deletions.apply_deletions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connectors import DeletionEvent
from gateway.audit.log import AuditLog
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Forbidden, Unprocessable
from gateway.retention.deletions import apply_deletions
from gateway.storage.db import Database


class NotThisSource(Forbidden):
    slug = "not-this-source"
    title = "A source pushes deletions for its own records only"


class UnknownDeletionCategory(Unprocessable):
    slug = "unknown-category"
    title = "A pushed deletion names a category the catalogue does not declare"


def known_categories(policy: CompiledPolicy, covenant: str) -> frozenset[str]:
    """The installation's catalogue (a copy may predate a covenant change), else the covenant's."""
    if policy.policy_set is not None:
        return frozenset(entry.id for entry in policy.policy_set.catalogue.categories)
    compiled = policy.covenants.get(covenant)
    return frozenset(compiled.categories) if compiled is not None else frozenset()


class SourceDesk:
    def __init__(self, db: Database, audit: AuditLog, policy: Callable[[], CompiledPolicy]) -> None:
        self._db = db
        self._audit = audit
        self._policy = policy

    def admit(self, caller: str, covenant: str, party: str) -> None:
        """Refuse (403) unless ``caller`` is ``party`` and holds a source in ``covenant``."""
        if caller != party:
            raise NotThisSource()
        member = self._policy().party(covenant, party)
        if member is None or member.source is None:
            raise NotThisSource(detail="The party has no source registration in this covenant.")

    def push(self, covenant: str, party: str, events: Sequence[DeletionEvent]) -> int:
        """Delete the copies the events name and log it, in one commit; copies deleted."""
        known = known_categories(self._policy(), covenant)
        unknown = [index for index, event in enumerate(events) if event.category not in known]
        if unknown:
            # Positions, not the categories: nothing the client sent is echoed back.
            raise UnknownDeletionCategory(
                detail="Every event's category must be a category of the catalogue.",
                extensions={"reason": "unknown_category", "events": unknown[:50]},
            )
        with self._db.session() as session:
            return apply_deletions(
                session,
                self._audit,
                covenant=covenant,
                source=party,
                events=events,
                channel="push",
            )
