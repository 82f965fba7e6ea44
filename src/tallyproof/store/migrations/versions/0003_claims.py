"""Claims from news reports: one row per report (a ledger entry) and one per claim.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_reports",
        sa.Column("report_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("outlet", sa.String(100), nullable=False),
        sa.Column("published", sa.String(40), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("claims", sa.Integer, nullable=False),
    )
    op.create_index("ix_claim_reports_election", "claim_reports", ["election_id"])
    op.create_table(
        "claims",
        sa.Column("claim_id", sa.String(80), primary_key=True),
        sa.Column("report_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("outlet", sa.String(100), nullable=False),
        sa.Column("said_by", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("contest", sa.String(64)),
        sa.Column("candidate", sa.String(100)),
        sa.Column("party", sa.String(32)),
        sa.Column("value", sa.Integer),
        sa.Column("status", sa.String(32)),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
    )
    op.create_index("ix_claims_election", "claims", ["election_id", "contest"])


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
