"""Hostile input on every case, query and consent endpoint: a 4xx problem, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

from gateway.demo.partner_client import PartnerClient
from gateway.demo.stack import Stack
from tests.brokering.support import BSN, MOTIVATION, is_problem, logged_in, open_case

WEIRD_STRINGS = [
    "huisvesting'; DROP TABLE cases;--",
    "' OR 1=1 --",
    "hüisvesting",
    "\u202ehuisvesting",
    "huis\u0000vesting",
    "../../etc/passwd",
    "😀",
    "",
    "a" * 5000,
]


def _refused(response: Any, what: object) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    assert is_problem(response), (what, response.headers.get("content-type"))
    assert "Traceback" not in response.text


def _raw(client: PartnerClient, method: str, path: str, content: bytes) -> Any:
    headers = {**client.headers(), "Content-Type": "application/json"}
    return client.http.request(method, path, content=content, headers=headers)


def _bodies(valid: dict[str, Any], key: str, *, free_text: bool = False) -> list[Any]:
    """The valid body bent every way: wrong types, unknown fields, odd strings.

    A free-text field may hold odd strings, so only its empty and oversized
    values must be refused.
    """
    bent: list[Any] = [
        [],
        "text",
        42,
        None,
        {},
        {**valid, "unexpected": True},
        {**valid, key: None},
        {**valid, key: 12},
        {**valid, key: {"nested": [1, 2]}},
        {**valid, key: [[["deep"]]]},
        {**valid, key: True},
    ]
    strings = ["", "a" * 5000] if free_text else WEIRD_STRINGS
    bent += [{**valid, key: weird} for weird in strings]
    bent += [{**valid, key: [weird]} for weird in WEIRD_STRINGS]
    return bent


def test_hostile_case_bodies(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    valid_case = {
        "convenant": "zvh-demo",
        "purpose": "pga-casusoverleg",
        "subject": {"bsn": BSN},
        "participants": ["politie-demo"],
        "phase": "triage",
    }
    for key in ("convenant", "purpose", "subject", "participants", "phase"):
        for body in _bodies(valid_case, key):
            _refused(gemeente.call("POST", "/v1/cases", body), body)
    for bsn in (999990007, "999990007 ", "９９９９９０００７", "' OR 1=1", None, ["999990007"]):
        body = {**valid_case, "subject": {"bsn": bsn}}
        _refused(gemeente.call("POST", "/v1/cases", body), bsn)
    body = {**valid_case, "subject": {"bsn": BSN, "naam": "x"}}
    _refused(gemeente.call("POST", "/v1/cases", body), "subject extra")
    body = {**valid_case, "participants": [f"p{i}" for i in range(10_000)]}
    _refused(gemeente.call("POST", "/v1/cases", body), "many participants")
    for body in _bodies({"party": "ggz-demo"}, "party"):
        _refused(gemeente.call("POST", f"/v1/cases/{case_id}/participants", body), body)
    for body in _bodies({"phase": "nazorg"}, "phase"):
        _refused(gemeente.call("PATCH", f"/v1/cases/{case_id}", body), body)


def test_hostile_query_bodies(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    path = f"/v1/cases/{case_id}/queries"
    for key in ("categories", "sources"):
        for body in _bodies({"categories": ["huisvesting"], "sources": ["ggz-demo"]}, key):
            if body == {"categories": ["huisvesting"], "sources": None}:
                continue  # sources is optional: null means "every holder"
            _refused(gemeente.call("POST", path, body), body)
    many = {"categories": [f"c{i}" for i in range(10_000)]}
    _refused(gemeente.call("POST", path, many), "10k categories")
    _refused(gemeente.call("POST", path, {"categories": []}), "no categories")
    assert stack.sources.source("ggz-demo").last_traceparent is None


def test_malformed_and_oversized_bodies(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    targets = [
        ("POST", "/v1/cases"),
        ("POST", f"/v1/cases/{case_id}/participants"),
        ("PATCH", f"/v1/cases/{case_id}"),
        ("POST", f"/v1/cases/{case_id}/queries"),
    ]
    om = logged_in(stack, "om-demo")
    consent_targets = [
        ("POST", "/v1/consents/oc-00000000000000000000/decision"),
        ("POST", "/v1/consents/oc-00000000000000000000/revoke"),
    ]
    payloads = [
        b"{",
        b'{"categories": ["huisvesting"]',
        b"\xff\xfe\x00garbage",
        b"null",
        b'{"a": ' * 2000 + b"1" + b"}" * 2000,
        json.dumps({"categories": ["x" * 10] * 200_000}).encode(),
    ]
    for client, where in ((gemeente, targets), (om, consent_targets)):
        for method, path in where:
            for payload in payloads:
                _refused(_raw(client, method, path, payload), (path, payload[:20]))


def test_path_traversal_and_odd_ids(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    om = logged_in(stack, "om-demo")
    odd_ids = [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2f",
        "c-' OR '1'='1",
        "c-%00",
        "c-" + "a" * 500,
        case_id.upper(),
        case_id + "%0a",
        "%F0%9F%98%80",
    ]
    for odd in odd_ids:
        _refused(gemeente.call("GET", f"/v1/cases/{odd}"), odd)
        _refused(gemeente.call("POST", f"/v1/cases/{odd}/close"), odd)
        query = gemeente.call("POST", f"/v1/cases/{odd}/queries", {"categories": ["huisvesting"]})
        _refused(query, odd)
        decision = {"decision": "granted", "valid_until": "2027-01-01", "reason": "x"}
        _refused(om.call("POST", f"/v1/consents/{odd}/decision", decision), odd)
        _refused(om.call("GET", f"/v1/consents/{odd}"), odd)


def test_hostile_consent_bodies(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    asked = gemeente.query(case_id, ["justitiele_gegevens"], motivation=MOTIVATION).json()[
        "results"
    ]
    consent_id = asked[0]["consent_id"]
    om = logged_in(stack, "om-demo")
    path = f"/v1/consents/{consent_id}/decision"
    valid = {
        "decision": "granted",
        "valid_until": "2027-01-01",
        "reason": "casusoverleg",
        "categories": ["justitiele_gegevens"],
    }
    for key in ("decision", "valid_until", "reason", "categories", "recipients"):
        for body in _bodies(valid, key, free_text=key == "reason"):
            if key == "recipients" and body == {**valid, key: None}:
                continue  # optional: null means "as asked" (categories must be named)
            _refused(om.call("POST", path, body), body)
    for valid_until in ("1999-01-01", "2999-01-01", "2027-02-30", "morgen"):
        _refused(om.call("POST", path, {**valid, "valid_until": valid_until}), valid_until)
    wider = {**valid, "categories": ["huisvesting"]}
    _refused(om.call("POST", path, wider), "wider grant")
    _refused(gemeente.call("POST", path, valid), "not om")
    _refused(om.call("GET", "/v1/consents?status=' OR 1=1"), "status filter")
    _refused(om.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": ""}), "revoke")
    still = om.call("GET", f"/v1/consents/{consent_id}")
    assert still.status_code == 200
    assert still.json()["status"] == "pending"
    for odd in WEIRD_STRINGS[:-2]:
        if odd:
            answer = om.call("POST", f"/v1/consents/{consent_id}/revoke", {"reason": odd})
            expected = 422 if "\u0000" in odd else 409  # only a granted consent is revoked
            assert answer.status_code == expected, (odd, answer.status_code)
    nul = om.call("POST", path, {**valid, "reason": "stil\u0000staan"})
    _refused(nul, "NUL in free text")
    weird = {**valid, "reason": "' OR 1=1; -- \u202e😀 ü"}
    granted = om.call("POST", path, weird)
    assert granted.status_code == 200, granted.text
    assert granted.json()["reason"] == weird["reason"]
