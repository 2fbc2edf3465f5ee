"""Audit checkpoints, proofs and the officer's log search (``/v1/audit``)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from gateway.api.schemas.common import Out


class CheckpointOut(Out):
    """A signed tree head (docs/audit.md)."""

    size: int
    root_hash: str
    time: str
    kid: str
    signature: str


class InclusionProofOut(Out):
    seq: int
    size: int
    leaf_hash: str
    root_hash: str
    proof: list[str]
    checkpoint: CheckpointOut


class ConsistencyProofOut(Out):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    first: int = Field(alias="from")
    second: int = Field(alias="to")
    proof: list[str]
    from_checkpoint: CheckpointOut | None
    to_checkpoint: CheckpointOut


class EntryPageOut(Out):
    entries: list[dict[str, Any]]
    next: str | None = Field(description="Cursor of the next page; null on the last.")
