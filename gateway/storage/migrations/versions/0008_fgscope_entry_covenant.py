"""The covenant of every audit entry as a query column, so a privacy officer's
search, anomalies and paging can be limited to their own covenant(s).

Like the other query columns it is a copy of a value inside the hashed body,
never trusted for verification. Existing rows are backfilled from the body.

Revision ID: 0008_fgscope
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_fgscope"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_entries", sa.Column("convenant", sa.String(100), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE audit_entries SET convenant = (body::json) ->> 'convenant'")
    else:
        op.execute("UPDATE audit_entries SET convenant = json_extract(body, '$.convenant')")
    op.create_index("ix_audit_entries_convenant_seq", "audit_entries", ["convenant", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_convenant_seq", table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("convenant")
