"""Legal grounds per case and subject; the OvJ's proportionality check on consent requests.

``case_grounds`` records the person's consent, a statutory ground or a
documented conflict of duties per case and subject (API.md §2b).
``consent_requests`` gains the requester's motivation, the subject ref the
request is about, and a grant's narrowing by source and by field (§3–§4).

Revision ID: 0009_wfgrounds_grounds
Revises: 0008_consentpolicy
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_wfgrounds_grounds"
down_revision = "0008_consentpolicy"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_grounds",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("subject_ref", sa.String(20), nullable=False),
        sa.Column("subject_pseudonym", sa.String(64), nullable=False),
        sa.Column("ground", sa.String(40), nullable=False),
        sa.Column("article", sa.String(200), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("categories_json", sa.Text(), nullable=False),
        sa.Column("recipients_json", sa.Text(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("recorded_by_party", sa.String(100), nullable=False),
        sa.Column("recorded_by_employee", sa.String(200), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.Column("withdrawn_by", sa.String(100), nullable=True),
        sa.Column("withdrawn_by_employee", sa.String(200), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_grounds"),
    )
    op.create_index("ix_case_grounds_case", "case_grounds", ["case_id", "subject_ref"])
    op.create_index("ix_case_grounds_subject", "case_grounds", ["subject_pseudonym"])
    with op.batch_alter_table("consent_requests") as batch:
        batch.add_column(
            sa.Column("subject_ref", sa.String(20), nullable=False, server_default="s1")
        )
        batch.add_column(sa.Column("motivation_code", sa.String(100), nullable=True))
        batch.add_column(sa.Column("motivation_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("granted_sources_json", sa.Text(), nullable=True))
        batch.add_column(sa.Column("granted_fields_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_requests") as batch:
        for column in (
            "granted_fields_json",
            "granted_sources_json",
            "motivation_text",
            "motivation_code",
            "subject_ref",
        ):
            batch.drop_column(column)
    op.drop_index("ix_case_grounds_subject", table_name="case_grounds")
    op.drop_index("ix_case_grounds_case", table_name="case_grounds")
    op.drop_table("case_grounds")
