"""Rights requests filed by a peer region: the peer's own request id.

``peer_request`` is the id the peer gateway (``filed_by_party``, channel
``peer``) gave the request at its side. Unique per (filing party, peer
request): a retried forward finds the request it filed before instead of
filing a second one. NULL for every request filed here by a person or partner
(both databases allow many NULLs under a unique index).

Revision ID: 0010_peerrights_peer_request
Revises: 0009_rights_notices
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_peerrights_peer_request"
down_revision = "0009_rights_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.add_column(sa.Column("peer_request", sa.String(200), nullable=True))
    op.create_index(
        "ux_rights_requests_peer_request",
        "rights_requests",
        ["filed_by_party", "peer_request"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_rights_requests_peer_request", table_name="rights_requests")
    with op.batch_alter_table("rights_requests") as batch:
        batch.drop_column("peer_request")
