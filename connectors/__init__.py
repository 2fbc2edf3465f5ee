"""Adapters to partners' source registrations (bronregistraties).

Every adapter implements `SourceConnector` (look-up and deletion feed); some
also `RightsRequestForwarder`. Built from a covenant's typed `source:` block
(`connectors.config`: `RestSource`, `SqlSource`, `GatewaySource`) by
`build_connector`:

- `rest` → `RestConnector`, the Source API over HTTP (SOURCE-API.md), on a
  `SourceHttp` (pooled aiohttp sessions, one per event loop);
- `sql` → `SqlConnector`, one read-only SELECT per category;
- `gateway` → `GatewayConnector`, another Ketenpoort through its partner API
  (federation; needs a `PeerTokens` client, else `UnsupportedSourceError`).

Connectors return what the source sent, untrimmed: minimisation to the
covenant's field list is the broker's job, so it happens in one place.
"""

from connectors.config import (
    DEFAULT_SOURCE_TIMEOUT_S,
    GatewaySource,
    RestSource,
    SourceConfig,
    SqlSource,
)
from connectors.errors import (
    ConnectorConfigError,
    ConnectorError,
    SourceUnavailable,
    UnavailableReason,
    UnsupportedSourceError,
)
from connectors.factory import build_connector
from connectors.gateway import GatewayConnector, GatewayPeer, KnownAnswer, KnownQuery
from connectors.models import (
    DeletionEvent,
    DeletionPage,
    ForwardedRightsRequest,
    JsonValue,
    LookupRequest,
    LookupResult,
    PeerRightsOutcome,
    PeerRightsReceipt,
    Record,
    RemoteOutcome,
    Requester,
)
from connectors.peer_http import PeerDenied, PeerDown, PeerScope, PeerTokens
from connectors.protocol import (
    PeerRightsExchange,
    RightsRequestForwarder,
    SourceConnector,
    TokenProvider,
)
from connectors.rest import RestConnector
from connectors.source_http import SourceHttp
from connectors.sql import SqlConnector

__all__ = [
    "DEFAULT_SOURCE_TIMEOUT_S",
    "ConnectorConfigError",
    "ConnectorError",
    "DeletionEvent",
    "DeletionPage",
    "ForwardedRightsRequest",
    "GatewayConnector",
    "GatewayPeer",
    "GatewaySource",
    "JsonValue",
    "KnownAnswer",
    "KnownQuery",
    "LookupRequest",
    "LookupResult",
    "PeerDenied",
    "PeerDown",
    "PeerRightsExchange",
    "PeerRightsOutcome",
    "PeerRightsReceipt",
    "PeerScope",
    "PeerTokens",
    "Record",
    "RemoteOutcome",
    "Requester",
    "RestConnector",
    "RestSource",
    "RightsRequestForwarder",
    "SourceConfig",
    "SourceConnector",
    "SourceHttp",
    "SourceUnavailable",
    "SqlConnector",
    "SqlSource",
    "TokenProvider",
    "UnavailableReason",
    "UnsupportedSourceError",
    "build_connector",
]
