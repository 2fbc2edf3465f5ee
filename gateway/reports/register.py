"""The AVG art. 30 register of processing activities, read from a covenant.

One activity per purpose (its id is the same stable URI every audit entry for
that purpose carries as ``processing_activity``), plus the accountability
activity under which reports and log reads are logged. Everything is derived
from the covenant in force, so the register cannot drift from the rules that
actually decide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gateway.audit.events import processing_activity_uri
from gateway.policy.compiled import _expand
from gateway.policy.models import Covenant

DEFAULT_SUBJECT_ROLES = ("hoofdpersoon",)
SAFEGUARDS = (
    "Need-to-know: een verstrekking alleen als een regel van het convenant haar toestaat "
    "(doel, fase, ontvanger, bron, categorie); anders geweigerd met reden",
    "Dataminimalisatie: alleen de velden die de regel noemt verlaten de bron",
    "Strafrechtelijke gegevens alleen na toestemming van de Officier van Justitie (Wjsg art. 39f)",
    "BSN alleen als gesleutelde pseudoniem opgeslagen; versleuteld waar de bron het nodig heeft",
    "Onweerlegbaar toegangslog (Merkle-boom met ondertekende controlepunten), "
    "per persoon versleuteld en vernietigbaar (crypto-shredding)",
    "Partners authenticeren met private_key_jwt (OAuth 2.0); tokens gebonden aan convenant en doel",
    "Rapportages met kleine-aantallenbescherming; iedere inzage in log of rapportage gelogd",
)


@dataclass(frozen=True)
class Activity:
    processing_activity: str
    name: str
    purpose: str
    description: str
    controllers: list[dict[str, str]]
    legal_ground: str
    data_categories: list[dict[str, str]]
    person_categories: list[str]
    recipients: list[dict[str, str]]
    sources: list[dict[str, str]]
    retention: dict[str, str]
    safeguards: list[str]
    transfers_outside_eea: str = "geen"


@dataclass(frozen=True)
class Register:
    convenant: str
    title: str
    covenant_version: str
    activities: list[Activity]

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _parties(covenant: Covenant, ids: set[str]) -> list[dict[str, str]]:
    return [{"id": p.id, "name": p.name} for p in covenant.parties if p.id in ids]


def _iso(value: object) -> str:
    """ISO 8601 duration text (``IsoDuration.__str__``)."""
    return str(value)


def build_register(covenant: Covenant) -> Register:
    controller = _parties(covenant, {covenant.controller}) or [
        {"id": covenant.controller, "name": covenant.controller}
    ]
    subject_roles = tuple(getattr(covenant, "subject_roles", None) or DEFAULT_SUBJECT_ROLES)
    categories = {category.id: category for category in covenant.categories}
    retention = {
        "casus_na_afsluiting": _iso(covenant.retention.case_after_close),
        "na_laatste_contact": _iso(covenant.retention.after_last_contact),
        "kopieen": _iso(covenant.retention.copies),
        "toestemming_ovj_maximaal": _iso(covenant.retention.consent_max),
    }
    activities: list[Activity] = []
    for purpose in covenant.purposes:
        rules = [rule for rule in covenant.rules if rule.purpose == purpose.id]
        used = sorted({cid for rule in rules for cid in rule.categories})
        recipients: set[str] = set()
        sources: set[str] = set()
        for rule in rules:
            recipients |= _expand(covenant, rule.recipients)
            sources |= _expand(covenant, rule.sources)
        kept = dict(retention)
        for cid in used:
            category = categories.get(cid)
            if category is not None and category.log_retention is not None:
                kept[f"log_{cid}"] = _iso(category.log_retention)
        activities.append(
            Activity(
                processing_activity=processing_activity_uri(covenant.id, purpose.id),
                name=purpose.id,
                purpose=purpose.description.strip(),
                description=f"{covenant.title}: {purpose.description.strip()}",
                controllers=controller,
                legal_ground=purpose.legal_basis,
                data_categories=[
                    {"id": cid, "sensitivity": categories[cid].sensitivity}
                    for cid in used
                    if cid in categories
                ],
                person_categories=[f"betrokkene ({role})" for role in subject_roles],
                recipients=_parties(covenant, recipients),
                sources=_parties(covenant, sources),
                retention=kept,
                safeguards=list(SAFEGUARDS),
            )
        )
    activities.append(
        Activity(
            processing_activity=f"urn:ketenpoort:processing:{covenant.id}:verantwoording",
            name="verantwoording",
            purpose=(
                "Verantwoording en toezicht: toegangslog, rapportages, register (AVG art. 5 lid 2)"
            ),
            description="Inzage door functionaris gegevensbescherming en stuurgroep",
            controllers=controller,
            legal_ground="AVG art. 5 lid 2, art. 30 en art. 39; AVG art. 6 lid 1 sub c",
            data_categories=[{"id": "toegangslog", "sensitivity": "gewoon"}],
            person_categories=["medewerkers van partners", "betrokkenen (gepseudonimiseerd)"],
            recipients=[
                p
                for p in _parties(
                    covenant,
                    {
                        p.id
                        for p in covenant.parties
                        if {"privacy_officer", "stuurgroep"} & set(p.roles)
                    },
                )
            ],
            sources=[],
            retention=retention,
            safeguards=list(SAFEGUARDS),
        )
    )
    return Register(covenant.id, covenant.title, covenant.covenant_version, activities)
