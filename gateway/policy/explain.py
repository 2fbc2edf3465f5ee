"""What may a party receive under a covenant and purpose? (``ketenpoort policy explain``)

Read from the compiled index, i.e. from exactly what the decision uses, so the
explanation cannot drift from enforcement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.policy.compiled import CompiledPolicy
from gateway.policy.loader import check_dir
from gateway.policy.models import (
    LEGACY_PHASES,
    MAIN_SUBJECT_ROLE,
    PHASES,
    Covenant,
    Phase,
    Sensitivity,
)

__all__ = ["Explanation", "Permission", "check_dir", "explain"]


@dataclass(frozen=True, slots=True)
class Permission:
    source: str
    category: str
    sensitivity: Sensitivity | None
    fields: tuple[str, ...]
    consent_required: bool
    subject_roles: tuple[str, ...] = ("hoofdpersoon",)
    # Any one of these grounds must be recorded for the subject (``requires_ground``).
    grounds_required: tuple[str, ...] = ()
    # Who may consent (``agreement_required_from``), when consent is required.
    consent_from: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    covenant: str
    party: str
    purpose: str
    active_today: bool
    known: bool
    phases: dict[Phase, tuple[Permission, ...]]
    notes: tuple[str, ...]
    motivation_codes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "covenant": self.covenant,
            "party": self.party,
            "purpose": self.purpose,
            "active_today": self.active_today,
            "motivation_codes": list(self.motivation_codes),
            "notes": list(self.notes),
            "phases": {
                phase: [
                    {
                        "source": p.source,
                        "category": p.category,
                        "sensitivity": p.sensitivity,
                        "fields": list(p.fields),
                        "consent_required": p.consent_required,
                        "subject_roles": list(p.subject_roles),
                        "consent_from": list(p.consent_from),
                        "grounds_required": list(p.grounds_required),
                    }
                    for p in permissions
                ]
                for phase, permissions in self.phases.items()
            },
        }


def explain(
    policy: CompiledPolicy,
    covenant_id: str,
    party_id: str,
    purpose: str,
    today: date | None = None,
) -> Explanation:
    """Per phase, per source, per category: what ``party_id`` may receive for ``purpose``."""
    day = today or date.today()
    compiled = policy.covenants.get(covenant_id)
    empty: dict[Phase, tuple[Permission, ...]] = {phase: () for phase in PHASES}
    if compiled is None:
        return Explanation(
            covenant_id, party_id, purpose, False, False, empty, (f"no covenant {covenant_id!r}",)
        )
    notes: list[str] = []
    if party_id not in compiled.parties:
        notes.append(f"{party_id!r} is not a party of this covenant")
    if purpose not in compiled.purposes:
        notes.append(f"{purpose!r} is not a purpose of this covenant")
    active = compiled.active_on(day)
    if not active:
        notes.append("the covenant is not active today: every request is denied")
    covenant = compiled.covenant
    shown = _phases_of(covenant)
    notes += _workflow_notes(covenant, party_id)
    found: dict[Phase, list[Permission]] = {phase: [] for phase in shown}
    for key, by_phase in sorted(compiled.grants.items()):
        rule_purpose, recipient, source, category_id = key
        if rule_purpose != purpose or recipient != party_id:
            continue
        category = compiled.categories.get(category_id)
        needs_consent = bool(category and category.needs_consent)
        grounds = compiled.required_grounds.get((rule_purpose, recipient, source, category_id), {})
        consent_from = (
            tuple(sorted(category.agreement_required_from))
            if category is not None and needs_consent
            else ()
        )
        by_role = compiled.role_grants.get(key, {})
        for phase in shown:
            if phase not in by_phase:
                continue
            # One permission per set of fields: a rule may give a victim less than the
            # hoofdpersoon, and the decision answers per subject role.
            by_fields: dict[frozenset[str], list[str]] = {}
            for (at, role), fields in by_role.items():
                if at == phase:
                    by_fields.setdefault(fields, []).append(role)
            for fields, roles in sorted(by_fields.items(), key=lambda item: sorted(item[1])):
                found[phase].append(
                    Permission(
                        source=source,
                        category=category_id,
                        sensitivity=category.sensitivity if category else None,
                        fields=tuple(sorted(fields)),
                        consent_required=needs_consent,
                        subject_roles=tuple(sorted(roles)),
                        grounds_required=tuple(sorted(grounds.get(phase, ()))),
                        consent_from=consent_from,
                    )
                )
    if not any(found.values()):
        notes.append("no rule gives this party anything for this purpose")
    notes.append("participation in the case, an open case and no verzet are checked per request")
    if any(p.grounds_required for permissions in found.values() for p in permissions):
        notes.append("a required ground must be recorded per case and subject (grounds API)")
    if any(p.consent_required for permissions in found.values() for p in permissions):
        notes.append("a query for strafrechtelijke gegevens needs a motivation (code and text)")
    phases = {phase: tuple(permissions) for phase, permissions in found.items()}
    codes = tuple(sorted(compiled.motivation_codes))
    return Explanation(covenant_id, party_id, purpose, active, True, phases, tuple(notes), codes)


def _phases_of(covenant: Covenant) -> tuple[Phase, ...]:
    """The phases a case can be in: the declared machine's, else the legacy five."""
    if covenant.phases is None:
        return LEGACY_PHASES
    named = set(covenant.phases.initial) | set(covenant.phases.transitions)
    return tuple(phase for phase in PHASES if phase in named)


def _workflow_notes(covenant: Covenant, party_id: str) -> list[str]:
    """What the party may do with cases: open, refer; and where cases may go."""
    notes: list[str] = []
    party = covenant.party(party_id)
    if party is None:
        return notes
    if any(role in party.roles for role in covenant.case_opening_roles):
        notes.append(
            "may open cases (in "
            + ", ".join(covenant.initial_phases())
            + "), triage them, move their phases and close them"
        )
    elif covenant.may_refer(party_id):
        notes.append("may refer a person (phase aanmelding); sees only status and triage outcome")
    if covenant.phases is not None:
        moves = "; ".join(
            f"{phase} -> {', '.join(targets)}"
            for phase, targets in covenant.phases.transitions.items()
        )
        notes.append(f"phase transitions: {moves}")
    if covenant.closure_reasons is not None:
        notes.append("closing needs a reason: " + ", ".join(covenant.closure_reasons))
    if covenant.case_types is not None:
        notes.append("case types: " + ", ".join(covenant.case_types))
    if covenant.subject_roles != (MAIN_SUBJECT_ROLE,):
        notes.append("subject roles: " + ", ".join(covenant.subject_roles))
    return notes
