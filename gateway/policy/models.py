"""The covenant (convenant) and the category catalogue as typed, frozen values.

The YAML is validated against ``policies/convenant.schema.json`` first, so these
models only convert; cross-references between parts are checked in
``checks.py`` where every problem can be reported with its line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from connectors.config import SourceConfig
from gateway.policy.durations import IsoDuration, parse_duration
from gateway.policy.errors import Finding

Phase = Literal[
    "aanmelding",
    "signalering",
    "triage",
    "casusoverleg",
    "plan_van_aanpak",
    "uitvoering",
    "nazorg",
]
PHASES: tuple[Phase, ...] = (
    "aanmelding",
    "signalering",
    "triage",
    "casusoverleg",
    "plan_van_aanpak",
    "uitvoering",
    "nazorg",
)
# The phases a covenant without a ``phases`` block may open a case in and move to
# (the behaviour before the workflow blocks: any of these, any move).
LEGACY_PHASES: tuple[Phase, ...] = (
    "signalering",
    "triage",
    "casusoverleg",
    "plan_van_aanpak",
    "nazorg",
)
# ``afgesloten`` in a transition list means: the case may be closed from here.
CLOSED = "afgesloten"
REFERRAL_PHASE: Phase = "aanmelding"
MAIN_SUBJECT_ROLE = "hoofdpersoon"
DEFAULT_SUBJECT_ROLES: tuple[str, ...] = (MAIN_SUBJECT_ROLE,)

Sensitivity = Literal["gewoon", "bijzonder", "strafrechtelijk"]
SENSITIVITY_RANK: dict[Sensitivity, int] = {"gewoon": 0, "bijzonder": 1, "strafrechtelijk": 2}

SignatureKind = Literal["sign", "reject", "revoke"]


def _to_duration(value: object) -> IsoDuration:
    if isinstance(value, IsoDuration):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("an ISO 8601 duration must be a string such as P2Y")


Duration = Annotated[
    IsoDuration,
    PlainValidator(_to_duration),
    PlainSerializer(str, return_type=str),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TrustStoreError(ValueError):
    """A party's JWKS file exists but cannot be read as a JWKS."""


# A party's `source:` block is the connectors' own typed config: validated here
# once, handed to ``build_connector`` as it is (connectors/config.py).
Source = SourceConfig


class ConsentWebhook(_Frozen):
    """Where an OM party wants to hear of new consent requests (docs/consent.md)."""

    url: str
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_s: float = Field(default=1.0, gt=0, le=300)


class Party(_Frozen):
    id: str
    name: str
    roles: tuple[str, ...]
    jwks: dict[str, Any] | None = None
    jwks_file: Path | None = None
    jwks_uri: str | None = None
    source: Source | None = None
    consent_webhook: ConsentWebhook | None = None

    @property
    def has_keys(self) -> bool:
        return self.jwks is not None or self.jwks_file is not None or self.jwks_uri is not None

    def jwks_document(self) -> dict[str, Any] | None:
        """The party's public keys as a JWKS, read fresh so key rotation needs no reload.

        ``None`` when the keys are only reachable by URI or the trust file does
        not exist (yet); the demo writes trust files at start-up.
        """
        if self.jwks is not None:
            return self.jwks
        if self.jwks_file is None or not self.jwks_file.exists():
            return None
        try:
            document = json.loads(self.jwks_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TrustStoreError(f"{self.jwks_file}: {error}") from error
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise TrustStoreError(f"{self.jwks_file}: not a JWKS (needs a 'keys' list)")
        return document


class Category(_Frozen):
    id: str
    sensitivity: Sensitivity
    fields: tuple[str, ...]
    description: str | None = None
    agreement_required_from: tuple[str, ...] = ()
    log_retention: Duration | None = None


class Purpose(_Frozen):
    id: str
    description: str
    legal_basis: str


class Rule(_Frozen):
    purpose: str
    phases: tuple[Phase, ...]
    recipients: tuple[str, ...]
    sources: tuple[str, ...]
    categories: tuple[str, ...]
    fields: tuple[str, ...] | None = None
    id: str | None = None
    description: str | None = None
    # The subject roles the rule covers (POLICY.md condition 7); default the hoofdpersoon.
    subject_roles: tuple[str, ...] = DEFAULT_SUBJECT_ROLES
    # Any one of these grounds must be recorded for the subject (API.md §2b); empty: none.
    requires_ground: tuple[str, ...] = ()


class Retention(_Frozen):
    case_after_close: Duration
    after_last_contact: Duration
    copies: Duration
    consent_max: Duration


# Wjsg art. 39j: the person may ask what was disclosed in the past four years, and the
# log keeps it that long; a withholding from inzage may never outlast that term.
WITHHELD_MAX_DEFAULT = "P4Y"


RepresentativeRelation = Literal["ouder", "voogd", "gemachtigde"]
RepresentativeRight = Literal["inzage", "correctie", "verzet", "source_answers", "toestemming"]
ContestedHandling = Literal["mark", "withhold"]
ALL_REPRESENTATIVE_RIGHTS: tuple[RepresentativeRight, ...] = (
    "inzage",
    "correctie",
    "verzet",
    "source_answers",
    "toestemming",
)


def _default_representatives() -> dict[RepresentativeRelation, tuple[RepresentativeRight, ...]]:
    return {
        "ouder": ALL_REPRESENTATIVE_RIGHTS,
        "voogd": ALL_REPRESENTATIVE_RIGHTS,
        "gemachtigde": ALL_REPRESENTATIVE_RIGHTS,
    }


class Rights(_Frozen):
    """Deadlines and rules of rights requests (docs/covenant-format.md).

    ``extension``: the longest extension (AVG art. 12(3), default and maximum
    two months). ``correctie_execution``: how long after a granted correctie
    the source has to carry it out.
    ``contested``: what a query answer does with a record under a pending
    correctie (AVG art. 18(1)(a)): ``mark`` it ``contested: true`` (default) or
    ``withhold`` it until the correctie is decided.
    ``representatives``: per relation what a representative may do and see
    (``source_answers``: the copies of records the sources sent in an inzage;
    ``toestemming``: withdraw the person's consent on /mijn).
    """

    inzage: Duration
    correctie: Duration
    verzet: Duration
    extension: Duration | None = None
    withheld_max: Duration = Field(default_factory=lambda: parse_duration(WITHHELD_MAX_DEFAULT))
    correctie_execution: Duration = Field(default_factory=lambda: parse_duration("P14D"))
    contested: ContestedHandling = "mark"
    representatives: dict[RepresentativeRelation, tuple[RepresentativeRight, ...]] = Field(
        default_factory=_default_representatives
    )

    def representative_may(self, relation: str, right: str) -> bool:
        """Whether a representative of this relation may use ``right`` (unknown: no)."""
        for known, rights in self.representatives.items():
            if known == relation:
                return right in rights
        return False


class PhaseMachine(_Frozen):
    """The covenant's case phases as a state machine (``phases:``).

    ``transitions[phase]`` lists where a case may move from ``phase``;
    :data:`CLOSED` there means it may be closed from that phase.
    """

    initial: tuple[Phase, ...]
    transitions: dict[Phase, tuple[Phase | Literal["afgesloten"], ...]]

    def allows(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, ())  # type: ignore[call-overload]

    def allowed_from(self, current: str) -> tuple[str, ...]:
        return tuple(self.transitions.get(current, ()))  # type: ignore[call-overload]


class SignatureEntry(_Frozen):
    party: str
    kind: SignatureKind
    jws: str


class Covenant(_Frozen):
    """One covenant file; ``covenant_version`` and ``signatures_ok`` are set by the loader."""

    id: str
    title: str
    valid_from: date
    valid_until: date
    controller: str
    parties: tuple[Party, ...]
    case_opening_roles: tuple[str, ...]
    categories: tuple[Category, ...]
    purposes: tuple[Purpose, ...]
    rules: tuple[Rule, ...]
    retention: Retention
    rights: Rights
    require_signatures: bool = False
    signatures: tuple[SignatureEntry, ...] = ()
    # Optional ZVH case workflow blocks (docs/covenant-format.md); absent: today's behaviour.
    referral_roles: tuple[str, ...] = ()
    phases: PhaseMachine | None = None
    case_types: tuple[str, ...] | None = None
    closure_reasons: tuple[str, ...] | None = None
    motivation_codes: tuple[str, ...] | None = None
    subject_roles: tuple[str, ...] = DEFAULT_SUBJECT_ROLES
    covenant_version: str = ""
    source_path: Path | None = None
    signatures_ok: bool = True

    def is_active(self, today: date) -> bool:
        return self.signatures_ok and self.valid_from <= today <= self.valid_until

    # Plain loops, not next(generator): every partner request asks party and purpose
    # (gateway/auth/dependencies.py) and a generator costs a Python call per item it passes.
    def party(self, party_id: str) -> Party | None:
        for party in self.parties:
            if party.id == party_id:
                return party
        return None

    def category(self, category_id: str) -> Category | None:
        for category in self.categories:
            if category.id == category_id:
                return category
        return None

    def purpose(self, purpose_id: str) -> Purpose | None:
        for purpose in self.purposes:
            if purpose.id == purpose_id:
                return purpose
        return None

    def may_refer(self, party_id: str) -> bool:
        """A referral role by role name or party id; the role ``aanmelder`` always refers."""
        party = self.party(party_id)
        if party is None:
            return False
        names = {party.id, *party.roles}
        return "aanmelder" in party.roles or any(r in names for r in self.referral_roles)

    def initial_phases(self) -> tuple[Phase, ...]:
        """Where a case may start: the declared ``phases.initial``, else the legacy five."""
        return self.phases.initial if self.phases is not None else LEGACY_PHASES

    def may_move(self, current: str, target: str) -> bool:
        """Whether a case may go from ``current`` to ``target`` (:data:`CLOSED` = close)."""
        if self.phases is None:
            return target == CLOSED or target in LEGACY_PHASES
        return self.phases.allows(current, target)


class CatalogueEntry(_Frozen):
    id: str
    sensitivity: Sensitivity
    description: str
    fields: tuple[str, ...]
    leefgebied: str | None = None


class Catalogue(_Frozen):
    """The categories any covenant may cover, and the most fields each may carry."""

    categories: tuple[CatalogueEntry, ...]
    source_path: Path | None = None

    def entry(self, category_id: str) -> CatalogueEntry | None:
        return next((entry for entry in self.categories if entry.id == category_id), None)


@dataclass(frozen=True)
class PolicySet:
    """Everything in one policy directory that loaded without errors (warnings kept)."""

    catalogue: Catalogue
    covenants: tuple[Covenant, ...]
    warnings: tuple[Finding, ...] = ()

    def covenant(self, covenant_id: str) -> Covenant | None:
        return next((cov for cov in self.covenants if cov.id == covenant_id), None)
