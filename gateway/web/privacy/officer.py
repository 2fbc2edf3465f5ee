"""Who reads /privacy: a logged-in FG, bound to the covenants their party oversees.

The session holds the party and the covenants it belonged to at login; a page
is served only for the covenants in which that party is privacy officer in the
policy in force *now* (a policy change narrows a running session at once). A
logged-in user without that role, or without any such covenant, is refused
with the Dutch 403 page and the refusal is logged.
"""

from __future__ import annotations

from fastapi import Request

from gateway.audit.officer import PRIVACY_OFFICER, Reader, officer_covenants
from gateway.audit.officer_reads import log_refusal
from gateway.web.session import RoleMissing, WebUser, require_login
from gateway.wiring import runtime_of

CHANNEL = "web"


def _identity(user: WebUser) -> str | None:
    """The FG's own id for the log; a person's login id is never logged (it may be their BSN)."""
    return user.sub if user.party is not None and user.bsn is None else None


ACTIONS = {
    "": "list",
    "entries": "entry",
    "export.csv": "export",
    "search": "search",
    "verify": "verify",
}


def _action(path: str) -> str:
    """Which page was asked for, by name only (a path segment could hold anything)."""
    first = path.removeprefix("/privacy").strip("/").split("/", 1)[0]
    return ACTIONS.get(first, "other")


def web_reader(request: Request) -> Reader:
    """FastAPI dependency of every /privacy route: the reader, or login / 403."""
    user = require_login(request)
    runtime = runtime_of(request)
    overseen = set(officer_covenants(runtime.policy.current, user.party))
    covenants = tuple(covenant for covenant in user.covenants if covenant in overseen)
    if user.has_role(PRIVACY_OFFICER) and covenants:
        return Reader(user.party, _identity(user), covenants, CHANNEL)
    refused = Reader(user.party, _identity(user), user.covenants, CHANNEL)
    log_refusal(runtime.audit, refused, _action(request.url.path), "role_missing")
    raise RoleMissing(PRIVACY_OFFICER)
