"""Request bodies shared by the partner API routers; strict, bounded, no extras."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic_core import PydanticCustomError

from gateway.subjects.bsn import holds_bsn

# The pydantic error type of a free-text value holding a BSN: gateway.api.errors answers
# it as ``unprocessable`` ("<field> must not contain a BSN."), the problem a workflow
# reason holding one gets from the case service.
BSN_IN_TEXT: Final = "bsn_in_text"


def _no_bsn(text: str) -> str:
    """Free text is stored and shown in clear (audit details, case pages): no BSN in it."""
    if holds_bsn(text):
        raise PydanticCustomError(BSN_IN_TEXT, "must not contain a BSN")
    return text


Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]
# Free text people write (a reason, a motivation, a reference, a note, details). No NUL:
# PostgreSQL text cannot hold it, and no partner needs it in free text. No BSN as people
# write it (holds_bsn): the text is kept in clear, outside the vault (promise 10).
Text = Annotated[
    str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$"), AfterValidator(_no_bsn)
]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectIn(StrictBody):
    bsn: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
