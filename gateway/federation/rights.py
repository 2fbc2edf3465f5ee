"""A peer region's correctie/verzet filed here, and its outcome read back (docs/federation.md).

Only a peer gateway of an active covenant (role ``zvh_gateway``,
:func:`check_peer`) may file. A refused call names no subject and is logged
like the other federation refusals (``decision``/``denied``, in a transaction
of its own). What happens to the request is the rights desk's: filed under
the token's covenant by the peer party, processed like a partner's filing,
forwarded to our own sources only (``gateway/rights/peers.py``).

Reading the outcome: only a peer gateway of an active covenant (refused and
logged like a filing otherwise), and only the peer party that filed it; any
other peer gets the same 404 as for an unknown id, so an id confirms nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from gateway.audit.appender import AuditAppender
from gateway.cases.service import Actor
from gateway.federation.rules import FederationRefused, check_peer, refused_event
from gateway.policy.compiled import CompiledPolicy
from gateway.rights.desk import RightsDesk
from gateway.rights.service import Application, Filed, Filer
from gateway.rights.views import RequestView


class PeerRights:
    def __init__(
        self,
        desk: RightsDesk,
        audit: AuditAppender,
        policy: Callable[[], CompiledPolicy],
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._desk = desk
        self._audit = audit
        self._policy = policy
        self._today = today

    def _check(self, actor: Actor, call: str) -> None:
        """A peer gateway of an active covenant, else :class:`FederationRefused` (logged)."""
        try:
            check_peer(self._policy(), actor, self._today())
        except FederationRefused as refused:
            reason = str(refused.extensions.get("reason", "forbidden"))
            self._audit.append_sync([refused_event(self._policy(), actor, reason, call)])
            raise

    async def file(self, actor: Actor, peer_request: str, application: Application) -> Filed:
        """Filed (or found again, ``Filed.repeated``); :class:`FederationRefused` if no peer."""
        self._check(actor, "rights_request")
        filer = Filer(
            party=actor.party,
            employee=actor.employee,
            covenant=actor.covenant,
            peer_request=peer_request,
        )
        return await self._desk.file_for_peer(filer, application)

    def outcome(self, actor: Actor, request_id: str) -> RequestView:
        """The filing peer's own request; 404 for every other caller (checked in the service).

        Only while the caller is still a peer gateway of an active covenant: a
        party whose peer role ended (or whose covenant ended) is refused like
        on every other federation call, before any request is looked at.
        """
        self._check(actor, "rights_outcome")
        reader = Filer(party=actor.party, employee=actor.employee, covenant=actor.covenant)
        return self._desk.peer_status(reader, request_id)
