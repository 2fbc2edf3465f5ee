"""Time-limited copies (retention); feed cursors and the run lease live in gateway_state.

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cached_copies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("stored_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cached_copies"),
        sa.UniqueConstraint(
            "case_id", "source", "category", "record_id", name="uq_cached_copies_slot"
        ),
    )
    op.create_index("ix_cached_copies_expires_at", "cached_copies", ["expires_at"])
    op.create_index("ix_cached_copies_source_record", "cached_copies", ["source", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_cached_copies_source_record", table_name="cached_copies")
    op.drop_index("ix_cached_copies_expires_at", table_name="cached_copies")
    op.drop_table("cached_copies")
