"""Audit tables: the sequenced head, the entries (leaves), completed subtrees,
signed checkpoints, and, outside the hashed leaves, the subject data keys and
the pseudonym search index that crypto-shredding destroys.

Only ``audit_entries.body`` and the node hashes are covered by the tree; the
query columns next to the body are copies for searching, never trusted for
verification.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base
from gateway.storage.types import UtcDateTime

TS = UtcDateTime()


class AuditHead(Base):
    """One row: the committed tree size. Appends lock it to get their seqs."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(TS, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    outcome: Mapped[str] = mapped_column(String(40), nullable=False)
    party: Mapped[str | None] = mapped_column(String(100))
    purpose: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[str | None] = mapped_column(String(40))
    # The entry's covenant: a privacy officer sees only their own (migration 0008_fgscope).
    convenant: Mapped[str | None] = mapped_column(String(100))
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        Index("ix_audit_entries_time", "time"),
        Index("ix_audit_entries_party_seq", "party", "seq"),
        Index("ix_audit_entries_case_id", "case_id"),
        Index("ix_audit_entries_convenant_seq", "convenant", "seq"),
    )


class AuditNode(Base):
    """A completed perfect subtree at ``level >= 1``; level 0 is ``audit_entries.leaf_hash``."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    time: Mapped[str] = mapped_column(String(30), nullable=False)
    kid: Mapped[str] = mapped_column(String(100), nullable=False)
    signature: Mapped[str] = mapped_column(String(200), nullable=False)


class AuditDataKey(Base):
    """A wrapped per-(subject, case) / per-subject data key; erased = ``wrapped`` is NULL.

    ``key_id`` is random so that entries can name their key without naming the
    person; the link to the pseudonym lives only here and is cut on erasure.
    """

    __tablename__ = "audit_data_keys"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), nullable=False)
    subject_pseudonym: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(40), nullable=False)
    wrapped: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    last_used_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    erased_at: Mapped[datetime | None] = mapped_column(TS)
    # A ``strafrechtelijk`` key kept past its case: whose ``log_retention`` keeps it
    # (set at the purge; NULL: kept). Migration 0011_critkeys.
    convenant: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("subject_pseudonym", "scope", "case_id"),)


class AuditSubjectIndex(Base):
    """pseudonym -> seq, outside the leaves so erasure can remove it."""

    __tablename__ = "audit_subject_index"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(40), nullable=False)

    # No index on ``key_id``: erasure deletes a key's rows by its pseudonym (the
    # primary key's prefix), and an index in key order took a random page write
    # per appended entry (migration 0012_auditappend).
    __table_args__ = (Index("ix_audit_subject_index_seq", "seq"),)
