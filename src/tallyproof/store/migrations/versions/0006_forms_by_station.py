"""A station's forms in log order: the station page and `forms --station` asked for them by a
scan of the election's forms (17-20 ms at a national night, the slowest read during ingest),
since the only index that starts with the station is the partial one on chain starts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_forms_station_position", "forms", ["election_id", "station", "seq"])


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
