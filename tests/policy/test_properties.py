"""The compiled evaluator agrees with the literal reading of POLICY.md on random covenants."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy import PHASES, CaseView, Covenant, Decider, DecisionRequest, Outcome, decide
from gateway.policy.compiled import CompiledPolicy
from tests.policy.naive import naive_decide

PARTY_IDS = ["p0", "p1", "p2", "p3"]
ROLES = ["r0", "r1", "r2"]
CATEGORY_IDS = ["c0", "c1", "c2", "c3"]
FIELDS = ["f0", "f1", "f2", "f3"]
PURPOSES = ["u0", "u1"]
COVENANT_IDS = ["k0", "k1"]
BASE = date(2026, 6, 1)

names = st.sampled_from([*PARTY_IDS, *ROLES, "zz"])
days = st.integers(min_value=-400, max_value=400).map(lambda n: BASE + timedelta(days=n))


def _subset(pool: list[str], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=min_size, max_size=len(pool), unique=True)


parties = st.lists(
    st.fixed_dictionaries({"name": st.just("Partij"), "roles": _subset(ROLES, 1)}),
    min_size=1,
    max_size=len(PARTY_IDS),
).map(lambda items: [dict(item, id=PARTY_IDS[i]) for i, item in enumerate(items)])

categories = _subset(CATEGORY_IDS, 1).flatmap(
    lambda ids: st.tuples(
        *[
            st.fixed_dictionaries(
                {
                    "id": st.just(cat_id),
                    "sensitivity": st.sampled_from(["gewoon", "bijzonder", "strafrechtelijk"]),
                    "fields": _subset(FIELDS, 1),
                }
            )
            for cat_id in ids
        ]
    ).map(list)
)

rules = st.lists(
    st.fixed_dictionaries(
        {
            "purpose": st.sampled_from([*PURPOSES, "u9"]),
            "phases": st.lists(st.sampled_from(PHASES), max_size=3, unique=True),
            "recipients": st.lists(names, min_size=1, max_size=3, unique=True),
            "sources": st.lists(names, min_size=1, max_size=3, unique=True),
            "categories": _subset([*CATEGORY_IDS, "c9"], 1),
        },
        optional={"fields": _subset([*FIELDS, "f9"], 1)},
    ),
    max_size=6,
)


@st.composite
def covenants(draw: st.DrawFn, covenant_id: str) -> Covenant:
    start = draw(days)
    document: dict[str, Any] = {
        "id": covenant_id,
        "title": "Willekeurig convenant",
        "valid_from": start,
        "valid_until": start + timedelta(days=draw(st.integers(0, 500) | st.just(-1))),
        "controller": "p0",
        "parties": draw(parties),
        "case_opening_roles": ["r0"],
        "categories": draw(categories),
        "purposes": [
            {"id": p, "description": "doel", "legal_basis": "AVG"}
            for p in draw(_subset(PURPOSES, 1))
        ],
        "rules": draw(rules),
        "retention": {
            "case_after_close": "P2Y",
            "after_last_contact": "P5Y",
            "copies": "P30D",
            "consent_max": "P1Y",
        },
        "rights": {"inzage": "P1M", "correctie": "P14D", "verzet": "P28D"},
        "signatures_ok": draw(st.sampled_from([True, True, True, False])),
    }
    return Covenant.model_validate(document)


policies = st.lists(st.sampled_from(COVENANT_IDS), min_size=1, max_size=2, unique=True).flatmap(
    lambda ids: st.tuples(*[covenants(covenant_id) for covenant_id in ids])
)

parties_or_strangers = st.sampled_from([*PARTY_IDS, "p9"])
requests = st.builds(
    DecisionRequest,
    token_covenant=st.sampled_from([*COVENANT_IDS, "k9"]),
    token_purpose=st.sampled_from([*PURPOSES, "u9"]),
    requester_party=parties_or_strangers,
    case=st.builds(
        CaseView,
        convenant=st.sampled_from([*COVENANT_IDS, "k9"]),
        purpose=st.sampled_from([*PURPOSES, "u9"]),
        phase=st.sampled_from(PHASES),
        status=st.sampled_from(["open", "open", "closed"]),
        participants=st.frozensets(parties_or_strangers),
    ),
    source_party=parties_or_strangers,
    category=st.sampled_from([*CATEGORY_IDS, "c9"]),
    has_covering_consent=st.booleans(),
    objection_active=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(policy=policies, today=days, batch=st.lists(requests, min_size=1, max_size=20))
def test_compiled_decision_equals_naive_reading(
    policy: tuple[Covenant, ...],
    today: date,
    batch: list[DecisionRequest],
) -> None:
    compiled = CompiledPolicy(policy)
    by_id = {covenant.id: covenant for covenant in policy}
    for req in batch:
        decision = decide(compiled, today, req)
        got = (decision.outcome.value, decision.reason.value, decision.fields, decision.sensitivity)
        assert got == naive_decide(by_id, today, req), req


def _members(covenant: Covenant, names: tuple[str, ...]) -> list[str]:
    return [p.id for p in covenant.parties if p.id in names or set(p.roles) & set(names)]


@settings(max_examples=200, deadline=None)
@given(policy=policies, req=requests, data=st.data())
def test_requests_built_from_a_rule_agree_too(
    policy: tuple[Covenant, ...],
    req: DecisionRequest,
    data: st.DataObject,
) -> None:
    """Random requests mostly fail early; start from a rule so the later steps get exercised."""
    covenant = policy[0]
    today = covenant.valid_from
    purpose = covenant.purposes[0].id
    requester, source, category, phase = (
        req.requester_party,
        req.source_party,
        req.category,
        req.case.phase,
    )
    if covenant.rules:
        rule = data.draw(st.sampled_from(covenant.rules))
        purpose = rule.purpose
        recipients, sources = _members(covenant, rule.recipients), _members(covenant, rule.sources)
        requester = data.draw(st.sampled_from(recipients)) if recipients else requester
        source = data.draw(st.sampled_from(sources)) if sources else source
        category = data.draw(st.sampled_from(rule.categories))
        phase = data.draw(st.sampled_from(rule.phases)) if rule.phases else phase
    aligned = DecisionRequest(
        token_covenant=covenant.id,
        token_purpose=purpose,
        requester_party=requester,
        case=CaseView(covenant.id, purpose, phase, "open", req.case.participants | {requester}),
        source_party=source,
        category=category,
        has_covering_consent=req.has_covering_consent,
        objection_active=req.objection_active,
    )
    decision = decide(CompiledPolicy(policy), today, aligned)
    got = (decision.outcome.value, decision.reason.value, decision.fields, decision.sensitivity)
    assert got == naive_decide({c.id: c for c in policy}, today, aligned)


pairs = st.lists(
    st.tuples(
        parties_or_strangers,
        st.sampled_from([*CATEGORY_IDS, "c9"]),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(policy=policies, today=days, req=requests, batch=pairs, data=st.data())
def test_one_decider_for_a_whole_query_agrees_pair_by_pair(
    policy: tuple[Covenant, ...],
    today: date,
    req: DecisionRequest,
    batch: list[tuple[str, str, bool, bool]],
    data: st.DataObject,
) -> None:
    """The broker makes one Decider per query and asks it for every (source, category):
    the case-level checks it makes once, and the permits it shares, must give each pair
    what the literal reading (and a fresh ``decide``) gives it alone."""
    if data.draw(st.booleans()):  # often a case the token fits, so later steps run too
        covenant = policy[0]
        purpose = covenant.purposes[0].id
        today = covenant.valid_from
        req = replace(
            req,
            token_covenant=covenant.id,
            token_purpose=purpose,
            case=replace(
                req.case,
                convenant=covenant.id,
                purpose=purpose,
                status="open",
                participants=req.case.participants | {req.requester_party},
            ),
        )
    compiled = CompiledPolicy(policy)
    by_id = {covenant.id: covenant for covenant in policy}
    decider = Decider.of_request(compiled, today, req)
    for source, category, consent, objection in batch:
        decision = decider.decide(
            source, category, has_covering_consent=consent, objection_active=objection
        )
        alone = replace(
            req,
            source_party=source,
            category=category,
            has_covering_consent=consent,
            objection_active=objection,
        )
        got = (decision.outcome.value, decision.reason.value, decision.fields, decision.sensitivity)
        assert got == naive_decide(by_id, today, alone), alone
        assert decision == decide(compiled, today, alone)
        assert decision.permitted is (decision.outcome is Outcome.PERMIT)


@settings(max_examples=100, deadline=None)
@given(policy=policies)
def test_compiled_party_and_category_lookups_are_the_covenants(
    policy: tuple[Covenant, ...],
) -> None:
    """The per-id indexes answer what ``Covenant.party``/``category`` answer (first of an id)."""
    compiled = CompiledPolicy(policy)
    for covenant in policy:
        for party_id in [*PARTY_IDS, "p9"]:
            assert compiled.party(covenant.id, party_id) is covenant.party(party_id)
        for category_id in [*CATEGORY_IDS, "c9"]:
            assert compiled.category(covenant.id, category_id) is covenant.category(category_id)
    assert compiled.party("k9", "p0") is None
    assert compiled.category("k9", "c0") is None
