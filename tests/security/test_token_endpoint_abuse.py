"""The token endpoint under abuse: lock-out floods, spoofed proxy headers, denials in the log.

Every test runs the real demo stack over loopback HTTP (see tests/security/conftest.py);
partners sign with their real registered keys, attackers with keys nobody registered.
"""

from __future__ import annotations

import httpx

from gateway.demo.stack import Stack
from tests.security.authsession_support import (
    SCOPE,
    auth_entries,
    junk_assertion,
    post_token,
    proxied_stack,
    raw_auth_bodies,
)

__all__ = ["proxied_stack"]  # the fixture, imported for pytest

POLITIE = "politie-demo"


def _http(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.base_url, timeout=10)


def test_junk_flood_under_a_partners_id_does_not_lock_the_partner_out(
    proxied_stack: Stack,
) -> None:
    """Promise 1, partner authentication (issue item 3): strangers who send junk assertions
    with ``sub=<partner>`` from behind the same reverse proxy must not get the real partner
    refused; its correctly signed assertion still gets a token."""
    stack = proxied_stack
    with _http(stack) as http:
        for _ in range(12):
            junk = post_token(http, junk_assertion(stack.base_url, POLITIE))
            assert junk.status_code in (400, 429)
        assert junk.status_code == 429, "the flood itself is throttled"
        partner = stack.client(POLITIE).request_token("zvh-demo", "pga-casusoverleg")
        assert partner.status_code == 200, partner.text
        assert partner.json()["token_type"].lower() == "bearer"


def test_junk_is_throttled_per_real_client_address(proxied_stack: Stack) -> None:
    """Promise 1, partner authentication (item 3): behind a trusted proxy the client is the
    X-Forwarded-For address; one address flooding (under changing made-up ids) is throttled,
    another address is not."""
    stack = proxied_stack
    with _http(stack) as http:
        # The client itself may prepend made-up hops; the proxy appends the real peer,
        # and the right-most address that is not a trusted proxy is the one that counts.
        codes = [
            post_token(
                http,
                junk_assertion(stack.base_url, f"nobody-{n}"),
                forwarded_for=f"192.0.2.{n + 1}, 203.0.113.7",
            ).status_code
            for n in range(8)
        ]
        assert codes[:5] == [400] * 5, "invalid_client (RFC 6749 §5.2)"
        assert codes[5:] == [429] * 3
        throttled = post_token(
            http, junk_assertion(stack.base_url, "x"), forwarded_for="203.0.113.7"
        )
        assert int(throttled.headers["retry-after"]) >= 1
        assert throttled.json()["error"] == "invalid_client"
        elsewhere = post_token(
            http, junk_assertion(stack.base_url, "nobody-9"), forwarded_for="198.51.100.23"
        )
        assert elsewhere.status_code == 400
        assert elsewhere.json()["error"] == "invalid_client"


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(stack: Stack) -> None:
    """Promise 1, partner authentication (item 3): without a configured trusted proxy a
    client cannot dodge the per-address throttle by writing a fresh X-Forwarded-For (or a
    fresh made-up client id) into every request."""
    with _http(stack) as http:
        codes = [
            post_token(
                http,
                junk_assertion(stack.base_url, f"nobody-{n}"),
                forwarded_for=f"192.0.2.{n + 1}",
            ).status_code
            for n in range(8)
        ]
    assert codes[:5] == [400] * 5, "invalid_client (RFC 6749 §5.2)"
    assert codes[5:] == [429] * 3


def test_a_global_budget_caps_junk_from_many_addresses(proxied_stack: Stack) -> None:
    """Promise 1, partner authentication (item 3): junk spread over many addresses is capped
    for the endpoint as a whole, yet a partner's signed assertion still gets its token."""
    stack = proxied_stack
    with _http(stack) as http:
        for n in range(100):
            address = f"10.{n // 250}.{n % 250}.{1 + n % 3}"
            assert post_token(
                http, junk_assertion(stack.base_url, "x"), forwarded_for=address
            ).status_code in (400, 429)
        fresh = post_token(http, junk_assertion(stack.base_url, "x"), forwarded_for="10.9.9.9")
        assert fresh.status_code == 429
        partner = stack.client("ggz-demo").request_token("zvh-demo", "pga-casusoverleg")
        assert partner.status_code == 200, partner.text


def test_contradicting_client_id_is_refused(stack: Stack) -> None:
    """Promise 1, partner authentication (info item): a ``client_id`` form parameter that
    differs from the assertion's iss/sub is refused with invalid_client, not ignored."""
    client = stack.client(POLITIE)
    with _http(stack) as http:
        contradicting = post_token(http, client.assertion(), client_id="ggz-demo")
        assert contradicting.status_code == 400
        assert contradicting.json()["error"] == "invalid_client"
        matching = post_token(http, client.assertion(), client_id=POLITIE)
        assert matching.status_code == 200, matching.text


def test_token_endpoint_denials_are_audited_without_assertion_contents(stack: Stack) -> None:
    """Promise 5, every refusal is logged (item 8): bad signatures, replays and unknown
    scopes each leave an ``auth``/``denied`` audit entry with a reason code; a flood is
    aggregated per (party, reason, minute) with a count; no assertion content is logged."""
    client = stack.client(POLITIE)
    jtis = [f"junk-jti-{n}" for n in range(4)]
    with _http(stack) as http:
        for jti in jtis:
            post_token(http, junk_assertion(stack.base_url, POLITIE, jti=jti))
        signed = client.assertion()
        assert post_token(http, signed).status_code == 200
        replay = post_token(http, signed)
        assert replay.json()["error"] == "invalid_client"
        wrong_scope = post_token(http, client.assertion(), scope="convenant:zvh-demo purpose:x")
        assert wrong_scope.status_code == 400
    entries = auth_entries(stack)
    by_reason: dict[str, int] = {}
    for entry in entries:
        assert entry["kind"] == "auth" and entry["outcome"] == "denied"
        assert entry["party"] == POLITIE
        by_reason[entry["reason"]] = by_reason.get(entry["reason"], 0) + int(
            entry["details"]["count"]
        )
    assert by_reason == {"bad_signature": 4, "replay": 1, "invalid_scope": 1}
    assert len([e for e in entries if e["reason"] == "bad_signature"]) <= 2, "aggregated"
    raw = raw_auth_bodies(stack)
    assert signed not in raw and signed.split(".")[2] not in raw
    assert not any(jti in raw for jti in jtis)


def test_denials_under_made_up_ids_do_not_multiply_entries(stack: Stack) -> None:
    """Promise 5, every refusal is logged (item 8): junk under ever new made-up client ids is
    one aggregated series (party ``-``), so a flood cannot flood the audit log."""
    with _http(stack) as http:
        for n in range(5):
            post_token(http, junk_assertion(stack.base_url, f"made-up-{n}"))
    entries = auth_entries(stack)
    assert {entry["party"] for entry in entries} == {"-"}
    assert sum(int(entry["details"]["count"]) for entry in entries) == 5
    assert len(entries) <= 4
    assert SCOPE not in raw_auth_bodies(stack)
