"""Request bodies shared by the partner API routers; strict, bounded, no extras."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from gateway.subjects.bsn import holds_bsn, holds_long_number

# The pydantic error type of a free-text value holding a BSN: gateway.api.errors answers
# it as ``unprocessable`` ("<field> must not contain a BSN."), the problem a workflow
# reason holding one gets from the case service.
BSN_IN_TEXT: Final = "bsn_in_text"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _no_bsn(text: str) -> str:
    """Free text is stored and shown in clear (audit details, case pages): no BSN in it."""
    if holds_bsn(text):
        raise PydanticCustomError(BSN_IN_TEXT, "must not contain a BSN")
    return text


def _no_number(value: str) -> str:
    """Ids are stored, logged and shown in clear (cases, log details, report labels).

    No id the gateway knows (party, purpose, category, case type, region, reason,
    role, code) carries eight digits in a row, so such a run is refused without
    guessing whether it is a BSN (holds_long_number), with the same answer as
    free text holding one.
    """
    if holds_long_number(value) or holds_bsn(value):
        raise PydanticCustomError(BSN_IN_TEXT, "must not contain a BSN")
    return value


ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_.-]{0,99}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN), AfterValidator(_no_number)]
# An id another gateway minted (a peer's case or rights request id), sent back to us as
# it is. A gateway before 2026-12-02 drew random hex with long digit runs in about one
# id in eight, and a peer repeats the same id on every retry: refused, that person's
# request would never arrive. A run of random hex digits is not personal data, so such
# an id is held to the shape and to holds_bsn only (a BSN in it is still refused).
PeerMintedId = Annotated[str, StringConstraints(pattern=ID_PATTERN), AfterValidator(_no_bsn)]
# A source's record id, ``<source>/<record>`` for a peer's (docs/federation.md). A source
# mints its own ids, so a long digit run can be genuine; a BSN in one never is, and a
# record named in a rights request is stored and logged in clear: held to holds_bsn,
# as a peer's record ids already are on the wire (connectors/federation_wire.py).
RecordId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}(/[A-Za-z0-9][A-Za-z0-9_.:-]{0,99})?$"
    ),
    AfterValidator(_no_bsn),
]
# Free text people write (a reason, a motivation, a reference, a note, details). No NUL:
# PostgreSQL text cannot hold it, and no partner needs it in free text. No BSN as people
# write it (holds_bsn): the text is kept in clear, outside the vault (promise 10).
Text = Annotated[
    str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$"), AfterValidator(_no_bsn)
]


def holds_lone_surrogate(value: object) -> bool:
    """True if a string or key anywhere in a parsed JSON ``value`` is not valid UTF-8.

    ``json.loads`` turns the escape ``"\\udfff"`` (and a CESU-encoded byte
    sequence) into a lone surrogate, which no page, database driver or log
    handler can encode: stored, it would fail every later read. Walked with a
    stack, not recursion, so a deeply nested body cannot exhaust the stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                    return True
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StrictBody(BaseModel):
    """Base of every partner request body: no extra keys, no string that is not UTF-8.

    The surrogate check runs on the raw input, before the fields: it covers every
    field alike (``JsonValue`` ones and dict keys too, which pydantic passes as
    they come), on FastAPI's path and the lean route's (which falls back to
    FastAPI on a validation error), so both answer the same 422 ``validation``.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _utf8_only(cls, data: Any) -> Any:
        if holds_lone_surrogate(data):
            raise PydanticCustomError(
                "string_unicode",
                "Input should be a valid string, unable to parse raw data as a unicode string",
            )
        return data


class SubjectIn(StrictBody):
    bsn: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
