"""sky position (HEALPix) and full-text search

Observations get their NESTED HEALPix index at order 29 (``paperclip.sky.ORDER``) and indexes
for date, exposure and case-insensitive obs_id/target lookups; proposals an index on their
number. Full-text search gets ``proposal_text``: a tsvector table under a GIN index on
Postgres, an FTS5 table on SQLite, both filled here for existing rows and kept in step by
triggers on proposals, captions and observations.

SQLite drops a table's triggers when a batch migration recreates the table: a later migration
that recreates proposals, captions or observations must run ``create_sqlite_triggers`` again.

Revision ID: 0005
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

ORDER = 29  # paperclip.sky.ORDER when this revision was written; a test checks they agree
BATCH = 5000

# -- Postgres: one refresh function, three trigger functions ------------------------------------
# words as SQLite's unicode61 tokenizer sees them: ABELL-2744 is "abell 2744", not "abel" and "-2744"
PG_WORDS = """
CREATE FUNCTION paperclip_words(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(coalesce(t, ''), '[^[:alnum:]]+', ' ', 'g')
$$
"""
PG_REFRESH = """
CREATE FUNCTION paperclip_refresh_proposal_text(pk integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO proposal_text (proposal_pk, document)
  SELECT p.id,
         setweight(to_tsvector('english', paperclip_words(p.title)), 'A')
      || setweight(to_tsvector('english', paperclip_words(
           (SELECT string_agg(DISTINCT o.target, ' ') FROM observations o WHERE o.proposal_pk = p.id))), 'A')
      || setweight(to_tsvector('english', paperclip_words(
           (SELECT string_agg(c.text, ' ' ORDER BY c.id) FROM captions c
             WHERE c.proposal_pk = p.id AND c.kind = 'summary' AND c.status = 'ok'))), 'B')
      || setweight(to_tsvector('english', paperclip_words(p.abstract)), 'C')
  FROM proposals p WHERE p.id = pk
  ON CONFLICT (proposal_pk) DO UPDATE SET document = EXCLUDED.document
$$
"""
PG_TRIGGERS = """
CREATE FUNCTION paperclip_proposals_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM paperclip_refresh_proposal_text(NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER proposals_text_insert AFTER INSERT ON proposals
  FOR EACH ROW EXECUTE FUNCTION paperclip_proposals_text();
CREATE TRIGGER proposals_text_update AFTER UPDATE OF title, abstract ON proposals
  FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract)
  EXECUTE FUNCTION paperclip_proposals_text();

CREATE FUNCTION paperclip_captions_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.kind = 'summary' THEN
    PERFORM paperclip_refresh_proposal_text(OLD.proposal_pk);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.kind = 'summary'
     AND (TG_OP = 'INSERT' OR OLD.proposal_pk <> NEW.proposal_pk OR OLD.kind <> 'summary') THEN
    PERFORM paperclip_refresh_proposal_text(NEW.proposal_pk);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER captions_text AFTER INSERT OR UPDATE OR DELETE ON captions
  FOR EACH ROW EXECUTE FUNCTION paperclip_captions_text();

-- a proposal's document changes only when a target new to it appears or its last one goes
CREATE FUNCTION paperclip_observations_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.target IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM observations WHERE proposal_pk = OLD.proposal_pk AND target = OLD.target) THEN
    PERFORM paperclip_refresh_proposal_text(OLD.proposal_pk);
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.target IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM observations WHERE proposal_pk = NEW.proposal_pk AND target = NEW.target AND id <> NEW.id)
  THEN
    PERFORM paperclip_refresh_proposal_text(NEW.proposal_pk);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER observations_text_insert AFTER INSERT ON observations
  FOR EACH ROW EXECUTE FUNCTION paperclip_observations_text();
CREATE TRIGGER observations_text_update AFTER UPDATE OF target, proposal_pk ON observations
  FOR EACH ROW WHEN (OLD.target IS DISTINCT FROM NEW.target OR OLD.proposal_pk <> NEW.proposal_pk)
  EXECUTE FUNCTION paperclip_observations_text();
CREATE TRIGGER observations_text_delete AFTER DELETE ON observations
  FOR EACH ROW EXECUTE FUNCTION paperclip_observations_text();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS observations_text_delete ON observations;
DROP TRIGGER IF EXISTS observations_text_update ON observations;
DROP TRIGGER IF EXISTS observations_text_insert ON observations;
DROP TRIGGER IF EXISTS captions_text ON captions;
DROP TRIGGER IF EXISTS proposals_text_update ON proposals;
DROP TRIGGER IF EXISTS proposals_text_insert ON proposals;
DROP FUNCTION IF EXISTS paperclip_observations_text();
DROP FUNCTION IF EXISTS paperclip_captions_text();
DROP FUNCTION IF EXISTS paperclip_proposals_text();
DROP FUNCTION IF EXISTS paperclip_refresh_proposal_text(integer);
DROP FUNCTION IF EXISTS paperclip_words(text);
DROP TABLE IF EXISTS proposal_text;
"""


# -- SQLite: an FTS5 table; each trigger deletes and rewrites the proposal's row -----------------
SQLITE_DOCUMENTS = """
  INSERT INTO proposal_text (rowid, title, targets, summary, abstract)
  SELECT p.id, coalesce(p.title, ''),
         coalesce((SELECT group_concat(t, ' ') FROM
                   (SELECT DISTINCT target AS t FROM observations WHERE proposal_pk = p.id AND target IS NOT NULL)), ''),
         coalesce((SELECT group_concat(text, ' ') FROM
                   (SELECT text FROM captions WHERE proposal_pk = p.id AND kind = 'summary' AND status = 'ok'
                    ORDER BY id)), ''),
         coalesce(p.abstract, '')
  FROM proposals p"""


def _sqlite_refresh(pk: str) -> str:
    return f"\n  DELETE FROM proposal_text WHERE rowid = {pk};{SQLITE_DOCUMENTS} WHERE p.id = {pk};"


SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE proposal_text USING fts5("
    "title, targets, summary, abstract, tokenize = 'porter unicode61 remove_diacritics 2')"
)
_NEW_TARGET = (
    "NEW.target IS NOT NULL AND NOT EXISTS (SELECT 1 FROM observations "
    "WHERE proposal_pk = NEW.proposal_pk AND target = NEW.target AND id <> NEW.id)"
)
_GONE_TARGET = (
    "OLD.target IS NOT NULL AND NOT EXISTS (SELECT 1 FROM observations "
    "WHERE proposal_pk = OLD.proposal_pk AND target = OLD.target)"
)
SQLITE_TRIGGERS = {
    "proposals_text_insert": ("AFTER INSERT ON proposals", None, ["NEW.id"]),
    "proposals_text_update": (
        "AFTER UPDATE OF title, abstract ON proposals",
        "OLD.title IS NOT NEW.title OR OLD.abstract IS NOT NEW.abstract",
        ["NEW.id"],
    ),
    "proposals_text_delete": ("AFTER DELETE ON proposals", None, ["OLD.id"]),
    "captions_text_insert": ("AFTER INSERT ON captions", "NEW.kind = 'summary'", ["NEW.proposal_pk"]),
    "captions_text_update": (
        "AFTER UPDATE ON captions",
        "OLD.kind = 'summary' OR NEW.kind = 'summary'",
        ["OLD.proposal_pk", "NEW.proposal_pk"],
    ),
    "captions_text_delete": ("AFTER DELETE ON captions", "OLD.kind = 'summary'", ["OLD.proposal_pk"]),
    "observations_text_insert": ("AFTER INSERT ON observations", _NEW_TARGET, ["NEW.proposal_pk"]),
    "observations_text_update": (
        "AFTER UPDATE OF target, proposal_pk ON observations",
        "OLD.target IS NOT NEW.target OR OLD.proposal_pk <> NEW.proposal_pk",
        ["OLD.proposal_pk", "NEW.proposal_pk"],
    ),
    "observations_text_delete": ("AFTER DELETE ON observations", _GONE_TARGET, ["OLD.proposal_pk"]),
}


def create_sqlite_triggers() -> None:
    for name, (event, when, pks) in SQLITE_TRIGGERS.items():
        body = "".join(_sqlite_refresh(pk) for pk in pks)
        op.execute(
            f"CREATE TRIGGER {name} {event} FOR EACH ROW{f' WHEN {when}' if when else ''} BEGIN{body}\nEND"
        )


def _backfill_healpix() -> None:
    import astropy.units as u
    import numpy as np
    from astropy_healpix import level_to_nside, lonlat_to_healpix

    conn = op.get_bind()
    obs = sa.table("observations", sa.column("id"), sa.column("ra"), sa.column("dec"), sa.column("healpix"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(obs.c.id, obs.c.ra, obs.c.dec)
            .where(obs.c.id > last, obs.c.ra.is_not(None), obs.c.dec.is_not(None))
            .order_by(obs.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        ids = np.array([r[0] for r in rows])
        ra, dec = np.array([r[1] for r in rows], dtype=float), np.array([r[2] for r in rows], dtype=float)
        ok = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
        cells = lonlat_to_healpix(
            (ra[ok] % 360) * u.deg, dec[ok] * u.deg, level_to_nside(ORDER), order="nested"
        )
        conn.execute(
            obs.update().where(obs.c.id == sa.bindparam("oid")).values(healpix=sa.bindparam("cell")),
            [{"oid": int(i), "cell": int(c)} for i, c in zip(ids[ok], cells, strict=True)],
        )


def upgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("healpix", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_observations_healpix", ["healpix"], unique=False)
        batch_op.create_index("ix_observations_start_time", ["start_time"], unique=False)
        batch_op.create_index("ix_observations_exposure_s", ["exposure_s"], unique=False)
    op.create_index("ix_observations_obs_id_lower", "observations", [sa.text("lower(obs_id)")], unique=False)
    op.create_index("ix_observations_target_lower", "observations", [sa.text("lower(target)")], unique=False)
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index("ix_proposals_proposal_id", ["proposal_id"], unique=False)
    _backfill_healpix()

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE proposal_text (proposal_pk integer PRIMARY KEY "
            "REFERENCES proposals (id) ON DELETE CASCADE, document tsvector NOT NULL)"
        )
        op.execute("CREATE INDEX ix_proposal_text_document ON proposal_text USING gin (document)")
        op.execute(PG_WORDS)
        op.execute(PG_REFRESH)
        op.execute(PG_TRIGGERS)
        op.execute("SELECT paperclip_refresh_proposal_text(id) FROM proposals")
    else:
        op.execute(SQLITE_TABLE)
        create_sqlite_triggers()
        op.execute(SQLITE_DOCUMENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DROP)
    else:
        for name in reversed(SQLITE_TRIGGERS):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS proposal_text")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_proposal_id")
    op.drop_index("ix_observations_target_lower", table_name="observations")
    op.drop_index("ix_observations_obs_id_lower", table_name="observations")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_exposure_s")
        batch_op.drop_index("ix_observations_start_time")
        batch_op.drop_index("ix_observations_healpix")
        batch_op.drop_column("healpix")
