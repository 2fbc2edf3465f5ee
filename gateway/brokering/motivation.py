"""A query for criminal data must say why (API.md §3): the OvJ weighs proportionality.

Checked before anything is decided or logged as a decision: a query naming a
``strafrechtelijk`` category without a motivation, or with a code the
covenant's ``motivation_codes`` does not list, is a 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.policy.compiled import CompiledPolicy
from gateway.problems import Unprocessable


class _Motivation(Protocol):
    @property
    def code(self) -> str: ...


class MotivationRequired(Unprocessable):
    slug = "motivation-required"
    title = "A query for strafrechtelijke gegevens needs a motivation"


class UnknownMotivationCode(Unprocessable):
    slug = "motivation-code"
    title = "The motivation code is not one of the covenant's motivation_codes"


def check_motivation(
    policy: CompiledPolicy,
    covenant_id: str,
    categories: Sequence[str],
    motivation: _Motivation | None,
) -> None:
    compiled = policy.covenants.get(covenant_id)
    if compiled is None:
        return  # the decision denies convenant_inactive, as for any other query
    known = compiled.categories
    criminal = sorted(c for c in set(categories) if c in known and known[c].needs_consent)
    if criminal and motivation is None:
        raise MotivationRequired(
            detail="Name a motivation code and text for the strafrechtelijke categories.",
            extensions={
                "categories": criminal,
                "motivation_codes": sorted(compiled.motivation_codes),
            },
        )
    if (
        motivation is not None
        and compiled.motivation_codes
        and motivation.code not in compiled.motivation_codes
    ):
        raise UnknownMotivationCode(
            detail="Use one of the covenant's motivation codes.",
            extensions={"motivation_codes": sorted(compiled.motivation_codes)},
        )
