"""The broker's ``ObjectionPort``: does a verzet restrict this case? (POLICY.md condition 6)

A verzet restricts disclosure while it is pending and after it is (partly)
upheld; only a refusal lifts it. A partner's verzet names the cases it
participates in (docs/rights.md), so it restricts only those, within its
token's covenant: a partner of covenant A cannot stop covenant B's work. The
person's own verzet naming no case covers every case of the person in every
covenant: the person objects to the partnership as a whole, and objecting
without knowing a case id must still work.
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
        """Whether a restricting verzet of the person covers this case.

        A verzet naming cases covers exactly those (case ids are unique, so it
        never reaches another covenant). A verzet naming none filed by the
        person covers every case of theirs in every covenant; one filed by a
        partner before partners had to name cases covers only its covenant.
        """
        rows = session.execute(
            select(
                RightsRequest.cases_json, RightsRequest.convenant, RightsRequest.filed_by_party
            ).where(
                RightsRequest.subject_pseudonym == subject_pseudonym,
                RightsRequest.type == "verzet",
                RightsRequest.status.in_(RESTRICTING_STATUSES),
            )
        ).all()
        if not rows:
            return False
        case_covenant = session.scalar(select(Case.convenant).where(Case.id == case_id))
        for cases_json, convenant, filed_by in rows:
            named = json.loads(cases_json)
            if named:
                if case_id in named:
                    return True
            elif filed_by is None or case_covenant is None or convenant == case_covenant:
                return True  # the person's own; or a vanished case (fail closed)
        return False
