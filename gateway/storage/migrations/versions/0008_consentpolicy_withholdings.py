"""Consent request versions and withholdings that outlive their consent.

``consent_requests.version`` lets the OvJ's decision name the version of the
request it reviewed. ``withholdings`` keeps an inzage withholding (UAVG art.
41) after the consent row is gone; existing grants with a ``withheld_until``
in the future are copied over, so no withheld disclosure surfaces on upgrade;
one set before the cap existed is cut to four years from the upgrade (the
Wjsg art. 39j term, the most ``rights.withheld_max`` allows).

Revision ID: 0008_consentpolicy
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008_consentpolicy"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("consent_requests") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "withholdings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject_pseudonym", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("ground", sa.String(40), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("consent_id", sa.String(40), nullable=True),
        sa.Column("created_by_party", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_withholdings"),
    )
    op.create_index("ix_withholdings_subject", "withholdings", ["subject_pseudonym", "until"])
    op.create_index("ix_withholdings_until", "withholdings", ["until"])
    _copy_existing_withholdings()


def _copy_existing_withholdings() -> None:
    """Only a database that already holds cases can hold grants to copy (fresh ones skip)."""
    bind = op.get_bind()
    if "cases" not in sa.inspect(bind).get_table_names():
        return
    today = datetime.now(UTC).date()
    cap = _four_years_from(today)
    rows = bind.execute(
        sa.text(
            "SELECT r.id, r.case_id, r.granted_categories_json, r.granted_recipients_json,"
            " r.withheld_until, r.decided_by_party, c.subject_pseudonym"
            " FROM consent_requests r JOIN cases c ON c.id = r.case_id"
            " WHERE r.withheld_until IS NOT NULL AND r.status <> 'refused'"
        )
    ).all()
    table = sa.table(
        "withholdings",
        sa.column("subject_pseudonym", sa.String),
        sa.column("case_id", sa.String),
        sa.column("category", sa.String),
        sa.column("recipient", sa.String),
        sa.column("ground", sa.String),
        sa.column("until", sa.Date),
        sa.column("consent_id", sa.String),
        sa.column("created_by_party", sa.String),
        sa.column("created_at", TS),
    )
    now = datetime.now(UTC)
    copied = []
    for consent_id, case_id, cats, recips, until, party, pseudonym in rows:
        day = until if isinstance(until, date) else date.fromisoformat(str(until))
        if day <= today:
            continue
        for category in json.loads(cats or "[]"):
            for recipient in json.loads(recips or "[]"):
                copied.append(
                    {
                        "subject_pseudonym": pseudonym,
                        "case_id": case_id,
                        "category": category,
                        "recipient": recipient,
                        "ground": "lopend_onderzoek",
                        "until": min(day, cap),
                        "consent_id": consent_id,
                        "created_by_party": party or "om",
                        "created_at": now,
                    }
                )
    if copied:
        op.bulk_insert(table, copied)


def _four_years_from(day: date) -> date:
    try:
        return day.replace(year=day.year + 4)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 4, day=28)


def downgrade() -> None:
    op.drop_index("ix_withholdings_until", table_name="withholdings")
    op.drop_index("ix_withholdings_subject", table_name="withholdings")
    op.drop_table("withholdings")
    with op.batch_alter_table("consent_requests") as batch:
        batch.drop_column("version")
