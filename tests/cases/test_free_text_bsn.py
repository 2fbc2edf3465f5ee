"""Reasons and notes go to the case and the log in clear: a BSN there is refused as people
write it (grouped with spaces, dots or hyphens), not only as one run of digits."""

from __future__ import annotations

import pytest

from gateway.demo.stack import Stack
from gateway.demodata.people import demo_people
from tests.brokering.support import audit_entries
from tests.support.stack import open_demo_case

BSN = demo_people()[0].bsn.reveal()
GROUPED = (
    f"{BSN[:4]} {BSN[4:6]} {BSN[6:]}",
    f"{BSN[:4]}.{BSN[4:6]}.{BSN[6:]}",
    f"{BSN[:3]}-{BSN[3:6]}-{BSN[6:]}",
)


@pytest.mark.parametrize("written", GROUPED)
def test_a_grouped_bsn_in_a_reason_or_note_is_refused_and_kept_nowhere(
    stack: Stack, written: str
) -> None:
    partner, case_id = open_demo_case(stack)

    moved = partner.call(
        "PATCH",
        f"/v1/cases/{case_id}",
        {"phase": "plan_van_aanpak", "reason": f"dubbel, BSN {written}"},
    )
    closed = partner.call(
        "POST", f"/v1/cases/{case_id}/close", {"reason": "anders", "note": f"BSN {written}"}
    )

    assert (moved.status_code, closed.status_code) == (422, 422), (moved.text, closed.text)
    assert written not in moved.text + closed.text
    case = partner.call("GET", f"/v1/cases/{case_id}").json()
    assert case["phase"] == "casusoverleg" and case["status"] == "open"
    assert written not in str(case)
    assert written not in str(audit_entries(stack, case_id))
