"""Audit log: head, entries, nodes, checkpoints, data keys, subject index.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "size": 0, "updated_at": datetime.now(UTC)}])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("time", TS, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("party", sa.String(100), nullable=True),
        sa.Column("purpose", sa.String(100), nullable=True),
        sa.Column("case_id", sa.String(40), nullable=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entries"),
    )
    op.create_index("ix_audit_entries_time", "audit_entries", ["time"])
    op.create_index("ix_audit_entries_party_seq", "audit_entries", ["party", "seq"])
    op.create_index("ix_audit_entries_case_id", "audit_entries", ["case_id"])
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_audit_nodes"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("time", sa.String(30), nullable=False),
        sa.Column("kid", sa.String(100), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_audit_checkpoints"),
    )
    op.create_table(
        "audit_data_keys",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("subject_pseudonym", sa.String(64), nullable=True),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=False),
        sa.Column("erased_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_audit_data_keys"),
        sa.UniqueConstraint(
            "subject_pseudonym", "scope", "case_id", name="uq_audit_data_keys_subject_pseudonym"
        ),
    )
    op.create_table(
        "audit_subject_index",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", "seq", name="pk_audit_subject_index"),
    )
    op.create_index("ix_audit_subject_index_key_id", "audit_subject_index", ["key_id"])
    op.create_index("ix_audit_subject_index_seq", "audit_subject_index", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_subject_index_seq", table_name="audit_subject_index")
    op.drop_index("ix_audit_subject_index_key_id", table_name="audit_subject_index")
    op.drop_table("audit_subject_index")
    op.drop_table("audit_data_keys")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_nodes")
    op.drop_index("ix_audit_entries_case_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_party_seq", table_name="audit_entries")
    op.drop_index("ix_audit_entries_time", table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_table("audit_head")
