"""Typed connector errors.

A source's error body, a driver message or a traceback may contain personal data
(SQLAlchemy even prints bound parameters, i.e. the BSN). So every error here
carries only a short machine reason from a closed list, and connectors raise
them `from None`.
"""

from __future__ import annotations

from typing import Literal, get_args

UnavailableReason = Literal[
    "timeout",  # no complete answer within the connector's timeout
    "connect",  # could not reach the source (refused, DNS, TLS, database down)
    "unauthorized",  # the source refused our credentials (401/403)
    "bad_status",  # any other unexpected HTTP status
    "malformed",  # not JSON, or JSON not in the Source API's shape
    "too_large",  # the answer exceeded the size bound
    "database",  # the database refused the query
]


class ConnectorError(Exception):
    """Base of everything a connector raises on purpose."""


class SourceUnavailable(ConnectorError):
    """The source gave no usable answer; the broker reports it as `unavailable`."""

    def __init__(self, reason: UnavailableReason, *, status: int | None = None) -> None:
        if reason not in get_args(UnavailableReason):
            raise ValueError("unknown SourceUnavailable reason")
        self.reason: UnavailableReason = reason
        self.status = status
        suffix = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"source unavailable: {reason}{suffix}")

    @property
    def no_answer(self) -> bool:
        """The source said nothing at all: timeout, no connection, or a server error (5xx).

        Only then may a kept copy stand in (docs/retention.md): a refusal (401/403),
        another status or a body the source did send is its answer, never bridged.
        """
        return self.reason in ("timeout", "connect") or (
            self.reason == "bad_status" and self.status is not None and self.status >= 500
        )


class UnsupportedSourceError(ConnectorError):
    """The covenant names a source type this build cannot reach (yet)."""

    reason = "unsupported"

    def __init__(self, source_type: str) -> None:
        self.source_type = source_type
        super().__init__(f"unsupported source type: {source_type!r}")


class ConnectorConfigError(ConnectorError):
    """A source configuration is unusable (missing key, a query that is not one SELECT)."""
