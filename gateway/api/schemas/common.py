"""The base of every response model and the problem+json body (RFC 9457)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, always with its offset (``+00:00``).

    The one way a moment goes on the wire (also :data:`IsoDateTime`'s serializer).
    The storage column type hands back aware UTC values; a naive value that
    still reaches a response (SQLite without that type) is UTC by the gateway's
    convention and gets its offset back here, so ``GET /v1/cases/{id}`` never
    drops the offset its POST answer had.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def utc_iso_or_none(moment: datetime | None) -> str | None:
    return utc_iso(moment) if moment is not None else None


def _iso_date(day: date) -> str:
    return day.isoformat()


IsoDateTime = Annotated[datetime, PlainSerializer(utc_iso, return_type=str)]
"""A moment on the wire: ISO 8601 in UTC with its offset (``2026-11-30T09:15:02+00:00``)."""

IsoDate = Annotated[date, PlainSerializer(_iso_date, return_type=str)]
"""A calendar date on the wire: ``YYYY-MM-DD``."""


class Out(BaseModel):
    """A response body. Extra keys pass through: the contract lets us add fields freely."""

    model_config = ConfigDict(extra="allow")


class ViewOut(Out):
    """A response body read from a domain view's attributes (``model_validate(view)``).

    The field names are the wire's; ``validation_alias`` names the view's
    attribute where the two differ, and the wire name still validates (FastAPI
    checks what a route returns against its response model).
    """

    model_config = ConfigDict(
        extra="allow",
        from_attributes=True,
        populate_by_name=True,
        json_schema_serialization_defaults_required=True,
    )


class Problem(Out):
    """RFC 9457 problem details, as every error of the API answers (docs/problems.md)."""

    type: str = Field(description="Stable URI of the problem type.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    reason: str | None = Field(
        default=None, description="Machine-readable reason of a denial, where there is one."
    )


class Jwks(Out):
    """RFC 7517 JSON Web Key Set."""

    keys: list[dict[str, object]]
