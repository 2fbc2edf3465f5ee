"""The broker's ``ObjectionPort``: does a verzet restrict this case? (POLICY.md condition 6)

A verzet restricts disclosure while it is pending and after it is (partly)
upheld; only a refusal lifts it. A verzet that names no case covers every
case of the person: objecting without knowing a case id must still work.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.rights.models import RightsRequest

RESTRICTING_STATUSES = ("pending", "granted", "partially_granted")


class VerzetRegister:
    def active(self, session: Session, *, subject_pseudonym: str, case_id: str) -> bool:
        rows = session.scalars(
            select(RightsRequest.cases_json).where(
                RightsRequest.subject_pseudonym == subject_pseudonym,
                RightsRequest.type == "verzet",
                RightsRequest.status.in_(RESTRICTING_STATUSES),
            )
        )
        for cases_json in rows:
            request_cases = json.loads(cases_json)
            if not request_cases or case_id in request_cases:
                return True
        return False
