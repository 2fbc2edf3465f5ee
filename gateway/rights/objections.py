"""The broker's ``ObjectionPort``: does a verzet restrict this case? (POLICY.md condition 6)

A verzet restricts disclosure while it is pending and after it is (partly)
upheld; only a refusal lifts it. It restricts only within the covenant it
was filed under: a partner of covenant A cannot stop covenant B's work (a
partner files only for cases it participates in, see docs/rights.md). A
verzet that names no case — only the person files those — covers every case
of the person in that covenant: objecting without knowing a case id must
still work.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases.models import Case
from gateway.rights.models import RightsRequest

RESTRICTING_STATUSES = ("pending", "granted", "partially_granted")


class VerzetRegister:
    def active(self, session: Session, *, subject_pseudonym: str, case_id: str) -> bool:
        query = select(RightsRequest.cases_json).where(
            RightsRequest.subject_pseudonym == subject_pseudonym,
            RightsRequest.type == "verzet",
            RightsRequest.status.in_(RESTRICTING_STATUSES),
        )
        convenant = session.scalar(select(Case.convenant).where(Case.id == case_id))
        if convenant is not None:  # a vanished case: every verzet counts (fail closed)
            query = query.where(RightsRequest.convenant == convenant)
        rows = session.scalars(query)
        for cases_json in rows:
            request_cases = json.loads(cases_json)
            if not request_cases or case_id in request_cases:
                return True
        return False
