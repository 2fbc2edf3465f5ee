"""The response models derived from the domain views keep the wire format they had.

``ConsentOut`` and ``RightsRequestOut`` are read from the views' attributes
(pydantic ``from_attributes``) instead of field-by-field copies; these pin the
JSON they answer with, timestamps in ISO 8601 with an explicit ``+00:00``
offset and dates as ``YYYY-MM-DD``, so the derivation cannot change the contract.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.encoders import jsonable_encoder

from gateway.api.schemas.consents import ConsentOut
from gateway.api.schemas.rights import RightsRequestOut
from gateway.consent.service import ConsentView
from gateway.rights.answers import SourceStatus
from gateway.rights.views import Forwarding, RequestView

CREATED = datetime(2026, 11, 30, 9, 15, 2, 123456, tzinfo=UTC)
DECIDED = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)


def _consent(**changes: object) -> ConsentView:
    fields: dict[str, object] = {
        "id": "oc-1",
        "case": "c-1",
        "convenant": "zvh-demo",
        "purpose": "pga-casusoverleg",
        "recipient": "gemeente-demo",
        "case_phase": "casusoverleg",
        "categories": ("justitiele_gegevens",),
        "requested_by_employee": "mw.jansen",
        "created_at": CREATED,
        "status": "granted",
        "decided_at": DECIDED,
        "decided_by_party": "om-demo",
        "decided_by_employee": "ovj.17",
        "reason": "proportioneel",
        "valid_until": date(2026, 12, 31),
        "granted_categories": ("justitiele_gegevens",),
        "granted_recipients": ("gemeente-demo",),
        "withheld_until": None,
        "revoked_at": None,
        "revoked_by_employee": None,
        "version": 2,
    }
    fields.update(changes)
    return ConsentView(**fields)  # type: ignore[arg-type]


def test_consent_out_wire_format() -> None:
    body = jsonable_encoder(ConsentOut.of(_consent(), date(2026, 12, 1)))
    assert body == {
        "id": "oc-1",
        "case": "c-1",
        "convenant": "zvh-demo",
        "purpose": "pga-casusoverleg",
        "recipient": "gemeente-demo",
        "case_phase": "casusoverleg",
        "categories": ["justitiele_gegevens"],
        "requested_by_employee": "mw.jansen",
        "created_at": "2026-11-30T09:15:02.123456+00:00",
        "status": "granted",
        "decided_at": "2026-11-30T10:00:00+00:00",
        "decided_by_party": "om-demo",
        "decided_by_employee": "ovj.17",
        "reason": "proportioneel",
        "valid_until": "2026-12-31",
        "granted_categories": ["justitiele_gegevens"],
        "granted_recipients": ["gemeente-demo"],
        "withheld_until": None,
        "revoked_at": None,
        "revoked_by_employee": None,
        "version": 2,
        # Added for §4 (issue 17): who asked, why, about whom, what would answer.
        "requester": "gemeente-demo",
        "employee": "mw.jansen",
        "motivation": None,
        "subject_ref": "s1",
        "sources": [],
        "objection_pending": False,
        "granted_sources": None,
        "granted_fields": None,
    }


def test_consent_status_is_as_of_today() -> None:
    view = _consent(valid_until=date(2026, 11, 30), withheld_until=date(2027, 1, 2))
    body = jsonable_encoder(ConsentOut.of(view, date(2026, 12, 1)))
    assert body["status"] == "expired"
    assert body["withheld_until"] == "2027-01-02"


def _request(**changes: object) -> RequestView:
    fields: dict[str, object] = {
        "id": "rr-1",
        "type": "correctie",
        "convenant": "zvh-demo",
        "status": "pending",
        "channel": "api",
        "received_at": CREATED,
        "deadline": CREATED + timedelta(days=28),
        "responsible_party": "gemeente-demo",
        "source_party": "politie-demo",
        "filed_by_party": "gemeente-demo",
        "cases": ("c-1",),
        "records": ("r-1", "r-2"),
        "details": None,
        "decided_at": None,
        "decided_by_party": None,
        "decision_reason": None,
        "forwarded": (Forwarding("politie-demo", "forwarded"),),
        "subject_pseudonym": "ab" * 32,
    }
    fields.update(changes)
    return RequestView(**fields)  # type: ignore[arg-type]


def test_rights_request_out_wire_format() -> None:
    body = jsonable_encoder(RightsRequestOut.of(_request(), CREATED + timedelta(days=29)))
    assert body == {
        "id": "rr-1",
        "type": "correctie",
        "convenant": "zvh-demo",
        "covenants": ["zvh-demo"],
        "status": "pending",
        "channel": "api",
        "received": "2026-11-30T09:15:02.123456+00:00",
        "deadline": "2026-12-28T09:15:02.123456+00:00",
        "overdue": True,
        "responsible_party": "gemeente-demo",
        "source": "politie-demo",
        "filed_by": "gemeente-demo",
        "cases": ["c-1"],
        "records": ["r-1", "r-2"],
        "details": None,
        "decision": None,
        "decided_at": None,
        "decided_by": None,
        "reason": None,
        "forwarded": [
            {
                "party": "politie-demo",
                "status": "forwarded",
                "reason": None,
                "peer_request": None,
                "outcome": None,
                "outcome_at": None,
                "executed_at": None,
                "synced_at": None,
            }
        ],
        "sources": [],
        "extension": None,
        "withdrawn_at": None,
        "representative": None,
        "execute_by": None,
        "executed_at": None,
        "execution_overdue": False,
        "late_sources": 0,
    }


def test_an_extended_inzage_by_a_representative_on_the_wire() -> None:
    """Extension, representative, per-source answers and execution, as the wire spells them."""
    view = _request(
        type="inzage",
        deadline=CREATED + timedelta(days=56),
        first_deadline=CREATED + timedelta(days=28),
        extended_at=DECIDED,
        extended_by_party="gemeente-demo",
        extension_reason="veel bronnen",
        representative="ouder",
        execute_by=CREATED + timedelta(days=1),
        sources=(
            SourceStatus("politie-demo", "zvh-demo", "answered", "forwarded", DECIDED, 2),
            SourceStatus("ggz-demo", "zvh-demo", "late", "forwarded", None, None),
        ),
    )
    body = jsonable_encoder(RightsRequestOut.of(view, CREATED + timedelta(days=2)))
    assert body["extension"] == {
        "first_deadline": "2026-12-28T09:15:02.123456+00:00",
        "until": "2027-01-25T09:15:02.123456+00:00",
        "extended_at": "2026-11-30T10:00:00+00:00",
        "by": "gemeente-demo",
        "reason": "veel bronnen",
    }
    assert body["representative"] == {"relation": "ouder"}
    assert body["sources"] == [
        {
            "party": "politie-demo",
            "status": "answered",
            "answered_at": "2026-11-30T10:00:00+00:00",
            "records": 2,
        },
        {"party": "ggz-demo", "status": "late", "answered_at": None, "records": None},
    ]
    assert body["late_sources"] == 1
    assert body["execute_by"] == "2026-12-01T09:15:02.123456+00:00"
    assert body["execution_overdue"] is True


def test_a_decided_request_names_its_decision() -> None:
    view = _request(
        status="refused",
        decided_at=DECIDED,
        decided_by_party="gemeente-demo",
        decision_reason="r",
        covenants=("zvh-demo", "zvh-b"),
    )
    body = jsonable_encoder(RightsRequestOut.of(view, CREATED))
    assert body["decision"] == "refused"
    assert body["decided_at"] == "2026-11-30T10:00:00+00:00"
    assert body["decided_by"] == "gemeente-demo"
    assert body["reason"] == "r"
    assert body["overdue"] is False
    assert body["covenants"] == ["zvh-demo", "zvh-b"]
