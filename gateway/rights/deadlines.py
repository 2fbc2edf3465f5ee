"""Legal deadlines of rights requests, counted from receipt (promise 9).

The covenant's ``rights`` block sets them per type (a covenant may be
stricter than the law); without a covenant the AVG's one month applies
(art. 12 lid 3). Months are calendar months: received on 31 January, due at
the end of February.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from gateway.policy.durations import IsoDuration
from gateway.policy.models import Covenant

RequestType = Literal["inzage", "correctie", "verzet"]
REQUEST_TYPES: tuple[RequestType, ...] = ("inzage", "correctie", "verzet")
AVG_DEFAULT = IsoDuration(months=1)


def term_for(covenant: Covenant | None, kind: RequestType) -> IsoDuration:
    if covenant is None:
        return AVG_DEFAULT
    duration: IsoDuration = getattr(covenant.rights, kind)
    return duration


def deadline_for(covenant: Covenant | None, kind: RequestType, received_at: datetime) -> datetime:
    return term_for(covenant, kind).add_to(received_at)
