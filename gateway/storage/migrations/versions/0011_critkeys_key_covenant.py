"""The covenant of a criminal-disclosure log key, so its Wjsg floor outlives its case.

``audit_data_keys.convenant`` is set when the case is purged and the key is
kept for its covenant's ``log_retention``. Before, a key whose case was gone
was shredded by the longest floor of the covenants loaded *now*: unload the
covenant that set ``P6Y`` and its keys went after four years and a day. The
``criminal_log`` rule now shreds a key only by its own covenant's floor, and
keeps it while that covenant is not loaded (as every other rule keeps the rows
of an unloaded covenant). A key without a covenant is kept.

Existing criminal keys are backfilled from the log's own query column: the
covenant of their case's entries, when those name exactly one. Otherwise NULL:
kept, the safe side, until an operator decides.

Revision ID: 0011_critkeys
Revises: 0008_fgscope
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_critkeys"
down_revision = "0008_fgscope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_data_keys") as batch:
        batch.add_column(sa.Column("convenant", sa.String(100), nullable=True))
    op.execute(
        """
        UPDATE audit_data_keys SET convenant = (
            SELECT MIN(e.convenant) FROM audit_entries e
            WHERE e.case_id = audit_data_keys.case_id AND e.convenant IS NOT NULL
            HAVING COUNT(DISTINCT e.convenant) = 1
        )
        WHERE scope = 'strafrechtelijk' AND wrapped IS NOT NULL AND case_id <> ''
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_data_keys") as batch:
        batch.drop_column("convenant")
