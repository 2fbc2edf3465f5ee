"""Rights requests: inzage per source, extension, withdrawal, representatives, withholdings.

- ``rights_requests`` gains the extension (first deadline, when, by whom, the
  sealed reason), withdrawal, the representative's relation and the correctie's
  execution deadline and moment.
- ``rights_request_sources``: each joint controller an inzage was sent to and
  its (sealed) answer.
- ``rights_withholdings``: a source party's limitation of the inzage on a
  ground of UAVG art. 41, with its end date.

Revision ID: 0009_rights_inzage_sources
Revises: 0008_reviewrights_verzet_cov
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_rights_inzage_sources"
down_revision = "0008_reviewrights_verzet_cov"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.add_column(sa.Column("first_deadline", TS, nullable=True))
        batch.add_column(sa.Column("extended_at", TS, nullable=True))
        batch.add_column(sa.Column("extended_by_party", sa.String(100), nullable=True))
        batch.add_column(sa.Column("extension_reason_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", TS, nullable=True))
        batch.add_column(sa.Column("representative", sa.String(20), nullable=True))
        batch.add_column(sa.Column("execute_by", TS, nullable=True))
        batch.add_column(sa.Column("executed_at", TS, nullable=True))
    op.create_table(
        "rights_request_sources",
        sa.Column(
            "request_id",
            sa.String(40),
            sa.ForeignKey("rights_requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("convenant", sa.String(100), nullable=False),
        sa.Column("forwarding", sa.String(20), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=True),
        sa.Column("records_sealed", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", "party"),
    )
    op.create_table(
        "rights_withholdings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("subject_pseudonym", sa.String(64), nullable=False),
        sa.Column("convenant", sa.String(100), nullable=False),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("ground", sa.String(40), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("created_by_employee", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rights_withholdings_subject", "rights_withholdings", ["subject_pseudonym", "until"]
    )


def downgrade() -> None:
    op.drop_index("ix_rights_withholdings_subject", table_name="rights_withholdings")
    op.drop_table("rights_withholdings")
    op.drop_table("rights_request_sources")
    with op.batch_alter_table("rights_requests") as batch:
        for name in (
            "executed_at",
            "execute_by",
            "representative",
            "withdrawn_at",
            "extension_reason_sealed",
            "extended_by_party",
            "extended_at",
            "first_deadline",
        ):
            batch.drop_column(name)
