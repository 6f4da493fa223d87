"""The on-disk format of one index version, read by the service and written by the indexer.

A version is a folder ``indexes/v<N>-<stamp>/`` holding:

- ``index.faiss``: a FAISS index of inner products over L2-normalised vectors whose ids are
  observation ids (an ``IndexIDMap``), never positions;
- ``lists.ivfdata`` (on-disk IVF kinds only): the inverted lists, which ``index.faiss`` names
  and FAISS reads memory-mapped from the same folder;
- ``ids.npy`` (int64) and ``vectors.npy`` (float16): the embeddings themselves, so a
  version can be re-indexed, extended or verified without re-embedding;
- ``vocab.json`` and ``vocab.npy`` (float16): the description vocabulary and its text
  embeddings under the same model;
- ``vocab_hub.npy`` (float32): each description's hubness against the archive's images
  (``paperclip.description_bank``; absent in versions written before it);
- ``meta/``: metadata arrays row for row with ``ids.npy`` (``paperclip.index_meta``), which the
  service turns filters into bitmaps with (absent in versions written before them);
- ``manifest.json``: model spec, the content hash of the weights that embedded it
  (``weights_sha256``), kind, count, dim, created, and a sha256 of every file.

Folders are written under a temporary name and renamed into place, so a crash never leaves
a half-written version where a reader looks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from paperclip.description_bank import term_hubness
from paperclip.index_meta import MetaTable, read_meta, write_meta

MANIFEST = "manifest.json"
DATA_FILES = ("index.faiss", "ids.npy", "vectors.npy", "vocab.json", "vocab.npy")
LISTS_FILE = "lists.ivfdata"
HUB_FILE = "vocab_hub.npy"


class IndexCorrupt(RuntimeError):
    """A version on disk fails its manifest's checksums or cannot be read."""


class WeightsMismatch(ValueError):
    """An index would be paired with weights other than those that embedded it."""


def check_weights(manifest: dict[str, Any], weights_sha256: str) -> None:
    """Refuse to serve or extend an index with a model whose weights did not embed it (a
    retrained or rolled-back checkpoint, a changed package). Manifests written before hashes
    were recorded carry none and are not checked."""
    expected = manifest.get("weights_sha256")
    if expected and expected != weights_sha256:
        raise WeightsMismatch(
            f"index was embedded by weights {expected[:12]} but {manifest.get('model_spec')} now loads "
            f"{weights_sha256[:12]}: rebuild the index with `paperclip index build` or restore those weights"
        )


@dataclass
class IndexFiles:
    path: Path
    manifest: dict[str, Any]
    index: Any  # faiss.Index
    ids: np.ndarray
    vocab: list[dict[str, Any]] = field(default_factory=list)
    vocab_vectors: np.ndarray | None = None
    metadata: MetaTable | None = None  # None: a version written before metadata arrays existed
    vocab_hub: np.ndarray | None = None  # None: a version written before description hubness

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, observation ids) per query row; ids are -1 where fewer than k exist."""
        k = max(1, min(k, self.count)) if self.count else 1
        return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def vectors(self) -> np.ndarray:
        return np.load(self.path / "vectors.npy").astype(np.float32)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_index_files(
    final_dir: Path,
    index: Any,
    ids: np.ndarray,
    vectors: np.ndarray | Path,
    vocab: list[dict[str, Any]],
    vocab_vectors: np.ndarray,
    meta: dict[str, Any],
    metadata: MetaTable | None = None,
    lists: Path | None = None,
) -> dict[str, Any]:
    """Write a complete version folder atomically; returns its manifest. ``vectors`` may be an
    ``.npy`` file already written (moved in, never loaded); ``lists`` is an on-disk index's
    ``.ivfdata`` file, moved in beside ``index.faiss``."""
    import faiss

    if final_dir.exists():
        raise FileExistsError(final_dir)
    tmp = final_dir.with_name(f".{final_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        faiss.write_index(index, str(tmp / "index.faiss"))
        np.save(tmp / "ids.npy", np.asarray(ids, dtype=np.int64))
        if isinstance(vectors, Path):
            os.replace(vectors, tmp / "vectors.npy")
        else:
            np.save(tmp / "vectors.npy", np.asarray(vectors, dtype=np.float16))
        (tmp / "vocab.json").write_text(json.dumps(vocab))
        vocab16 = np.asarray(vocab_vectors, dtype=np.float16).reshape(len(vocab), -1)
        np.save(tmp / "vocab.npy", vocab16)
        bank = np.load(tmp / "vectors.npy", mmap_mode="r")  # what readers load (maybe never in RAM here)
        np.save(tmp / HUB_FILE, term_hubness(bank, vocab16))
        del bank
        files = [*DATA_FILES, HUB_FILE]
        if lists is not None:
            os.replace(lists, tmp / LISTS_FILE)
            files.append(LISTS_FILE)
        if metadata is not None:
            if len(metadata) != len(ids):
                raise ValueError(f"metadata has {len(metadata)} rows for {len(ids)} ids")
            files += write_meta(tmp, metadata)
        manifest = {
            **meta,
            "count": int(index.ntotal),
            "dim": int(index.d),
            "created": datetime.now(UTC).isoformat(),
            "files": {name: sha256_file(tmp / name) for name in files},
        }
        if metadata is not None:
            manifest["meta_columns"] = list(metadata.columns)
        manifest["checksum"] = hashlib.sha256(
            json.dumps(manifest["files"], sort_keys=True).encode()
        ).hexdigest()
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(tmp, final_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_index_files(path: Path, verify: bool = True, mmap: bool = False) -> IndexFiles:
    """Load a version; with ``verify`` every file must match the manifest's checksum. With
    ``mmap`` the index is opened read-only and memory-mapped where FAISS can (flat codes, IVF
    lists), so every process on a host serving this version shares one copy in the page cache;
    on-disk IVF lists are always memory-mapped."""
    import faiss

    try:
        manifest = json.loads((path / MANIFEST).read_text())
        if verify:
            for name, digest in manifest["files"].items():
                if sha256_file(path / name) != digest:
                    raise IndexCorrupt(f"{path / name} does not match its checksum in the manifest")
        index = faiss.read_index(str(path / "index.faiss"), _io_flags(path, manifest.get("kind"), mmap))
        ids = np.load(path / "ids.npy")
        vocab = json.loads((path / "vocab.json").read_text())
        vocab_vectors = np.load(path / "vocab.npy").astype(np.float32)
        table = read_meta(path, manifest["meta_columns"]) if "meta_columns" in manifest else None
        vocab_hub = np.load(path / HUB_FILE) if HUB_FILE in manifest["files"] else None
    except IndexCorrupt:
        raise
    except Exception as e:
        raise IndexCorrupt(f"cannot read index version at {path}: {e}") from e
    if index.ntotal != len(ids) or index.d != manifest["dim"]:
        raise IndexCorrupt(
            f"index at {path} holds {index.ntotal}x{index.d}, manifest says {len(ids)}x{manifest['dim']}"
        )
    if table is not None and len(table) != len(ids):
        raise IndexCorrupt(f"metadata at {path} has {len(table)} rows for {len(ids)} ids")
    return IndexFiles(path, manifest, index, ids, vocab, vocab_vectors, table, vocab_hub)


def _io_flags(path: Path, kind: str | None, mmap: bool) -> int:
    """FAISS read flags: on-disk lists are found beside ``index.faiss`` (and always mapped); with
    ``mmap``, IVF lists or flat codes (flat, the HNSW's vectors) are mapped read-only."""
    import faiss

    if (path / LISTS_FILE).exists():  # the lists file named inside index.faiss is the one here
        return faiss.IO_FLAG_ONDISK_SAME_DIR | (faiss.IO_FLAG_READ_ONLY if mmap else 0)
    if not mmap:
        return 0
    mapped = faiss.IO_FLAG_MMAP if kind and kind.startswith("ivf") else faiss.IO_FLAG_MMAP_IFC
    return mapped | faiss.IO_FLAG_READ_ONLY
