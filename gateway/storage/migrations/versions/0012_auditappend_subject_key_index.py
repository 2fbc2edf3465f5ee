"""The subject index loses its ``key_id`` index: erasure finds a key's rows by pseudonym.

Every appended entry with a subject wrote a row into ``ix_audit_subject_index_key_id``
at a random place (key ids are random), so a batch of 1,000 entries dirtied
about as many pages of that index, each written to the WAL and again by the
checkpoint: about 6.4 KB per entry on SQLite, a quarter of an append's writes
(issue 16). The only reader was erasure (``DELETE ... WHERE key_id IN``), which
now deletes by (pseudonym, key id): the primary key's prefix, and the pseudonym
is the one ``audit_data_keys`` holds for the key until it is shredded (what
``audit verify`` checks every index row against).

Revision ID: 0012_auditappend
Revises: 0011_critkeys
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0012_auditappend"
down_revision = "0011_critkeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_subject_index_key_id", table_name="audit_subject_index")


def downgrade() -> None:
    op.create_index("ix_audit_subject_index_key_id", "audit_subject_index", ["key_id"])
