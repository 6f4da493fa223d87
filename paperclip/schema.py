"""The database schema (SQLAlchemy 2.0 typed models), shared by every layer.

The Alembic migration in ``migrations/`` creates exactly these tables; a test checks that
the migrated database and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")  # jsonb on Postgres: indexable, compact


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON_DOCUMENT, list[Any]: JSON_DOCUMENT}


class Proposal(Base):
    """An observing proposal (or, for imported data, any group sharing one text)."""

    __tablename__ = "proposals"
    __table_args__ = (
        UniqueConstraint("collection", "proposal_id", name="uq_proposals_collection_pid"),
        Index("ix_proposals_proposal_id", "proposal_id"),  # `prop:15446` in any collection
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection: Mapped[str] = mapped_column(String(32), default="HST")
    proposal_id: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int | None] = mapped_column(Integer, index=True)
    prop_type: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(Text)
    pi: Mapped[str | None] = mapped_column(String(256))
    abstract: Mapped[str | None] = mapped_column(Text)
    abstract_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    observations: Mapped[list[Observation]] = relationship(back_populates="proposal")
    captions: Mapped[list[Caption]] = relationship(back_populates="proposal")


class Caption(Base):
    """Text paired with a proposal's images: the raw abstract or a structured summary."""

    __tablename__ = "captions"
    __table_args__ = (
        UniqueConstraint(
            "proposal_pk",
            "kind",
            "generator",
            "model_name",
            "prompt_version",
            "abstract_sha256",
            name="uq_captions_cache_key",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_pk: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # raw | summary
    generator: Mapped[str] = mapped_column(String(32))  # raw | extract | llm
    model_name: Mapped[str] = mapped_column(String(128), default="")
    prompt_version: Mapped[str] = mapped_column(String(32), default="")
    abstract_sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | failed | skipped
    text: Mapped[str | None] = mapped_column(Text)
    structured: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT)
    error: Mapped[str | None] = mapped_column(Text)
    # Why a caption is missing: placeholder | near_empty (skipped), no_object | no_use_case | llm (failed).
    reason: Mapped[str | None] = mapped_column(String(32))
    # The offline extractor's words behind each summary term: [{term, kind, text, start, end, field, rule}].
    evidence: Mapped[list[Any] | None] = mapped_column(JSON)
    tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="captions")


class Observation(Base):
    """One preview image and the observation metadata behind it. Its ``id`` is the FAISS id."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("collection", "obs_id", name="uq_observations_collection_obs"),
        Index("ix_observations_instrument", "instrument"),
        Index("ix_observations_target", "target"),
        # collection alone is served by the unique constraint's index, which leads with it
        Index("ix_observations_healpix", "healpix"),
        Index("ix_observations_start_time", "start_time"),
        Index("ix_observations_exposure_s", "exposure_s"),
    )

    # 64-bit like FAISS ids; SQLite's INTEGER PRIMARY KEY is its 64-bit rowid (BIGINT would not be)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    proposal_pk: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    collection: Mapped[str] = mapped_column(String(32), default="HST")
    obs_id: Mapped[str] = mapped_column(String(128))
    instrument: Mapped[str | None] = mapped_column(String(64))
    filters: Mapped[str | None] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(256))
    ra: Mapped[float | None] = mapped_column(Float)
    dec: Mapped[float | None] = mapped_column(Float)
    healpix: Mapped[int | None] = mapped_column(
        BigInteger
    )  # NESTED HEALPix index of (ra, dec) at paperclip.sky.ORDER: cones become index ranges
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exposure_s: Mapped[float | None] = mapped_column(Float)
    preview_url: Mapped[str | None] = mapped_column(Text)
    product_filename: Mapped[str | None] = mapped_column(String(256))
    local_path: Mapped[str | None] = mapped_column(
        Text
    )  # processed 512 px square, relative to the image store
    original_path: Mapped[str | None] = mapped_column(Text)  # the file as served, relative to the image store
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # of the original bytes
    width: Mapped[int | None] = mapped_column(Integer)  # of the original
    height: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(
        String(128)
    )  # ground-truth class where known (synthetic); eval only
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="observations")


Index("ix_observations_obs_id_lower", func.lower(Observation.obs_id))  # IB2K01010 finds ib2k01010
Index("ix_observations_target_lower", func.lower(Observation.target))  # names resolved offline


# Full-text search over each proposal's title, targets, summaries and abstract, kept in step by
# triggers on proposals, captions and observations (migration 0005): on Postgres the table
# ``proposal_text`` (proposal_pk, tsvector ``document`` under a GIN index), on SQLite the FTS5
# table ``proposal_text`` (rowid = proposal id; columns title, targets, summary, abstract). Both
# live outside the ORM, so schema comparisons skip them through ``include_name``.
TEXT_SEARCH_TABLE = "proposal_text"


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name hook: leave the full-text tables (and FTS5's shadow tables) alone."""
    return not (type_ == "table" and name is not None and name.startswith(TEXT_SEARCH_TABLE))


class LedgerEntry(Base):
    """Status of one unit of a long job (a proposal, a product), so reruns resume."""

    __tablename__ = "harvest_ledger"
    __table_args__ = (
        UniqueConstraint("job", "unit", name="uq_ledger_job_unit"),
        Index("ix_ledger_status", "job", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Split(Base):
    """Train/validation assignment by proposal, so no proposal is on both sides."""

    __tablename__ = "splits"

    proposal_pk: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    split: Mapped[str] = mapped_column(String(16), index=True)  # train | val | test
    seed: Mapped[int] = mapped_column(Integer)


class Checkpoint(Base):
    """One immutable version of a named checkpoint (``paperclip.checkpoints``)."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_checkpoints_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    weights_sha256: Mapped[str | None] = mapped_column(String(64))  # content hash of the weights
    path: Mapped[str] = mapped_column(Text)
    base_model: Mapped[str] = mapped_column(String(128))
    recipe: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON_DOCUMENT)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexVersion(Base):
    __tablename__ = "index_versions"
    __table_args__ = (Index("ix_index_versions_active", "active"),)  # the service polls for the active one

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_pk: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id", ondelete="SET NULL"))
    model_spec: Mapped[str] = mapped_column(Text)  # what load_model() takes to embed queries for this index
    path: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))  # flat | hnsw | ivfpq
    count: Mapped[int] = mapped_column(Integer, default=0)
    dim: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="building")  # building | ready | failed
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VocabularyTerm(Base):
    """A science description offered by description retrieval."""

    __tablename__ = "vocabulary"
    __table_args__ = (UniqueConstraint("text", "kind", name="uq_vocabulary_text_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # object | use_case
    source: Mapped[str] = mapped_column(String(32))  # paper | curated | summary
