"""Replay store for OAuth client assertions (RFC 7523 jti).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_used_assertions",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("party", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_auth_used_assertions"),
    )
    op.create_index("ix_auth_used_assertions_expires_at", "auth_used_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_used_assertions_expires_at", table_name="auth_used_assertions")
    op.drop_table("auth_used_assertions")
