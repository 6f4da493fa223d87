"""Preview shards: the 512 px white-padded previews decoded once, stored as memory-mappable uint8.

Training and embedding read the same preview every epoch; decoding its JPEG costs more than
the model on a GPU. A shard set is a folder (``<home>/shards``, or ``PAPERCLIP_SHARDS_DIR``):

- ``shard-NNNNNN.bin``, immutable once written, laid out as
  ``[4 KiB header: MAGIC, then JSON: version, record shape, count, offsets, table dtype]``
  ``[records: fixed-size uint8 C x H x W (3 x 512 x 512 = 768 KiB), each 4 KiB aligned]``
  ``[table: one row per record: observation id, byte offset of its record, preview size and
  mtime, sha256 of the preview file, sha256 of the record's pixels, preview path in the store]``;
- ``manifest.json``: the sealed shards (count, bytes, sha256 of header and table), a
  generation counter and a checksum; replaced atomically, so a reader sees one whole set.

Records are planar (C x H x W) so a batch is an NCHW uint8 tensor as it lies on disk. A record
is keyed by (observation id, preview path relative to the image store): the newest record of an
id whose path still matches is the live one, so a re-imported observation never reads stale
pixels. The builder (``indexer.shards``) writes new shards beside the old ones and swaps the
manifest; readers here only map files and copy records.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from paperclip.config import get_settings

MAGIC = b"PCSHARD\x01"
VERSION = 1
HEADER_BYTES = 4096
ALIGN = 4096
MANIFEST = "manifest.json"
FORMAT = "paperclip-preview-shards"
RECORD_SHAPE = (3, 512, 512)  # the paper's 512 px preview, planar RGB
_FIXED_FIELDS = [
    ("id", "<i8"),
    ("offset", "<i8"),
    ("source_size", "<i8"),
    ("source_mtime_ns", "<i8"),
    ("source_sha256", "V32"),
    ("pixels_sha256", "V32"),
]


class ShardsCorrupt(RuntimeError):
    """A shard set on disk fails its manifest, a header or a checksum."""


def shards_root() -> Path:
    settings = get_settings()
    return (settings.shards_dir or settings.home_dir / "shards").expanduser().resolve()


def shard_name(seq: int) -> str:
    return f"shard-{seq:06d}.bin"


def table_dtype(path_bytes: int) -> np.dtype:
    return np.dtype([*_FIXED_FIELDS, ("path", f"S{max(1, path_bytes)}")])


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclass(frozen=True)
class Source:
    """The preview file a record was made from, as the builder saw it."""

    id: int
    path: str  # relative to the image store
    size: int
    mtime_ns: int
    sha256: bytes  # of the file's bytes


class ShardWriter:
    """Writes one shard to a temporary name; ``seal`` makes it final and returns its manifest entry.

    The header goes last (it holds the count), so a file without a valid header was never sealed.
    """

    def __init__(self, root: Path, seq: int, shape: tuple[int, int, int] = RECORD_SHAPE):
        self.shape = shape
        self.record_bytes = int(np.prod(shape))
        self.final = root / shard_name(seq)
        self.tmp = root / f".{self.final.name}.tmp-{os.getpid()}"
        self.file = self.tmp.open("wb")
        self.file.write(b"\0" * HEADER_BYTES)
        self.rows: list[tuple[Source, bytes, int]] = []

    def add(self, source: Source, pixels: np.ndarray, digest: bytes | None = None) -> None:
        """Append a record; ``digest`` (sha256 of the pixel bytes) lets the caller hash in its threads."""
        if pixels.shape != self.shape or pixels.dtype != np.uint8:
            raise ValueError(f"record must be uint8 {self.shape}, got {pixels.dtype} {pixels.shape}")
        data = np.ascontiguousarray(pixels).data
        offset = HEADER_BYTES + len(self.rows) * _align(self.record_bytes)
        self.file.seek(offset)
        self.file.write(data)
        self.rows.append((source, digest or hashlib.sha256(data).digest(), offset))

    def __len__(self) -> int:
        return len(self.rows)

    def seal(self) -> dict[str, Any]:
        paths = [s.path.encode() for s, _, _ in self.rows]
        table = np.zeros(len(self.rows), table_dtype(max(map(len, paths), default=1)))
        for i, ((source, digest, offset), path) in enumerate(zip(self.rows, paths, strict=True)):
            table[i] = (source.id, offset, source.size, source.mtime_ns, source.sha256, digest, path)
        table_offset = HEADER_BYTES + len(self.rows) * _align(self.record_bytes)
        self.file.seek(table_offset)
        self.file.write(table.tobytes())
        header = {
            "format": FORMAT,
            "version": VERSION,
            "record_shape": list(self.shape),
            "dtype": "uint8",
            "count": len(self.rows),
            "record_stride": _align(self.record_bytes),
            "data_offset": HEADER_BYTES,
            "table_offset": table_offset,
            "table_dtype": table.dtype.descr,
        }
        blob = MAGIC + json.dumps(header, sort_keys=True).encode()
        if len(blob) > HEADER_BYTES:
            raise ValueError("shard header does not fit its 4 KiB block")
        self.file.seek(0)
        self.file.write(blob)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp, self.final)
        return {
            "name": self.final.name,
            "count": len(self.rows),
            "bytes": self.final.stat().st_size,
            "meta_sha256": _meta_digest(blob, table.tobytes()),
        }

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


def _meta_digest(header: bytes, table: bytes) -> str:
    return hashlib.sha256(header + table).hexdigest()


def read_header(path: Path) -> tuple[dict[str, Any], bytes]:
    with path.open("rb") as f:
        block = f.read(HEADER_BYTES)
    if not block.startswith(MAGIC):
        raise ShardsCorrupt(f"{path}: not a sealed preview shard")
    blob = block.rstrip(b"\0")
    try:
        header = json.loads(blob[len(MAGIC) :])
    except ValueError as e:
        raise ShardsCorrupt(f"{path}: unreadable header: {e}") from e
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ShardsCorrupt(f"{path}: format {header.get('format')} v{header.get('version')} is not ours")
    return header, blob


class Shard:
    """One sealed file: its table in memory, its records mapped (never read until asked)."""

    def __init__(self, path: Path, entry: dict[str, Any] | None = None):
        self.path = path
        header, blob = read_header(path)
        self.shape = tuple(header["record_shape"])
        self.count = int(header["count"])
        dtype = np.dtype([tuple(field) for field in header["table_dtype"]])
        with path.open("rb") as f:
            f.seek(header["table_offset"])
            raw = f.read(dtype.itemsize * self.count)
        if len(raw) != dtype.itemsize * self.count:
            raise ShardsCorrupt(f"{path}: table cut short")
        if entry is not None and _meta_digest(blob, raw) != entry["meta_sha256"]:
            raise ShardsCorrupt(f"{path}: header or table does not match its checksum in the manifest")
        self.table = np.frombuffer(raw, dtype)
        stride, start = int(header["record_stride"]), int(header["data_offset"])
        expected = start + stride * np.arange(self.count, dtype=np.int64)
        if not np.array_equal(self.table["offset"], expected):
            raise ShardsCorrupt(f"{path}: record offsets are not the fixed-size layout its header states")
        self.stride, self.start = stride, start
        self._records: np.ndarray | None = None

    @property
    def records(self) -> np.ndarray:
        """(count, C, H, W) uint8 over the file; copy-on-write, so torch can wrap rows without a copy."""
        if self._records is None:
            record_bytes = int(np.prod(self.shape))
            if self.count == 0:
                self._records = np.zeros((0, *self.shape), np.uint8)
            elif self.stride == record_bytes:
                self._records = np.memmap(
                    self.path, np.uint8, "c", offset=self.start, shape=(self.count, *self.shape)
                )
            else:
                raw = np.memmap(self.path, np.uint8, "c", offset=self.start, shape=(self.count, self.stride))
                self._records = raw[:, :record_bytes].reshape(self.count, *self.shape)
        return self._records

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers map the file themselves
        return {**self.__dict__, "_records": None}


class PreviewShards:
    """A consistent snapshot of a shard set: locate records by (id, path), copy them out in batches."""

    def __init__(self, root: Path, manifest: dict[str, Any], shards: list[Shard]):
        self.root, self.manifest, self.shards = root, manifest, shards
        shapes = {s.shape for s in shards}
        if len(shapes) > 1:
            raise ShardsCorrupt(f"{root}: shards of different record shapes {shapes}")
        self.shape: tuple[int, ...] = shapes.pop() if shapes else RECORD_SHAPE

        def column(name: str, empty: np.ndarray) -> np.ndarray:
            return np.concatenate([s.table[name] for s in shards]) if shards else empty

        self.ids = column("id", np.zeros(0, np.int64))
        self.paths = column("path", np.zeros(0, "S1"))
        self.source_sizes = column("source_size", np.zeros(0, np.int64))
        self.source_mtimes = column("source_mtime_ns", np.zeros(0, np.int64))
        self.shard_of = np.concatenate(
            [np.full(s.count, i, np.int32) for i, s in enumerate(shards)] or [np.zeros(0, np.int32)]
        )
        self.row_of = np.concatenate(
            [np.arange(s.count, dtype=np.int64) for s in shards] or [np.zeros(0, np.int64)]
        )
        # the newest record per id: positions grow with the shard sequence, so keep the last one
        order = np.argsort(self.ids, kind="stable")
        ids = self.ids[order]
        last = np.r_[ids[1:] != ids[:-1], True] if len(ids) else np.zeros(0, bool)
        self._ids, self._pos = ids[last], order[last]

    @classmethod
    def open(cls, root: Path | None = None, verify: bool = True) -> PreviewShards | None:
        """The set at ``root`` (default ``shards_root()``), or None when none was built there.

        A build may retire shards right after swapping the manifest; a reader that lost that race
        reads the new manifest again.
        """
        root = root or shards_root()
        for attempt in range(3):
            try:
                manifest = read_manifest(root)
                if manifest is None:
                    return None
                shards = [Shard(root / e["name"], e if verify else None) for e in manifest["shards"]]
                return cls(root, manifest, shards)
            except FileNotFoundError:
                if attempt == 2:
                    raise
                time.sleep(0.1)
        return None

    def __len__(self) -> int:
        return len(self.ids)

    def live_count(self) -> int:
        return len(self._ids)

    def locate(self, ids: Sequence[int] | np.ndarray, paths: Sequence[str]) -> np.ndarray:
        """Position of each (id, path)'s live record, -1 where there is none or its path differs."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(len(ids), -1, np.int64)
        if not len(self._ids) or not len(ids):
            return out
        at = np.clip(np.searchsorted(self._ids, ids), 0, len(self._ids) - 1)
        found = self._ids[at] == ids
        pos = self._pos[at]
        want = np.array([p.encode() for p in paths], dtype=self.paths.dtype)
        match = found & (self.paths[pos] == want)
        out[match] = pos[match]
        return out

    def record(self, position: int) -> np.ndarray:
        """One record as a (C, H, W) view of the mapped file."""
        return self.shards[self.shard_of[position]].records[self.row_of[position]]

    def read(self, positions: Sequence[int] | np.ndarray, out: np.ndarray) -> np.ndarray:
        """Copy records into ``out`` (len(positions), C, H, W), one copy per run of neighbours."""
        positions = np.asarray(positions, dtype=np.int64)
        i = 0
        while i < len(positions):
            shard, row = self.shard_of[positions[i]], self.row_of[positions[i]]
            j = i + 1
            while (
                j < len(positions)
                and positions[j] == positions[j - 1] + 1
                and self.shard_of[positions[j]] == shard
            ):
                j += 1
            out[i:j] = self.shards[shard].records[row : row + j - i]
            i = j
        return out


def read_manifest(root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:
        raise ShardsCorrupt(f"{path}: unreadable manifest: {e}") from e
    if manifest.get("format") != FORMAT or manifest.get("checksum") != _manifest_checksum(manifest["shards"]):
        raise ShardsCorrupt(f"{path}: not a preview shard manifest, or its checksum does not match")
    return manifest


def write_manifest(root: Path, shards: list[dict[str, Any]], generation: int) -> dict[str, Any]:
    """Swap in a new manifest in one rename: readers see the old set or the new, never half."""
    from paperclip.storage import atomic_write

    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "generation": generation,
        "updated": datetime.now(UTC).isoformat(),
        "records": sum(s["count"] for s in shards),
        "shards": shards,
        "checksum": _manifest_checksum(shards),
    }
    atomic_write(root / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return manifest


def _manifest_checksum(shards: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(shards, sort_keys=True).encode()).hexdigest()
