"""Refuse a query naming categories or sources its covenant does not know — before fan-out.

Without this, 50 made-up categories times 50 made-up sources became 2,500
``denied`` decisions and as many log entries from one request (log flooding).
Ids the covenant does not declare can never be permitted, so the whole query
is refused up front with one 422 naming them, and nothing is decided or asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.audit.events import DetailValue
from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Unprocessable

_NUMBER_RUN = re.compile(r"[0-9]{8,}")


def _loggable(ident: str) -> str:
    """An id as the log may keep it: a long run of digits could be a BSN, so it is masked."""
    return _NUMBER_RUN.sub("#", ident)


class UnknownIds(Unprocessable):
    slug = "unknown-ids"
    title = "The query names categories or sources the covenant does not declare"

    def audit_details(self) -> dict[str, DetailValue]:
        """The unknown ids for the refusal's log entry (pattern-checked and bounded by the
        request model; digit runs masked, see :func:`_loggable`)."""
        details: dict[str, DetailValue] = {}
        for name in ("unknown_categories", "unknown_sources"):
            ids = self.extensions.get(name) or []
            if ids:
                details[name] = ",".join(_loggable(str(i)) for i in ids)
        return details


def check_known_ids(
    policy: CompiledPolicy,
    covenant_id: str,
    categories: Sequence[str],
    sources: Sequence[str] | None,
) -> None:
    """Raise :class:`UnknownIds` unless every category and source is declared in the covenant.

    A covenant that is gone (reloaded away) is left to the decision, which
    answers ``convenant_inactive`` for every result.
    """
    compiled = policy.covenants.get(covenant_id)
    if compiled is None:
        return
    unknown_categories = sorted({c for c in categories if c not in compiled.categories})
    unknown_sources = sorted({s for s in sources or () if s not in compiled.parties})
    if not unknown_categories and not unknown_sources:
        return
    reason = "unknown_source" if unknown_sources else "unknown_category"
    extensions: dict[str, object] = {"reason": reason}
    if unknown_categories:
        extensions["unknown_categories"] = unknown_categories
    if unknown_sources:
        extensions["unknown_sources"] = unknown_sources
    raise UnknownIds(
        detail="Every category and source must be declared in the token's covenant.",
        extensions=extensions,
    )
