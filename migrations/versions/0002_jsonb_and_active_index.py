"""JSON documents as jsonb on Postgres (captions.structured, checkpoints.metrics); an index on
index_versions.active, which the service polls

Revision ID: 0002
Revises: 0003
Create Date: 2026-11-27 06:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (("captions", "structured"), ("checkpoints", "metrics"))


def upgrade() -> None:
    op.create_index("ix_index_versions_active", "index_versions", ["active"])
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
    op.drop_index("ix_index_versions_active", table_name="index_versions")
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(
            table, column, type_=sa.JSON(), existing_nullable=True, postgresql_using=f"{column}::json"
        )
