"""Human login through the dev IdP, sessions, roles and CSRF, over real loopback HTTP."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.web.conftest import Gateway, hidden_fields, login


def test_dev_idp_absent_outside_dev_mode(settings: Settings) -> None:
    production = settings.model_copy(update={"dev_mode": False})
    with TestClient(create_app(production)) as client:
        for path in ("/dev-idp/.well-known/openid-configuration", "/dev-idp/jwks"):
            assert client.get(path).status_code == 404
        assert client.get("/dev-idp/authorize").status_code == 404
        assert client.post("/dev-idp/token", data={}).status_code == 404
        unavailable = client.get("/auth/login")
        assert unavailable.status_code == 503
        assert "niet beschikbaar" in unavailable.text
    assert not (settings.key_dir / "dev-idp").exists()


def test_dev_idp_discovery_and_banner(gateway: Gateway) -> None:
    meta = httpx.get(gateway.base_url + "/dev-idp/.well-known/openid-configuration").json()
    assert meta["issuer"] == gateway.base_url + "/dev-idp"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    jwks = httpx.get(meta["jwks_uri"]).json()
    assert jwks["keys"][0]["kty"] == "EC" and "d" not in jwks["keys"][0]
    page = httpx.get(gateway.base_url + "/auth/login", follow_redirects=True)
    assert "ONTWIKKELOMGEVING — geen echte gegevens" in page.text
    assert '<html lang="nl">' in page.text


def test_login_round_trip_sets_safe_cookie(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo")
    landed = client.get("/auth/whoami")
    callback = client.cookies  # the session cookie the callback set
    assert "ketenpoort_session" in callback
    with httpx.Client(base_url=gateway.base_url, timeout=10) as fresh:
        cookie_header = fresh.get("/auth/login").headers["set-cookie"]
    assert "ketenpoort_session=" in cookie_header
    assert "httponly" in cookie_header.lower()
    assert "samesite=lax" in cookie_header.lower()
    whoami = landed
    assert "Demo FG" in whoami.text
    assert "Functionaris gegevensbescherming" in whoami.text  # the role, in Dutch (glossary)
    assert "fg-demo" in whoami.text


def test_wrong_state_is_rejected(gateway: Gateway) -> None:
    client = httpx.Client(base_url=gateway.base_url, follow_redirects=False, timeout=10)
    start = client.get("/auth/login")
    authorize = client.get(start.headers["location"])
    form = hidden_fields(authorize.text)
    form["username"] = "fg.demo"
    back = client.post("/dev-idp/authorize", data=form)
    location = urlparse(back.headers["location"])
    query = parse_qs(location.query)
    tampered = client.get(
        "/auth/callback", params={"code": query["code"][0], "state": "not-the-state"}
    )
    assert tampered.status_code == 400
    assert "Inloggen mislukt" in tampered.text
    assert "Demo FG" not in client.get("/auth/whoami").text


def test_token_endpoint_enforces_pkce_and_single_use(gateway: Gateway) -> None:
    client = httpx.Client(base_url=gateway.base_url, timeout=10)
    page = client.get("/auth/login", follow_redirects=True)
    params = dict(parse_qs(urlparse(str(page.url)).query))
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    form = hidden_fields(page.text)
    form.update({"username": "ovj.demo", "code_challenge": challenge})
    back = client.post("/dev-idp/authorize", data=form, follow_redirects=False)
    code = parse_qs(urlparse(back.headers["location"]).query)["code"][0]
    secret = (gateway.runtime.settings.key_dir / "dev-idp" / "client-secret").read_text()
    token_request = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": params["redirect_uri"][0],
        "client_id": "ketenpoort-web",
        "client_secret": secret,
    }
    wrong = client.post("/dev-idp/token", data={**token_request, "code_verifier": "x" * 50})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    again = client.post("/dev-idp/token", data={**token_request, "code_verifier": verifier})
    assert again.status_code == 400, "a code is spent by its first redemption"
    bad_client = client.post("/dev-idp/token", data={**token_request, "client_secret": "nope"})
    assert bad_client.status_code == 401


def test_unregistered_redirect_uri_is_not_followed(gateway: Gateway) -> None:
    response = httpx.get(
        gateway.base_url + "/dev-idp/authorize",
        params={
            "client_id": "ketenpoort-web",
            "redirect_uri": "http://evil.example/cb",
            "response_type": "code",
            "scope": "openid",
            "state": "s",
            "code_challenge": "c" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert response.status_code == 400
    assert "niet geregistreerd" in response.text


def test_privacy_needs_login_then_role(gateway: Gateway) -> None:
    anonymous = httpx.get(gateway.base_url + "/privacy", follow_redirects=False)
    assert anonymous.status_code == 303
    assert "/auth/login" in anonymous.headers["location"]
    ovj = login(gateway.base_url, "ovj.demo")
    refused = ovj.get("/privacy")
    assert refused.status_code == 403
    assert "Geen toegang" in refused.text
    assert "Logregel" not in refused.text
    assert ovj.get("/privacy/export.csv").status_code == 403
    person = login(gateway.base_url, "persoon-a")
    assert person.get("/privacy/entries/0").status_code == 403


def test_login_returns_to_the_page_asked_for(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    assert client.get("/privacy").status_code == 200
    browser = httpx.Client(base_url=gateway.base_url, follow_redirects=True, timeout=10)
    page = browser.get("/auth/login", params={"next": "//evil.example/"})
    form = hidden_fields(page.text)
    form["username"] = "fg.demo"
    landed = browser.post("/dev-idp/authorize", data=form)
    assert urlparse(str(landed.url)).netloc == urlparse(gateway.base_url).netloc
    assert urlparse(str(landed.url)).path == "/auth/whoami"


def test_post_forms_need_the_csrf_token(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo")
    no_token = client.post("/auth/logout", data={})
    assert no_token.status_code == 403
    assert "Demo FG" in client.get("/auth/whoami").text
    search = client.post("/privacy/search", data={"party": "x", "csrf_token": "forged"})
    assert search.status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/auth/whoami").text)
    assert token is not None
    out = client.post("/auth/logout", data={"csrf_token": token.group(1)})
    assert out.status_code == 200 and "uitgelogd" in out.text
    assert "niet ingelogd" in client.get("/auth/whoami").text
