"""Build and verify the preview shards (format: ``paperclip.shards``) from the archive's previews.

``build`` decodes every observation's preview that the set lacks, or whose file changed since,
into new shards, a few threads decoding (PIL and hashlib release the GIL) while the main thread
writes. Each sealed shard is added to the manifest at once, so a killed build loses at most
the shard it was writing and a rerun continues; shards left mostly dead (observations deleted or
re-imported) are rewritten from their own records and retired after the new manifest is in place.
One build at a time per folder (a lock file); readers are never blocked.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from tqdm import tqdm

from indexer.ledger import record_unreadable
from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.preview_batches import decode_preview
from paperclip.schema import LedgerEntry, Observation
from paperclip.shards import (
    MANIFEST,
    PreviewShards,
    ShardsCorrupt,
    ShardWriter,
    Source,
    read_manifest,
    shards_root,
    write_manifest,
)
from paperclip.storage import ImageStore, get_paths

LEDGER_JOB = "shards"
COMPACT_BELOW = 0.5  # a shard with fewer live records than this share is rewritten


@dataclass
class Job:
    source: Source  # to decode: size and mtime as planned, sha256 filled from the bytes read
    path: Path | None = None  # the preview file to decode
    position: int = -1  # or the record of the current set to copy


@dataclass
class BuildSummary:
    root: Path
    records: int = 0  # live records the archive needs, after the build
    shards: int = 0
    written: int = 0  # decoded from preview files
    copied: int = 0  # moved out of retired shards
    kept: int = 0  # already there and unchanged
    retired: list[str] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        rate = self.written / self.seconds if self.seconds else 0.0
        out = [
            f"preview shards at {self.root}: {self.records:,} previews in {self.shards} shards",
            f"  decoded {self.written:,} ({rate:,.0f}/s), kept {self.kept:,}, moved {self.copied:,} "
            f"out of {len(self.retired)} retired shards, failed {len(self.failed):,}",
        ]
        out += [f"  failed observation {i}: {e}" for i, e in list(self.failed.items())[:10]]
        return out


def build(
    progress: bool = True, workers: int | None = None, records_per_shard: int | None = None
) -> BuildSummary:
    """Bring the shard set in line with the archive: new and changed previews in, dead ones out."""
    settings = get_settings()
    per_shard = records_per_shard or settings.shard_records
    if per_shard < 1:
        raise ValueError(f"records per shard must be at least 1, got {per_shard}")
    workers = workers or max(1, min(8, (os.cpu_count() or 1)))
    root = shards_root()
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    summary = BuildSummary(root)
    with _lock(root):
        manifest = read_manifest(root)
        _remove_strays(root, manifest)
        current = PreviewShards.open(root)
        jobs, retired, summary.kept, summary.failed = _plan(current)
        entries = list(manifest["shards"]) if manifest else []
        generation = manifest["generation"] if manifest else 0
        seq = _next_seq(entries)
        with (
            ThreadPoolExecutor(workers) as pool,
            tqdm(total=len(jobs), unit="img", desc="shards", disable=not progress or not jobs) as bar,
        ):
            for chunk in _chunks(jobs, per_shard):
                writer = ShardWriter(root, seq)
                try:
                    for job, result in zip(
                        chunk, _bounded_map(pool, _loader(current), chunk, 4 * workers), strict=True
                    ):
                        bar.update(1)
                        if isinstance(result, str):
                            summary.failed[job.source.id] = result
                            continue
                        writer.add(*result)
                        if job.position >= 0:
                            summary.copied += 1
                        else:
                            summary.written += 1
                    if len(writer):
                        entries.append(writer.seal())
                        generation += 1
                        write_manifest(root, entries, generation)  # resumable from here
                        seq += 1
                    else:
                        writer.abort()
                except BaseException:
                    writer.abort()
                    raise
        if retired or manifest is None:
            names = {current.shards[i].path.name for i in retired} if current else set()
            entries = [e for e in entries if e["name"] not in names]
            write_manifest(root, entries, generation + 1)
            for name in sorted(names):  # readers holding the old manifest keep their mapped files
                (root / name).unlink(missing_ok=True)
            summary.retired = sorted(names)
    _record_failures(summary.failed)
    final = PreviewShards.open(root)
    summary.shards = len(final.shards) if final else 0
    summary.records = summary.kept + summary.written + summary.copied
    summary.seconds = time.perf_counter() - start
    return summary


def _plan(current: PreviewShards | None) -> tuple[list[Job], list[int], int, dict[int, str]]:
    """(jobs in id order, shards to retire, records kept, failures) for the archive as it is now."""
    with session_scope() as s:
        rows = s.execute(
            select(Observation.id, Observation.local_path)
            .where(Observation.local_path.is_not(None))
            .order_by(Observation.id)
        ).all()
    store = ImageStore(get_paths().images)
    ids = np.array([r[0] for r in rows], np.int64)
    rels = [str(r[1]) for r in rows]
    positions = current.locate(ids, rels) if current else np.full(len(ids), -1, np.int64)
    failed: dict[int, str] = {}
    keep: list[int] = []
    jobs: list[Job] = []
    for i, (obs_id, rel) in enumerate(zip(ids.tolist(), rels, strict=True)):
        try:
            path = store.resolve(rel)
            st = path.stat()
        except (FileNotFoundError, OSError) as e:
            failed[obs_id] = f"preview file missing: {rel} ({type(e).__name__})"
            continue
        pos = int(positions[i])
        if pos >= 0 and _unchanged(current, pos, path, st):
            keep.append(pos)
            continue
        jobs.append(Job(Source(obs_id, rel, st.st_size, st.st_mtime_ns, b""), path))
    retired: list[int] = []
    if current is not None and current.shards:
        live = np.bincount(current.shard_of[np.asarray(keep, np.int64)], minlength=len(current.shards))
        counts = np.array([shard.count for shard in current.shards])
        retired = np.flatnonzero(live < COMPACT_BELOW * counts).tolist()
        moving = np.isin(current.shard_of[keep], retired)
        for p in np.asarray(keep, np.int64)[moving].tolist():
            rec = current.shards[current.shard_of[p]].table[current.row_of[p]]
            source = Source(
                int(rec["id"]),
                rec["path"].decode(),
                int(rec["source_size"]),
                int(rec["source_mtime_ns"]),
                bytes(rec["source_sha256"]),
            )
            jobs.append(Job(source, position=p))
        keep = np.asarray(keep, np.int64)[~moving].tolist()
    jobs.sort(key=lambda j: j.source.id)
    return jobs, retired, len(keep), failed


def _unchanged(current: PreviewShards, pos: int, path: Path, st: os.stat_result) -> bool:
    """Same size and mtime as when recorded; else the file's hash decides (a touched copy is kept)."""
    if (st.st_size, st.st_mtime_ns) == (current.source_sizes[pos], current.source_mtimes[pos]):
        return True
    shard = current.shards[current.shard_of[pos]]
    recorded = bytes(shard.table[current.row_of[pos]]["source_sha256"])
    return hashlib.sha256(path.read_bytes()).digest() == recorded


def _loader(current: PreviewShards | None) -> Callable[[Job], tuple[Source, np.ndarray, bytes] | str]:
    def load(job: Job) -> tuple[Source, np.ndarray, bytes] | str:
        try:
            if job.position >= 0:
                pixels = np.ascontiguousarray(current.record(job.position))
                source = job.source
            else:
                data = job.path.read_bytes()
                pixels = np.ascontiguousarray(decode_preview(io.BytesIO(data)))
                source = replace(job.source, sha256=hashlib.sha256(data).digest())
            return source, pixels, hashlib.sha256(pixels.data).digest()
        except Exception as e:  # corrupt or vanished preview: recorded, never fatal
            return f"{job.source.path}: {type(e).__name__}: {e}"

    return load


def _bounded_map(pool: ThreadPoolExecutor, fn: Callable, items: list, window: int) -> Iterator[Any]:
    """``pool.map`` with at most ``window`` results held: decoded previews are 768 KiB each."""
    pending: list[Future] = []
    it = iter(items)
    for item in it:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.pop(0).result()
    while pending:
        yield pending.pop(0).result()


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _next_seq(entries: list[dict[str, Any]]) -> int:
    """Names are never reused, so a reader's old manifest never points at a different file."""
    return max((int(e["name"][6:12]) for e in entries), default=0) + 1


def _remove_strays(root: Path, manifest: dict[str, Any] | None) -> None:
    """A killed build's half-written file and any shard it sealed but never listed."""
    listed = {e["name"] for e in manifest["shards"]} if manifest else set()
    for path in root.iterdir():
        if path.name.startswith(".shard-") or (path.name.startswith("shard-") and path.name not in listed):
            path.unlink(missing_ok=True)


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    with (root / "lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another shard build is running in {root}") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _record_failures(failed: dict[int, str]) -> None:
    """Unreadable previews go to the ledger with the reason; a later success marks them done."""
    with session_scope() as s:
        record_unreadable(s, LEDGER_JOB, failed)
        s.execute(
            update(LedgerEntry)
            .where(
                LedgerEntry.job == LEDGER_JOB,
                LedgerEntry.status == "failed",
                LedgerEntry.unit.not_in([str(i) for i in failed]),
            )
            .values(status="done", last_error=None)
        )


# -- verification ----------------------------------------------------------------------------------
@dataclass
class VerifyReport:
    root: Path
    shards: int = 0
    records: int = 0
    corrupt: str | None = None
    missing: list[int] = field(default_factory=list)  # previews the archive has and the set lacks
    dead: int = 0  # records no live observation reads (replaced or deleted; the next build compacts)
    hashed: int = 0
    hash_mismatch: list[int] = field(default_factory=list)  # record bytes differ from their hash
    decoded: int = 0
    decode_mismatch: list[int] = field(default_factory=list)  # record differs from its decoded file

    @property
    def ok(self) -> bool:
        return (
            self.corrupt is None and not self.missing and not self.hash_mismatch and not self.decode_mismatch
        )

    def lines(self) -> list[str]:
        if self.corrupt:
            return [f"preview shards at {self.root}: CORRUPT: {self.corrupt}"]
        return [
            f"preview shards at {self.root}: {'OK' if self.ok else 'PROBLEMS'} "
            f"({self.records:,} records in {self.shards} shards, {self.dead:,} dead)",
            f"  previews not in the shards: {len(self.missing)} {self.missing[:10]}",
            f"  records whose pixels fail their hash: {len(self.hash_mismatch)} of {self.hashed} checked "
            f"{self.hash_mismatch[:10]}",
            f"  records that differ from their decoded preview: {len(self.decode_mismatch)} of {self.decoded} "
            f"{self.decode_mismatch[:10]}",
        ]


def verify(sample: int = 64, full: bool = False, seed: int = 0) -> VerifyReport:
    """Manifest, headers and tables against their checksums; pixels against their hashes (a sample,
    or all with ``full``); a sample decoded afresh must equal its record byte for byte; coverage of
    the archive's previews both ways."""
    root = shards_root()
    report = VerifyReport(root)
    try:
        current = PreviewShards.open(root)
        if current is None:
            raise ShardsCorrupt(f"no {MANIFEST}: run `paperclip shards build`")
        for entry, shard in zip(current.manifest["shards"], current.shards, strict=True):
            if shard.path.stat().st_size != entry["bytes"]:
                raise ShardsCorrupt(
                    f"{shard.path} is {shard.path.stat().st_size} bytes, the manifest says {entry['bytes']}"
                )
    except (ShardsCorrupt, OSError) as e:
        report.corrupt = str(e)
        return report
    report.shards, report.records = len(current.shards), len(current)
    with session_scope() as s:
        rows = s.execute(
            select(Observation.id, Observation.local_path).where(Observation.local_path.is_not(None))
        ).all()
    ids = np.array([r[0] for r in rows], np.int64)
    positions = current.locate(ids, [str(r[1]) for r in rows])
    report.missing = ids[positions < 0].tolist()
    report.dead = len(current) - int((positions >= 0).sum())
    rng = np.random.default_rng(seed)
    every = np.arange(len(current))
    for pos in every if full else rng.choice(every, min(sample, len(every)), replace=False):
        shard = current.shards[current.shard_of[pos]]
        row = current.row_of[pos]
        report.hashed += 1
        if hashlib.sha256(np.ascontiguousarray(shard.records[row]).data).digest() != bytes(
            shard.table[row]["pixels_sha256"]
        ):
            report.hash_mismatch.append(int(shard.table[row]["id"]))
    live = np.flatnonzero(positions >= 0)
    store = ImageStore(get_paths().images)
    for i in rng.choice(live, min(sample, len(live)), replace=False) if len(live) else []:
        report.decoded += 1
        try:
            fresh = decode_preview(store.resolve(str(rows[i][1])), current.shape)
        except Exception:
            report.decode_mismatch.append(int(ids[i]))
            continue
        if not np.array_equal(fresh, current.record(positions[i])):
            report.decode_mismatch.append(int(ids[i]))
    return report
