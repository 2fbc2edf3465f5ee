"""The ZVH case workflow: referral, triage, closure reason, household subjects, phase log.

Adds the case attributes of API.md §2a to ``cases``, the table of a case's
subjects (``case_subject_refs``: ``s1``, ``s2``, … with a role, each its own
pseudonym) and the log of phase moves (``case_phase_changes``). Every
existing case gets its subject as ``s1``, role ``hoofdpersoon``.

Revision ID: 0009_wfcases_workflow
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_wfcases_workflow"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _case_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("referrer", sa.String(100), nullable=True),
        sa.Column("case_type", sa.String(60), nullable=True),
        sa.Column("municipality", sa.String(6), nullable=True),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("triage_outcome", sa.String(20), nullable=True),
        sa.Column("triage_reason", sa.Text(), nullable=True),
        sa.Column("triage_referred_to", sa.String(200), nullable=True),
        sa.Column("triage_decided_by", sa.String(100), nullable=True),
        sa.Column("triage_employee", sa.String(200), nullable=True),
        sa.Column("triage_at", TS, nullable=True),
        sa.Column("closure_reason", sa.String(60), nullable=True),
        sa.Column("closure_note", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in _case_columns():
            batch.add_column(column)
    op.create_table(
        "case_subject_refs",
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("ref", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(60), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "ref", name="pk_case_subject_refs"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name="fk_case_subject_refs_case_id_cases",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("case_id", "pseudonym", name="uq_case_subject_refs_case_pseudonym"),
    )
    op.create_index("ix_case_subject_refs_pseudonym", "case_subject_refs", ["pseudonym"])
    op.create_table(
        "case_phase_changes",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("from_phase", sa.String(40), nullable=True),
        sa.Column("to_phase", sa.String(40), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("employee", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_phase_changes"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name="fk_case_phase_changes_case_id_cases",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_case_phase_changes_case_at", "case_phase_changes", ["case_id", "at"])
    op.execute(
        "INSERT INTO case_subject_refs "
        "(case_id, ref, position, role, pseudonym, birth_year, added_by, added_at) "
        "SELECT id, 's1', 1, 'hoofdpersoon', subject_pseudonym, NULL, opened_by, created_at "
        "FROM cases"
    )


def downgrade() -> None:
    op.drop_index("ix_case_phase_changes_case_at", table_name="case_phase_changes")
    op.drop_table("case_phase_changes")
    op.drop_index("ix_case_subject_refs_pseudonym", table_name="case_subject_refs")
    op.drop_table("case_subject_refs")
    with op.batch_alter_table("cases") as batch:
        for column in reversed(_case_columns()):
            batch.drop_column(column.name)
