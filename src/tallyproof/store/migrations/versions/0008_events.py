"""Events: concessions, renunciations, complaints and petitions, and joinings, one row per
ledger entry, so the writer can check a later event (a complaint's move, a second joining)
without reading leaves back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("contest", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("candidate", sa.String(100)),
        sa.Column("party", sa.String(32)),
        sa.Column("complaint", sa.String(64)),
        sa.Column("status", sa.String(32)),
    )
    op.create_index("ix_events_contest", "events", ["election_id", "contest", "seq"])


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
