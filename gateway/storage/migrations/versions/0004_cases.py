"""Cases, their participants and sealed subjects.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_subjects",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("sealed_bsn", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_case_subjects"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("convenant", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("subject_pseudonym", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_contact_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.ForeignKeyConstraint(
            ["subject_pseudonym"],
            ["case_subjects.pseudonym"],
            name="fk_cases_subject_pseudonym_case_subjects",
        ),
    )
    op.create_index("ix_cases_subject_pseudonym", "cases", ["subject_pseudonym"])
    op.create_index("ix_cases_status_closed_at", "cases", ["status", "closed_at"])
    op.create_table(
        "case_participants",
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "party", name="pk_case_participants"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name="fk_case_participants_case_id_cases",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("case_participants")
    op.drop_index("ix_cases_status_closed_at", table_name="cases")
    op.drop_index("ix_cases_subject_pseudonym", table_name="cases")
    op.drop_table("cases")
    op.drop_table("case_subjects")
