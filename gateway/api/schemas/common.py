"""The base of every response model and the problem+json body (RFC 9457)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
