"""Request bodies shared by the partner API routers; strict, bounded, no extras."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
# No NUL: PostgreSQL text cannot hold it, and no partner needs it in free text.
Text = Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$")]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectIn(StrictBody):
    bsn: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
