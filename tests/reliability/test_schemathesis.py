"""Fuzz every operation of the OpenAPI spec: no 5xx, every error is problem+json.

Every answer must also match what the spec declares for its status (the
response models of gateway/api/schemas and the problem+json of errors).

Bounded: a few examples per operation (hypothesis settings below), each sent
over real HTTP to a running stack with a partner token, so requests reach the
handlers rather than stopping at authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from gateway.cli.serve import prepare
from gateway.demo.stack import DEMO_COVENANT, Stack, start_stack
from gateway.storage import migrate
from tests.reliability.conftest import REPO_POLICIES
from tests.reliability.support import PURPOSE

pytestmark = pytest.mark.slow
# RFC 6749 §5.2: the token endpoint answers errors as OAuth JSON, not problem+json.
OAUTH_JSON = {"/oauth/token"}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'ketenpoort.db'}"
    migrate.upgrade(url)
    with start_stack(
        prepare=prepare,
        database_url=url,
        key_dir=tmp / "keys",
        policy_dir=REPO_POLICIES,
        workdir=tmp,
        delays={},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(fuzz_stack: Stack) -> BaseSchema:
    return schemathesis.openapi.from_dict(fuzz_stack.app.openapi())


@pytest.fixture(scope="module")
def auth_headers(fuzz_stack: Stack) -> dict[str, str]:
    client = fuzz_stack.client("gemeente-demo")
    client.login(DEMO_COVENANT, PURPOSE)
    return client.headers()


def _check(case: Case[Any], base_url: str, headers: dict[str, str]) -> None:
    response = case.call(base_url=base_url, headers=headers, timeout=10)
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:200]}"
    if response.status_code >= 400 and case.path not in OAUTH_JSON:
        value = str(response.headers.get("content-type", ""))
        assert "application/problem+json" in value, f"{where} -> {response.status_code}: {value}"
    case.validate_response(response, checks=[content_type_conformance, response_schema_conformance])


def test_no_5xx_and_errors_are_problems(
    api_schema: BaseSchema, fuzz_stack: Stack, auth_headers: dict[str, str]
) -> None:
    operations = [
        result.ok() for result in api_schema.get_all_operations() if isinstance(result, Ok)
    ]
    assert len(operations) > 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Case[Any]) -> None:
            _check(case, fuzz_stack.base_url, auth_headers)

        fuzz()


def test_schema_covers_the_query_route(api_schema: BaseSchema) -> None:
    assert "/v1/cases/{case_id}/queries" in api_schema.raw_schema["paths"]
