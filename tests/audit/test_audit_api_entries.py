"""``/v1/audit/entries`` for the privacy officer: auth, BSN search (POST), pages, erasure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.api import audit as audit_api
from gateway.app import create_app
from gateway.audit.erasure import erase_subject
from gateway.audit.officer import Reader
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.subjects.bsn import Bsn
from tests.audit.conftest import event

BSN = "999990019"
OFFICER = Reader(party="fg-demo", employee="fg-1", covenants=("zvh-demo",), channel="api")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.build(settings)
    runtime.keys.ensure()
    yield runtime
    runtime.close()


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(settings, runtime)
    with TestClient(app) as test_client:
        yield test_client


def _as_officer(client: TestClient) -> None:
    client.app.dependency_overrides[audit_api.privacy_officer] = lambda: OFFICER  # type: ignore[attr-defined]


def test_entries_need_a_privacy_officer_token(client: TestClient) -> None:
    response = client.get("/v1/audit/entries")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_search_by_bsn_pages_and_erasure(client: TestClient, runtime: Runtime) -> None:
    pseudonym = runtime.pseudonymizer.pseudonym(Bsn(BSN))
    runtime.audit.append_sync(
        [event(n, subject_pseudonym=pseudonym if n % 3 == 0 else "c" * 64) for n in range(30)]
    )
    _as_officer(client)
    seen: list[int] = []
    params: dict[str, str | int] = {"subject_bsn": BSN, "limit": 4}
    while True:
        response = client.post("/v1/audit/entries/search", json=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert BSN not in response.text
        for entry in body["entries"]:
            assert entry["subject"] == pseudonym
            for name in (
                "seq",
                "time",
                "kind",
                "party",
                "employee",
                "purpose",
                "case",
                "source",
                "category",
                "outcome",
                "reason",
                "trace_id",
                "span_id",
                "covenant_version",
                "processing_activity",
                "leaf_hash",
            ):
                assert name in entry
        seen.extend(entry["seq"] for entry in body["entries"])
        if body["next"] is None:
            break
        params["cursor"] = body["next"]
    assert seen == [27, 24, 21, 18, 15, 12, 9, 6, 3, 0]

    erase_subject(runtime.db, pseudonym)
    after = client.post("/v1/audit/entries/search", json={"subject_bsn": BSN}).json()
    assert after == {"entries": [], "next": None}
    by_case = client.get("/v1/audit/entries", params={"case": "c-0", "limit": 500}).json()
    erased = [e for e in by_case["entries"] if e["seq"] % 3 == 0]
    assert erased and {e["subject"] for e in erased} == {"erased"}


def test_bad_query_values_are_problems_without_echo(client: TestClient) -> None:
    _as_officer(client)
    bad_bsn = client.post("/v1/audit/entries/search", json={"subject_bsn": "123456789"})
    assert bad_bsn.status_code == 422
    assert "123456789" not in bad_bsn.text
    in_url = client.get("/v1/audit/entries", params={"subject_bsn": BSN})
    assert in_url.status_code == 422 and BSN not in in_url.text
    assert client.get("/v1/audit/entries", params={"cursor": "zzz"}).status_code == 422
    assert client.get("/v1/audit/entries", params={"limit": 0}).status_code == 422


def test_checkpoints_from_the_key_store_verify_with_the_served_jwks(
    client: TestClient, runtime: Runtime
) -> None:
    from gateway.audit.core.checkpoint_format import Checkpoint, verify_checkpoint

    runtime.audit.append_sync([event(1)])
    runtime.audit.checkpoint_now()
    head = Checkpoint.from_json(client.get("/v1/audit/checkpoint").json())
    verify_checkpoint(head, client.get("/v1/audit/jwks").json())
    assert head.kid == runtime.keys.current("audit").kid
