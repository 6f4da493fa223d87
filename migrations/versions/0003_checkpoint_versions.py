"""checkpoint versions and weights hashes

A name now has immutable versions: unique (name, version) replaces unique (name); existing rows
become version 1. ``weights_sha256`` is the content hash of a version's weights.

Revision ID: 0003
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None

# SQLite reflects the old unique (name) without a name: this convention names it for the batch copy.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _name_constraint() -> str:
    for uq in sa.inspect(op.get_bind()).get_unique_constraints("checkpoints"):
        if uq["column_names"] == ["name"]:
            return uq["name"] or "uq_checkpoints_name"
    raise RuntimeError("checkpoints has no unique constraint on name to replace")


def _links() -> list[tuple[int, int]]:
    """index_versions -> checkpoints links. SQLite's batch mode copies and drops ``checkpoints``;
    with foreign keys on, the drop would set them to NULL, so they are put back afterwards."""
    rows = op.get_bind().execute(
        sa.text("SELECT id, checkpoint_pk FROM index_versions WHERE checkpoint_pk IS NOT NULL")
    )
    return [(int(i), int(pk)) for i, pk in rows]


def _restore(links: list[tuple[int, int]]) -> None:
    for version_id, pk in links:
        op.get_bind().execute(
            sa.text("UPDATE index_versions SET checkpoint_pk = :pk WHERE id = :id"),
            {"pk": pk, "id": version_id},
        )


def upgrade() -> None:
    links = _links()
    old = _name_constraint()
    with op.batch_alter_table("checkpoints", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("weights_sha256", sa.String(length=64), nullable=True))
        batch.drop_constraint(old, type_="unique")
        batch.create_unique_constraint("uq_checkpoints_name_version", ["name", "version"])
    _restore(links)


def downgrade() -> None:
    """Only possible while every name has one version."""
    links = _links()
    with op.batch_alter_table("checkpoints", naming_convention=NAMING) as batch:
        batch.drop_constraint("uq_checkpoints_name_version", type_="unique")
        batch.create_unique_constraint("uq_checkpoints_name", ["name"])
        batch.drop_column("weights_sha256")
        batch.drop_column("version")
    _restore(links)
