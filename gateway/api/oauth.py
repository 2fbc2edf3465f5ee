"""OAuth endpoints (API.md §1): metadata, the token endpoint and the token-signing keys.

Thin on purpose: the protocol lives in ``gateway.auth``. ``/oauth/token``
answers in RFC 6749 §5.2 JSON, as OAuth clients expect; the key set answers
problem+json on failure like the rest of the API. The audit keys are served by
the audit router at ``/v1/audit/jwks``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from gateway.api.docs import docs_enabled
from gateway.api.schemas.common import Jwks
from gateway.api.schemas.oauth import AuthorizationServerMetadata, TokenOut
from gateway.auth.client_address import real_client_address
from gateway.auth.server import JWKS_PATH, TOKEN_PATH
from gateway.keys import KeyStoreError, KeyUse
from gateway.problems import RETRY_AFTER_S, ServiceUnavailable
from gateway.storage.db import DatabaseUnavailable
from gateway.wiring import runtime_of

router = APIRouter(tags=["oauth"])

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The form is read by hand (the protocol lives in gateway.auth); this documents its fields.
_TOKEN_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type", "client_assertion_type", "client_assertion"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_assertion_type": {
                            "type": "string",
                            "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                        },
                        "client_assertion": {"type": "string"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=_NO_STORE
    )


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_unset=True,
)
def authorization_server_metadata(request: Request) -> dict[str, Any]:
    """RFC 8414 metadata: where to get a token and how to authenticate."""
    runtime = runtime_of(request)
    metadata = runtime.auth.server.metadata()
    if not docs_enabled(runtime.settings):  # no dangling link to a /docs that is off
        metadata.pop("service_documentation", None)
    return metadata


def _jwks(request: Request, use: KeyUse) -> JSONResponse:
    try:
        document = runtime_of(request).keys.jwks(use)
    except KeyStoreError:
        raise ServiceUnavailable(detail="the gateway's keys are unavailable") from None
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})


@router.get(JWKS_PATH, response_model=Jwks)
def token_jwks(request: Request) -> JSONResponse:
    """Keys that sign access and source tokens; a retired key stays until its tokens expired."""
    return _jwks(request, "token")


@router.post(TOKEN_PATH, response_model=TokenOut, openapi_extra=_TOKEN_REQUEST)
async def token(request: Request) -> JSONResponse:
    """RFC 6749 §4.4 client credentials with RFC 7523 ``private_key_jwt``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        return _oauth_error(400, "invalid_request", f"the body must be {FORM_MEDIA_TYPE}")
    form = await request.form()
    fields = {name: [str(value) for value in form.getlist(name)] for name in form}
    settings = runtime_of(request).settings
    remote = real_client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        settings.trusted_proxy_networks,
    )
    server = runtime_of(request).auth.server
    try:
        response = await run_in_threadpool(
            server.token_response, fields, dict(request.headers), remote
        )
    except (KeyStoreError, DatabaseUnavailable, SQLAlchemyError):
        # RFC 6749 clients expect an OAuth error body here; Retry-After as on every 503.
        unavailable = _oauth_error(503, "temporarily_unavailable", "try again later")
        unavailable.headers["Retry-After"] = RETRY_AFTER_S
        return unavailable
    return JSONResponse(response.body, status_code=response.status, headers=response.headers)
