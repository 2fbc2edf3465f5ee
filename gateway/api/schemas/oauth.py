"""OAuth endpoints (API.md §1): RFC 8414 metadata and RFC 6749 token answers."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.common import Out


class AuthorizationServerMetadata(Out):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    service_documentation: str | None = Field(
        default=None, description="Present only when /docs is served."
    )


class TokenOut(Out):
    """RFC 6749 §5.1 successful token response."""

    access_token: str
    token_type: str
    expires_in: int | None = None
    scope: str | None = None


class OAuthErrorOut(Out):
    """RFC 6749 §5.2 error response (not problem+json: OAuth clients expect this)."""

    error: str
    error_description: str | None = None
