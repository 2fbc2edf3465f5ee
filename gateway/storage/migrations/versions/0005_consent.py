"""OvJ consent requests.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_requests",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("convenant", sa.String(100), nullable=False),
        sa.Column("purpose", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("case_phase", sa.String(40), nullable=False),
        sa.Column("categories_json", sa.Text(), nullable=False),
        sa.Column("requested_by_employee", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by_party", sa.String(100), nullable=True),
        sa.Column("decided_by_employee", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("granted_categories_json", sa.Text(), nullable=True),
        sa.Column("granted_recipients_json", sa.Text(), nullable=True),
        sa.Column("withheld_until", sa.Date(), nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by_employee", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent_requests"),
    )
    op.create_index(
        "ix_consent_requests_case_recipient", "consent_requests", ["case_id", "recipient", "status"]
    )
    op.create_index("ix_consent_requests_status", "consent_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_consent_requests_status", table_name="consent_requests")
    op.drop_index("ix_consent_requests_case_recipient", table_name="consent_requests")
    op.drop_table("consent_requests")
