"""Versioned FAISS indexes tied to the database: build, add, verify, activate, list, prune.

Every build writes a new immutable version folder (``paperclip.index_files``) and an
``index_versions`` row that moves building -> ready; only ``activate`` changes what the
service serves, in one UPDATE, so a failed or killed build never touches the active version.
Embeddings go through ``indexer.index.embed``'s chunked work folder, filled by a Ray Data job
(``indexer.index.embed_job``): a rerun after a crash embeds only what is missing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from indexer.ledger import record_unreadable
from paperclip.checkpoints import find_checkpoint
from paperclip.checkpoints import label as checkpoint_label
from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.index_files import (
    IndexCorrupt,
    IndexFiles,
    check_weights,
    read_index_files,
    write_index_files,
)
from paperclip.index_meta import read_from_db
from paperclip.schema import Checkpoint, IndexVersion, LedgerEntry, Observation, VocabularyTerm
from paperclip.storage import get_paths
from paperclip.vocabulary import seed_vocabulary

LEDGER_JOB = "embed"


@dataclass
class BuildSummary:
    version_id: int
    kind: str
    count: int
    dim: int
    model_spec: str
    path: Path
    active: bool
    embedded: int = 0
    reused: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    images_per_s: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"index version {self.version_id} ({self.kind}, {self.dim}-d): {self.count:,} vectors, "
            f"model {self.model_spec}{', ACTIVE' if self.active else ''}",
            f"  embedded {self.embedded:,} previews ({self.images_per_s:,.0f} img/s), "
            f"reused {self.reused:,}, failed {len(self.failed):,}",
            f"  {self.path}",
        ]
        out += [f"  failed observation {i}: {e}" for i, e in list(self.failed.items())[:10]]
        return out


# -- public entry points ---------------------------------------------------------------------------
def build_index(model: str, kind: str = "auto", activate: bool = True) -> int:
    """Embed every observation's preview with ``model`` into a new version; returns its id."""
    return build(model, kind, activate).version_id


def build(model: str, kind: str = "auto", activate: bool = True, progress: bool = True) -> BuildSummary:
    spec, checkpoint_pk = resolve_model(model)
    return _make_version(spec, checkpoint_pk, kind, None, activate, progress)


def add(version_id: int | None = None, activate: bool | None = None, progress: bool = True) -> BuildSummary:
    """A new version = ``version_id`` (default: the active one) plus observations harvested since,
    minus rows deleted since; only the new previews are embedded. Activated when the base was,
    unless ``activate`` says otherwise."""
    with session_scope() as s:
        base = _version_row(s, version_id)
    files = read_index_files(Path(base.path))
    with session_scope() as s:
        current = np.array([i for i, _ in embeddable(s)], dtype=np.int64)
    if np.array_equal(np.sort(current), np.sort(files.ids)):  # nothing harvested or deleted since
        return BuildSummary(
            base.id,
            base.kind,
            files.count,
            base.dim,
            base.model_spec,
            Path(base.path),
            base.active,
            reused=files.count,
        )
    activate = base.active if activate is None else activate
    return _make_version(base.model_spec, base.checkpoint_pk, base.kind, files, activate, progress)


def activate(version_id: int) -> None:
    """Make ``version_id`` the one active version, in a single UPDATE readers see whole or not at all."""
    with session_scope() as s:
        row = s.get(IndexVersion, version_id)
        if row is None:
            raise LookupError(f"no index version {version_id}")
        if row.status != "ready" or not Path(row.path).is_dir():
            raise ValueError(f"index version {version_id} is {row.status}, not ready to serve")
        try:  # a version damaged on disk since it was built is refused here, not by every replica later
            read_index_files(Path(row.path), verify=True)
        except IndexCorrupt as e:
            raise ValueError(
                f"index version {version_id} is corrupt, the active version is unchanged: {e}"
            ) from e
        s.execute(update(IndexVersion).values(active=IndexVersion.id == version_id))


def list_versions() -> list[IndexVersion]:
    with session_scope() as s:
        return list(s.scalars(select(IndexVersion).order_by(IndexVersion.id)))


def prune(keep: int = 3, work: bool = False) -> list[int]:
    """Delete versions beyond the ``keep`` newest ready ones, and failed ones; never the active one.
    With ``work``, also the work folders no build holds (a killed build's chunks: it re-embeds)."""
    removed = []
    with session_scope() as s:
        rows = list(s.scalars(select(IndexVersion).order_by(IndexVersion.id.desc())))
        ready = [r for r in rows if r.status == "ready" and not r.active]
        doomed = ready[max(0, keep - 1 if any(r.active for r in rows) else keep) :]
        doomed += [r for r in rows if r.status == "failed" and not r.active]
        for row in doomed:
            shutil.rmtree(row.path, ignore_errors=True)
            s.delete(row)
            removed.append(row.id)
    if work:
        from indexer.index.embed import WorkDir

        WorkDir.remove_idle(get_paths().indexes)
    return sorted(removed)


# -- verification ----------------------------------------------------------------------------------
@dataclass
class VerifyReport:
    version_id: int
    count: int = 0
    corrupt: str | None = None
    dangling: list[int] = field(default_factory=list)  # in the index, no live row
    missing: list[int] = field(default_factory=list)  # a row with a preview, not in the index
    id_mismatch: bool = False  # index labels differ from ids.npy
    self_search_misses: int = 0  # stored vectors that do not find their own id in the top 10
    reembedded: int = 0
    min_cosine: float | None = None

    @property
    def ok(self) -> bool:
        return (
            self.corrupt is None
            and not self.dangling
            and not self.missing
            and not self.id_mismatch
            and not self.self_search_misses
            and (self.min_cosine is None or self.min_cosine >= REEMBED_MIN_COSINE)
        )

    def lines(self) -> list[str]:
        if self.corrupt:
            return [f"index version {self.version_id}: CORRUPT: {self.corrupt}"]
        cos = "n/a" if self.min_cosine is None else f"{self.min_cosine:.4f}"
        return [
            f"index version {self.version_id}: {'OK' if self.ok else 'PROBLEMS'} ({self.count:,} vectors)",
            f"  ids without a live row: {len(self.dangling)} {self.dangling[:10]}",
            f"  rows with a preview missing from the index: {len(self.missing)} {self.missing[:10]}",
            f"  index labels match ids.npy: {not self.id_mismatch}; "
            f"self-search misses: {self.self_search_misses}",
            f"  re-embedded {self.reembedded}, lowest cosine to the stored vector {cos} "
            f"(needs >= {REEMBED_MIN_COSINE})",
        ]


REEMBED_MIN_COSINE = 0.99  # float16 storage and bf16 on GPU stay far above this


def verify(version_id: int | None = None, sample: int = 8, seed: int = 0) -> VerifyReport:
    """Check files against the manifest, ids against live rows both ways, and re-embed a sample."""
    from indexer.index.embed import encode_batches, loader
    from indexer.index.kinds import index_ids
    from paperclip.model import load_model

    with session_scope() as s:
        row = _version_row(s, version_id)
        live = dict(s.execute(select(Observation.id, Observation.local_path)).all())
    report = VerifyReport(row.id)
    try:
        files = read_index_files(Path(row.path))
    except IndexCorrupt as e:
        report.corrupt = str(e)
        return report
    report.count = files.count
    ids = files.ids
    live_ids = np.fromiter(live, np.int64, len(live))
    embeddable = np.fromiter((i for i, p in live.items() if p), np.int64)
    report.dangling = np.setdiff1d(ids, live_ids).tolist()
    report.missing = np.setdiff1d(embeddable, ids).tolist()
    report.id_mismatch = not np.array_equal(index_ids(files.index), ids)
    rng = np.random.default_rng(seed)
    vectors = np.load(files.path / "vectors.npy", mmap_mode="r")  # rows read on demand, at any size
    if len(ids):
        probe = np.sort(rng.choice(len(ids), min(64, len(ids)), replace=False))
        _, found = files.search(np.asarray(vectors[probe], np.float32), 10)
        report.self_search_misses = int(sum(ids[p] not in f for p, f in zip(probe, found, strict=True)))
    candidates = np.flatnonzero(np.isin(ids, embeddable))
    if sample and len(candidates):
        picks = rng.choice(candidates, min(sample, len(candidates)), replace=False)
        clip = load_model(files.manifest["model_spec"], get_settings().device)
        pairs = [(int(ids[p]), live[int(ids[p])]) for p in picks]
        got, fresh, _ = next(
            encode_batches(clip, loader(clip, pairs, get_paths().images, len(pairs), 0), False)
        )
        if len(got):
            stored = np.asarray(vectors[[int(np.flatnonzero(ids == i)[0]) for i in got]], np.float32)
            report.reembedded = len(got)
            report.min_cosine = float(np.min(np.sum(fresh * stored, axis=1) / np.linalg.norm(stored, axis=1)))
    return report


# -- internals -------------------------------------------------------------------------------------
def resolve_model(model: str) -> tuple[str, int | None]:
    """(load_model spec, checkpoints.id): a checkpoint name (its newest version), ``name@vN`` or
    folder becomes its absolute path."""
    with session_scope() as s:
        row = find_checkpoint(s, model)
        if row is not None:
            return str(Path(row.path).expanduser().resolve()), row.id
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser().resolve()), None
    return model, None


def default_model() -> str:
    """The newest registered checkpoint version, else the offline ``lite`` model."""
    with session_scope() as s:
        row = s.scalar(select(Checkpoint).order_by(Checkpoint.created_at.desc(), Checkpoint.id.desc()))
        return checkpoint_label(row) if row else "lite"


def embeddable(session: Session) -> list[tuple[int, str]]:
    """(observation id, preview path) of every observation that has a preview, by id."""
    rows = session.execute(
        select(Observation.id, Observation.local_path)
        .where(Observation.local_path.is_not(None))
        .order_by(Observation.id)
    )
    return [(int(i), str(p)) for i, p in rows]


def _version_row(session: Session, version_id: int | None) -> IndexVersion:
    if version_id is None:
        row = session.scalar(select(IndexVersion).where(IndexVersion.active.is_(True)))
        if row is None:
            raise LookupError("no active index version: build one with `paperclip index build`")
        return row
    row = session.get(IndexVersion, version_id)
    if row is None:
        raise LookupError(f"no index version {version_id}")
    return row


def _start_version(spec: str, checkpoint_pk: int | None, kind: str, dim: int) -> int:
    """The row this build fills: an unfinished one for the same model and kind (a rerun), or a new one."""
    with session_scope() as s:
        row = s.scalar(
            select(IndexVersion)
            .where(
                IndexVersion.model_spec == spec,
                IndexVersion.kind == kind,
                IndexVersion.status.in_(("building", "failed")),
            )
            .order_by(IndexVersion.id.desc())
        )
        if row is None:
            row = IndexVersion(model_spec=spec, checkpoint_pk=checkpoint_pk, kind=kind, dim=dim, path="")
            s.add(row)
            s.flush()
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            row.path = str(get_paths().ensure().indexes / f"v{row.id}-{stamp}")
        row.status = "building"
        return row.id


def _set_status(version_id: int, **values: Any) -> None:
    with session_scope() as s:
        s.execute(update(IndexVersion).where(IndexVersion.id == version_id).values(**values))


def _record_failures(failed: dict[int, str]) -> None:
    with session_scope() as s:
        record_unreadable(s, LEDGER_JOB, failed)


def _clear_failures(ids: np.ndarray) -> None:
    with session_scope() as s:
        failed = s.scalars(
            select(LedgerEntry.unit).where(LedgerEntry.job == LEDGER_JOB, LedgerEntry.status == "failed")
        ).all()
        fixed = [u for u in failed if np.isin(int(u), ids)]
        if fixed:
            s.execute(
                update(LedgerEntry)
                .where(LedgerEntry.job == LEDGER_JOB, LedgerEntry.unit.in_(fixed))
                .values(status="done", last_error=None)
            )


def _vocabulary(clip: Any) -> tuple[list[dict[str, Any]], np.ndarray]:
    with session_scope() as s:
        seed_vocabulary(s)
    with session_scope() as s:
        terms = s.scalars(select(VocabularyTerm).order_by(VocabularyTerm.id)).all()
        vocab = [{"id": t.id, "text": t.text, "kind": t.kind, "source": t.source} for t in terms]
    return vocab, clip.encode_text([t["text"] for t in vocab])


def _make_version(
    spec: str,
    checkpoint_pk: int | None,
    kind: str,
    base: IndexFiles | None,
    activate_after: bool,
    progress: bool,
) -> BuildSummary:
    from indexer.index.embed import WorkDir
    from indexer.index.embed_job import embed_job
    from indexer.index.kinds import choose_kind
    from paperclip.model import load_model, spec_config

    settings = get_settings()
    paths = get_paths().ensure()
    with session_scope() as s:
        items = embeddable(s)
    item_ids = np.fromiter((i for i, _ in items), np.int64, len(items))
    kept = base.ids[np.isin(base.ids, item_ids)] if base is not None else np.zeros(0, np.int64)
    needed = [items[i] for i in np.flatnonzero(~np.isin(item_ids, kept))]
    kind = choose_kind(kind, len(items), settings.index_exact_max, settings.index_hnsw_max)
    work = WorkDir.for_model(paths.indexes, spec)
    with work.lock():  # one build per model at a time
        version_id = _start_version(spec, checkpoint_pk, kind, spec_config(spec)["embed_dim"])
        clip = load_model(spec, settings.device)
        if base is not None:  # its vectors are reused: they must come from these weights
            check_weights(base.manifest, clip.weights_sha256)
        todo = work.todo(needed)
        stats = embed_job(
            spec,
            todo,
            work,
            paths.images,
            settings.embed_batch_size,
            settings.embed_chunk,
            settings.ray_num_cpus,
            progress,
        )
        _record_failures(stats.failed)
        try:
            summary = _finish(
                version_id, spec, kind, clip, work, base, kept, item_ids, stats, len(needed) - len(todo)
            )
        except BaseException:
            _set_status(version_id, status="failed")
            raise
        work.clear()
        if activate_after:
            activate(version_id)
            summary.active = True
    return summary


def _finish(
    version_id: int,
    spec: str,
    kind: str,
    clip: Any,
    work: Any,
    base: IndexFiles | None,
    kept: np.ndarray,
    item_ids: np.ndarray,
    stats: Any,
    reused: int,
) -> BuildSummary:
    """Merge the chunks (and a base version's vectors) into the version folder and mark it ready."""
    from indexer.index.kinds import ONDISK_KINDS

    with session_scope() as s:
        final = Path(s.get(IndexVersion, version_id).path)
    staging = final.with_name(f".{final.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    lists = None
    if kind in ONDISK_KINDS:
        ids, index, vectors, lists = _on_disk(kind, clip.dim, work, base, kept, item_ids, staging)
    else:
        ids, index, vectors = _in_memory(kind, clip.dim, work, base, kept, item_ids)
    vocab, vocab_vectors = _vocabulary(clip)
    with session_scope() as s:  # read afresh at every build and add: metadata edited since is picked up
        metadata = read_from_db(s, ids)
    with session_scope() as s:
        checkpoint_pk = s.get(IndexVersion, version_id).checkpoint_pk
    if final.exists():  # a previous attempt died after writing the folder but before marking it ready
        shutil.rmtree(final)
    meta = {
        "model_spec": spec,
        "weights_sha256": clip.weights_sha256,  # the service refuses to pair this index with other weights
        "kind": kind,
        "version_id": version_id,
        "checkpoint_pk": checkpoint_pk,
    }
    if base is not None:
        meta["base_version"] = int(base.manifest.get("version_id", 0))
    manifest = write_index_files(final, index, ids, vectors, vocab, vocab_vectors, meta, metadata, lists)
    shutil.rmtree(staging, ignore_errors=True)
    _set_status(
        version_id,
        status="ready",
        count=manifest["count"],
        dim=manifest["dim"],
        checksum=manifest["checksum"],
    )
    _clear_failures(ids)
    return BuildSummary(
        version_id,
        kind,
        manifest["count"],
        manifest["dim"],
        spec,
        final,
        False,
        embedded=stats.embedded,
        reused=reused + len(kept),
        failed=stats.failed,
        images_per_s=stats.images_per_s,
    )


def _in_memory(
    kind: str, dim: int, work: Any, base: IndexFiles | None, kept: np.ndarray, item_ids: np.ndarray
) -> tuple[np.ndarray, Any, np.ndarray]:
    """(ids, index, float16 vectors) built in this process: every vector in RAM, sorted by id."""
    from indexer.index.kinds import make_index, refill

    new_ids, new_vecs = work.merged(item_ids)
    if base is not None:
        base_vecs = np.load(base.path / "vectors.npy")[np.isin(base.ids, kept)]
        new_mask = ~np.isin(new_ids, kept)
        ids = np.concatenate([kept, new_ids[new_mask]])
        vec16 = np.concatenate([base_vecs, new_vecs[new_mask].reshape(-1, base_vecs.shape[1])])
        order = np.argsort(ids, kind="stable")
        ids, vec16 = ids[order], vec16[order]
    else:
        ids, vec16 = new_ids, new_vecs.reshape(len(new_ids), -1) if len(new_ids) else np.zeros((0, dim))
    vec16 = np.asarray(vec16, dtype=np.float16)
    vectors = vec16.astype(np.float32)  # the index holds exactly what vectors.npy holds
    if base is not None and kind == "ivfpq":
        index = refill(base.index, vectors, ids)
    else:
        index = make_index(kind, vectors, ids)
    return ids, index, vec16


def _on_disk(
    kind: str,
    dim: int,
    work: Any,
    base: IndexFiles | None,
    kept: np.ndarray,
    item_ids: np.ndarray,
    staging: Path,
) -> tuple[np.ndarray, Any, Path, Path]:
    """(ids, index, vectors.npy, lists.ivfdata) streamed through ``staging``: no process holds every
    vector. A base of the same kind with no rows deleted since keeps its lists; new rows are appended."""
    from indexer.index.ondisk import append_ondisk, build_ondisk, stage_vectors
    from paperclip.index_files import LISTS_FILE

    staging.mkdir(parents=True)
    vectors = staging / "vectors.npy"
    source = (base.ids, base.path / "vectors.npy") if base is not None else None
    ids = stage_vectors(work.chunks(), item_ids, source, dim, vectors)
    if base is not None and base.manifest.get("kind") == kind and len(kept) == len(base.ids):
        index = append_ondisk(base.index, vectors, ids, staging)
    else:
        index = build_ondisk(kind, vectors, ids, staging)
    return ids, index, vectors, staging / LISTS_FILE
