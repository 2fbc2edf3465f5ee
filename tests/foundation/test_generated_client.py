"""A partner can generate a client from ``/openapi.json`` and use it: open a case, run a query.

``openapi-python-client`` (a real generator, as a partner would run it) builds a
typed client from the document a running stack serves; the generated code then
talks to that stack over HTTP with a token from the real token endpoint. Every
response having a schema is what makes the typed answers possible: the case
and the query come back as generated model classes, not loose dicts.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType

from gateway.auth.dependencies import EMPLOYEE_HEADER
from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.brokering.support import BSN, CASUSOVERLEG, TEAM, logged_in
from tests.support.stack import stack  # noqa: F401  (the shared stack fixture)

PACKAGE = "ketenpoort_generated_client"


@pytest.fixture
def generated(stack: Stack, tmp_path: Path) -> Iterator[Any]:  # noqa: F811
    document = tmp_path / "openapi.json"
    response = httpx.get(stack.base_url + "/openapi.json", timeout=30)
    assert response.status_code == 200
    document.write_bytes(response.content)
    config = Config.from_sources(
        ConfigFile(post_hooks=[], package_name_override=PACKAGE, project_name_override=PACKAGE),
        MetaType.NONE,
        document,
        "utf-8",
        True,
        tmp_path / PACKAGE,
    )
    problems = generate(config=config)
    assert not problems, [f"{p.header}: {p.detail}" for p in problems]
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _phase_enum(models: Any) -> Any:
    """The generated enum of ``CaseIn.phase`` (named ``CaseInPhase…`` by the generator)."""
    (name,) = [n for n in dir(models) if n.startswith("CaseInPhase")]
    return getattr(models, name)


def test_a_generated_client_opens_a_case_and_runs_a_query(stack: Stack, generated: Any) -> None:  # noqa: F811
    token = logged_in(stack, "gemeente-demo", CASUSOVERLEG).login(DEMO_COVENANT, CASUSOVERLEG)
    client_module = importlib.import_module(PACKAGE + ".client")
    models = importlib.import_module(PACKAGE + ".models")
    open_case = importlib.import_module(PACKAGE + ".api.cases.open_case_v1_cases_post")
    query_case = importlib.import_module(
        PACKAGE + ".api.cases.query_case_v1_cases_case_id_queries_post"
    )

    client = client_module.AuthenticatedClient(
        base_url=stack.base_url, token=token, headers={EMPLOYEE_HEADER: "mw.jansen"}
    )
    with client as api:
        body = models.CaseIn(
            convenant=DEMO_COVENANT,
            purpose=CASUSOVERLEG,
            subject=models.SubjectIn(bsn=BSN),
            participants=TEAM,
            phase=_phase_enum(models).CASUSOVERLEG,
        )
        opened = open_case.sync_detailed(client=api, body=body)
        assert opened.status_code == 201, opened.content
        case = opened.parsed
        assert isinstance(case, models.CaseOut)
        assert case.id.startswith("c-")
        assert BSN not in opened.content.decode()

        answered = query_case.sync_detailed(
            case.id, client=api, body=models.QueryIn(categories=["huisvesting"])
        )
        assert answered.status_code == 200, answered.content
        outcome = answered.parsed
        assert isinstance(outcome, models.QueryOut)
        assert outcome.results, "one result per source of the category"
        assert all(isinstance(r, models.SourceResultOut) for r in outcome.results)
        disclosed = [r for r in outcome.results if r.status == "ok"]
        assert disclosed and all(r.category == "huisvesting" for r in disclosed)

        refused = query_case.sync_detailed(
            "c-" + "0" * 20, client=api, body=models.QueryIn(categories=["huisvesting"])
        )
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
