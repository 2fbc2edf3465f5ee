"""Covenants compiled into dictionaries, so a decision is a handful of look-ups.

Rules name recipients and sources by role or by party id; compiling expands
both to party ids once, and indexes the result by
``(purpose, recipient, source, category)`` with, per phase, the fields that
may leave. The gateway asks for hundreds of decisions per query burst; none
of them loops over rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from gateway.policy.models import Category, Covenant, Party, PolicySet, Rule, Sensitivity

GrantKey = tuple[str, str, str, str]
# (phase, subject role) -> the fields a rule lets leave for a subject with that role.
RoleGrants = Mapping[tuple[str, str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class CompiledCategory:
    id: str
    sensitivity: Sensitivity
    fields: frozenset[str]
    needs_consent: bool
    # Roles or party ids who may consent (Wpg art. 20); default the OvJ (``om``).
    agreement_required_from: frozenset[str] = frozenset({"om"})


@dataclass(frozen=True, slots=True)
class CompiledCovenant:
    covenant: Covenant
    valid_from: date
    valid_until: date
    signatures_ok: bool
    purposes: frozenset[str]
    parties: frozenset[str]
    categories: Mapping[str, CompiledCategory]
    grants: Mapping[GrantKey, Mapping[str, frozenset[str]]]
    # The same index per (phase, subject role): rules name the subject roles they cover.
    role_grants: Mapping[GrantKey, RoleGrants]
    # The covenant's parties and categories by id (the first of an id, as
    # ``Covenant.party``/``category`` find it): a query looks them up per source.
    parties_by_id: Mapping[str, Party]
    categories_by_id: Mapping[str, Category]
    # Per grant and phase, the grounds of which one must be recorded; only where every
    # rule permitting that grant in that phase requires one (a rule without is the ground).
    required_grounds: Mapping[GrantKey, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    party_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    motivation_codes: frozenset[str] = frozenset()
    # ``required_grounds`` by (purpose, requester), then category: the phases in which
    # some source's grant of it needs a recorded ground. A query asks this once (is a
    # ground read needed at all?) instead of walking every grant (issue 16).
    ground_phases: Mapping[tuple[str, str], Mapping[str, frozenset[str]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], dict[str, frozenset[str]]] = {}
        for (purpose, party, _source, category), by_phase in self.required_grounds.items():
            phases = frozenset(phase for phase, needed in by_phase.items() if needed)
            if phases:
                by_category = index.setdefault((purpose, party), {})
                by_category[category] = by_category.get(category, frozenset()) | phases
        object.__setattr__(self, "ground_phases", index)

    def active_on(self, today: date) -> bool:
        return self.signatures_ok and self.valid_from <= today <= self.valid_until

    def competent(self, party: str, category_id: str) -> bool:
        """Whether ``party`` may consent to ``category_id`` (its ``agreement_required_from``)."""
        category = self.categories.get(category_id)
        if category is None:
            return False
        who = category.agreement_required_from
        return party in who or not who.isdisjoint(self.party_roles.get(party, frozenset()))

    def consent_deciders(self) -> frozenset[str]:
        """Roles and party ids that may decide on some consent request of this covenant."""
        names: set[str] = {"om"}
        for category in self.categories.values():
            if category.needs_consent:
                names |= category.agreement_required_from
        return frozenset(names)

    def may_decide_consents(self, party: str) -> bool:
        names = self.consent_deciders()
        return party in names or not names.isdisjoint(self.party_roles.get(party, frozenset()))


class CompiledPolicy:
    """The decision-ready form of a :class:`PolicySet`, plus the look-ups other parts need."""

    __slots__ = ("covenants", "policy_set")

    def __init__(self, covenants: Iterable[Covenant], policy_set: PolicySet | None = None):
        self.covenants: dict[str, CompiledCovenant] = {
            cov.id: compile_covenant(cov) for cov in covenants
        }
        self.policy_set = policy_set

    def covenant(self, covenant_id: str) -> Covenant | None:
        compiled = self.covenants.get(covenant_id)
        return compiled.covenant if compiled is not None else None

    def is_active(self, covenant_id: str, today: date) -> bool:
        compiled = self.covenants.get(covenant_id)
        return compiled is not None and compiled.active_on(today)

    def covenant_version(self, covenant_id: str) -> str | None:
        compiled = self.covenants.get(covenant_id)
        return compiled.covenant.covenant_version if compiled is not None else None

    def party(self, covenant_id: str, party_id: str) -> Party | None:
        compiled = self.covenants.get(covenant_id)
        return compiled.parties_by_id.get(party_id) if compiled is not None else None

    def has_role(self, covenant_id: str, party_id: str, role: str) -> bool:
        party = self.party(covenant_id, party_id)
        return party is not None and role in party.roles

    def can_open_case(self, covenant_id: str, party_id: str) -> bool:
        covenant = self.covenant(covenant_id)
        party = self.party(covenant_id, party_id)
        if covenant is None or party is None:
            return False
        return any(role in party.roles for role in covenant.case_opening_roles)

    def category(self, covenant_id: str, category_id: str) -> Category | None:
        compiled = self.covenants.get(covenant_id)
        return compiled.categories_by_id.get(category_id) if compiled is not None else None

    def holders(self, covenant_id: str, category_id: str) -> tuple[str, ...]:
        """The parties whose bronregistratie holds the category (default query sources).

        A source that lists its ``categories`` (or, for ``sql``, its queries)
        holds exactly those; otherwise whatever a rule names it as source of.
        """
        compiled = self.covenants.get(covenant_id)
        if compiled is None:
            return ()
        named = {key[2] for key in compiled.grants if key[3] == category_id}
        found: list[str] = []
        for party in compiled.covenant.parties:
            if party.source is None:
                continue
            held = party.source.held_categories
            if (category_id in held) if held is not None else (party.id in named):
                found.append(party.id)
        return tuple(found)


def compile_policy(policy_set: PolicySet) -> CompiledPolicy:
    return CompiledPolicy(policy_set.covenants, policy_set)


def _expand(cov: Covenant, names: Iterable[str]) -> set[str]:
    return {
        party.id
        for party in cov.parties
        for name in names
        if party.id == name or name in party.roles
    }


def _rule_fields(rule: Rule, category: Category | None) -> frozenset[str]:
    declared = frozenset(category.fields) if category is not None else frozenset()
    if rule.fields is None:
        return declared
    return frozenset(rule.fields) & declared


def compile_covenant(cov: Covenant) -> CompiledCovenant:
    """Index the covenant's rules; a rule may permit several phases and several fields sets.

    Works on any structurally valid covenant, checked or not, so the decision
    order stays defined even for rules naming an undeclared category.
    """
    categories = {cat.id: cat for cat in reversed(cov.categories)}
    grants: dict[GrantKey, dict[str, frozenset[str]]] = {}
    # (grant, phase) -> the union of required grounds, or None once a rule needs none
    grounds: dict[tuple[GrantKey, str], frozenset[str] | None] = {}
    role_grants: dict[GrantKey, dict[tuple[str, str], frozenset[str]]] = {}
    for rule in cov.rules:
        recipients = _expand(cov, rule.recipients)
        sources = _expand(cov, rule.sources)
        needed = frozenset(rule.requires_ground) or None
        for category_id in rule.categories:
            fields = _rule_fields(rule, categories.get(category_id))
            for recipient in recipients:
                for source in sources:
                    key = (rule.purpose, recipient, source, category_id)
                    by_phase = grants.setdefault(key, {})
                    by_role = role_grants.setdefault(key, {})
                    for phase in rule.phases:
                        by_phase[phase] = by_phase.get(phase, frozenset()) | fields
                        for role in rule.subject_roles:
                            slot = (phase, role)
                            by_role[slot] = by_role.get(slot, frozenset()) | fields
                        before = grounds.get((key, phase), frozenset())
                        grounds[(key, phase)] = (
                            None if needed is None or before is None else before | needed
                        )
    required: dict[GrantKey, dict[str, frozenset[str]]] = {}
    for (grant, at_phase), needed_any in grounds.items():
        if needed_any:
            required.setdefault(grant, {})[at_phase] = needed_any
    return CompiledCovenant(
        covenant=cov,
        valid_from=cov.valid_from,
        valid_until=cov.valid_until,
        signatures_ok=cov.signatures_ok,
        purposes=frozenset(purpose.id for purpose in cov.purposes),
        parties=frozenset(party.id for party in cov.parties),
        categories={
            cat_id: CompiledCategory(
                cat.id,
                cat.sensitivity,
                frozenset(cat.fields),
                cat.sensitivity == "strafrechtelijk",
                frozenset(cat.agreement_required_from or ("om",)),
            )
            for cat_id, cat in categories.items()
        },
        grants=grants,
        role_grants=role_grants,
        parties_by_id={party.id: party for party in reversed(cov.parties)},
        categories_by_id=categories,
        required_grounds=required,
        party_roles={party.id: frozenset(party.roles) for party in cov.parties},
        motivation_codes=frozenset(cov.motivation_codes or ()),
    )
