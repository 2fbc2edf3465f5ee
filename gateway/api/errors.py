"""Map every error to ``application/problem+json`` exactly once.

Validation messages keep the location and pydantic's message but never the
offending input, which could be a BSN or a case note. A caller's own text can
still reach an answer through the path (``instance``) or a JSON key (``loc``),
so both pass :func:`gateway.redaction.redact_path` (8+ digit runs, a BSN's
shape, become ``redacted``); the warning log lines below use it too.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.models import BSN_IN_TEXT
from gateway.api.safe_logging import install_safe_logging, log_unexpected
from gateway.audit.log import AuditUnavailable
from gateway.problems import (
    PROBLEM_MEDIA_TYPE,
    RETRY_AFTER_S,
    InternalError,
    MalformedJson,
    Problem,
    ServiceUnavailable,
    Unprocessable,
    ValidationFailed,
    problem_for_status,
)
from gateway.redaction import redact_path
from gateway.storage.db import DatabaseUnavailable

log = logging.getLogger("ketenpoort.errors")


class AuditLogUnavailable(ServiceUnavailable):
    slug = "audit-unavailable"
    title = "Audit log unavailable"


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = redact_path(request.url.path) if request is not None else None
    headers = dict(problem.headers)
    if problem.status == 503:
        # Every 503 is transient (storage, audit log, key store): say when to retry.
        headers.setdefault("Retry-After", RETRY_AFTER_S)
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers or None,
    )


def _safe_errors(errors: Any) -> list[dict[str, Any]]:
    safe: list[dict[str, Any]] = []
    for error in errors:
        loc = [redact_path(str(part)) for part in error.get("loc", ())]
        safe.append({"loc": loc, "msg": str(error.get("msg", "")), "type": error.get("type")})
    return safe[:50]


def _field(error: Any) -> str:
    """``motivation.text`` for the loc ``("body", "motivation", "text")``."""
    loc = [redact_path(str(part)) for part in error.get("loc", ())]
    return ".".join(loc[1:] if loc[:1] == ["body"] else loc) or "body"


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(MalformedJson(), request)
    with_bsn = [error for error in errors if error.get("type") == BSN_IN_TEXT]
    if with_bsn:
        # The problem a workflow reason holding a BSN gets (gateway.cases.workflow): one
        # answer for free text wherever it is checked. The field, never the value.
        fields = ", ".join(_field(error) for error in with_bsn[:10])
        return problem_response(Unprocessable(detail=f"{fields} must not contain a BSN."), request)
    return problem_response(ValidationFailed(extensions={"errors": _safe_errors(errors)}), request)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc, request)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 500 else None
    problem = problem_for_status(exc.status_code, detail)
    if exc.headers:
        problem.headers.update(exc.headers)
    return problem_response(problem, request)


async def _on_database(request: Request, exc: Exception) -> JSONResponse:
    # Any storage failure on any route (gone, frozen, timed out) is a 503, never a 500.
    log.warning("database unavailable during %s %s", request.method, redact_path(request.url.path))
    problem = problem_for_status(
        503, "The gateway's storage is unavailable; nothing was disclosed."
    )
    problem.headers["Retry-After"] = RETRY_AFTER_S
    return problem_response(problem, request)


async def _on_audit_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("audit log unavailable during %s %s", request.method, redact_path(request.url.path))
    return problem_response(
        AuditLogUnavailable(
            detail="The audit log cannot be written; nothing was disclosed.",
            headers={"Retry-After": RETRY_AFTER_S},
        ),
        request,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Class, route template and a correlation id only: the message may carry data.
    reference = log_unexpected(request, exc)
    return problem_response(InternalError(extensions={"correlation_id": reference}), request)


def install_error_handlers(app: FastAPI) -> None:
    install_safe_logging()
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DatabaseUnavailable, _on_database)
    app.add_exception_handler(SQLAlchemyError, _on_database)
    app.add_exception_handler(AuditUnavailable, _on_audit_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
