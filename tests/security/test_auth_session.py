"""Web sessions, token roles against the covenant in force, and the gateway's edge.

Real stack over loopback HTTP: logins go through the dev OIDC provider like a
browser's, partner tokens through private_key_jwt with the partners' real keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import text

from gateway.app import create_app
from gateway.demo.stack import DEMO_COVENANT, Stack
from gateway.demodata.people import demo_people
from gateway.settings import Settings
from tests.security.authsession_support import PURPOSE, REPO_POLICIES, auth_entries
from tests.web.conftest import hidden_fields, login

COOKIE = "ketenpoort_session"
PASSPHRASE = "correct horse battery staple"


def _forged_cookie(secret: str | bytes) -> str:
    """A Starlette-style signed session cookie claiming an FG login."""
    user = {
        "sub": "mallory",
        "name": "Mallory Vervalst",
        "roles": ["privacy_officer", "om"],
        "party": "fg-demo",
        "bsn": demo_people()[0].bsn.reveal(),
        "login_at": time.time(),
    }
    payload = base64.b64encode(json.dumps({"user": user}).encode())
    return TimestampSigner(secret).sign(payload).decode()


def _secrets_in(path: Path) -> list[str | bytes]:
    """Every way the file's content could serve as a signing secret."""
    raw = path.read_bytes()
    found: list[str | bytes] = [raw, raw.strip(), raw.decode("latin-1").strip()]
    try:
        document = json.loads(raw)
    except ValueError:
        return found
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, str):
                found.append(value)
                try:
                    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
                except (binascii.Error, ValueError):
                    continue
                found.extend([decoded, decoded.hex()])
    return found


def _logged_in_name(base_url: str, cookie: str) -> str:
    with httpx.Client(base_url=base_url, cookies={COOKIE: cookie}, timeout=10) as browser:
        return browser.get("/auth/whoami").text


def test_a_cookie_forged_with_the_key_files_content_is_rejected(stack: Stack) -> None:
    """Promise 9, access to the web pages (item 7): whoever reads the key directory (or
    guesses any secret) cannot mint an FG/OvJ/person session; the cookie is only a
    random id the server knows."""
    with httpx.Client(base_url=stack.base_url, timeout=10) as browser:
        browser.get("/auth/login")  # makes the session secret exist
    web_dir = stack.settings.key_dir / "web"
    candidates: list[str | bytes] = ["0" * 64, "x" * 32]
    for path in sorted(web_dir.iterdir()):
        candidates.extend(_secrets_in(path))
    for secret in candidates:
        if not secret:
            continue
        page = _logged_in_name(stack.base_url, _forged_cookie(secret))
        assert "Mallory" not in page
        with httpx.Client(
            base_url=stack.base_url, cookies={COOKIE: _forged_cookie(secret)}, timeout=10
        ) as browser:
            assert browser.get("/privacy", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_for_every_copy_of_the_cookie(stack: Stack) -> None:
    """Promise 9, access to the web pages (item 7): a cookie copied before logout no longer
    works after logout (the session is deleted server-side, not just in one browser)."""
    browser = login(stack.base_url, "fg.demo")
    copied = browser.cookies[COOKIE]
    assert "Demo FG" in _logged_in_name(stack.base_url, copied)
    page = browser.get("/auth/whoami")
    logout = browser.post(
        "/auth/logout", data={"csrf_token": hidden_fields(page.text)["csrf_token"]}
    )
    assert logout.status_code == 200
    assert "Demo FG" not in browser.get("/auth/whoami").text
    assert "Demo FG" not in _logged_in_name(stack.base_url, copied)
    with httpx.Client(base_url=stack.base_url, cookies={COOKIE: copied}, timeout=10) as thief:
        assert thief.get("/privacy", follow_redirects=False).status_code == 303
    browser.close()


def test_the_session_cookie_carries_no_bsn(stack: Stack) -> None:
    """Promise 10, BSN only where needed (item 7): a person logged in for /mijn has a cookie
    that is a bare random id (no BSN, not even encoded); the database row holds the BSN
    only sealed."""
    person = demo_people()[0]
    bsn = person.bsn.reveal()
    browser = login(stack.base_url, person.label, next_path="/mijn")
    assert browser.get("/mijn").status_code == 200
    cookie = browser.cookies[COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,60}", cookie), "a random id, nothing else"
    for part in re.split(r"[.]", cookie):
        try:
            decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        assert bsn.encode() not in decoded
    assert bsn not in cookie
    with stack.runtime.db.session() as session:
        rows = session.execute(text("SELECT data FROM web_sessions")).scalars().all()
    assert rows, "the session lives server-side"
    assert all(bsn.encode() not in bytes(row) for row in rows)
    browser.close()


def test_idle_and_absolute_lifetimes_are_enforced_server_side(stack: Stack) -> None:
    """Promise 9, access to the web pages (item 7): a session unused for longer than the idle
    limit, or older than the absolute limit, is over, whatever the cookie says."""
    idle = stack.settings.session_idle_s
    browser = login(stack.base_url, "fg.demo")
    assert "Demo FG" in browser.get("/auth/whoami").text
    with stack.runtime.db.session() as session:
        session.execute(
            text("UPDATE web_sessions SET last_seen_at = :t"), {"t": int(time.time()) - idle - 5}
        )
    assert "Demo FG" not in browser.get("/auth/whoami").text
    browser.close()
    browser = login(stack.base_url, "fg.demo")
    with stack.runtime.db.session() as session:
        session.execute(
            text("UPDATE web_sessions SET expires_at = :t"), {"t": int(time.time()) - 1}
        )
    assert "Demo FG" not in browser.get("/auth/whoami").text
    browser.close()


def test_the_session_secret_is_sealed_outside_dev_mode(
    stack: Stack, migrated_url: str, tmp_path: Path
) -> None:
    """Promise 9, access to the web pages (item 7): outside dev mode the session secret file
    is sealed with KETENPOORT_KEY_PASSPHRASE, like the other gateway secrets."""
    key_dir = tmp_path / "prod-keys"
    settings = Settings(
        database_url=migrated_url,
        key_dir=key_dir,
        policy_dir=REPO_POLICIES,
        base_url="http://testserver",
        dev_mode=False,
        key_passphrase=PASSPHRASE,
        oidc_issuer=stack.base_url + "/dev-idp",
        oidc_client_secret="not-needed-for-the-redirect",
    )
    with TestClient(create_app(settings)) as client:
        start = client.get("/auth/login", follow_redirects=False)
        assert start.status_code in (302, 303, 307)
        assert COOKIE in start.cookies
    files = [path for path in (key_dir / "web").iterdir() if path.is_file()]
    assert files, "a session secret was written"
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["protection"] == "scrypt-aes256gcm"
        assert "secret" not in document


def _om_token(stack: Stack) -> tuple[httpx.Client, dict[str, str]]:
    om = stack.client("om-demo")
    token = om.login(DEMO_COVENANT, PURPOSE)
    headers = {"Authorization": f"Bearer {token}", "X-Ketenpoort-Employee": "ovj.tester"}
    return om.http, headers


def _edit_covenant(stack: Stack, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit the running stack's covenant file and hot-reload it (as the watcher or SIGHUP)."""
    path = stack.settings.policy_dir / "demo-zvh.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    problems = stack.runtime.policy.reload()
    assert not [problem for problem in problems if problem.severity == "error"], problems


def _without_om_role(document: dict[str, Any]) -> None:
    """The OvJ's party keeps its seat but the ``om`` role moves to another party."""
    parties = {party["id"]: party for party in document["parties"]}
    parties["om-demo"]["roles"] = ["reclassering"]
    parties["reclassering-demo"]["roles"] = ["reclassering", "om"]


def test_a_role_removed_from_the_covenant_stops_working_at_once(stack: Stack) -> None:
    """Promise 11, covenant boundaries (item 11): a token's roles are checked against the
    covenant in force at each request; after a hot reload without the role the old token is
    refused with reason ``role_revoked``, and the refusal is an audit entry."""
    http, headers = _om_token(stack)
    assert http.get("/v1/consents", headers=headers).status_code == 200
    _edit_covenant(stack, _without_om_role)
    refused = http.get("/v1/consents", headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "role_revoked"
    entries = [e for e in auth_entries(stack) if e["reason"] == "role_revoked"]
    assert entries and entries[0]["party"] == "om-demo"


def test_a_token_for_a_covenant_no_longer_active_is_refused(stack: Stack) -> None:
    """Promise 11, covenant boundaries (item 11): a covenant that ended (or lost the party or
    purpose) since the token was issued refuses the token at the next request."""
    http, headers = _om_token(stack)
    assert http.get("/v1/consents", headers=headers).status_code == 200
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    _edit_covenant(stack, lambda document: document.update(valid_until=yesterday))
    refused = http.get("/v1/consents", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["reason"] == "convenant_inactive"


def test_a_forged_host_header_is_refused(stack: Stack) -> None:
    """Promise 9, access to the web pages (info item): the Host header is not reflected into
    absolute URLs (login redirects); an unknown host gets 400."""
    with httpx.Client(base_url=stack.base_url, timeout=10) as browser:
        evil = browser.get("/auth/login", headers={"Host": "evil.example"}, follow_redirects=False)
        assert evil.status_code == 400
        assert "evil.example" not in evil.headers.get("location", "")
        assert "evil.example" not in evil.text
        assert browser.get("/health/live", headers={"Host": "10.1.2.3:8080"}).status_code == 200
        assert browser.get("/auth/login", follow_redirects=False).status_code in (302, 303, 307)


def test_personal_data_responses_are_not_stored_by_caches(stack: Stack) -> None:
    """Promise 10, personal data (info item): API answers and pages carry
    ``Cache-Control: no-store``; static assets may be cached."""
    http, headers = _om_token(stack)
    assert http.get("/v1/consents", headers=headers).headers["cache-control"] == "no-store"
    assert http.get("/v1/cases/nope", headers=headers).headers["cache-control"] == "no-store"
    browser = login(stack.base_url, "fg.demo")
    assert browser.get("/auth/whoami").headers["cache-control"] == "no-store"
    assert browser.get("/privacy").headers["cache-control"] == "no-store"
    browser.close()


def test_api_docs_are_off_in_production_and_never_load_a_cdn(
    migrated_url: str, tmp_path: Path
) -> None:
    """Promise 9, the gateway's own surface (info item): outside dev mode /docs and /redoc
    are absent unless enabled; when enabled, Swagger UI comes from the packaged copy."""
    base = Settings(
        database_url=migrated_url,
        key_dir=tmp_path / "keys",
        policy_dir=REPO_POLICIES,
        base_url="http://testserver",
        dev_mode=False,
        key_passphrase=PASSPHRASE,
    )
    with TestClient(create_app(base)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
    enabled = base.model_copy(update={"api_docs": True})
    with TestClient(create_app(enabled)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(src.startswith("/") for src in sources), sources
        assert "cdn" not in page.text.lower()
        script = client.get("/static/swagger/swagger-ui-bundle.js")
        assert script.status_code == 200 and len(script.content) > 100_000
        assert client.get("/redoc").status_code == 404


def test_a_logout_that_cannot_reach_the_session_store_says_so(stack: Stack) -> None:
    """Promise 9, access to the web pages (item 7), fail closed: when the session store is
    unreachable, logout answers 503 problem+json (never a 500, never a false "logged out")."""
    browser = login(stack.base_url, "fg.demo")
    csrf = hidden_fields(browser.get("/auth/whoami").text)["csrf_token"]
    with stack.runtime.db.session() as session:
        session.execute(text("ALTER TABLE web_sessions RENAME TO web_sessions_away"))
    try:
        logout = browser.post("/auth/logout", data={"csrf_token": csrf})
        assert logout.status_code == 503
        assert logout.headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in logout.text
    finally:
        with stack.runtime.db.session() as session:
            session.execute(text("ALTER TABLE web_sessions_away RENAME TO web_sessions"))
    browser.close()
