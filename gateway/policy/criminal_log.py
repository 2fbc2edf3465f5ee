"""How long a covenant's criminal-disclosure log records must stay readable (Wjsg art. 39j).

One rule for both places that shred a ``strafrechtelijk`` data key: retention
(the case purge and the ``criminal_log`` rule) and the erasure of a person
(``gateway.rights.erasure``). Before, erasure used a fixed four years and a day,
so it shredded a key early under a covenant whose ``log_retention`` is longer.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.policy.compiled import CompiledPolicy
from gateway.policy.durations import IsoDuration

WJSG_MINIMUM = IsoDuration(years=4, days=1)
"""Four years counted generously (one leap day): the Wjsg minimum, never less."""


def _longest(durations: Iterable[IsoDuration]) -> IsoDuration:
    longest = WJSG_MINIMUM
    for duration in durations:
        if not longest.at_least(duration):
            longest = duration
    return longest


def criminal_log_retention(policy: CompiledPolicy, covenant_id: str) -> IsoDuration | None:
    """The longest ``log_retention`` of the covenant's ``strafrechtelijk`` categories,
    never less than :data:`WJSG_MINIMUM`.

    None when the covenant is not loaded: its floor is unknown, so its keys are kept
    (before, the longest floor of the covenants loaded now stood in, which shredded
    an unloaded ``P6Y`` covenant's keys after four years and a day).
    """
    covenant = policy.covenant(covenant_id)
    if covenant is None:
        return None
    return _longest(
        category.log_retention
        for category in covenant.categories
        if category.sensitivity == "strafrechtelijk" and category.log_retention is not None
    )
