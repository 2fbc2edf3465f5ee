"""Minimisation (promise 4): only permitted fields of permitted categories leave, counted."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.models import Record
from gateway.brokering.minimise import minimise

UPDATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PERMITTED = {"huisvesting": frozenset({"woonsituatie", "sinds", "adres"})}


def _record(record_id: str, category: str, **fields: object) -> Record:
    return Record(id=record_id, category=category, updated=UPDATED, fields=fields)  # type: ignore[arg-type]


def test_a_record_with_only_permitted_fields_is_kept_whole_as_its_own_copy() -> None:
    sent = _record("r1", "huisvesting", sinds="2020", woonsituatie="huur")
    kept = minimise([sent], PERMITTED)
    (record,) = kept.records["huisvesting"]
    assert list(record.fields.items()) == [("sinds", "2020"), ("woonsituatie", "huur")]
    assert record.id == "r1" and record.updated == UPDATED.isoformat()
    assert kept.trimmed_fields == {"huisvesting": 0}
    assert (kept.dropped_records, kept.dropped_fields) == (0, 0)
    assert isinstance(sent.fields, dict)
    sent.fields["adres"] = "later"  # what the source's mapping does afterwards stays out
    assert "adres" not in record.fields


def test_fields_beyond_the_permitted_ones_are_cut_and_counted_in_order() -> None:
    sent = _record("r1", "huisvesting", intern="x", woonsituatie="huur", notitie="y", adres="a")
    kept = minimise([sent, _record("r2", "huisvesting", sinds="2020")], PERMITTED)
    first, second = kept.records["huisvesting"]
    assert list(first.fields.items()) == [("woonsituatie", "huur"), ("adres", "a")]
    assert dict(second.fields) == {"sinds": "2020"}
    assert kept.trimmed_fields == {"huisvesting": 2}


def test_records_of_unasked_categories_are_dropped_with_their_fields() -> None:
    kept = minimise(
        [_record("r1", "detentie", a=1, b=2), _record("r2", "huisvesting", adres="a")],
        {**PERMITTED, "sociale_relaties": frozenset({"netwerk"})},
    )
    assert [r.id for r in kept.records["huisvesting"]] == ["r2"]
    assert kept.records["sociale_relaties"] == []
    assert kept.trimmed_fields == {"huisvesting": 0, "sociale_relaties": 0}
    assert (kept.dropped_records, kept.dropped_fields) == (1, 2)


def test_an_empty_record_is_kept_empty() -> None:
    kept = minimise([_record("r1", "huisvesting")], PERMITTED)
    assert [dict(r.fields) for r in kept.records["huisvesting"]] == [{}]
    assert kept.trimmed_fields == {"huisvesting": 0}
