"""Cross-checks of one covenant that a JSON Schema cannot express.

Every check runs and every problem is reported, so an author fixes a file in
one pass. Errors stop the gateway; warnings (a rule naming a source that has
no source configuration, say) are printed and the covenant still loads.
"""

from __future__ import annotations

from collections.abc import Iterable

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from connectors.config import SqlSource
from connectors.sql import query_problems
from gateway.policy.document import SourceDocument
from gateway.policy.durations import IsoDuration, parse_duration
from gateway.policy.errors import Finding
from gateway.policy.grounds import valid_requirement
from gateway.policy.models import (
    CLOSED,
    MAIN_SUBJECT_ROLE,
    REFERRAL_PHASE,
    SENSITIVITY_RANK,
    Catalogue,
    Covenant,
    Party,
    TrustStoreError,
)

WJSG_LOG_MINIMUM = parse_duration("P4Y")
AVG_ANSWER_MAXIMUM = parse_duration("P1M")
AVG_EXTENSION_MAXIMUM = parse_duration("P2M")
# No retention period reaches past this: a longer one is a typo (P2500Y for P25Y), and the
# runner's date arithmetic must stay inside the calendar (review-b F1).
RETENTION_MAXIMUM = parse_duration("P100Y")
RETENTION_FIELDS = ("case_after_close", "after_last_contact", "copies", "consent_max")
# Roles that act through the API (consent decisions, audit log) without being recipients.
API_ROLES = frozenset({"om", "privacy_officer"})


def check_covenant(
    doc: SourceDocument,
    cov: Covenant,
    catalogue: Catalogue | None,
    require_keys: bool,
) -> list[Finding]:
    problems: list[Finding] = []
    problems += _check_window(doc, cov)
    problems += _check_duplicates(doc, cov)
    problems += _check_parties(doc, cov, require_keys)
    problems += _check_categories(doc, cov, catalogue)
    problems += _check_rules(doc, cov)
    problems += _check_grounds(doc, cov)
    problems += _check_deadlines(doc, cov)
    problems += _check_retention(doc, cov)
    problems += _check_sql_queries(doc, cov)
    problems += _check_workflow(doc, cov)
    return problems


def _roles(cov: Covenant) -> set[str]:
    return {role for party in cov.parties for role in party.roles}


def _resolve(cov: Covenant, name: str) -> list[Party]:
    """The parties a rule's recipient or source names: a party id or a role."""
    return [party for party in cov.parties if party.id == name or name in party.roles]


def _check_window(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    if cov.valid_until < cov.valid_from:
        return [doc.problem(("valid_until",), "valid_until lies before valid_from")]
    return []


def _duplicates(doc: SourceDocument, section: str, ids: Iterable[str | None]) -> list[Finding]:
    problems: list[Finding] = []
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id is None:
            continue
        if item_id in seen:
            message = f"duplicate {section} id {item_id!r}"
            problems.append(doc.problem((section, index, "id"), message))
        seen.add(item_id)
    return problems


def _check_duplicates(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    return (
        _duplicates(doc, "parties", (p.id for p in cov.parties))
        + _duplicates(doc, "categories", (c.id for c in cov.categories))
        + _duplicates(doc, "purposes", (p.id for p in cov.purposes))
        + _duplicates(doc, "rules", (r.id for r in cov.rules))
    )


def _api_users(cov: Covenant, names: Iterable[str]) -> set[str]:
    return {party.id for name in names for party in _resolve(cov, name)}


def _check_parties(doc: SourceDocument, cov: Covenant, require_keys: bool) -> list[Finding]:
    problems: list[Finding] = []
    party_ids = {party.id for party in cov.parties}
    roles = _roles(cov)
    if cov.controller not in party_ids:
        message = f"controller {cov.controller!r} is not a party"
        problems.append(doc.problem(("controller",), message))
    for index, role in enumerate(cov.case_opening_roles):
        if role not in roles:
            problems.append(
                doc.problem(
                    ("case_opening_roles", index), f"no party holds case-opening role {role!r}"
                )
            )
    # Recipients and case openers cannot work without a token; OM and FG can
    # still use the web pages, so for them a missing key is only a warning.
    must_call = _api_users(
        cov, [n for rule in cov.rules for n in rule.recipients] + list(cov.case_opening_roles)
    )
    deciders = [n for c in cov.categories for n in c.agreement_required_from]
    may_call = _api_users(cov, [*API_ROLES, *deciders])
    for index, party in enumerate(cov.parties):
        where = ("parties", index)
        if party.id in roles - set(party.roles):
            problems.append(
                doc.problem(
                    (*where, "id"),
                    f"party id {party.id!r} is also another party's role; "
                    "rules naming it are ambiguous",
                    warning=True,
                )
            )
        if not party.has_keys and (party.id in must_call | may_call or cov.require_signatures):
            why = "must sign the covenant" if cov.require_signatures else "uses the API"
            problems.append(
                doc.problem(
                    where,
                    f"party {party.id!r} {why} but has no jwks, jwks_file or jwks_uri",
                    warning=party.id not in must_call and not cov.require_signatures,
                )
            )
        problems += _check_keys(doc, where, party, require_keys)
    return problems


def _check_keys(
    doc: SourceDocument,
    where: tuple[str | int, ...],
    party: Party,
    require_keys: bool,
) -> list[Finding]:
    if party.jwks_file is not None and not party.jwks_file.exists():
        if not require_keys:
            return []
        return [doc.problem((*where, "jwks_file"), f"trust file {party.jwks_file} is missing")]
    try:
        document = party.jwks_document()
    except TrustStoreError as error:
        return [doc.problem((*where, "jwks_file"), f"trust file unreadable: {error}")]
    if document is None:
        return []
    try:
        KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as error:
        key = "jwks" if party.jwks is not None else "jwks_file"
        return [doc.problem((*where, key), f"not a usable JWKS ({type(error).__name__}: {error})")]
    return []


def _check_categories(
    doc: SourceDocument,
    cov: Covenant,
    catalogue: Catalogue | None,
) -> list[Finding]:
    problems: list[Finding] = []
    names = {party.id for party in cov.parties} | _roles(cov)
    for index, category in enumerate(cov.categories):
        where: tuple[str | int, ...] = ("categories", index)
        for pos, name in enumerate(category.agreement_required_from):
            if name not in names:
                problems.append(
                    doc.problem(
                        (*where, "agreement_required_from", pos), f"unknown role or party {name!r}"
                    )
                )
        log = category.log_retention
        if (
            category.sensitivity == "strafrechtelijk"
            and log is not None
            and not log.at_least(WJSG_LOG_MINIMUM)
        ):
            problems.append(
                doc.problem(
                    (*where, "log_retention"),
                    f"log_retention {log} is shorter than the Wjsg art. 39j minimum of P4Y",
                )
            )
        if catalogue is None:
            continue
        entry = catalogue.entry(category.id)
        if entry is None:
            problems.append(
                doc.problem((*where, "id"), f"category {category.id!r} is not in the catalogue")
            )
            continue
        extra = sorted(set(category.fields) - set(entry.fields))
        if extra:
            problems.append(
                doc.problem(
                    (*where, "fields"),
                    f"field(s) {', '.join(extra)} not in the catalogue for {category.id!r}",
                )
            )
        if SENSITIVITY_RANK[category.sensitivity] < SENSITIVITY_RANK[entry.sensitivity]:
            problems.append(
                doc.problem(
                    (*where, "sensitivity"),
                    f"sensitivity {category.sensitivity} is lower than the catalogue's "
                    f"{entry.sensitivity} for {category.id!r}",
                )
            )
    if any(c.sensitivity == "strafrechtelijk" for c in cov.categories) and "om" not in _roles(cov):
        problems.append(
            doc.problem(
                ("parties",),
                "no party has role 'om': OvJ consent for strafrechtelijk "
                "categories can never be given",
                warning=True,
            )
        )
    return problems


def _check_grounds(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    """``requires_ground`` entries are known grounds; criminal data comes with motivation codes."""
    problems: list[Finding] = []
    for index, rule in enumerate(cov.rules):
        for pos, requirement in enumerate(rule.requires_ground):
            if not valid_requirement(requirement):
                problems.append(
                    doc.problem(
                        ("rules", index, "requires_ground", pos),
                        f"unknown ground {requirement!r}",
                    )
                )
    criminal = [c.id for c in cov.categories if c.sensitivity == "strafrechtelijk"]
    if criminal and not cov.motivation_codes:
        problems.append(
            doc.problem(
                ("categories",),
                "strafrechtelijk categories but no motivation_codes: a query's motivation "
                "code is then not checked against a list",
                warning=True,
            )
        )
    return problems


def _check_rules(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    problems: list[Finding] = []
    purposes = {purpose.id for purpose in cov.purposes}
    categories = {category.id: category for category in cov.categories}
    for index, rule in enumerate(cov.rules):
        where: tuple[str | int, ...] = ("rules", index)
        if rule.purpose not in purposes:
            problems.append(doc.problem((*where, "purpose"), f"unknown purpose {rule.purpose!r}"))
        for key, names in (("recipients", rule.recipients), ("sources", rule.sources)):
            for pos, name in enumerate(names):
                resolved = _resolve(cov, name)
                if not resolved:
                    problems.append(
                        doc.problem(
                            (*where, key, pos), f"{name!r} is neither a party id nor a role"
                        )
                    )
                if key == "sources":
                    problems += [
                        doc.problem(
                            (*where, key, pos),
                            f"source {party.id!r} has no source "
                            "configuration; nothing can be fetched from it",
                            warning=True,
                        )
                        for party in resolved
                        if party.source is None
                    ]
        known_fields: set[str] = set()
        for pos, category_id in enumerate(rule.categories):
            if category_id in categories:
                known_fields |= set(categories[category_id].fields)
            else:
                problems.append(
                    doc.problem(
                        (*where, "categories", pos),
                        f"category {category_id!r} is not in this covenant",
                    )
                )
        for pos, field in enumerate(rule.fields or ()):
            if field not in known_fields:
                problems.append(
                    doc.problem(
                        (*where, "fields", pos),
                        f"field {field!r} is in none of the rule's categories",
                    )
                )
    for index, party in enumerate(cov.parties):
        if party.source is None or party.source.held_categories is None:
            continue
        key = "queries" if party.source.type == "sql" else "categories"
        problems += [
            doc.problem(
                ("parties", index, "source", key),
                f"source holds {name!r}, which is not a category of this covenant",
            )
            for name in party.source.held_categories
            if name not in categories
        ]
    return problems


def _longer(duration: IsoDuration, limit: IsoDuration) -> bool:
    return not limit.at_least(duration)


def _check_retention(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    """Every retention period, and each category's ``log_retention``, at most P100Y."""
    periods: list[tuple[tuple[str | int, ...], str, IsoDuration]] = [
        (("retention", name), name, getattr(cov.retention, name)) for name in RETENTION_FIELDS
    ]
    periods += [
        (("categories", index, "log_retention"), "log_retention", category.log_retention)
        for index, category in enumerate(cov.categories)
        if category.log_retention is not None
    ]
    return [
        doc.problem(where, f"{name} {period} exceeds the maximum of {RETENTION_MAXIMUM}")
        for where, name, period in periods
        if _longer(period, RETENTION_MAXIMUM)
    ]


def _check_deadlines(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    problems: list[Finding] = []
    for name in ("inzage", "correctie", "verzet"):
        deadline: IsoDuration = getattr(cov.rights, name)
        if _longer(deadline, AVG_ANSWER_MAXIMUM):
            problems.append(
                doc.problem(
                    ("rights", name), f"{name} deadline {deadline} exceeds the AVG art. 12 month"
                )
            )
    extension = cov.rights.extension
    if extension is not None and _longer(extension, AVG_EXTENSION_MAXIMUM):
        problems.append(
            doc.problem(
                ("rights", "extension"), f"extension {extension} exceeds the AVG's two months"
            )
        )
    withheld = cov.rights.withheld_max
    if _longer(withheld, WJSG_LOG_MINIMUM):
        problems.append(
            doc.problem(
                ("rights", "withheld_max"),
                f"withheld_max {withheld} exceeds the Wjsg art. 39j term of P4Y",
            )
        )
    return problems


def _check_sql_queries(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    """An sql source's queries pass the connector's own one-SELECT check (connectors/sql.py).

    The schema only sees that a query starts with SELECT and binds :bsn; a
    second statement or a writing word would otherwise surface only at the
    first query, as an unavailable source.
    """
    return [
        doc.problem(("parties", index, "source", *where), message)
        for index, party in enumerate(cov.parties)
        if isinstance(party.source, SqlSource)
        for where, message in query_problems(party.source)
    ]


def _check_workflow(doc: SourceDocument, cov: Covenant) -> list[Finding]:
    """The optional ZVH workflow blocks: referral roles, the phase machine, subject roles."""
    problems: list[Finding] = []
    for pos, name in enumerate(cov.referral_roles):
        if not _resolve(cov, name):
            problems.append(
                doc.problem(("referral_roles", pos), f"{name!r} is neither a party id nor a role")
            )
    if MAIN_SUBJECT_ROLE not in cov.subject_roles:
        problems.append(
            doc.problem(("subject_roles",), f"subject_roles must include {MAIN_SUBJECT_ROLE!r}")
        )
    for index, rule in enumerate(cov.rules):
        for pos, role in enumerate(rule.subject_roles):
            if role not in cov.subject_roles:
                problems.append(
                    doc.problem(
                        ("rules", index, "subject_roles", pos),
                        f"subject role {role!r} is not in the covenant's subject_roles",
                    )
                )
    machine = cov.phases
    if machine is None:
        problems.append(
            doc.problem(
                ("id",),
                "no phases block: a case may open in any phase and move freely",
                warning=True,
            )
        )
        if cov.referral_roles:
            problems.append(
                doc.problem(
                    ("referral_roles",),
                    "referral_roles needs a phases block with aanmelding in phases.initial",
                )
            )
        return problems
    if cov.referral_roles and REFERRAL_PHASE not in machine.initial:
        problems.append(
            doc.problem(("phases", "initial"), "referral_roles needs aanmelding in phases.initial")
        )
    reachable = _reachable(cov)
    for phase, targets in machine.transitions.items():
        if phase not in reachable:
            problems.append(
                doc.problem(
                    ("phases", "transitions", phase),
                    f"phase {phase!r} cannot be reached from phases.initial",
                    warning=True,
                )
            )
        for target in targets:
            if target != CLOSED and target not in machine.transitions:
                problems.append(
                    doc.problem(
                        ("phases", "transitions", phase),
                        f"a case moved to {target!r} could never move on or close",
                    )
                )
    for phase in machine.initial:
        if phase not in machine.transitions:
            problems.append(
                doc.problem(
                    ("phases", "initial"),
                    f"a case opened in {phase!r} could never move on or close",
                )
            )
    for index, rule in enumerate(cov.rules):
        for pos, phase in enumerate(rule.phases):
            if phase not in reachable:
                problems.append(
                    doc.problem(
                        ("rules", index, "phases", pos),
                        f"no case can be in phase {phase!r} under this covenant's phases",
                        warning=True,
                    )
                )
    return problems


def _reachable(cov: Covenant) -> set[str]:
    """The phases a case can be in: the initial ones and every move from them."""
    assert cov.phases is not None
    seen: set[str] = set()
    todo: list[str] = list(cov.phases.initial)
    while todo:
        phase = todo.pop()
        if phase in seen or phase == CLOSED:
            continue
        seen.add(phase)
        todo.extend(cov.phases.allowed_from(phase))
    return seen
