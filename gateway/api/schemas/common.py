"""The base of every response model and the problem+json body (RFC 9457)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, always with its offset (``+00:00``).

    SQLite hands ``DateTime(timezone=True)`` columns back naive; the gateway
    writes only UTC, so a naive value is UTC and gets its offset back here —
    otherwise ``GET /v1/cases/{id}`` would drop the offset the POST answer had.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def utc_iso_or_none(moment: datetime | None) -> str | None:
    return utc_iso(moment) if moment is not None else None


class Out(BaseModel):
    """A response body. Extra keys pass through: the contract lets us add fields freely."""

    model_config = ConfigDict(extra="allow")


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
