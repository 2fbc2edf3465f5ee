"""Purpose binding at the token endpoint: one covenant, one purpose, both real and active."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.auth.conftest import token_request
from tests.auth.partners import Partner


@pytest.mark.parametrize(
    "scope",
    [
        "convenant:kv-test purpose:triage purpose:overleg",
        "convenant:kv-test convenant:kv-oud purpose:triage",
        "convenant:kv-test",
        "purpose:triage",
        "convenant:kv-test purpose:triage admin",
        "convenant: purpose:triage",
        "",
        None,
    ],
)
def test_scope_needs_exactly_one_covenant_and_one_purpose(
    client: TestClient, partners: dict[str, Partner], scope: str | None
) -> None:
    response = token_request(client, partners["politie-t"].assertion(), scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_second_purpose_needs_its_own_token(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    response = token_request(
        client, partners["politie-t"].assertion(), "purpose:overleg convenant:kv-test"
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "purpose:overleg convenant:kv-test"


def test_unknown_purpose(client: TestClient, partners: dict[str, Partner]) -> None:
    response = token_request(
        client, partners["politie-t"].assertion(), "convenant:kv-test purpose:opsporing"
    )
    assert response.json()["error"] == "invalid_scope"


def test_unknown_covenant(client: TestClient, partners: dict[str, Partner]) -> None:
    response = token_request(
        client, partners["politie-t"].assertion(), "convenant:kv-nergens purpose:triage"
    )
    assert response.json()["error"] == "invalid_scope"


def test_inactive_covenant(client: TestClient, partners: dict[str, Partner]) -> None:
    response = token_request(
        client, partners["politie-t"].assertion(), "convenant:kv-oud purpose:triage"
    )
    assert response.json()["error"] == "invalid_client"
    assert "not active" in response.json()["error_description"]


def test_party_of_another_covenant_only(client: TestClient, partners: dict[str, Partner]) -> None:
    response = token_request(client, partners["buiten-t"].assertion())
    assert response.json()["error"] == "invalid_client"
    assert "not a party" in response.json()["error_description"]


def test_scope_failure_still_spends_the_assertion(
    client: TestClient, partners: dict[str, Partner]
) -> None:
    assertion = partners["politie-t"].assertion()
    token_request(client, assertion, "convenant:kv-test purpose:opsporing")
    assert token_request(client, assertion).json()["error"] == "invalid_client"
