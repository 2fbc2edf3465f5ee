"""Helpers for the Core statements built once at import and run on every query.

``column.in_((a, b))`` and ``bindparam(..., expanding=True)`` render their list
at execution time (SQLAlchemy's "post-compile" step re-processes the cached SQL
string per call): about 25 Python calls more per execution than a statement
with only plain bound parameters (counted by ``bench.query_cost``). For a fixed
list of constants, or the common one-element list, the forms below give the
same rows without that step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_


def one_of(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column = v1 OR column = v2 ...``: ``column IN (values)`` for constants, no post-compile."""
    if not values:
        raise ValueError("one_of needs at least one value")
    return or_(*(column == value for value in values))
