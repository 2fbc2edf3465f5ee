"""Small named values the gateway keeps between runs (feed cursors, job marks).

Kept in the database rather than on local disk so every gateway instance
sharing one PostgreSQL sees the same value.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class GatewayState(Base):
    __tablename__ = "gateway_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


def get_state(session: Session, name: str) -> str | None:
    return session.scalar(select(GatewayState.value).where(GatewayState.name == name))


def set_state(session: Session, name: str, value: str) -> None:
    row = session.get(GatewayState, name)
    if row is None:
        session.add(GatewayState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
