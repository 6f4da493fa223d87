"""64-bit observation ids

An observation's id is also its vector's id in every index (FAISS ids are int64): all MAST
missions and surveys together outgrow 32 bits. On Postgres the column and its sequence become
bigint; SQLite's INTEGER PRIMARY KEY is the 64-bit rowid already, so nothing changes there (no
table is recreated, and the full-text triggers of 0005 stay as they are).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE observations ALTER COLUMN id TYPE bigint")
        op.execute("ALTER SEQUENCE observations_id_seq AS bigint MAXVALUE 9223372036854775807")


def downgrade() -> None:
    """Fails, leaving the data as it is, while any id needs more than 32 bits."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE observations_id_seq AS integer MAXVALUE 2147483647")
        op.execute("ALTER TABLE observations ALTER COLUMN id TYPE integer")
