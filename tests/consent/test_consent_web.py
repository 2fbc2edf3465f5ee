"""/ovj over real HTTP: the dev IdP login, role and CSRF checks, decisions as in the API."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.stack import Stack
from tests.brokering.support import audit_entries, open_case
from tests.consent.support import CRIMINAL, ask, in_days, om, pending_id
from tests.web.conftest import hidden_fields, login

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def csrf(html: str) -> str:
    return hidden_fields(html)["csrf_token"]


def test_ovj_page_needs_role_om_and_csrf(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    fg = login(stack.base_url, "fg.demo")
    assert fg.get("/ovj").status_code == 403
    assert fg.get(f"/ovj/{consent_id}").status_code == 403

    ovj = login(stack.base_url, "ovj.demo", "/ovj")
    page = ovj.get("/ovj")
    assert page.status_code == 200
    assert consent_id in page.text
    forged = ovj.post(
        f"/ovj/{consent_id}/besluit",
        data={"besluit": "refused", "reden": "x", "csrf_token": "fout"},
    )
    assert forged.status_code == 403
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json()["status"] == "pending"
    assert ovj.get("/ovj/oc-00000000000000000000").status_code == 404


def test_ovj_page_shows_the_request_and_grants_like_the_api(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    ovj = login(stack.base_url, "ovj.demo", f"/ovj/{consent_id}")
    detail = ovj.get(f"/ovj/{consent_id}")
    assert detail.status_code == 200
    for shown in ("Gemeente Demostad", "t.tester", "Casusoverleg", "Persoonsgerichte aanpak"):
        assert shown in detail.text
    token = csrf(detail.text)
    too_late = ovj.post(
        f"/ovj/{consent_id}/besluit",
        data={
            "csrf_token": token,
            "besluit": "granted",
            "categorie": CRIMINAL,
            "ontvanger": "gemeente-demo",
            "geldig_tot": in_days(400),
            "reden": "nodig voor plan van aanpak",
        },
    )
    assert too_late.status_code == 422
    assert "consent_max" in too_late.text
    done = ovj.post(
        f"/ovj/{consent_id}/besluit",
        data={
            "csrf_token": token,
            "besluit": "granted",
            "categorie": CRIMINAL,
            "ontvanger": "gemeente-demo",
            "geldig_tot": in_days(30),
            "inzage_uitgesteld_tot": in_days(60),
            "reden": "nodig voor plan van aanpak",
        },
    )
    assert done.status_code == 200
    assert "Toestemming verleend" in done.text
    shown = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert shown["status"] == "granted"
    assert shown["decided_by_employee"] == "ovj.demo"
    assert shown["withheld_until"] == in_days(60)
    assert ask(gemeente, case_id)[("politie-demo", CRIMINAL)]["status"] == "ok"

    # Revoking cannot be undone: the first post only asks for confirmation.
    asked = ovj.post(
        f"/ovj/{consent_id}/intrekken",
        data={"csrf_token": token, "reden_intrekken": "nieuwe feiten"},
    )
    assert asked.status_code == 200
    assert "Weet u zeker dat u deze toestemming wilt intrekken?" in asked.text
    still = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert still["status"] == "granted"
    revoked = ovj.post(
        f"/ovj/{consent_id}/intrekken",
        data={"csrf_token": token, "reden_intrekken": "nieuwe feiten", "bevestigd": "ja"},
    )
    assert revoked.status_code == 200
    assert "Ingetrokken" in revoked.text
    steps = [
        (e["outcome"], e["employee"])
        for e in audit_entries(stack, case_id)
        if e["kind"] == "consent" and e["outcome"] != "requested"
    ]
    assert steps == [("granted", "ovj.demo"), ("revoked", "ovj.demo")]


@pytest.fixture
def page(stack: Stack) -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=stack.base_url)
        yield context.new_page()
        context.close()
        browser.close()


@pytest.mark.browser
def test_ovj_logs_in_sees_the_request_and_grants_it(page: object, stack: Stack) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))

    page.goto("/ovj")
    page.get_by_label("Demo Officier van Justitie (ovj.demo)").check()
    page.get_by_role("button", name="Inloggen als deze gebruiker").click()
    expect(page.get_by_role("heading", name="Openstaande verzoeken")).to_be_visible()
    row = page.locator("#openstaand tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text(CRIMINAL.replace("_", " "))  # category id shown as words
    row.first.get_by_role("link", name="Beoordelen").click()

    expect(page.get_by_role("heading", name=f"Verzoek om toestemming {consent_id}")).to_be_visible()
    page.get_by_label("Toestemming verlenen").check()
    page.get_by_label("Geldig tot en met (bij verlenen)").fill(in_days(30))
    page.get_by_label("Reden (verplicht)", exact=True).fill("Noodzakelijk en proportioneel")
    page.get_by_role("button", name="Besluit opslaan").click()
    expect(page.locator("#status")).to_have_text("Toestemming verleend")
    expect(page.locator("#besluit")).to_contain_text(re.compile("ovj.demo"))
    assert ask(gemeente, case_id)[("politie-demo", CRIMINAL)]["status"] == "ok"
