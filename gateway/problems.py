"""RFC 9457 problem details: typed exceptions, mapped once to HTTP.

Domain code raises a :class:`Problem` subclass (or one of the generic ones
below) and knows nothing about HTTP beyond the status it implies. The ``type``
URI is stable: clients may switch on it. Nothing the caller sent is echoed
back, so no personal data can leak into an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PROBLEM_BASE = "urn:ketenpoort:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"
# Every 503 is transient (storage, audit log, sessions, keys): clients and the proxy may
# retry after this many seconds.
RETRY_AFTER_S = "2"


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


@dataclass
class Problem(Exception):
    """Base of every error that reaches a client."""

    detail: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500

    def __str__(self) -> str:
        return f"{self.slug}: {self.detail or self.title}"

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": problem_type(self.slug),
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class BadRequest(Problem):
    slug = "bad-request"
    title = "Bad request"
    status = 400


class MalformedJson(Problem):
    slug = "malformed-json"
    title = "Request body is not valid JSON"
    status = 400


class ValidationFailed(Problem):
    slug = "validation"
    title = "Request does not match the schema"
    status = 422


class Unauthorized(Problem):
    slug = "unauthorized"
    title = "Authentication required"
    status = 401


class Forbidden(Problem):
    slug = "forbidden"
    title = "Not allowed"
    status = 403


class NotFound(Problem):
    slug = "not-found"
    title = "Not found"
    status = 404


class MethodNotAllowed(Problem):
    slug = "method-not-allowed"
    title = "Method not allowed"
    status = 405


class NotAcceptable(Problem):
    slug = "not-acceptable"
    title = "Not acceptable"
    status = 406


class Conflict(Problem):
    slug = "conflict"
    title = "Conflict"
    status = 409


class PayloadTooLarge(Problem):
    slug = "payload-too-large"
    title = "Request body too large"
    status = 413


class UnsupportedMediaType(Problem):
    slug = "unsupported-media-type"
    title = "Unsupported media type"
    status = 415


class Unprocessable(Problem):
    slug = "unprocessable"
    title = "Request cannot be processed"
    status = 422


class TooManyRequests(Problem):
    slug = "too-many-requests"
    title = "Too many requests"
    status = 429


class ServiceUnavailable(Problem):
    slug = "unavailable"
    title = "Service unavailable"
    status = 503


class InternalError(Problem):
    slug = "internal"
    title = "Internal error"
    status = 500


STATUS_PROBLEMS: dict[int, type[Problem]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        NotAcceptable,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
        TooManyRequests,
        ServiceUnavailable,
        InternalError,
    )
}


def problem_for_status(status: int, detail: str | None = None) -> Problem:
    """The generic problem for an HTTP status raised by the framework itself."""
    cls = STATUS_PROBLEMS.get(status)
    if cls is None:
        cls = BadRequest if 400 <= status < 500 else InternalError
    return cls(detail=detail)
