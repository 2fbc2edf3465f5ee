"""End to end in headless Chromium: log in as the FG, search, open an entry, export."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import SUBJECT_BSN, Gateway

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(gateway: Gateway) -> Iterator[object]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, base_url=gateway.base_url)
        yield context.new_page()
        context.close()
        browser.close()


def test_fg_searches_opens_an_entry_and_exports(page: object, gateway: Gateway) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto("/privacy")
    expect(page.get_by_role("heading", name="Kies een demo-gebruiker")).to_be_visible()
    expect(page.get_by_text("ONTWIKKELOMGEVING — geen echte gegevens")).to_be_visible()
    page.get_by_label("Demo FG (fg.demo)").check()
    page.get_by_role("button", name="Inloggen als deze gebruiker").click()
    expect(
        page.get_by_role("heading", name="Toegangslog (functionaris gegevensbescherming)")
    ).to_be_visible()

    page.get_by_label("BSN van de betrokkene").fill(SUBJECT_BSN)
    page.get_by_role("button", name="Zoeken").click()
    assert SUBJECT_BSN not in page.url
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("psychisch welzijn")  # a covenant id shown as words
    expect(page.locator("#integriteit-status")).to_contain_text("In orde")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Logregel {gateway.seqs[0]}")).to_be_visible()
    expect(page.locator("#leaf-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.get_by_role("link", name="Terug naar zoeken").click()

    with page.expect_download() as info:
        page.get_by_role("link", name="Exporteren als CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("seq,time,kind")


def test_keyboard_reaches_the_search_button(page: object, gateway: Gateway) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto("/privacy")
    page.get_by_label("Demo FG (fg.demo)").check()
    page.get_by_role("button", name="Inloggen als deze gebruiker").focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name="Toegangslog (functionaris gegevensbescherming)")
    ).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Naar de inhoud")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "zoek-knop":
            break
    else:
        pytest.fail("Tab never reached the search button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus must be visible"
    page.keyboard.press("Enter")
    # The FG's own earlier page view is an entry too ("Inzage in het log").
    seeded = page.locator("table tbody tr", has_not_text="Inzage in het log")
    expect(seeded).to_have_count(len(gateway.seqs))


@pytest.mark.parametrize("path", ["/", "/bestaat-niet"])
def test_start_and_error_pages_fit_a_phone(page: object, gateway: Gateway, path: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.set_viewport_size({"width": 360, "height": 740})
    answer = page.goto(path)
    assert answer is not None
    assert answer.status == (200 if path == "/" else 404)
    assert answer.headers["content-type"].startswith("text/html")
    if path == "/":
        for name in ("Mijn gegevens", "Privacy (FG)", "Toestemmingen (OvJ)", "API-documentatie"):
            expect(page.get_by_role("link", name=name)).to_be_visible()
    else:
        expect(page.get_by_role("heading", name="Niet gevonden")).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
