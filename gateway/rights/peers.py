"""Rights requests across regions: what a peer region's request concerns here, and where it goes.

A peer Ketenpoort (role ``zvh_gateway``) passes on a correctie or verzet the
person filed there. Here it becomes an ordinary request of our covenant,
filed by the peer party, about the person's cases here in which that peer
takes part (its mirror cases, or our cases it joined), the same rule a partner
filing on the person's behalf follows.

Where it goes: our own sources only, never a ``gateway`` source or another
peer gateway (one hop: a request between two regions must not bounce back,
nor travel on through a third). In a mirror case the peer is the only
participant, so our sources are not participants of it: there every party
with a (non-gateway) source of the covenant is asked, as all joint
controllers (WGS) may hold the records the peer received.

Record ids: the peer knows our records as ``<our source>/<record id>``
(``connectors/gateway.py``); they are mapped back, so the contested marks
match our sources' records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.audit.models import AuditEntry
from gateway.cases.models import Case, case_ids_of
from gateway.policy.models import Covenant

PEER_ROLE: Final = "zvh_gateway"
"""A peer region's gateway in our covenant (``gateway/federation/rules.py`` uses the same)."""


def is_peer(covenant: Covenant, party_id: str) -> bool:
    """A peer gateway: role ``zvh_gateway`` or a ``gateway`` source."""
    party = covenant.party(party_id)
    if party is None:
        return False
    return PEER_ROLE in party.roles or (party.source is not None and party.source.type == "gateway")


def own_sources(covenant: Covenant, parties: Sequence[str] | None = None) -> tuple[str, ...]:
    """Parties with a source of their own (no peer gateway); of ``parties`` when given."""
    found = []
    for party in covenant.parties:
        if party.source is None or is_peer(covenant, party.id):
            continue
        if parties is None or party.id in parties:
            found.append(party.id)
    return tuple(sorted(found))


def peer_cases(session: Session, pseudonym: str, convenant: str, peer: str) -> list[Case]:
    """The person's cases of this covenant in which the peer takes part *and received data*.

    A peer may open a mirror case for any BSN (``/v1/federation/cases``), so
    taking part proves nothing about the person. Only a case in which we
    actually disclosed something to that peer (a ``disclosure`` entry of the
    log naming the peer as recipient) lets its correctie or verzet in: the
    request concerns data the peer got from us (AVG art. 19), not a person it
    merely named.
    """
    cases = session.scalars(
        select(Case)
        .where(Case.id.in_(case_ids_of(pseudonym)), Case.convenant == convenant)
        .order_by(Case.created_at)
    )
    joined = [case for case in cases if peer in {p.party for p in case.participants}]
    if not joined:
        return []
    received = set(
        session.scalars(
            select(AuditEntry.case_id)
            .where(
                AuditEntry.case_id.in_([case.id for case in joined]),  # ix_audit_entries_case_id
                AuditEntry.kind == "disclosure",
                AuditEntry.party == peer,
            )
            .distinct()
        )
    )
    return [case for case in joined if case.id in received]


def peer_targets(covenant: Covenant, cases: Sequence[Case], source: str | None) -> tuple[str, ...]:
    """Our sources a peer's request goes to; never a peer gateway (one hop)."""
    if source is not None:
        return own_sources(covenant, [source])
    targets: set[str] = set()
    for case in cases:
        if is_peer(covenant, case.opened_by):  # a mirror case: all joint controllers
            targets.update(own_sources(covenant))
        else:
            targets.update(own_sources(covenant, [p.party for p in case.participants]))
    return tuple(sorted(targets))


def local_records(covenant: Covenant, records: Sequence[str]) -> tuple[str | None, tuple[str, ...]]:
    """The peer's ``<our source>/<id>`` ids as (our source, ids); unprefixed ids stay as they are.

    One source for all: that source is the request's ``source``. Several (or
    ids without a known prefix): no source, so the ids are contested at every
    source (the safe direction, docs/rights.md "Correctie").
    """
    sources = set(own_sources(covenant))
    named: set[str | None] = set()
    ids: list[str] = []
    for record in records:
        prefix, slash, rest = record.partition("/")
        if slash and rest and prefix in sources:
            named.add(prefix)
            ids.append(rest)
        else:
            named.add(None)
            ids.append(record)
    if len(named) == 1 and None not in named:
        return next(iter(named)), tuple(ids)
    return None, tuple(ids)
