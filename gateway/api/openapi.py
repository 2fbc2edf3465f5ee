"""What ``/openapi.json`` says beyond the routes: how to authenticate, and error bodies.

:func:`partner_credentials` declares what a partner route needs: the bearer
token (HTTP bearer, or OAuth 2 client credentials at ``/oauth/token``) and the
``X-Ketenpoort-Employee`` header, so Swagger UI's "Authorize" and "Try it out"
send them. It checks nothing (``current_principal`` and friends do, in the
order the API promises). Partner routers use :class:`PartnerRoute`, which puts
that declaration into the document without making it a dependency: FastAPI
would otherwise resolve it (two security schemes and a header parameter) on
every request, about 200 Python calls of a brokered query's ~3,150 for nothing
it checks. A route may still declare ``Depends(partner_credentials)`` itself.

:func:`install_openapi` then documents every error answer as RFC 9457
problem+json (the token endpoint: RFC 6749 §5.2 OAuth JSON), which is what the
error handlers send, instead of FastAPI's default validation-error schema.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2

from gateway.api.schemas.common import Problem
from gateway.api.schemas.oauth import OAuthErrorOut
from gateway.auth.dependencies import EMPLOYEE_HEADER
from gateway.auth.server import TOKEN_PATH

BEARER_SCHEME = "partnerToken"
OAUTH2_SCHEME = "clientCredentials"
PROBLEM_MEDIA_TYPE = "application/problem+json"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=BEARER_SCHEME,
    bearerFormat="JWT",
    description="An access token from POST /oauth/token (RFC 7523 private_key_jwt).",
)
_oauth2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_PATH)),
    scheme_name=OAUTH2_SCHEME,
    description=(
        "RFC 6749 client credentials; the client authenticates with a signed "
        "client_assertion (private_key_jwt), so paste a token into partnerToken "
        "when a tool cannot sign one."
    ),
    auto_error=False,
)


async def partner_credentials(
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _flow: Annotated[str | None, Security(_oauth2)],
    _employee: Annotated[
        str | None,
        Header(
            alias=EMPLOYEE_HEADER,
            description="The employee acting for the partner; required with a partner token.",
        ),
    ] = None,
) -> None:
    """Documentation only: the route's own dependency verifies token and header."""


@cache
def _partner_documentation() -> tuple[dict[str, Any], dict[str, Any]]:
    """What FastAPI writes for ``Depends(partner_credentials)``: (operation part, schemes).

    Rendered once from a one-route app, so the document says exactly what the
    dependency would have made it say.
    """
    app = FastAPI(openapi_url=None)
    app.add_api_route("/", _documented, dependencies=[Depends(partner_credentials)])
    document = get_openapi(title="partner", version="0", routes=app.routes)
    operation = document["paths"]["/"]["get"]
    part = {"security": operation["security"], "parameters": operation["parameters"]}
    return part, document["components"]["securitySchemes"]


def _documented() -> None:
    """The endpoint of the one-route app above; never served."""


class PartnerRoute(APIRoute):
    """A partner API route: documented with :func:`partner_credentials`, not resolving it.

    Use as ``APIRouter(route_class=PartnerRoute)``. The token and the employee
    header are checked by the route's own dependency (``current_principal``,
    ``query_principal``, ``require_role``, ...), exactly as before.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        part, _schemes = _partner_documentation()
        extra: dict[str, Any] = dict(kwargs.pop("openapi_extra", None) or {})
        for key, value in part.items():  # FastAPI appends list values to its own
            extra[key] = [*value, *extra.get(key, [])]
        super().__init__(path, endpoint, openapi_extra=extra, **kwargs)


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _oauth_error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorOut"}}}


_ERRORS_OF_SECURED = {
    "400": "Missing or malformed X-Ketenpoort-Employee header",
    "401": "No valid access token",
    "403": "Refused; `reason` says why",
}
_TOKEN_ERRORS = {
    "400": "invalid_request, invalid_grant, unsupported_grant_type, ...",
    "401": "invalid_client",
    "503": "temporarily_unavailable",
}


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if path == TOKEN_PATH:
        for status, description in _TOKEN_ERRORS.items():
            responses.setdefault(status, {"description": description})
        for status, response in responses.items():
            if status[0] in "45":
                response["content"] = _oauth_error_content()
        return
    if operation.get("security"):
        for status, description in _ERRORS_OF_SECURED.items():
            responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            response.setdefault("description", "Problem details")
            if not response["description"] or response["description"] == "Validation Error":
                response["description"] = "Invalid request (problem details)"
            response["content"] = _problem_content()


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(_partner_documentation()[1])
    schemas = components.setdefault("schemas", {})
    ref = "#/components/schemas/{model}"
    schemas["Problem"] = Problem.model_json_schema(ref_template=ref)
    schemas["OAuthErrorOut"] = OAuthErrorOut.model_json_schema(ref_template=ref)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                _document_errors(path, operation)
    # The default validation-error shapes are never sent: 422 answers problem+json.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`build_openapi` at ``/openapi.json`` (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
