"""/mijn for a person (issue 20): the offline copy, portal views folded for the FG."""

from __future__ import annotations

import base64
import hashlib
import re

from gateway.demo.stack import Stack
from gateway.web.privacy.rows import result_rows
from gateway.web.templating import inline_stylesheet
from tests.brokering.support import open_case, results
from tests.rights.conftest import person_login


def _disclose(stack: Stack) -> str:
    gemeente, case_id = open_case(stack, consent=True)  # GGZ data needs the person's consent
    found = results(gemeente.query(case_id, ["psychisch_welzijn"], ["ggz-demo"]))
    assert found[("ggz-demo", "psychisch_welzijn")]["status"] == "ok"
    return case_id


def test_the_downloaded_copy_carries_its_style_and_the_csp_allows_exactly_it(stack: Stack) -> None:
    case_id = _disclose(stack)
    person = person_login(stack, "persoon-a")
    copy = person.get("/mijn/afdruk", params={"download": "1"})
    assert copy.status_code == 200
    assert copy.headers["content-disposition"].startswith("attachment;")
    assert 'rel="stylesheet"' not in copy.text, "offline there is no server to fetch it from"
    style = re.search(r"<style>(.*?)</style>", copy.text, re.S)
    assert style is not None and style.group(1) == inline_stylesheet()
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in copy.headers["content-security-policy"]
    assert "unsafe-inline" not in copy.headers["content-security-policy"]
    assert "Casus 1" in copy.text and case_id not in copy.text


def test_repeated_portal_views_fold_into_one_line_with_type_case_and_party() -> None:
    """The FG's list: a person's views of their inzage are one line with a count.

    (Portal views carry no covenant, so an FG limited to their covenants does not
    see them today; the list folds them wherever they are shown.)
    """
    view = {
        "kind": "rights",
        "outcome": "inzage_shown",
        "subject": "p1",
        "details": {"channel": "portal"},
        "time": "2026-12-01T10:00:00+00:00",
    }
    entries = [
        {**view, "seq": 9},
        {**view, "seq": 8},
        {**view, "seq": 7},
        {**view, "seq": 6, "subject": "p2"},
        {
            "seq": 5,
            "kind": "rights",
            "outcome": "filed",
            "party": None,
            "case": None,
            "details": {"type": "verzet", "cases": "c-1,c-2", "channel": "portal"},
            "time": "2026-12-01T09:00:00+00:00",
        },
    ]
    rows = result_rows(entries)
    assert [(r.seq, r.last_seq, r.count) for r in rows] == [(9, 7, 3), (6, 6, 1), (5, 5, 1)]
    assert (
        rows[0].outcome == "Inzage getoond" and rows[0].party == "Betrokkene zelf (Mijn gegevens)"
    )
    assert rows[0].time == "01-12-2026 11:00"  # Dutch time
    filed = rows[2]
    assert filed.kind == "Rechten betrokkene: Verzet"
    assert filed.case == "c-1, c-2"
    assert filed.outcome == "Ingediend"
