"""Partner authentication: OAuth 2.0 client credentials with ``private_key_jwt``.

Partners get purpose-bound RFC 9068 access tokens at ``/oauth/token``; routes
learn who calls through :func:`current_principal` / :func:`require_role`.
Connectors get :class:`SourceTokenIssuer` (``runtime.auth.source_tokens``, gateway.wiring)
as their ``token_provider``.
"""

from gateway.auth.dependencies import EMPLOYEE_HEADER, current_principal, require_role
from gateway.auth.principal import Principal
from gateway.auth.tokens import SourceTokenIssuer

__all__ = [
    "EMPLOYEE_HEADER",
    "Principal",
    "SourceTokenIssuer",
    "current_principal",
    "require_role",
]
