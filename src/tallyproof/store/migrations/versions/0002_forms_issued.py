"""Forms may state the ballot papers issued to voters (Form 45 carries it; forensics uses it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forms") as batch:
        batch.add_column(sa.Column("issued", sa.Integer))


def downgrade() -> None:
    raise NotImplementedError("tallyproof keeps every row: its migrations only move forward")
