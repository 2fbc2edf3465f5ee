"""Drop marks for time-limited copies (review-perf F1).

A query keeps its answers as copies after its audit commit; a later query's
"not found" (or a deletion event) that dropped the slot in between was undone by
that keep, and the copy lived a full new term. ``cached_copy_drops`` records when
copies of a case or a source last went, so a keep of an answer fetched before that
writes nothing.

Revision ID: 0014_copydrops
Revises: 0013_critkeys2
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_copydrops"
down_revision = "0013_critkeys2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cached_copy_drops",
        sa.Column("mark", sa.String(256), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mark", name="pk_cached_copy_drops"),
    )


def downgrade() -> None:
    op.drop_table("cached_copy_drops")
