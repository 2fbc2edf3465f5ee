"""The purpose-bound scope: ``convenant:<id> purpose:<id>``, exactly one of each."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749 import InvalidScopeError

COVENANT_PREFIX = "convenant:"
PURPOSE_PREFIX = "purpose:"


@dataclass(frozen=True, slots=True)
class PurposeScope:
    covenant: str
    purpose: str

    def __str__(self) -> str:
        return f"{COVENANT_PREFIX}{self.covenant} {PURPOSE_PREFIX}{self.purpose}"


def parse_scope(scope: str | None) -> PurposeScope:
    """Raise ``invalid_scope`` unless the scope binds one covenant and one purpose, nothing else.

    One token per purpose is the point of purpose binding: a token that could
    serve two purposes would let data gathered for one flow into the other.
    """
    tokens = (scope or "").split()
    covenants = [t.removeprefix(COVENANT_PREFIX) for t in tokens if t.startswith(COVENANT_PREFIX)]
    purposes = [t.removeprefix(PURPOSE_PREFIX) for t in tokens if t.startswith(PURPOSE_PREFIX)]
    if len(covenants) + len(purposes) != len(tokens):
        raise InvalidScopeError("only 'convenant:<id>' and 'purpose:<id>' scopes exist")
    if len(covenants) != 1 or len(purposes) != 1:
        raise InvalidScopeError("the scope needs exactly one convenant and exactly one purpose")
    if not covenants[0] or not purposes[0]:
        raise InvalidScopeError("empty convenant or purpose id")
    return PurposeScope(covenant=covenants[0], purpose=purposes[0])


def try_parse_scope(scope: str | None) -> PurposeScope | None:
    try:
        return parse_scope(scope)
    except InvalidScopeError:
        return None
