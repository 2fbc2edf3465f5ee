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
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.cases.models import Case
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.models import RightsRequest
from gateway.storage.constant_sql import one_of
from gateway.storage.precompiled import Precompiled
from gateway.storage.reads import Read, read

RESTRICTING_STATUSES = ("pending", "granted", "partially_granted")


_REQUESTS = RightsRequest.__table__
# Asked on every query: built once (Core, compiled form cached by SQLAlchemy).
_VERZETS = Precompiled(
    select(
        _REQUESTS.c.cases_json,
        _REQUESTS.c.convenant,
        _REQUESTS.c.filed_by_party,
        _REQUESTS.c.status,
        _REQUESTS.c.decided_by_party,
    ).where(
        _REQUESTS.c.subject_pseudonym == bindparam("pseudonym"),
        _REQUESTS.c.type == "verzet",
        one_of(_REQUESTS.c.status, (*RESTRICTING_STATUSES, "refused")),
    )
)
_CASE_COVENANT = Precompiled(
    select(Case.__table__.c.convenant).where(Case.__table__.c.id == bindparam("case_id"))
)


class VerzetRegister:
    """``policy`` tells each covenant's controller; without it a refusal lifts only at home."""

    def __init__(self, policy: Callable[[], CompiledPolicy] | None = None) -> None:
        self._policy = policy

    def _controller(self, convenant: str) -> str | None:
        if self._policy is None:
            return None
        covenant = self._policy().covenant(convenant)
        return covenant.controller if covenant is not None else None

    def _lifted_here(self, home: str, decided_by: str | None, case_covenant: str) -> bool:
        """A refusal lifts the person's verzet where the refusing party is the controller."""
        if case_covenant == home:
            return True
        return decided_by is not None and self._controller(case_covenant) == decided_by

    def active(self, session: Session, *, subject_pseudonym: str, case_id: str) -> bool:
        """Whether a restricting verzet of the person covers this case.

        A verzet naming cases covers exactly those (case ids are unique, so it
        never reaches another covenant). A verzet naming none filed by the
        person covers every case of theirs in every covenant; one filed by a
        partner before partners had to name cases covers only its covenant.
        The person's verzet is decided by the controller of its own covenant:
        a refusal lifts it there and in covenants with that same controller,
        not in a covenant whose controller never decided it.
        """
        return read(session, self.active_read(subject_pseudonym=subject_pseudonym, case_id=case_id))

    def active_read(self, *, subject_pseudonym: str, case_id: str) -> Read[bool]:
        """:meth:`active` as a read to send with others (gateway/storage/reads.py)."""
        return Read(_VERZETS, {"pseudonym": subject_pseudonym}, partial(self._covers, case_id))

    def _covers(self, case_id: str, connection: Connection, rows: list[Any]) -> bool:
        """Whether one of the person's verzets (``rows``) covers the case (see :meth:`active`)."""
        if not rows:
            return False
        case_covenant = _CASE_COVENANT.scalar(connection, {"case_id": case_id})
        for cases_json, convenant, filed_by, status, decided_by in rows:
            named = json.loads(cases_json)
            if status == "refused":
                if named or filed_by is not None:
                    continue
                if case_covenant is None or not self._lifted_here(
                    convenant, decided_by, case_covenant
                ):
                    return True
            elif named:
                if case_id in named:
                    return True
            elif filed_by is None or case_covenant is None or convenant == case_covenant:
                return True  # the person's own; or a vanished case (fail closed)
        return False
