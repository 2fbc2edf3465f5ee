"""Rights requests: the covenants a person's own verzet covers.

A person who objects through /mijn without naming cases objects in every
covenant they are known under (docs/rights.md); the column records those
covenants so that each covenant's privacy officer sees the request. NULL
(every other request): only the request's own ``convenant``.

Revision ID: 0008_reviewrights_verzet_cov
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_reviewrights_verzet_cov"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rights_requests", sa.Column("covenants_json", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("rights_requests", "covenants_json")
