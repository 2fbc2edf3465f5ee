"""Pushed source deletions (API.md §7)."""

from __future__ import annotations

from gateway.api.schemas.common import Out


class DeletionsOut(Out):
    accepted: int
    copies_deleted: int
