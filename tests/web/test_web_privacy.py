"""/privacy for the FG: search by BSN (pseudonymised), detail, integrity, CSV export."""

from __future__ import annotations

import csv
import io
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
    assert "psychisch_welzijn" in result.text
    assert "justitiele_gegevens" not in result.text, "the other person's entry is filtered out"
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
    assert "psychisch_welzijn" not in denied.text
    assert "In orde" in denied.text
    assert "Geen verzoeken over of bijna over de termijn" in denied.text
    first = gateway.seqs[0]
    detail = client.get(f"/privacy/entries/{first}")
    assert detail.status_code == 200
    assert "agent-17" in detail.text and "psychisch_welzijn" in detail.text
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
    everything = list(csv.DictReader(io.StringIO(client.get("/privacy/export.csv").text)))
    # The officer's own reads are entries too (kind "audit"); the fixture's are all there.
    logged = [int(r["seq"]) for r in everything if r["kind"] != "audit"]
    assert sorted(logged) == sorted(gateway.seqs)
    assert {r["outcome"] for r in everything if r["kind"] == "audit"} == {"read"}
