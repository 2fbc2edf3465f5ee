"""Which answers of a peer gateway a copy may be kept of (gateway/brokering/copying.py).

Our decision counts a peer's consent as given, so whatever a peer's OvJ decides on
is neither kept nor served from a copy: every category our covenant puts under
consent, and any answer that rested on a peer consent or carried a peer
withholding (the peer's covenant may weigh a category more heavily than ours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from gateway.brokering.copying import peer_decides
from gateway.brokering.results import SourceResult
from gateway.policy import compile_policy, load_policy_dir
from gateway.policy.compiled import CompiledPolicy
from gateway.policy.decision import Decision

POLICIES = Path(__file__).resolve().parents[2] / "policies"
COVENANT = "zvh-demo"


@dataclass(frozen=True)
class _Item:
    """A planned (source, category) as the broker hands it to the copy rules."""

    remote: bool
    decision: Decision | None = None
    consent_id: str | None = None


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return compile_policy(load_policy_dir(POLICIES, require_keys=False))


def _ok(
    category: str, consent_id: str | None = None, withheld_until: date | None = None
) -> SourceResult:
    return SourceResult(
        "zvh-b", category, "ok", "permitted", consent_id, [], withheld_until=withheld_until
    )


def test_a_plain_peer_answer_may_be_kept(policy: CompiledPolicy) -> None:
    assert not peer_decides(policy, COVENANT, _Item(remote=True), _ok("huisvesting"))


def test_what_a_peers_ovj_decides_is_never_kept(policy: CompiledPolicy) -> None:
    peer = _Item(remote=True)
    assert peer_decides(policy, COVENANT, peer, _ok("justitiele_gegevens"))
    down = SourceResult("zvh-b", "justitiele_gegevens", "unavailable", "peer_timeout")
    assert peer_decides(policy, COVENANT, peer, down), "nor served when the peer is down"
    assert peer_decides(policy, COVENANT, peer, _ok("huisvesting", consent_id="oc-peer"))
    withheld = _ok("huisvesting", withheld_until=date(2099, 1, 1))
    assert peer_decides(policy, COVENANT, peer, withheld), "a peer withholding: fail closed"
    assert peer_decides(policy, "no-such-covenant", peer, _ok("huisvesting"))


def test_our_own_sources_follow_our_own_consent_register(policy: CompiledPolicy) -> None:
    own = _Item(remote=False)
    assert not peer_decides(policy, COVENANT, own, _ok("justitiele_gegevens"))
