"""JSON documents as jsonb on Postgres (captions.structured, checkpoints.metrics)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (("captions", "structured"), ("checkpoints", "metrics"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite stores JSON as text either way
    for table, column in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=postgresql.JSONB(),
            existing_nullable=True,
            postgresql_using=f"{column}::jsonb",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.JSON(), existing_nullable=True, postgresql_using=f"{column}::json"
        )
