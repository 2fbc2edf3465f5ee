"""/rapportage over HTTP: who may see it, hostile query strings, the printable register."""

from __future__ import annotations

from gateway.demo.stack import Stack
from tests.web.conftest import login


def test_only_stuurgroep_and_fg_see_the_page(stack: Stack) -> None:
    ovj = login(stack.base_url, "ovj.demo")
    refused = ovj.get("/rapportage")
    assert refused.status_code == 403
    assert ovj.get("/rapportage/export.csv").status_code == 403
    for user in ("stuurgroep.demo", "fg.demo"):
        client = login(stack.base_url, user, "/rapportage")
        page = client.get("/rapportage", params={"soort": "privacy"})
        assert page.status_code == 200, page.text
        assert "<svg" in page.text and "Verstrekkingen per bron" in page.text
        register = client.get("/rapportage/register")
        assert register.status_code == 200
        assert "urn:ketenpoort:processing:zvh-demo:pga-casusoverleg" in register.text


def test_hostile_query_strings_get_a_dutch_form_error(stack: Stack) -> None:
    client = login(stack.base_url, "stuurgroep.demo", "/rapportage")
    for params in (
        {"van": "2026-13-01"},
        {"van": "2026-12-31", "tot": "2026-01-01"},
        {"van": "0001-01-01", "tot": "9999-12-31"},
        {"van": "<script>"},
    ):
        page = client.get("/rapportage", params=params)
        assert page.status_code == 422, params
        assert "Vul een geldige periode in" in page.text and "<script>" not in page.text
    page = client.get("/rapportage", params={"soort": "../../etc/passwd"})
    assert page.status_code == 200 and "Kies een bestaand soort rapportage" in page.text
    too_long = client.get("/rapportage", params={"van": "9" * 500})
    assert too_long.status_code in (404, 422) and "Traceback" not in too_long.text
    csv = client.get("/rapportage/export.csv", params={"van": "x"})
    assert csv.status_code == 422
