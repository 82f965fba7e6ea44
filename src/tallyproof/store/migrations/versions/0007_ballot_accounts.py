"""Evidence as it really arrives: a form's stated valid total and the photo or scan it was
read from (so an unofficial copy that does not add up is kept, with a finding), and Form 46,
the ballot paper account, in its own table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("forms", sa.Column("valid", sa.Integer))
    op.add_column("forms", sa.Column("evidence", sa.Text))
    op.create_table(
        "ballot_accounts",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("contest", sa.String(64), nullable=False),
        sa.Column("supersedes", sa.String(64)),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("issued", sa.Integer, nullable=False),
        sa.Column("spoilt", sa.Integer, nullable=False),
        sa.Column("unused", sa.Integer, nullable=False),
        sa.Column("tendered", sa.Integer),
        sa.Column("evidence", sa.Text),
    )
    op.create_index("ix_ballot_accounts_position", "ballot_accounts", ["election_id", "seq"])
    op.create_index(
        "ix_ballot_accounts_station", "ballot_accounts", ["election_id", "station", "seq"]
    )
    op.create_index(
        "ux_ballot_accounts_supersedes",
        "ballot_accounts",
        ["supersedes"],
        unique=True,
        sqlite_where=sa.text("supersedes IS NOT NULL"),
        postgresql_where=sa.text("supersedes IS NOT NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
