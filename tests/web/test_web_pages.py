"""The start page ``/`` and Dutch HTML error pages for browsers (gateway/web/html_errors.py).

A browser (Accept prefers text/html) gets a Dutch page with the right status;
curl and API clients keep the RFC 9457 problem; the API paths keep it whatever
they send. The page never repeats the path, the problem's detail or a trace.
"""

from __future__ import annotations

import httpx
import pytest

from gateway.app import create_app
from gateway.audit.officer import PRIVACY_OFFICER
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.web.devidp.users import dev_users
from gateway.web.html_errors import prefers_html
from gateway.web.session_middleware import SESSION_COOKIE
from tests.support.loopback import serve_app
from tests.web.conftest import Gateway, free_port, login

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("*/*", False),
        (None, False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html, application/problem+json;q=0.1", True),
        ("text/*, application/json;q=0.9", True),
        ("text/html;q=0", False),
        ("text/html;q=nonsense", False),
    ],
)
def test_prefers_html_only_when_html_wins(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_landing_page_links_every_role(gateway: Gateway) -> None:
    answer = httpx.get(gateway.base_url + "/", headers={"Accept": BROWSER})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in answer.text
    for page in ("/mijn", "/privacy", "/ovj", "/docs"):
        assert f'href="{page}"' in answer.text
    assert "Kies uw pagina" in answer.text
    # Looking at the start page starts no server-side session.
    assert SESSION_COOKIE not in answer.cookies
    # curl gets the same page: it is a page, not an error.
    assert httpx.get(gateway.base_url + "/").status_code == 200


def test_landing_page_without_docs_links_the_openapi_document(settings: Settings) -> None:
    port = free_port()
    served = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}", "dev_mode": False})
    runtime = Runtime.build(served.model_copy(update={"dev_mode": True}))
    runtime.keys.ensure()
    app = create_app(served, runtime)
    try:
        with serve_app(app, port=port) as base_url:
            page = httpx.get(base_url + "/", headers={"Accept": BROWSER})
            assert page.status_code == 200
            assert 'href="/docs"' not in page.text
            assert 'href="/openapi.json"' in page.text
            assert httpx.get(base_url + "/docs", headers={"Accept": BROWSER}).status_code == 404
    finally:
        runtime.close()


def test_browser_gets_a_dutch_404_page_without_the_path(gateway: Gateway) -> None:
    answer = httpx.get(gateway.base_url + "/zaak/999990007", headers={"Accept": BROWSER})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>Niet gevonden</h1>" in answer.text
    assert "999990007" not in answer.text
    assert "urn:ketenpoort" not in answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert answer.headers["cache-control"] == "no-store"
    assert SESSION_COOKIE not in answer.cookies


def test_api_clients_keep_the_problem(gateway: Gateway) -> None:
    for accept in ("*/*", "application/json", PROBLEM):
        answer = httpx.get(gateway.base_url + "/bestaat-niet", headers={"Accept": accept})
        assert answer.status_code == 404
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["status"] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/bestaat-niet",
        "/v1",
        "/oauth/bestaat-niet",
        "/health/bestaat-niet",
        "/v1/cases/c-1/queries",
        "/v1/audit/entries/999999999",
    ],
)
def test_api_paths_keep_the_problem_for_browsers_too(gateway: Gateway, path: str) -> None:
    answer = httpx.get(gateway.base_url + path, headers={"Accept": BROWSER})
    assert answer.status_code >= 400
    assert answer.headers["content-type"] == PROBLEM, answer.text
    assert answer.json()["status"] == answer.status_code


def test_wrong_method_page_keeps_allow(gateway: Gateway) -> None:
    answer = httpx.post(gateway.base_url + "/", headers={"Accept": BROWSER})
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("text/html")
    assert "Niet toegestaan" in answer.text
    assert "GET" in answer.headers["allow"]


def test_logged_in_user_sees_the_shell_on_an_error_page(gateway: Gateway) -> None:
    officer = next(
        user
        for user in dev_users(gateway.runtime.policy.current).values()
        if PRIVACY_OFFICER in user.roles
    )
    client = login(gateway.base_url, officer.username, next_path="/privacy")
    try:
        answer = client.get("/privacy/bestaat-niet", headers={"Accept": BROWSER})
        assert answer.status_code == 404
        assert f"Ingelogd als {officer.name}" in answer.text
        assert "Niet gevonden" in answer.text
    finally:
        client.close()
