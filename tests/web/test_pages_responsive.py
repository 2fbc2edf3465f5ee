"""Each role's main task in headless Chromium at 360, 768 and 1280 px (issue 20, "done when").

Every page a role passes is checked by :func:`tests.web.browser_checks.check_page`:
no sideways scrolling, h1 not cut off, no untranslated code, axe-core without
serious or critical issues, and a screenshot kept as a test artefact. The
partner employee has no page of their own (partners use the REST API); their
task — opening a case and asking for data — runs through the API here and
feeds the other roles' pages; their entry point, the start page with the API
docs link, is checked with the anonymous pages.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.demo.stack import Stack
from tests.brokering.support import BSN, open_case, results
from tests.consent.support import ask, in_days, pending_id
from tests.web.browser_checks import HEIGHT, WIDTHS, Report, check_page
from tests.web.test_web_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

LOGIN_BUTTON = "Inloggen als deze gebruiker"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, stack: Stack, width: int) -> Any:
    context = browser.new_context(
        base_url=stack.base_url,
        viewport={"width": width, "height": HEIGHT[width]},
        accept_downloads=True,
    )
    return context.new_page()


def _log_in(page: Any, path: str, label: str, width: int, report: Report) -> None:
    from playwright.sync_api import expect

    page.goto(path)
    expect(page.get_by_role("heading", name="Kies een demo-gebruiker")).to_be_visible()
    check_page(page, "inloggen-demo-idp", width, report)
    page.get_by_label(label).check()
    page.get_by_role("button", name=LOGIN_BUTTON).click()


def _disclosed_and_asked(stack: Stack) -> tuple[str, str]:
    """The partner employee's task, through the API: open a case, get data, ask for more."""
    gemeente, case_id = open_case(stack, consent=True)  # GGZ data needs the person's consent
    found = results(gemeente.query(case_id, ["psychisch_welzijn"], ["ggz-demo"]))
    assert found[("ggz-demo", "psychisch_welzijn")]["status"] == "ok"
    consent_id = pending_id(ask(gemeente, case_id))
    return case_id, consent_id


@pytest.mark.parametrize("width", WIDTHS)
def test_anonymous_pages_fit(browser: Any, stack: Stack, width: int) -> None:
    from playwright.sync_api import expect

    report = Report()
    page = _page(browser, stack, width)
    page.goto("/")
    expect(page.get_by_role("heading", name="Ketenpoort", exact=True)).to_be_visible()
    check_page(page, "start", width, report)
    page.get_by_role("link", name="Toegankelijkheid").click()
    expect(page.get_by_role("heading", name="Toegankelijkheidsverklaring")).to_be_visible()
    check_page(page, "toegankelijkheidsverklaring", width, report)
    page.goto("/bestaat-niet")
    check_page(page, "fout-niet-gevonden", width, report)
    page.goto("/auth/whoami")
    check_page(page, "niet-ingelogd", width, report)
    report.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_person_sees_who_got_data_and_objects(browser: Any, stack: Stack, width: int) -> None:
    from playwright.sync_api import expect

    case_id, _ = _disclosed_and_asked(stack)
    report = Report()
    page = _page(browser, stack, width)
    _log_in(page, "/mijn", "Demo persoon A (persoon-a)", width, report)
    expect(page.get_by_role("heading", name="Mijn gegevens", exact=True)).to_be_visible()
    rows = page.locator("#verstrekkingen tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("GGZ Demo")
    expect(rows.first).to_contain_text("Casus 1")
    assert case_id not in page.content(), "a person never sees the case id"
    expect(page.locator("#contact")).to_contain_text("Autoriteit Persoonsgegevens")
    check_page(page, "mijn", width, report)

    page.get_by_role("link", name="Afdrukbare kopie").click()
    check_page(page, "mijn-afdruk", width, report)
    page.go_back()

    page.get_by_role("link", name="Gegevens laten verbeteren (correctie)").click()
    check_page(page, "mijn-correctie", width, report)
    page.get_by_label("Wat klopt er niet").fill("   ")  # passes `required`, not the server
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.locator("#foutmeldingen")).to_be_visible()
    check_page(page, "mijn-correctie-fout", width, report)

    page.goto("/mijn/verzet")
    check_page(page, "mijn-verzet", width, report)
    page.get_by_label("Casus 1").check()
    page.get_by_label("Waarom maakt u bezwaar?").fill("Ik wil niet dat dit nog gedeeld wordt.")
    page.get_by_role("button", name="Bezwaar versturen").click()
    expect(page.locator("#verstuurd")).to_contain_text("Uw verzoek is verstuurd.")
    expect(page.locator("#verzoek-status")).to_have_text("In behandeling")
    expect(page.get_by_text("Beslist door")).to_have_count(0)  # nothing decided yet
    expect(page.get_by_text("Casus 1", exact=True)).to_be_visible()
    check_page(page, "mijn-verzoek-verstuurd", width, report)

    page.get_by_role("link", name="Mijn account").click()
    check_page(page, "mijn-account", width, report)
    page.get_by_role("button", name="Uitloggen").click()
    check_page(page, "uitgelogd", width, report)
    report.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_ovj_grants_and_revokes_with_confirmation(browser: Any, stack: Stack, width: int) -> None:
    from playwright.sync_api import expect

    _, consent_id = _disclosed_and_asked(stack)
    report = Report()
    page = _page(browser, stack, width)
    _log_in(page, "/ovj", "Demo Officier van Justitie (ovj.demo)", width, report)
    expect(page.get_by_role("heading", name="Openstaande verzoeken")).to_be_visible()
    check_page(page, "ovj", width, report)

    page.locator("#openstaand tbody tr").first.get_by_role("link").click()
    expect(page.get_by_text("Reden (verplicht)")).to_be_visible()
    check_page(page, "ovj-verzoek", width, report)
    page.get_by_label("Toestemming verlenen").check()
    page.get_by_label("Geldig tot en met (bij verlenen)").fill(in_days(30))
    page.get_by_label("Reden (verplicht)", exact=True).fill("Noodzakelijk en proportioneel")
    page.get_by_role("button", name="Besluit opslaan").click()
    expect(page.locator("#status")).to_have_text("Toestemming verleend")
    check_page(page, "ovj-verleend", width, report)

    page.get_by_label("Reden van intrekken").fill("Nieuwe feiten")
    page.get_by_role("button", name="Toestemming intrekken").click()
    expect(page.get_by_role("heading", name="Toestemming intrekken?")).to_be_visible()
    check_page(page, "ovj-intrekken-bevestigen", width, report)
    page.get_by_role("button", name="Ja, toestemming intrekken").click()
    expect(page.locator("#status")).to_have_text("Ingetrokken")
    assert consent_id in page.url

    page.goto("/privacy")  # not an FG: the forbidden page
    check_page(page, "geen-toegang", width, report)
    report.assert_clean()


@pytest.mark.parametrize("width", WIDTHS)
def test_fg_searches_the_log_and_exports(browser: Any, stack: Stack, width: int) -> None:
    from playwright.sync_api import expect

    _disclosed_and_asked(stack)
    report = Report()
    page = _page(browser, stack, width)
    _log_in(page, "/privacy", "Demo FG (fg.demo)", width, report)
    expect(
        page.get_by_role("heading", name="Toegangslog (functionaris gegevensbescherming)")
    ).to_be_visible()
    check_page(page, "privacy", width, report)

    page.get_by_label("BSN van de betrokkene").fill(BSN)
    page.get_by_role("button", name="Zoeken").click()
    assert BSN not in page.url
    expect(page.locator("#logregels tbody tr").first).to_be_visible()
    expect(page.locator("#logregels")).to_contain_text("Wacht op toestemming OvJ")
    check_page(page, "privacy-zoeken-bsn", width, report)

    page.get_by_label("Uitkomst").select_option(label="Verstrekt")
    page.get_by_role("button", name="Zoeken").click()
    rows = page.locator("#logregels tbody tr")
    expect(rows.first).to_contain_text("Verstrekt")
    check_page(page, "privacy-zoeken-uitkomst", width, report)

    rows.first.get_by_role("link").click()
    expect(page.locator("#leaf-hash")).to_be_visible()
    check_page(page, "privacy-logregel", width, report)
    page.get_by_role("link", name="Terug naar zoeken").click()

    with page.expect_download() as info:
        page.get_by_role("link", name="Exporteren als CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text("utf-8"))))
    assert exported and {"outcome", "outcome_nl"} <= set(exported[0])
    report.assert_clean()


def test_the_checks_catch_overflow_codes_and_axe_issues(browser: Any, stack: Stack) -> None:
    """The checks themselves can fail: a too-wide block, a raw code, an unlabelled control."""
    page = _page(browser, stack, 360)
    page.goto("/toegankelijkheid")
    page.evaluate(
        """() => {
      const main = document.querySelector('main');
      main.insertAdjacentHTML('beforeend',
        '<pre>' + 'x'.repeat(200) + '</pre><p>pending_consent</p>' +
        '<select id="x"><option>a</option></select>');
    }"""
    )
    report = Report()
    check_page(page, "zelftest", 360, report)
    found = "\n".join(report.problems)
    assert "px wide" in found
    assert "untranslated codes ['pending_consent']" in found
    assert "axe critical select-name" in found


@pytest.mark.parametrize("width", WIDTHS)
def test_stuurgroep_reads_the_report(browser: Any, stack: Stack, width: int) -> None:
    """/rapportage (issue 19) on the same foundation: fits, Dutch labels, axe-clean."""
    from playwright.sync_api import expect

    _disclosed_and_asked(stack)
    report = Report()
    page = _page(browser, stack, width)
    _log_in(page, "/rapportage", "Demo stuurgroep (stuurgroep.demo)", width, report)
    expect(page.get_by_role("heading", name="Rapportage", exact=True)).to_be_visible()
    check_page(page, "rapportage", width, report)
    page.get_by_label("Soort").select_option(label="Privacyverantwoording")
    page.get_by_role("button", name="Toon").click()
    expect(page.locator("section[data-table]").first).to_be_visible()
    check_page(page, "rapportage-privacy", width, report)
    report.assert_clean()
