"""Forms by election and log position: a reader following the log asks for the forms logged
since its last answer, and without an index on it SQLite scans the whole election's forms.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_forms_position", "forms", ["election_id", "seq"])
    # a contest's forms in log order; with only (election_id, contest) SQLite would rather
    # walk the position index above, in order, than sort a contest's few hundred forms
    op.create_index("ix_forms_contest_position", "forms", ["election_id", "contest", "seq"])
    op.drop_index("ix_forms_contest", "forms")


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
