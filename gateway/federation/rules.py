"""What the covenant must say before a peer gateway may use the federation calls.

A peer Ketenpoort is a covenant party with role ``zvh_gateway``. It may keep a
mirror case (to have its queries decided under our rules) and may ask whether
a person is known here; the second needs a rule that grants the peer the
category ``betrokkenheid`` ("is the person known, since when, who is the
contact") under the token's purpose, like any other disclosure.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from gateway.audit.events import AuditEvent, processing_activity_uri
from gateway.cases.service import Actor
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Forbidden

FEDERATION_ROLE: Final = "zvh_gateway"
KNOWN_CATEGORY: Final = "betrokkenheid"


class FederationRefused(Forbidden):
    slug = "federation-refused"
    title = "The covenant does not permit this federation call"


def check_peer(policy: CompiledPolicy, actor: Actor, today: date) -> None:
    """The caller is a peer gateway of an active covenant; raises :class:`FederationRefused`."""
    if not policy.is_active(actor.covenant, today):
        raise FederationRefused(extensions={"reason": "convenant_inactive"})
    if not policy.has_role(actor.covenant, actor.party, FEDERATION_ROLE):
        raise FederationRefused(extensions={"reason": "not_federation_party"})


def known_rule_reason(policy: CompiledPolicy, actor: Actor, today: date) -> str | None:
    """None if a rule lets this peer learn whether a person is known here, else the reason."""
    try:
        check_peer(policy, actor, today)
    except FederationRefused as refused:
        return str(refused.extensions["reason"])
    compiled = policy.covenants[actor.covenant]
    if actor.purpose not in compiled.purposes:
        return "purpose_mismatch"
    granted = any(
        purpose == actor.purpose and recipient == actor.party and category == KNOWN_CATEGORY
        for purpose, recipient, _source, category in compiled.grants
    )
    return None if granted else "no_rule"


def refused_event(policy: CompiledPolicy, actor: Actor, reason: str, call: str) -> AuditEvent:
    """A refused federation call names no subject: nothing about the person was processed."""
    return AuditEvent(
        kind="decision",
        outcome="denied",
        reason=reason,
        party=actor.party,
        employee=actor.employee,
        convenant=actor.covenant,
        purpose=actor.purpose,
        covenant_version=policy.covenant_version(actor.covenant),
        processing_activity=processing_activity_uri(actor.covenant, actor.purpose),
        details={"federation": call},
    )
