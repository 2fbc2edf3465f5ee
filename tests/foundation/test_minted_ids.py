"""Every id the gateway mints is free of BSN-looking digits (a peer refuses such an id).

Found by the two-region rights tests failing about one run in five: a rights
request id like ``rr-5b999990019...`` drawn from random hex held an 11-proof
run of nine digits, so the peer refused the forward (422) or A refused the
peer's receipt (``peer_malformed``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from gateway.audit.subject_keys import new_key_id
from gateway.brokering.broker import new_query_id
from gateway.cases.models import new_case_id
from gateway.consent.models import new_consent_id
from gateway.grounds.models import new_ground_id
from gateway.rights.models import new_request_id
from gateway.subjects.bsn import holds_bsn

MINTERS: dict[str, Callable[[], str]] = {
    "rights request": new_request_id,
    "query": new_query_id,
    "case": new_case_id,
    "consent": new_consent_id,
    "ground": new_ground_id,
    "data key": new_key_id,
}
BSN_IN_HEX = "00999990019ab"  # 999990019 passes the 11-proof (a test BSN)


@pytest.fixture
def first_draw_holds_a_bsn(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The first random draw of each kind holds a BSN; later draws are real."""
    real_hex, real_choice = secrets.token_hex, secrets.choice
    hex_draws: list[int] = []
    choice_draws: list[int] = []

    def token_hex(nbytes: int | None = None) -> str:
        hex_draws.append(1)
        if len(hex_draws) == 1:
            return (BSN_IN_HEX + "a" * 64)[: 2 * (nbytes or 32)]
        return real_hex(nbytes)

    planted = iter("999990019")

    def choice(seq: str) -> str:
        choice_draws.append(1)
        if len(choice_draws) <= 9:
            return next(planted)
        return real_choice(seq)

    monkeypatch.setattr(secrets, "token_hex", token_hex)
    monkeypatch.setattr(secrets, "choice", choice)
    yield


@pytest.mark.parametrize("kind", sorted(MINTERS))
def test_an_id_whose_draw_holds_a_bsn_is_drawn_again(
    kind: str, first_draw_holds_a_bsn: None
) -> None:
    minted = MINTERS[kind]()
    assert not holds_bsn(minted), minted


@pytest.mark.parametrize("kind", sorted(MINTERS))
def test_many_ids_hold_no_bsn(kind: str) -> None:
    """With ~2 % of raw hex draws holding one, 5,000 ids would show it at once."""
    minted = [MINTERS[kind]() for _ in range(5_000)]
    assert not [value for value in minted if holds_bsn(value)]
    assert len(set(minted)) == len(minted)
