"""The migrated schema on both databases: it matches the models, stores and reads every table."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from paperclip.db import get_engine, session_scope, upsert
from paperclip.schema import (
    Base,
    Caption,
    Checkpoint,
    IndexVersion,
    LedgerEntry,
    Observation,
    Proposal,
    Split,
    VocabularyTerm,
    include_name,
)


def test_migration_matches_models(db_url):
    with get_engine(db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_write_and_read_every_table(db_url):
    with session_scope(db_url) as s:
        p = Proposal(
            collection="HST",
            proposal_id="15354",
            cycle=25,
            category="Galaxies",
            title="T",
            pi="PI",
            abstract="An abstract.",
        )
        s.add(p)
        s.flush()
        s.add_all(
            [
                Caption(
                    proposal_pk=p.id,
                    kind="summary",
                    generator="extract",
                    text="galaxies; evolution",
                    structured={"objects_and_phenomena": ["galaxies"], "science_use_cases": ["evolution"]},
                ),
                Observation(
                    proposal_pk=p.id,
                    obs_id="jdi601010",
                    instrument="ACS/WFC",
                    filters="F606W",
                    ra=10.5,
                    dec=-3.2,
                ),
                LedgerEntry(job="harvest", unit="proposal:HST:15354", status="done", attempts=1),
                Split(proposal_pk=p.id, split="val", seed=0),
                Checkpoint(name="ft", path="/x", base_model="lite", metrics={"top10": 0.7}),
                VocabularyTerm(text="strong lensing", kind="object", source="paper"),
            ]
        )
        s.flush()
        s.add(
            IndexVersion(
                checkpoint_pk=s.scalar(select(Checkpoint.id)),
                model_spec="lite",
                path="/i",
                kind="flat",
                count=1,
                dim=512,
            )
        )
    with session_scope(db_url) as s:
        prop = s.scalar(select(Proposal).where(Proposal.proposal_id == "15354"))
        assert prop.observations[0].instrument == "ACS/WFC"
        assert prop.captions[0].structured["science_use_cases"] == ["evolution"]
        assert s.scalar(select(Checkpoint.metrics)) == {"top10": 0.7}
        assert s.scalar(select(IndexVersion.active)) is False
        for model in (LedgerEntry, Split, VocabularyTerm, IndexVersion):
            assert s.scalar(select(func.count()).select_from(model)) == 1


def test_unique_constraints_hold(db_url):
    with session_scope(db_url) as s:
        s.add(Proposal(collection="HST", proposal_id="1"))
    try:
        with session_scope(db_url) as s:
            s.add(Proposal(collection="HST", proposal_id="1"))
        raise AssertionError("duplicate proposal accepted")
    except IntegrityError:
        pass
    with session_scope(db_url) as s:  # the same id in another collection is another proposal
        s.add(Proposal(collection="JWST", proposal_id="1"))


def test_upsert_is_idempotent_and_updates(db_url):
    rows = [{"collection": "HST", "proposal_id": str(i), "title": f"t{i}"} for i in range(5)]
    with session_scope(db_url) as s:
        upsert(s, Proposal, rows, key=["collection", "proposal_id"])
        upsert(s, Proposal, rows, key=["collection", "proposal_id"])
        upsert(
            s,
            Proposal,
            [{"collection": "HST", "proposal_id": "3", "title": "new"}],
            key=["collection", "proposal_id"],
        )
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Proposal)) == 5
        assert s.scalar(select(Proposal.title).where(Proposal.proposal_id == "3")) == "new"


def test_json_documents_are_jsonb_on_postgres_and_migration_0002_round_trips(db_url):
    from alembic import command

    from paperclip.db import alembic_config

    def json_types() -> set[str]:
        with get_engine(db_url).connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT data_type FROM information_schema.columns WHERE (table_name, column_name) IN "
                "(('captions', 'structured'), ('checkpoints', 'metrics'))"
            )
            return {r[0] for r in rows}

    with session_scope(db_url) as s:
        s.add(Checkpoint(name="c", path="/c", base_model="lite", metrics={"top10": 0.5, "nested": [1, 2]}))
    postgres = db_url.startswith("postgresql")
    if postgres:
        assert json_types() == {"jsonb"}
    command.downgrade(alembic_config(db_url), "0001")
    if postgres:
        assert json_types() == {"json"}
    command.upgrade(alembic_config(db_url), "head")
    if postgres:
        assert json_types() == {"jsonb"}
    with session_scope(db_url) as s:  # the documents survive both ways
        assert s.scalar(select(Checkpoint.metrics)) == {"top10": 0.5, "nested": [1, 2]}
    test_migration_matches_models(db_url)


def test_observation_ids_are_64_bit_and_migration_0006_round_trips(db_url):
    from alembic import command

    from paperclip.db import alembic_config

    command.downgrade(alembic_config(db_url), "0005")
    command.upgrade(alembic_config(db_url), "head")
    test_migration_matches_models(db_url)
    big = 2**40 + 7
    with session_scope(db_url) as s:
        p = Proposal(collection="HST", proposal_id="1", title="t", abstract="a galaxy")
        s.add(p)
        s.flush()
        s.add(Observation(id=big, proposal_pk=p.id, obs_id="far", target="M 31"))
    with session_scope(db_url) as s:
        if db_url.startswith("postgresql"):  # the sequence itself counts past 32 bits
            s.execute(text(f"ALTER SEQUENCE observations_id_seq RESTART WITH {2**33}"))
        s.add(Observation(proposal_pk=s.scalar(select(Proposal.id)), obs_id="next", target="M 33"))
    with session_scope(db_url) as s:
        ids = sorted(s.scalars(select(Observation.id)))
        assert ids[-1] > 2**32 and big in ids
        assert s.get(Observation, big).obs_id == "far"
