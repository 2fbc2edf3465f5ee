"""Rights requests of the person concerned (inzage, correctie, verzet).

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("convenant", sa.String(100), nullable=False),
        sa.Column("subject_pseudonym", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("filed_by_party", sa.String(100), nullable=True),
        sa.Column("filed_by_employee", sa.String(200), nullable=True),
        sa.Column("responsible_party", sa.String(100), nullable=False),
        sa.Column("source_party", sa.String(100), nullable=True),
        sa.Column("cases_json", sa.Text(), nullable=False),
        sa.Column("records_json", sa.Text(), nullable=False),
        sa.Column("details_sealed", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by_party", sa.String(100), nullable=True),
        sa.Column("decided_by_employee", sa.String(200), nullable=True),
        sa.Column("decision_reason_sealed", sa.Text(), nullable=True),
        sa.Column("forwarded_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rights_requests"),
    )
    op.create_index(
        "ix_rights_requests_subject_type", "rights_requests", ["subject_pseudonym", "type"]
    )
    op.create_index("ix_rights_requests_status_deadline", "rights_requests", ["status", "deadline"])


def downgrade() -> None:
    op.drop_index("ix_rights_requests_status_deadline", table_name="rights_requests")
    op.drop_index("ix_rights_requests_subject_type", table_name="rights_requests")
    op.drop_table("rights_requests")
