"""captions: why a caption is missing (reason) and the extractor's evidence per term

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captions", schema=None) as batch_op:
        batch_op.drop_column("evidence")
        batch_op.drop_column("reason")
