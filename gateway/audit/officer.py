"""The privacy officer's reach over the log, and the log of the officer's own reads.

An officer (FG) is a party with the role ``privacy_officer`` in a covenant; they
oversee that covenant and no other (promise 11). :func:`officer_covenants` is
the one place that says which covenants a party oversees, read from the policy
in force, so a token or a web session can never widen it.

Reading the log is itself processing of personal data, so every read by a
person (and every refusal) becomes an entry of kind ``audit``: who, how
(``api``/``web``), what (search, entry, export), which filter *names* were used
and how many entries came back. Filter values are never stored (a BSN typed
into a text field must not land in the log); a search by person carries the
keyed pseudonym, sealed under that person's key like every other entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.audit.events import AuditEvent
from gateway.policy.compiled import CompiledPolicy

PRIVACY_OFFICER = "privacy_officer"
READ_KIND = "audit"
READ = "read"
DENIED = "denied"


def officer_covenants(policy: CompiledPolicy, party: str | None) -> tuple[str, ...]:
    """The loaded covenants in which ``party`` is privacy officer (sorted; empty if none)."""
    if not party:
        return ()
    return tuple(
        sorted(cid for cid in policy.covenants if policy.has_role(cid, party, PRIVACY_OFFICER))
    )


def member_covenants(policy: CompiledPolicy, party: str | None) -> tuple[str, ...]:
    """The loaded covenants ``party`` belongs to (what a web login is bound to)."""
    if not party:
        return ()
    return tuple(sorted(cid for cid in policy.covenants if policy.party(cid, party) is not None))


@dataclass(frozen=True)
class Reader:
    """A person reading the log: their party, their own id, and the covenants they oversee."""

    party: str | None
    employee: str | None
    covenants: tuple[str, ...]
    channel: str


def _names(filters: Iterable[str]) -> str | None:
    used = sorted(set(filters))
    return ",".join(used) if used else None


def read_events(
    reader: Reader,
    action: str,
    *,
    returned: int,
    filters: Iterable[str] = (),
    subject_pseudonym: str | None = None,
) -> list[AuditEvent]:
    """One entry per overseen covenant, so each covenant's log shows the read."""
    details: dict[str, str | int | bool | None] = {
        "channel": reader.channel,
        "action": action,
        "returned": returned,
        "filters": _names(filters),
    }
    return [
        AuditEvent(
            kind=READ_KIND,
            outcome=READ,
            party=reader.party,
            employee=reader.employee,
            convenant=covenant,
            subject_pseudonym=subject_pseudonym,
            subject_scope="subject",
            details=details,
        )
        for covenant in reader.covenants
    ]


def refusal_events(reader: Reader, action: str, reason: str) -> list[AuditEvent]:
    """A refused attempt to read the log, in each covenant the caller came through.

    Without any covenant (an unknown party) the entry has none; the operator
    sees it with ``ketenpoort audit``.
    """
    return [
        AuditEvent(
            kind=READ_KIND,
            outcome=DENIED,
            party=reader.party,
            employee=reader.employee,
            convenant=covenant,
            reason=reason,
            details={"channel": reader.channel, "action": action},
        )
        for covenant in (reader.covenants or (None,))
    ]
