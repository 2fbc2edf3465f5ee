"""Informatieplicht register: per case and subject, informed or not (AVG art. 13/14).

No foreign key to ``cases``: that table belongs to another migration branch,
and a cross-branch dependency would make the heads disagree with the schema
check. Rows hold identifiers only; see docs/rights.md for their removal.

Revision ID: 0009_rights_notices
Revises: 0009_rights_inzage_sources
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_rights_notices"
down_revision = "0009_rights_inzage_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rights_notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("convenant", sa.String(100), nullable=False),
        sa.Column("subject_ref", sa.String(10), nullable=False),
        sa.Column("informed", sa.Boolean(), nullable=False),
        sa.Column("how", sa.String(20), nullable=True),
        sa.Column("informed_on", sa.Date(), nullable=True),
        sa.Column("ground", sa.String(40), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("by_party", sa.String(100), nullable=False),
        sa.Column("by_employee", sa.String(200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rights_notices_case_subject", "rights_notices", ["case_id", "subject_ref", "id"]
    )
    op.create_index("ix_rights_notices_review", "rights_notices", ["informed", "review_on"])


def downgrade() -> None:
    op.drop_index("ix_rights_notices_review", table_name="rights_notices")
    op.drop_index("ix_rights_notices_case_subject", table_name="rights_notices")
    op.drop_table("rights_notices")
