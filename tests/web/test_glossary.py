"""Every code the gateway can emit has a Dutch label in gateway.web.glossary.

The codes are enumerated from the source, not listed by hand: the ``StrEnum``
and ``Literal`` types, the audit kinds, and every string constant the code
passes as an audit ``outcome`` or ``reason`` (keyword or known positional
argument), a problem's ``reason`` extension or stable slug, a connector's
unavailability reason and a retention rule's name. A new code without a label
fails here before it can show up untranslated on a page.
"""

from __future__ import annotations

import ast
import functools
import typing
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest

from gateway.audit.events import KINDS
from gateway.audit.key_events import KeyOutcome
from gateway.brokering.results import Status as SourceStatus
from gateway.cases.workflow import TriageOutcome
from gateway.federation.mirror import MirrorChange
from gateway.policy.decision import Outcome, Reason
from gateway.policy.grounds import GroundKind
from gateway.policy.models import Phase, Sensitivity
from gateway.reports.model import REPORT_KINDS
from gateway.rights.deadlines import RequestType
from gateway.rights.service import RightsDecision
from gateway.web import glossary

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "gateway", ROOT / "connectors"]

# Calls whose string arguments are an outcome or a reason (positional).
REASON_CALLS = {"FilingRefused", "SourceUnavailable", "_Retryable", "refuse"}
# name -> (index of the outcome argument, prefix the outcome gets in the log)
OUTCOME_CALLS = {"SourceResult": (2, ""), "Forwarding": (1, "forward_")}
# rights and consent events: session, policy, view, outcome, ...
EVENT_CALLS = {"_log", "consent_event"}


def _strings(node: ast.AST) -> Iterator[str]:
    """String constants a value can take: a constant or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _is_code(text: str) -> bool:
    return text.replace("_", "").isalpha() and text.islower() and " " not in text


def scanned() -> dict[str, set[str]]:
    """Outcome and reason codes found in the source, by domain."""
    found: dict[str, set[str]] = {"outcome": set(), "reason": set()}
    for base in SOURCES:
        for path in base.rglob("*.py"):
            if path.name == "glossary.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg in ("outcome", "reason"):
                    # free text (a triage's "weging in triage") is shown as written
                    found[node.arg].update(s for s in _strings(node.value) if " " not in s)
                elif isinstance(node, ast.Call):
                    name = _call_name(node)
                    args = [s for arg in node.args for s in _strings(arg)]
                    if name in REASON_CALLS:
                        found["reason"].update(s for s in args if _is_code(s))
                    elif name in OUTCOME_CALLS:
                        index, prefix = OUTCOME_CALLS[name]
                        if len(node.args) > index:
                            found["outcome"].update(prefix + s for s in _strings(node.args[index]))
                        for arg in node.args[index + 1 :]:
                            found["reason"].update(s for s in _strings(arg) if _is_code(s))
                    elif name in EVENT_CALLS and len(node.args) >= 4:
                        found["outcome"].update(_strings(node.args[3]))
                elif isinstance(node, ast.arguments):
                    # a default such as ``outcome: str = "correctie_granted"``
                    named = [*node.posonlyargs, *node.args]
                    for arg, default in zip(
                        named[len(named) - len(node.defaults) :], node.defaults, strict=True
                    ):
                        if arg.arg in ("outcome", "reason"):
                            found[arg.arg].update(s for s in _strings(default) if " " not in s)
                elif isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "reason":
                            found["reason"].update(s for s in _strings(value) if " " not in s)
                elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                    name = target.id if isinstance(target, ast.Name) else ""
                    values = set(_strings(node.value))
                    if name == "slug":  # a refusal falls back to the slug in snake case
                        found["reason"].update(v.replace("-", "_") for v in values)
                    elif name == "reason" or name.endswith("_REASON"):
                        found["reason"].update(values)
                    elif name.endswith("_OUTCOME") or name in ("DENIED", "READ"):
                        found["outcome"].update(values)
                    elif name == "name" and path.parent.name == "retention":
                        found["reason"].update(v for v in values if v)
                    elif name == "_REASONS" and isinstance(node.value, ast.Tuple):
                        for pair in node.value.elts:
                            if isinstance(pair, ast.Tuple):
                                found["reason"].update(_strings(pair.elts[1]))
    return found


def _literal(kind: object) -> set[str]:
    return {str(value) for value in typing.get_args(kind)}


def _enum(kind: type[StrEnum]) -> set[str]:
    return {member.value for member in kind}


@functools.cache
def expected() -> dict[str, set[str]]:
    found = scanned()
    outcomes = found["outcome"] | _enum(Outcome) | _literal(SourceStatus) | _literal(KeyOutcome)
    outcomes |= {"mirror_" + change for change in _literal(MirrorChange)}
    outcomes |= _literal(RightsDecision)
    # ConsentService.record(event=...) and the consent statuses it moves through
    outcomes |= {"created", "widened", "changed", "granted", "refused", "revoked", "expired"}
    forwards = {"forwarded", "failed", "unsupported"}
    reasons = found["reason"] | _enum(Reason) | _literal(SourceStatus)
    reasons |= _literal(GroundKind)  # a ground's audit entry: reason=view.ground
    return {
        "kind": set(KINDS),
        "outcome": outcomes,
        "reason": reasons,
        "phase": _literal(Phase),
        "sensitivity": _literal(Sensitivity),
        "rights_type": _literal(RequestType),
        "rights_status": _literal(RightsDecision) | {"pending"},
        "consent_status": {"pending", "granted", "refused", "revoked", "expired"},
        "forward_status": forwards,
        "triage_outcome": _literal(TriageOutcome),
        "ground_kind": _literal(GroundKind),
        "ground_status": {"active", "expired", "withdrawn"},
        "report_kind": set(REPORT_KINDS),
        **_declared(),
    }


def _declared() -> dict[str, set[str]]:
    """What the shipped covenants declare: case types, closure reasons, motivations, roles."""
    import yaml

    found: dict[str, set[str]] = {
        "case_type": set(),
        "closure_reason": set(),
        "motivation": set(),
        "subject_role": set(),
    }
    keys = {
        "case_types": "case_type",
        "closure_reasons": "closure_reason",
        "motivation_codes": "motivation",
        "subject_roles": "subject_role",
    }
    for path in (ROOT / "policies").glob("*.yaml"):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            for key, domain in keys.items():
                found[domain] |= set(loaded.get(key) or ())
    return found


def test_the_scan_finds_the_codes_named_in_the_issue() -> None:
    """The scanner itself works: it sees codes from several corners of the gateway."""
    codes = expected()
    assert {"pending_consent", "inzage_shown", "forward_forwarded"} <= codes["outcome"]
    assert {"consent_required", "not_participant", "timeout", "not_om"} <= codes["reason"]
    assert {"replay", "case_unknown", "rights_request_refused"} <= codes["reason"]
    assert {"ground_required", "consent_refused", "subject_role"} <= codes["reason"]
    assert {"aanmelding", "uitvoering"} <= codes["phase"]
    assert {"doelen_bereikt"} <= codes["closure_reason"] and {"pga"} <= codes["case_type"]


@pytest.mark.parametrize("domain", sorted(expected()))
def test_every_code_has_a_dutch_label(domain: str) -> None:
    table = glossary.DOMAINS[domain]
    missing = sorted(code for code in expected()[domain] if code not in table)
    assert not missing, f"no Dutch label in glossary.{domain.upper()} for {missing}"


@pytest.mark.parametrize("domain", sorted(glossary.DOMAINS))
def test_labels_are_dutch_words_not_codes(domain: str) -> None:
    for code, text in glossary.DOMAINS[domain].items():
        assert text and text != code and "_" not in text, (domain, code, text)


def test_lookup_falls_back_to_the_code_so_the_browser_suite_catches_it() -> None:
    assert glossary.label("reason", "not_participant") == "Geen deelnemer aan de casus"
    assert glossary.label("outcome", None) == "—"
    assert glossary.label("outcome", "brand_new_code") == "brand_new_code"


def test_the_privacy_outcome_choices_are_real_outcomes() -> None:
    choices = dict(glossary.outcome_choices())
    assert choices["ok"] == "Verstrekt"
    assert "permit" in choices  # the policy decisions are searchable too
    assert set(choices) <= expected()["outcome"]


def _detail_names() -> set[str]:
    """Every name the gateway puts in an audit entry's ``details={...}``."""
    names: set[str] = set()
    for base in SOURCES:
        for path in base.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.keyword)
                    and node.arg == "details"
                    and isinstance(node.value, ast.Dict)
                ):
                    names.update(
                        key.value
                        for key in node.value.keys
                        if isinstance(key, ast.Constant) and isinstance(key.value, str)
                    )
    return names


def test_every_detail_name_has_a_dutch_label() -> None:
    names = _detail_names()
    assert {"channel", "request"} <= names  # the scanner finds the details it must
    missing = sorted(names - set(glossary.DETAIL))
    assert not missing, f"no Dutch label in glossary.DETAIL for {missing}"


def test_every_role_of_the_shipped_covenants_and_logins_has_a_dutch_label() -> None:
    import yaml

    from gateway.web.devidp.users import DEMO_USERS

    roles = {role for user in DEMO_USERS.values() for role in user.roles}
    for path in (ROOT / "policies").glob("*.yaml"):
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            roles |= {r for party in loaded.get("parties", []) for r in party.get("roles", [])}
    assert {"om", "privacy_officer", "procesregie"} <= roles
    missing = sorted(roles - set(glossary.ROLE))
    assert not missing, f"no Dutch label in glossary.ROLE for {missing}"
