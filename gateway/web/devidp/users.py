"""The demo users one can pick at the dev IdP; their claims follow docs/web-login.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from gateway.audit.officer import PRIVACY_OFFICER, officer_covenants
from gateway.demodata.people import demo_people
from gateway.policy.compiled import CompiledPolicy

ROLES_CLAIM: Final = "ketenpoort_roles"
PARTY_CLAIM: Final = "ketenpoort_party"
BSN_CLAIM: Final = "bsn"


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    description: str
    roles: tuple[str, ...] = ()
    party: str | None = None
    bsn: str | None = field(default=None, repr=False)

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {"name": self.name, "preferred_username": self.username}
        claims[ROLES_CLAIM] = list(self.roles)
        if self.party is not None:
            claims[PARTY_CLAIM] = self.party
        if self.bsn is not None:
            claims[BSN_CLAIM] = self.bsn
        return claims


def _people_users() -> tuple[DemoUser, ...]:
    users = []
    for person in demo_people()[:3]:
        letter = person.label.rsplit("-", 1)[-1].upper()
        users.append(
            DemoUser(
                username=person.label,
                name=f"Demo persoon {letter}",
                description=f"Betrokkene ({person.situation}) — voor /mijn",
                bsn=person.bsn.reveal(),
            )
        )
    return tuple(users)


DEMO_USERS: Final[Mapping[str, DemoUser]] = {
    user.username: user
    for user in (
        DemoUser(
            username="fg.demo",
            name="Demo FG",
            description="Functionaris gegevensbescherming — voor /privacy",
            roles=("privacy_officer",),
            party="fg-demo",
        ),
        DemoUser(
            username="stuurgroep.demo",
            name="Demo stuurgroep",
            description="Stuurgroep Zorg- en Veiligheidshuis — voor /rapportage",
            roles=("stuurgroep",),
            party="stuurgroep-demo",
        ),
        DemoUser(
            username="ovj.demo",
            name="Demo Officier van Justitie",
            description="Officier van Justitie (OM) — voor /ovj",
            roles=("om",),
            party="om-demo",
        ),
        DemoUser(
            username="burgemeester.demo",
            name="Demo Burgemeester",
            description="Burgemeester (bevoegd gezag politiegegevens, Wpg art. 20) — voor /ovj",
            roles=("burgemeester",),
            party="burgemeester-demo",
        ),
        *_people_users(),
    )
}


def officer_users(policy: CompiledPolicy) -> dict[str, DemoUser]:
    """One FG login per privacy-officer party of the loaded covenants, beyond ``fg.demo``.

    A web FG sees only the covenants of their party, so a gateway with several
    covenants needs one demo FG per such party (``fg.<party>``).
    """
    taken = {user.party for user in DEMO_USERS.values() if PRIVACY_OFFICER in user.roles}
    parties = {
        party.id
        for covenant in policy.covenants.values()
        for party in covenant.covenant.parties
        if officer_covenants(policy, party.id)
    }
    return {
        f"fg.{party}": DemoUser(
            username=f"fg.{party}",
            name=f"FG {party}",
            description=f"Functionaris gegevensbescherming van {party} — voor /privacy",
            roles=(PRIVACY_OFFICER,),
            party=party,
        )
        for party in sorted(parties - taken)
    }


def dev_users(policy: CompiledPolicy) -> dict[str, DemoUser]:
    """Everyone the dev IdP offers: the fixed demo users and the policy's FGs."""
    return {**DEMO_USERS, **officer_users(policy)}
