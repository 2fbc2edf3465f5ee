"""The broker asks whether a query can need a recorded legal ground from an index
(``CompiledCovenant.ground_phases``) instead of walking every grant: the same answer."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from gateway.brokering.broker import _needs_grounds
from gateway.cases.service import Actor, CaseRecord
from gateway.policy import compile_policy, load_policy_dir
from gateway.policy.compiled import CompiledCovenant

REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"
_NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _walked(
    compiled: CompiledCovenant, actor: Actor, case: CaseRecord, categories: Sequence[str]
) -> bool:
    """The former check: every grant walked."""
    wanted = set(categories)
    return any(
        purpose == actor.purpose
        and party == actor.party
        and category in wanted
        and bool(by_phase.get(case.phase))
        for (purpose, party, _source, category), by_phase in compiled.required_grounds.items()
    )


def _case(phase: str) -> CaseRecord:
    return CaseRecord("c-1", "zvh-demo", "p", phase, "open", (), "x", _NOON, _NOON, None, "pseudo")


def _compare(compiled: CompiledCovenant) -> int:
    """Every (purpose, party, phase, categories) the covenant names, and one it does not."""
    keys = [*compiled.required_grounds, ("no-purpose", "no-party", "s", "no-category")]
    purposes = {key[0] for key in keys}
    parties = {key[1] for key in keys}
    categories = sorted({key[3] for key in keys})
    phases = {p for by_phase in compiled.required_grounds.values() for p in by_phase}
    phases |= {"aanmelding", "nazorg", "elders"}
    asked = [[], *([c] for c in categories), categories, categories[:2], categories[-2:]]
    compared = 0
    for purpose, party, phase in itertools.product(purposes, parties, phases):
        actor = Actor(party, "e-1", compiled.covenant.id, purpose)
        for wanted in asked:
            expected = _walked(compiled, actor, _case(phase), wanted)
            assert _needs_grounds(compiled, actor, _case(phase), wanted) == expected
            compared += expected
    return compared


def test_the_index_answers_as_walking_every_grant_for_the_repo_covenants() -> None:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    assert sum(_compare(compiled) for compiled in policy.covenants.values()) > 0


def test_a_phase_whose_ground_set_is_empty_needs_none() -> None:
    policy = compile_policy(load_policy_dir(REPO_POLICIES, require_keys=False))
    compiled = next(c for c in policy.covenants.values() if c.required_grounds)
    grant, by_phase = next(iter(compiled.required_grounds.items()))
    emptied = {**compiled.required_grounds, grant: dict.fromkeys(by_phase, frozenset())}
    changed = replace(compiled, required_grounds=emptied)
    assert grant[3] not in changed.ground_phases.get((grant[0], grant[1]), {}) or any(
        key[:2] == grant[:2] and key[3] == grant[3] and key != grant
        for key in compiled.required_grounds
    )
    _compare(changed)
