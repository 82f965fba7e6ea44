"""Witnesses: the cosignatures a log collected on its checkpoints, and a witness's own record
of the logs it follows, what it cosigned and the forks it refused.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("tree_size", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(200), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "witness_logs",
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("vkey", sa.String(400), primary_key=True),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "witness_cosigned",
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.String(44), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("cosignature", sa.Text, nullable=False),
        sa.Column("cosigned_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "witness_refusals",
        sa.Column("refusal", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("old_size", sa.BigInteger, nullable=False),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("cosigned_note", sa.Text),
        sa.Column("refused_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
