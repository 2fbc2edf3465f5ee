"""``ketenpoort report``/``register export``/``report logboek`` on a simulated year, and
/rapportage in headless Chromium showing the same figures as its CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app
from gateway.demo.simulate import Simulated
from gateway.demo.stack import DEMO_COVENANT, Stack
from tests.reports.conftest import CASES, small_counts
from tests.web.test_web_browser import CHROMIUM, CHROMIUM_ARGS

YEAR = str(datetime.now(UTC).year)


def _env(stack: Stack) -> dict[str, str]:
    settings = stack.settings
    return {
        "KETENPOORT_DATABASE_URL": settings.database_url,
        "KETENPOORT_POLICY_DIR": str(settings.policy_dir),
        "KETENPOORT_KEY_DIR": str(settings.key_dir),
        "KETENPOORT_DEV_MODE": "true",
    }


def _run(stack: Stack, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=_env(stack))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_annual_report_reproduces_the_drenthe_shape_in_every_format(
    simulated: tuple[Stack, Simulated], tmp_path: Path
) -> None:
    stack, _result = simulated
    base = ("report", "annual", "--convenant", DEMO_COVENANT, "--year", YEAR)
    rows = list(csv.DictReader(io.StringIO(_run(stack, *base, "--format", "csv"))))
    tables = {row["table"] for row in rows}
    # Referrals per partner, cross-region share, minors, cases not taken up.
    assert {"verwijzers", "regio", "minderjarigen", "triage", "fasen"} <= tables
    total = [r for r in rows if r["table"] == "triage" and r["row"] == "Totaal"]
    assert total[0]["value"] == str(CASES)
    assert small_counts([row["value"] for row in rows]) == []
    as_json = json.loads(_run(stack, *base, "--format", "json"))
    assert as_json["suppressed_below"] == 5
    cells = [c for t in as_json["tables"].values() for row in t["rows"] for c in row]
    assert small_counts(cells) == []
    out = tmp_path / "annual.html"
    _run(stack, *base, "--format", "html", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    shown = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert shown and small_counts([v.strip() for v in shown]) == []


def test_privacy_report_register_and_logboek(simulated: tuple[Stack, Simulated]) -> None:
    stack, _ = simulated
    text = _run(stack, "report", "privacy", "--convenant", DEMO_COVENANT, "--year", YEAR)
    assert small_counts([r["value"] for r in csv.DictReader(io.StringIO(text))]) == []
    register = json.loads(_run(stack, "register", "export", "--convenant", DEMO_COVENANT))
    uris = {a["processing_activity"] for a in register["activities"]}
    lines = _run(stack, "report", "logboek", "--convenant", DEMO_COVENANT, "--year", YEAR)
    records = [json.loads(line) for line in lines.splitlines()]
    assert records
    for record in records:
        attributes = record["attributes"]
        assert "trace_id" in record and "span_id" in record
        assert record["status_code"] in ("OK", "UNSET", "ERROR")
        activity = attributes.get("dpl.core.processing_activity_id")
        if activity is not None:
            assert activity in uris
        subject = attributes.get("dpl.core.data_subject_id")
        assert subject is None or not re.fullmatch(r"9999900\d\d", subject)
    assert any(r["status_code"] == "OK" for r in records)
    # Entries made through the API carry the request's W3C trace id (a CLI run has none).
    assert any(r["trace_id"] for r in records)


def test_a_bad_year_is_a_clean_error(simulated: tuple[Stack, Simulated]) -> None:
    stack, _ = simulated
    result = CliRunner().invoke(
        app,
        [
            "report",
            "annual",
            "--convenant",
            DEMO_COVENANT,
            "--from",
            "2026-02-30",
            "--to",
            "2026-03-01",
        ],
        env=_env(stack),
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.browser
def test_rapportage_page_shows_the_csv_figures(simulated: tuple[Stack, Simulated]) -> None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/system-deps.sh)")
    from playwright.sync_api import expect, sync_playwright

    stack, _ = simulated
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=stack.base_url)
        page = context.new_page()
        page.goto("/rapportage")
        page.get_by_label("Demo stuurgroep (stuurgroep.demo)").check()
        page.get_by_role("button", name="Inloggen als deze gebruiker").click()
        expect(page.get_by_role("heading", name="Rapportage", exact=True)).to_be_visible()
        expect(page.locator("svg.chart").first).to_be_visible()
        shown: dict[tuple[str, str, str], str] = {}
        for section in page.locator("section[data-table]").all():
            name = section.get_attribute("data-table") or ""
            for row in section.locator("tbody tr").all():
                label = row.get_attribute("data-row") or ""
                for cell in row.locator("td").all():
                    column = cell.get_attribute("data-column") or ""
                    shown[(name, label, column)] = cell.inner_text().strip()
        href = page.locator("#csv-link").get_attribute("href")
        assert href
        download = context.request.get(href)
        assert download.status == 200
        rows = list(csv.DictReader(io.StringIO(download.text())))
        from_csv = {(r["table"], r["row"], r["column"]): r["value"] for r in rows}
        assert shown == from_csv
        assert small_counts(list(shown.values())) == []
        # Every chart has its table beside it.
        assert page.locator("figure.report-chart").count() <= page.locator("table").count()
        context.close()
        browser.close()
