"""Every route outside an explicit allow-list needs authentication and the right role."""

from __future__ import annotations

import re

import httpx
from fastapi.routing import iter_route_contexts

from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.reliability.support import BSN, PURPOSE

PUBLIC = {
    "/",  # the Dutch start page: links to the four roles' pages, no data
    "/toegankelijkheid",  # the accessibility statement: public by law
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/static/swagger",  # Swagger UI assets from the packaged copy (dev mode / API_DOCS only)
    "/health/live",
    "/health/ready",
    "/.well-known/oauth-authorization-server",
    "/oauth/jwks",
    "/oauth/token",
    "/v1/audit/jwks",
    "/v1/audit/checkpoint",
    "/v1/audit/proofs/inclusion",
    "/v1/audit/proofs/consistency",
    # Session login and the dev identity provider: how a person gets credentials.
    "/auth/login",
    "/auth/callback",
    "/auth/logout",
    "/auth/whoami",  # tells the session user who they are; anonymous sees "not logged in"
    "/dev-idp/.well-known/openid-configuration",
    "/dev-idp/jwks",
    "/dev-idp/authorize",
    "/dev-idp/token",
    "/static/web",
}
# Bearer routes that need a role (or case participation) the outsider lacks.
ROLE_BOUND = re.compile(r"^/v1/")
# Valid bodies, so a refusal cannot hide behind input validation.
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/v1/cases"): {
        "convenant": DEMO_COVENANT,
        "purpose": PURPOSE,
        "subject": {"bsn": BSN},
        "participants": ["politie-demo"],
        "phase": "casusoverleg",
    },
    ("POST", "/v1/cases/{case_id}/participants"): {"party": "ggz-demo"},
    ("PATCH", "/v1/cases/{case_id}"): {"phase": "plan_van_aanpak"},
    ("POST", "/v1/cases/{case_id}/subjects"): {"bsn": "999990019", "role": "partner"},
    ("POST", "/v1/cases/{case_id}/triage"): {"outcome": "opgepakt", "reason": "inventory"},
    ("POST", "/v1/cases/{case_id}/close"): {"reason": "doelen_bereikt"},
    ("POST", "/v1/cases/{case_id}/queries"): {"categories": ["huisvesting"]},
    ("POST", "/v1/consents/{consent_id}/decision"): {
        "decision": "granted",
        "valid_until": "2027-01-01",
        "reason": "inventory",
        "categories": ["justitiele_gegevens"],
    },
    ("POST", "/v1/rights-requests/{request_id}/decision"): {
        "decision": "refused",
        "reason": "inventory",
    },
    ("POST", "/v1/rights-requests/{request_id}/extend"): {
        "until": "2027-01-01",
        "reason": "inventory",
    },
    ("POST", "/v1/rights-requests/{request_id}/answer"): {"records": []},
    ("POST", "/v1/rights-requests/{request_id}/executed"): {},
    ("POST", "/v1/withholdings"): {
        "case": "{case_id}",
        "category": "huisvesting",
        "ground": "bescherming_melder",
        "until": "2027-01-01",
    },
    ("POST", "/v1/federation/rights-requests"): {
        "type": "verzet",
        "subject": {"bsn": BSN},
        "peer_request": "rr-inventory",
        "details": "inventory",
        "deadline": "2099-01-01",
    },
    ("POST", "/v1/cases/{case_id}/notices"): {
        "subject": "s1",
        "informed": True,
        "how": "brief",
        "at": "2026-11-01",
    },
}
# Unknown and not-yours look the same here, so an outsider learns nothing from an id.
NOT_FOUND_FOR_OUTSIDERS = {
    ("GET", "/v1/rights-requests/{request_id}"),
    ("POST", "/v1/rights-requests/{request_id}/decision"),  # a non-reader: as an unknown id
    ("POST", "/v1/rights-requests/{request_id}/extend"),
    ("POST", "/v1/rights-requests/{request_id}/answer"),  # a party it was not sent to
    ("POST", "/v1/rights-requests/{request_id}/executed"),
    ("POST", "/v1/withholdings"),  # a case it does not participate in: as an unknown case
    ("POST", "/v1/cases/{case_id}/notices"),
}


def _routes(stack: Stack) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(stack.app.routes):
        path = context.path or ""
        for method in sorted(context.methods or {"GET"}):
            if method != "HEAD":
                found.append((method, path))
    return found


def _fill(path: str, case_id: str, request_id: str) -> str:
    return (
        path.replace("{case_id}", case_id)
        .replace("{consent_id}", "consent-0")
        .replace("{request_id}", request_id)
        .replace("{seq}", "0")
        .replace("{kind}", "annual")  # a known report kind, so a 404 cannot hide the role check
    )


def _is_refused(response: httpx.Response) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and "login" in location


def _refuses_outsider(method: str, path: str, answer: httpx.Response) -> bool:
    """403; a query answers 200 with every result denied (API.md §3); unknown bodies: no 2xx."""
    if path == "/v1/cases/{case_id}/queries":
        results = answer.json().get("results", []) if answer.status_code == 200 else []
        return bool(results) and all(r["reason"] == "not_participant" for r in results)
    if (method, path) in NOT_FOUND_FOR_OUTSIDERS:
        return answer.status_code == 404
    if (method, path) in BODIES or method not in ("POST", "PATCH"):
        return answer.status_code == 403
    return answer.status_code in (403, 422)  # a route added after this test: no body known


def test_inventory_is_complete(stack: Stack) -> None:
    paths = {path for _, path in _routes(stack)}
    assert "/v1/cases/{case_id}/queries" in paths
    assert PUBLIC - paths == set(), "allow-list names routes that no longer exist"


def test_every_route_needs_authentication_and_the_role(stack: Stack) -> None:
    gemeente = stack.client("gemeente-demo")
    gemeente.login(DEMO_COVENANT, PURPOSE)
    opened = gemeente.open_case(DEMO_COVENANT, PURPOSE, BSN, ["politie-demo"], "casusoverleg")
    assert opened.status_code == 201, opened.text
    case_id = str(opened.json()["id"])
    filed = gemeente.http.post(
        "/v1/rights-requests",
        json={
            "type": "correctie",
            "subject": {"bsn": BSN},
            "details": "inventory",
            "cases": [case_id],
        },
        headers=gemeente.headers(),
    )
    assert filed.status_code == 201, filed.text
    request_id = str(filed.json()["id"])
    outsider = stack.client("slachtofferhulp-demo")
    outsider.login(DEMO_COVENANT, PURPOSE)
    anonymous = httpx.Client(base_url=stack.base_url, follow_redirects=False)
    open_doors, wrong_role = [], []
    for method, path in _routes(stack):
        if path in PUBLIC:
            continue
        url = _fill(path, case_id, request_id)
        body = BODIES.get((method, path), {} if method in ("POST", "PATCH") else None)
        if isinstance(body, dict) and body.get("case") == "{case_id}":
            body = {**body, "case": case_id}
        if not _is_refused(anonymous.request(method, url, json=body)):
            open_doors.append(f"{method} {path}")
        if ROLE_BOUND.match(path):
            answer = outsider.http.request(method, url, json=body, headers=outsider.headers())
            if not _refuses_outsider(method, path, answer):
                wrong_role.append(f"{method} {path} -> {answer.status_code}")
    anonymous.close()
    assert not open_doors, f"answer without credentials: {open_doors}"
    assert not wrong_role, f"answer a party without the role: {wrong_role}"
