"""The append-only ledger and its index tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("leaf_data", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("tree_size", sa.Integer, nullable=False),
    )
    op.create_index("ux_ledger_kind_entry", "ledger_entries", ["kind", "entry_id"], unique=True)
    op.create_table(
        "elections",
        sa.Column("election_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
    )
    op.create_table(
        "keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("stations", sa.Text),
        sa.Column("contests", sa.Text),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
    )
    op.create_table(
        "key_revocations",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
    )
    op.create_table(
        "forms",
        sa.Column("form_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("station", sa.String(64), nullable=False),
        sa.Column("contest", sa.String(64), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("chain", sa.String(100), nullable=False),
        sa.Column("official", sa.Boolean, nullable=False),
        sa.Column("supersedes", sa.String(64)),
        sa.Column("reason", sa.String(32)),
        sa.Column("votes", sa.Text, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("polled", sa.Integer, nullable=False),
    )
    op.create_index("ix_forms_contest", "forms", ["election_id", "contest"])
    op.create_index(
        "ux_forms_supersedes",
        "forms",
        ["supersedes"],
        unique=True,
        sqlite_where=sa.text("supersedes IS NOT NULL"),
        postgresql_where=sa.text("supersedes IS NOT NULL"),
    )
    op.create_index(
        "ux_forms_chain_start",
        "forms",
        ["election_id", "station", "contest", "chain"],
        unique=True,
        sqlite_where=sa.text("supersedes IS NULL"),
        postgresql_where=sa.text("supersedes IS NULL"),
    )
    op.create_table(
        "declarations",
        sa.Column("declaration_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False, unique=True),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("contest", sa.String(64), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("chain", sa.String(100), nullable=False),
        sa.Column("supersedes", sa.String(64)),
    )
    op.create_index("ix_declarations_contest", "declarations", ["election_id", "contest"])
    op.create_index(
        "ux_declarations_supersedes",
        "declarations",
        ["supersedes"],
        unique=True,
        sqlite_where=sa.text("supersedes IS NOT NULL"),
        postgresql_where=sa.text("supersedes IS NOT NULL"),
    )
    op.create_index(
        "ux_declarations_chain_start",
        "declarations",
        ["election_id", "contest", "chain"],
        unique=True,
        sqlite_where=sa.text("supersedes IS NULL"),
        postgresql_where=sa.text("supersedes IS NULL"),
    )
    op.create_table(
        "status_orders",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("election_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("tree_size", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
