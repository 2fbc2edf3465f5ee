"""The portal in headless Chromium: log in as a demo person, see disclosures, file a correctie."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo.stack import Stack
from tests.brokering.support import open_case, results
from tests.web.test_web_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(stack: Stack) -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, base_url=stack.base_url)
        yield context.new_page()
        context.close()
        browser.close()


def _disclose(stack: Stack) -> str:
    gemeente, case_id = open_case(stack, consent=True)
    found = results(gemeente.query(case_id, ["psychisch_welzijn"], ["ggz-demo"]))
    assert found[("ggz-demo", "psychisch_welzijn")]["status"] == "ok"
    return case_id


def _log_in_as_person_a(page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto("/mijn")
    page.get_by_label("Demo persoon A (persoon-a)").check()
    page.get_by_role("button", name="Inloggen als deze gebruiker").click()
    expect(page.get_by_role("heading", name="Mijn gegevens", exact=True)).to_be_visible()


def test_person_sees_disclosures_and_files_a_correctie(page: object, stack: Stack) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    case_id = _disclose(stack)
    _log_in_as_person_a(page)
    rows = page.locator("#verstrekkingen tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("GGZ Demo")
    expect(rows.first).to_contain_text("psychisch welzijn")
    # the person sees a friendly case label, never the case id (issue 20)
    expect(rows.first).to_contain_text("Casus 1")
    expect(rows.first).not_to_contain_text(case_id)

    page.get_by_role("link", name="Afdrukbare kopie").click()
    expect(
        page.get_by_role("heading", name="Overzicht van wie gegevens over u kreeg")
    ).to_be_visible()
    expect(page.locator("#verstrekkingen tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Terug naar Mijn gegevens").click()

    page.get_by_role("link", name="Gegevens laten verbeteren (correctie)").click()
    page.get_by_label("Bij welke organisatie staan de gegevens?").select_option("ggz-demo")
    page.get_by_label("Wat klopt er niet, en wat moet het zijn?").fill(
        "De samenvatting van de diagnose is verouderd."
    )
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.locator("#verstuurd")).to_contain_text("Uw verzoek is verstuurd.")
    expect(page.locator("#verzoek-status")).to_have_text("In behandeling")
    expect(page.get_by_text("GGZ Demo: doorgestuurd")).to_be_visible()
    assert len(stack.sources.source("ggz-demo").rights_requests) == 1

    page.get_by_role("link", name="Terug naar Mijn gegevens").click()
    expect(page.locator("#mijn-verzoeken tbody tr")).to_have_count(1)
    expect(page.locator("#mijn-verzoeken")).to_contain_text("In behandeling")


def test_keyboard_only_reaches_and_submits_the_correctie_form(page: object, stack: Stack) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    _log_in_as_person_a(page)

    def tab_to(element_id: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", "focus must be visible"
                return
        pytest.fail(f"Tab never reached #{element_id}")

    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Naar de inhoud")
    tab_to("link-correctie")
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name="Gegevens laten verbeteren (correctie)")
    ).to_be_visible()
    tab_to("correctie-versturen")
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name="Gegevens laten verbeteren (correctie)")
    ).to_be_visible()
    tab_to("f-details")
    page.keyboard.type("Mijn adres is veranderd.")
    tab_to("correctie-versturen")
    page.keyboard.press("Enter")
    expect(page.locator("#verzoek-status")).to_have_text("In behandeling")
