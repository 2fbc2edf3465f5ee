"""/ovj narrows a grant to sources and fields, like ``POST /v1/consents/{id}/decision`` (API.md §4).

The decision form lists the sources that would answer and each asked category's
fields, all ticked; what the OvJ unticks is not granted, and only the granted
fields leave. Attacks: a forged source or field, no source or no field at all.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.demo.stack import Stack
from tests.brokering.support import audit_entries, open_case
from tests.consent.support import CRIMINAL, ask, in_days, om, pending_id
from tests.web.conftest import hidden_fields, login

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
FIELD = "lopende_zaken"
# How /ovj shows the narrowed grant: category and field in words (the glossary).
SHOWN_GRANT = "justitiele gegevens: lopende zaken"


def _form(page: str, **extra: Any) -> list[tuple[str, str]]:
    hidden = hidden_fields(page)
    base = {
        "csrf_token": hidden["csrf_token"],
        "versie": hidden["versie"],
        "bronnen_getoond": hidden["bronnen_getoond"],
        "velden_getoond": hidden["velden_getoond"],
        "besluit": "granted",
        "categorie": CRIMINAL,
        "ontvanger": "gemeente-demo",
        "geldig_tot": in_days(30),
        "reden": "proportioneel voor deze bron en dit veld",
    }
    pairs = [(k, v) for k, v in base.items() if k not in extra]
    for name, value in extra.items():
        pairs += [(name, v) for v in (value if isinstance(value, list) else [value])]
    return pairs


def _post(client: httpx.Client, consent_id: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    body = "&".join(f"{httpx.QueryParams({k: v})}" for k, v in pairs)
    return client.post(
        f"/ovj/{consent_id}/besluit",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def test_the_form_grants_one_source_and_one_field(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    ovj = login(stack.base_url, "ovj.demo", f"/ovj/{consent_id}")
    page = ovj.get(f"/ovj/{consent_id}").text
    for label in (
        "Bronnen (bij verlenen)",
        f"Velden van {CRIMINAL.replace('_', ' ')} (bij verlenen)",
    ):
        assert label in page
    assert 'name="bron" value="politie-demo"' in page
    assert f'name="veld" value="{CRIMINAL}:proeftijd_tot"' in page

    wrong: list[dict[str, Any]] = [
        {"bron": "dji-demo"},  # not a source that answers
        {"bron": []},  # no source at all
        {"veld": f"{CRIMINAL}:adres"},  # not a field of the category
        {"veld": "huisvesting:woonsituatie"},  # not an asked category
        {"veld": []},  # no field at all
    ]
    for extra in wrong:
        refused = _post(ovj, consent_id, _form(page, **extra))
        assert refused.status_code == 422, (extra, refused.text)
        assert "Het besluit is niet opgeslagen" in refused.text
    assert om(stack).call("GET", f"/v1/consents/{consent_id}").json()["status"] == "pending"

    done = _post(ovj, consent_id, _form(page, bron="reclassering-demo", veld=f"{CRIMINAL}:{FIELD}"))
    assert done.status_code == 200, done.text
    assert "Toestemming verleend" in done.text
    assert re.search(r'id="toegestane-bronnen">reclassering-demo<', done.text)
    assert SHOWN_GRANT in done.text
    shown = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert shown["granted_sources"] == ["reclassering-demo"]
    assert shown["granted_fields"] == {CRIMINAL: [FIELD]}

    found = ask(gemeente, case_id)
    answer = found[("reclassering-demo", CRIMINAL)]
    assert answer["status"] == "ok" and answer["records"], answer
    assert all(set(r["fields"]) == {FIELD} for r in answer["records"])
    assert "records" not in found[("politie-demo", CRIMINAL)]
    granted = next(
        e
        for e in audit_entries(stack, case_id)
        if (e["kind"], e["outcome"]) == ("consent", "granted")
    )
    assert granted["employee"] == "ovj.demo"
    assert granted["details"]["sources"] == "reclassering-demo"


def test_all_ticked_grants_every_field_of_the_ticked_sources(stack: Stack) -> None:
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))
    ovj = login(stack.base_url, "ovj.demo", f"/ovj/{consent_id}")
    page = ovj.get(f"/ovj/{consent_id}").text
    every_field = [f"{CRIMINAL}:{f}" for f in ("lopende_zaken", "bijzondere_voorwaarden")]
    every_field.append(f"{CRIMINAL}:proeftijd_tot")
    sources = ["politie-demo", "reclassering-demo"]
    done = _post(ovj, consent_id, _form(page, bron=sources, veld=every_field))
    assert done.status_code == 200, done.text
    shown = om(stack).call("GET", f"/v1/consents/{consent_id}").json()
    assert sorted(shown["granted_sources"]) == sources
    assert shown["granted_fields"] is None  # nothing narrowed
    assert ask(gemeente, case_id)[("politie-demo", CRIMINAL)]["status"] == "ok"


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
def test_the_ovj_unticks_a_source_and_fields_in_the_browser(page: object, stack: Stack) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    gemeente, case_id = open_case(stack)
    consent_id = pending_id(ask(gemeente, case_id))

    page.goto(f"/ovj/{consent_id}")
    page.get_by_label("Demo Officier van Justitie (ovj.demo)").check()
    page.get_by_role("button", name="Inloggen als deze gebruiker").click()
    page.get_by_label("Toestemming verlenen").check()
    sources = page.locator("#bronnen-keuze")
    expect(sources.get_by_role("checkbox")).to_have_count(2)
    sources.get_by_role("checkbox", name=re.compile("Politie")).uncheck()
    fields = page.locator(f"#velden-{CRIMINAL}")
    fields.get_by_label("bijzondere voorwaarden").uncheck()
    fields.get_by_label("proeftijd tot").uncheck()
    page.get_by_label("Geldig tot en met (bij verlenen)").fill(in_days(30))
    page.get_by_label("Reden (verplicht)", exact=True).fill(
        "Alleen de lopende zaken bij de reclassering"
    )
    page.get_by_role("button", name="Besluit opslaan").click()
    expect(page.locator("#status")).to_have_text("Toestemming verleend")
    expect(page.locator("#toegestane-bronnen")).to_have_text("reclassering-demo")
    expect(page.locator("#toegestane-velden")).to_have_text(SHOWN_GRANT)
    answer = ask(gemeente, case_id)[("reclassering-demo", CRIMINAL)]
    assert answer["status"] == "ok"
    assert all(set(r["fields"]) == {FIELD} for r in answer["records"])
