"""Stamp the covenant on criminal keys that a case purge left unstamped (review-c F2).

Until this fix the purge stamped ``audit_data_keys.convenant`` only on the kept
criminal keys of the people still named by the case; a household member erased
from the case earlier (her subject ref's pseudonym cleared) kept her criminal key,
unstamped, and ``criminal_log`` never shredded it. Such keys get the covenant of
their case's log entries, as 0011_critkeys did, when those name exactly one;
otherwise they stay NULL (kept, the safe side, until an operator decides).

Revision ID: 0013_critkeys2
Revises: 0012_auditappend
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0013_critkeys2"
down_revision = "0012_auditappend"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE audit_data_keys SET convenant = (
            SELECT MIN(e.convenant) FROM audit_entries e
            WHERE e.case_id = audit_data_keys.case_id AND e.convenant IS NOT NULL
            HAVING COUNT(DISTINCT e.convenant) = 1
        )
        WHERE scope = 'strafrechtelijk' AND wrapped IS NOT NULL AND case_id <> ''
          AND convenant IS NULL
        """
    )


def downgrade() -> None:
    """Nothing to undo: the column is 0011's, and a stamp only lets a floor apply."""
