"""/privacy for the FG: search by BSN (pseudonymised), detail, integrity, CSV export."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlparse

from gateway.subjects.bsn import Bsn
from gateway.web.privacy.csv_export import csv_lines, neutralise
from tests.web.conftest import OTHER_BSN, SUBJECT_BSN, Gateway, hidden_fields, login


def test_neutralise_blocks_spreadsheet_formulas() -> None:
    for dangerous in ("=1+1", "+31 6", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("gemeente-demo") == "gemeente-demo"
    assert neutralise(None) == ""
    assert neutralise(42) == "42"
    text = "".join(csv_lines(["a", "b"], [["=cmd|' /C calc'!A0", "ok, quoted"]]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["a", "b"], ["'=cmd|' /C calc'!A0", "ok, quoted"]]


def test_search_by_bsn_keeps_the_bsn_out_of_urls(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    page = client.get("/privacy")
    assert page.status_code == 200
    form = hidden_fields(page.text)
    form["bsn"] = SUBJECT_BSN
    result = client.post("/privacy/search", data=form)
    assert result.status_code == 200
    assert SUBJECT_BSN not in str(result.url)
    pseudonym = gateway.runtime.pseudonymizer.pseudonym(Bsn(SUBJECT_BSN))
    assert f"subject={pseudonym}" in urlparse(str(result.url)).query
    assert "psychisch welzijn" in result.text  # covenant ids shown as words
    assert "justitiele gegevens" not in result.text, "the other person's entry is filtered out"
    assert SUBJECT_BSN not in result.text and OTHER_BSN not in result.text


def test_invalid_bsn_is_refused_in_dutch(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    form = hidden_fields(client.get("/privacy").text)
    form["bsn"] = "123456789"
    refused = client.post("/privacy/search", data=form)
    assert refused.status_code == 400
    assert "elfproef" in refused.text
    assert "123456789" not in refused.text


def test_filters_detail_and_integrity(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    denied = client.get("/privacy", params={"outcome": "denied"})
    assert "woningcorporatie-demo" in denied.text
    assert "psychisch welzijn" not in denied.text
    assert "In orde" in denied.text
    assert "Geen verzoeken over of bijna over de termijn" in denied.text
    first = gateway.seqs[0]
    detail = client.get(f"/privacy/entries/{first}")
    assert detail.status_code == 200
    assert "agent-17" in detail.text and "psychisch welzijn" in detail.text
    assert client.get("/privacy/entries/999").status_code == 404
    bad_date = client.get("/privacy", params={"from": "gisteren"})
    assert bad_date.status_code == 400 and "JJJJ-MM-DD" in bad_date.text


def test_csv_export_is_an_escaped_attachment(gateway: Gateway) -> None:
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    export = client.get("/privacy/export.csv", params={"party": "woningcorporatie-demo"})
    assert export.status_code == 200
    assert export.headers["content-disposition"].startswith("attachment;")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 1
    assert rows[0]["reason"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["party"] == "woningcorporatie-demo"
    # each code keeps its machine column and gets a Dutch label column from the glossary
    assert rows[0]["outcome"] == "denied" and rows[0]["outcome_nl"] == "Geweigerd"
    assert rows[0]["kind_nl"] == "Besluit"
    everything = list(csv.DictReader(io.StringIO(client.get("/privacy/export.csv").text)))
    # The officer's own reads are entries too (kind "audit"); the fixture's are all there.
    logged = [int(r["seq"]) for r in everything if r["kind"] != "audit"]
    assert sorted(logged) == sorted(gateway.seqs)
    assert {r["outcome"] for r in everything if r["kind"] == "audit"} == {"read"}


def test_outcome_is_a_select_of_real_outcomes_in_dutch(gateway: Gateway) -> None:
    """The old hint "bijv. permit, denied" found nothing for permit: now a select (issue 20)."""
    client = login(gateway.base_url, "fg.demo", next_path="/privacy")
    page = client.get("/privacy").text
    assert "bijv. permit" not in page
    assert re.search(r'<option value="ok"\s*>Verstrekt</option>', page)
    assert re.search(r'<option value="denied"\s*>Geweigerd</option>', page)
    found = client.get("/privacy", params={"outcome": "permit"})
    assert found.status_code == 200 and "psychisch welzijn" in found.text
    unknown = client.get("/privacy", params={"outcome": "permitt"})
    assert unknown.status_code == 400 and "Kies een uitkomst uit de lijst." in unknown.text
