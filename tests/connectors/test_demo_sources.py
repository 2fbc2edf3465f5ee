"""The demo partners: synthetic people, the Source API app and the runner."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from connectors import LookupRequest, Requester, RestConnector, SourceHttp, SourceUnavailable
from gateway.demo.runner import start_demo_sources
from gateway.demodata.people import (
    CATEGORY_FIELDS,
    DEMO_SOURCE_PARTIES,
    EXTRA_FIELD,
    PARTIES_WITH_EXTRA_FIELD,
    demo_people,
    demo_records,
)
from gateway.subjects.bsn import is_valid_bsn
from tests.connectors.conftest import GatewaySigner, RunningSource

BODY = {
    "subject": {"bsn": "999990007"},
    "categories": ["huisvesting"],
    "convenant": "zvh-demo",
    "purpose": "pga-casusoverleg",
    "case": "c-1",
    "requester": {"party": "gemeente-demo", "employee": "m.jansen"},
}


def test_demo_people_are_synthetic_and_distinct() -> None:
    people = demo_people()
    numbers = [p.bsn.reveal() for p in people]

    assert 8 <= len(people) <= 12
    assert len(set(numbers)) == len(numbers)
    assert all(is_valid_bsn(n) and 999990000 <= int(n) <= 999990099 for n in numbers)
    assert all(n not in repr(p) for n, p in zip(numbers, people, strict=True))


def test_every_demo_source_holds_catalogue_fields_plus_the_deliberate_extra() -> None:
    records = demo_records()

    assert set(records) == set(DEMO_SOURCE_PARTIES)
    for party, held in records.items():
        assert held, party
        assert len({r.id for r in held}) == len(held)
        for record in held:
            extra = set(record.fields) - set(CATEGORY_FIELDS[record.category])
            assert extra == ({EXTRA_FIELD} if party in PARTIES_WITH_EXTRA_FIELD else set())
    assert demo_records() == records  # deterministic across calls


def _token(key: ECKey, issuer: str, audience: str, exp_in: int) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "iat": now, "exp": now + exp_in,
              "jti": uuid.uuid4().hex}  # fmt: skip
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


@pytest.mark.parametrize(
    "case",
    ["missing", "expired", "wrong-issuer", "wrong-audience", "unknown-key", "not-a-jwt"],
)
async def test_source_refuses_bad_tokens(
    case: str, woningcorporatie: RunningSource, signer: GatewaySigner, client: httpx.AsyncClient
) -> None:
    audience = "urn:test:woningcorporatie-demo"
    tokens = {
        "expired": _token(signer.key, signer.issuer, audience, -120),
        "wrong-issuer": _token(signer.key, "http://evil.example", audience, 60),
        "wrong-audience": _token(signer.key, signer.issuer, "urn:test:other", 60),
        "unknown-key": _token(
            ECKey.generate_key("P-256", parameters={"kid": "gw-1"}), signer.issuer, audience, 60
        ),
        "not-a-jwt": "abc.def.ghi",
    }
    headers = {} if case == "missing" else {"Authorization": f"Bearer {tokens[case]}"}

    answer = await client.post(woningcorporatie.base_url + "/lookup", json=BODY, headers=headers)

    assert answer.status_code == 401
    assert "dakloos" not in answer.text


async def test_source_refuses_bad_bodies_without_echoing_them(
    woningcorporatie: RunningSource, signer: GatewaySigner, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {await signer('urn:test:woningcorporatie-demo')}"}
    bad_bsn = {**BODY, "subject": {"bsn": "999990018"}}

    answers = [
        await client.post(woningcorporatie.base_url + "/lookup", json=bad_bsn, headers=headers),
        await client.post(woningcorporatie.base_url + "/lookup", content=b"{", headers=headers),
        await client.post(
            woningcorporatie.base_url + "/lookup", json={**BODY, "categories": []}, headers=headers
        ),
    ]

    assert [a.status_code for a in answers] == [422, 422, 422]
    assert "999990018" not in answers[0].text


async def test_admin_delete_of_unknown_record_is_404(
    woningcorporatie: RunningSource, client: httpx.AsyncClient
) -> None:
    answer = await client.post(woningcorporatie.base_url + "/admin/delete/nope")
    known = await client.post(woningcorporatie.base_url + "/admin/delete/woni-0001")

    assert answer.status_code == 404
    assert known.status_code == 200
    assert known.json() == {"record_id": "woni-0001", "cursor": "1"}


async def test_runner_serves_every_demo_party_over_http(
    gateway_jwks: str, signer: GatewaySigner, sources: SourceHttp
) -> None:
    person = demo_people()[0]
    handle = start_demo_sources(
        {party: 0 for party in DEMO_SOURCE_PARTIES}, gateway_jwks + "/oauth/jwks", delays={}
    )
    try:
        answered = {}
        for party, base_url in handle.base_urls.items():
            connector = RestConnector(base_url, sources, 2.0, signer)
            categories = tuple(sorted({r.category for r in demo_records()[party]}))
            request = LookupRequest(person.bsn, categories, "zvh-demo", "pga-casusoverleg",
                                    "c-1", Requester("gemeente-demo", "m.jansen"))  # fmt: skip
            answered[party] = await connector.lookup(request)
        assert handle.source("gemeente-demo").party_id == "gemeente-demo"
    finally:
        handle.stop()

    assert set(answered) == set(DEMO_SOURCE_PARTIES)
    assert all(result.subject_known and result.records for result in answered.values())
    with pytest.raises(SourceUnavailable) as caught:
        await RestConnector(handle.base_urls["ggz-demo"], sources, 1.0, signer).deletions(None)
    assert caught.value.reason == "connect"


async def test_runner_makes_the_woningcorporatie_slow_by_default(
    gateway_jwks: str, signer: GatewaySigner, sources: SourceHttp
) -> None:
    with start_demo_sources({"woningcorporatie-demo": 0}, gateway_jwks + "/oauth/jwks") as handle:
        url = handle.base_urls["woningcorporatie-demo"]
        request = LookupRequest(demo_people()[0].bsn, ("huisvesting",), "zvh-demo", "p", "c",
                                Requester("gemeente-demo", "e"))  # fmt: skip
        with pytest.raises(SourceUnavailable) as caught:
            await RestConnector(url, sources, 0.3, signer).lookup(request)
        handle.source("woningcorporatie-demo").delay_s = 0.0  # let shutdown be quick

    assert caught.value.reason == "timeout"
