"""Ids are stored, logged and shown in clear (the case, log details, GET /v1/cases, the annual
report's labels): a region or closure reason holding a BSN is refused, never kept or echoed."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.cases.workflow import CaseAttributes, check_attributes, check_closure
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.problems import Unprocessable, problem_type
from tests.brokering.support import (
    BSN,
    CASUSOVERLEG,
    audit_entries,
    change_covenant,
    is_problem,
    logged_in,
    open_case,
)

WRITTEN = (BSN, f"{BSN[:3]}.{BSN[3:6]}.{BSN[6:]}", f"zvh-{BSN}")


def _refused(answer: Any, written: str) -> None:
    assert answer.status_code == 422, answer.text
    assert is_problem(answer)
    assert answer.json()["type"] == problem_type("unprocessable")
    assert written not in answer.text


@pytest.mark.parametrize("written", WRITTEN)
def test_a_region_holding_a_bsn_is_refused_on_open_and_on_patch(stack: Stack, written: str) -> None:
    gemeente = logged_in(stack, "gemeente-demo")
    body = {
        "convenant": DEMO_COVENANT,
        "purpose": CASUSOVERLEG,
        "subject": {"bsn": BSN},
        "phase": "triage",
        "region": written,
    }
    _refused(gemeente.call("POST", "/v1/cases", body), written)
    opened = gemeente.call("POST", "/v1/cases", {**body, "region": "zvh-noord"})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    _refused(gemeente.call("PATCH", f"/v1/cases/{case_id}", {"region": written}), written)
    listed = gemeente.call("GET", "/v1/cases")
    assert written not in listed.text
    assert written not in str(audit_entries(stack, case_id))


def test_without_a_covenant_list_a_closure_reason_holding_a_bsn_is_refused(stack: Stack) -> None:
    change_covenant(stack, lambda document: document.pop("closure_reasons", None))
    gemeente = logged_in(stack, "gemeente-demo")
    case_id = gemeente.open_case(DEMO_COVENANT, CASUSOVERLEG, BSN, [], "casusoverleg").json()["id"]
    _refused(gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": BSN}), BSN)
    assert gemeente.call("GET", f"/v1/cases/{case_id}").json()["status"] == "open"
    closed = gemeente.call("POST", f"/v1/cases/{case_id}/close", {"reason": "verhuisd"})
    assert closed.status_code == 200, closed.text
    assert BSN not in str(audit_entries(stack, case_id))


def test_the_workflow_checks_refuse_it_for_callers_without_the_api(stack: Stack) -> None:
    """The case service is also driven by the CLI and the desk: the rule holds there too."""
    covenant = stack.runtime.policy.current.covenant(DEMO_COVENANT)
    assert covenant is not None
    with pytest.raises(Unprocessable):
        check_attributes(covenant, CaseAttributes(None, None, BSN))
    legacy = covenant.model_copy(update={"closure_reasons": None})
    with pytest.raises(Unprocessable):
        check_closure(legacy, "casusoverleg", BSN)
    check_closure(legacy, "casusoverleg", "verhuisd")
    check_attributes(covenant, CaseAttributes(None, None, "zvh-noord"))


@pytest.mark.parametrize(
    "record", [f"ggz-a-{BSN}", f"ggz-demo/{BSN}", f"r.{BSN[:3]}.{BSN[3:6]}.{BSN[6:]}"]
)
def test_a_record_id_holding_a_bsn_is_refused_and_never_forwarded(
    stack: Stack, record: str
) -> None:
    """Record ids named in a correctie are stored, logged and sent to the source in clear."""
    gemeente, case_id = open_case(stack)
    body = {
        "type": "correctie",
        "subject": {"bsn": BSN},
        "details": "De diagnose klopt niet.",
        "records": ["ggz-a-1", record],
        "source": "ggz-demo",
        "cases": [case_id],
    }
    _refused(gemeente.call("POST", "/v1/rights-requests", body), record)
    assert stack.sources.source("ggz-demo").rights_requests == []
    assert record not in str(audit_entries(stack, case_id))
    # A long digit run a source minted is its own business: only a BSN is refused.
    taken = gemeente.call(
        "POST", "/v1/rights-requests", {**body, "records": ["ggz-a-1", "ggz-a-123456780"]}
    )
    assert taken.status_code == 201, taken.text
