"""One set of auth services per runtime: the authorization server, verifier, source tokens.

Built on first use and kept in ``runtime.extras`` so the throttle and the
JWKS cache live as long as the process, shared by every request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gateway.auth.bearer import AccessTokenVerifier
from gateway.auth.denials import DenialAudit
from gateway.auth.server import GatewayAuthorizationServer
from gateway.auth.tokens import SourceTokenIssuer
from gateway.runtime import Runtime

_EXTRAS_KEY = "auth"
_lock = threading.Lock()


@dataclass(frozen=True)
class AuthServices:
    server: GatewayAuthorizationServer
    verifier: AccessTokenVerifier
    source_tokens: SourceTokenIssuer
    denials: DenialAudit


def auth_services(runtime: Runtime) -> AuthServices:
    with _lock:
        services = runtime.extras.get(_EXTRAS_KEY)
        if isinstance(services, AuthServices):
            return services
        issuer = runtime.settings.base_url
        holder = runtime.policy
        denials = DenialAudit(lambda: runtime.audit)
        services = AuthServices(
            server=GatewayAuthorizationServer(
                issuer=issuer,
                keys=runtime.keys,
                policy=lambda: holder.current,
                db=runtime.db,
                denials=denials,
            ),
            verifier=AccessTokenVerifier(runtime.keys, issuer),
            source_tokens=SourceTokenIssuer(runtime.keys, issuer),
            denials=denials,
        )
        runtime.extras[_EXTRAS_KEY] = services
        return services


def flush_denials(runtime: Runtime) -> None:
    """Write the refusal counts still held in memory (at shutdown)."""
    services = runtime.extras.get(_EXTRAS_KEY)
    if isinstance(services, AuthServices):
        services.denials.flush()
