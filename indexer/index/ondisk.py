"""IVF versions built without any process holding every vector: FAISS's on-disk recipe on Ray.

1. ``stage_vectors`` streams the embedding chunks (and a base version's rows) into one float16
   ``vectors.npy``, chunk by chunk, in the order the rows will keep: never all of it in memory.
2. ``build_ondisk`` trains the quantizer on a sample of rows read from that file, then Ray tasks
   each fill the inverted lists of one block of rows and write them as a small index, and FAISS
   (``faiss.contrib.ondisk.merge_ondisk``, ``OnDiskInvertedLists``) merges the blocks into one
   ``lists.ivfdata`` file, memory-mapped. Labels inside the IVF are row numbers, and the
   ``IndexIDMap`` around it maps them to observation ids, as for every other kind.
3. ``append_ondisk`` (``index add`` with only new rows) keeps the base's quantizer and lists and
   merges new blocks after them: nothing already indexed is re-encoded.

Workers read and write the staging folder directly, so on a cluster it must be a shared path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from indexer.index.kinds import train_sample_size, trained_ivf

BLOCK_ROWS = 262_144  # rows per Ray fill task: SQ8 codes of 512-d are 128 MiB, read 64k at a time
READ_ROWS = 65_536


def write_npy(path: Path, shape: tuple[int, int], dtype: np.dtype, blocks: Iterable[np.ndarray]) -> None:
    """An ``.npy`` file written block by block: the header, then each block's bytes."""
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f,
            {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape},
        )
        written = 0
        for block in blocks:
            f.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
            written += len(block)
    if written != shape[0]:
        raise ValueError(f"{path}: wrote {written} rows for a shape of {shape}")


def stage_vectors(
    chunks: list[Path], keep: np.ndarray, base: tuple[np.ndarray, Path] | None, dim: int, out: Path
) -> np.ndarray:
    """Write ``out`` (float16 rows): the ``base`` version's (ids, vectors.npy) first, then every
    chunk row whose id is in ``keep`` and not already written (a resumed job may repeat none, but
    a base and a chunk may overlap). Returns the ids, row for row."""
    parts: list[tuple[str, Path | None, np.ndarray]] = []  # (what, file, rows to take)
    seen = np.zeros(0, np.int64)
    ids: list[np.ndarray] = []
    if base is not None:
        base_ids, base_path = base
        rows = np.flatnonzero(np.isin(base_ids, keep))
        parts.append(("base", base_path, rows))
        ids.append(base_ids[rows])
        seen = base_ids[rows]
    for c in chunks:
        with np.load(c) as z:
            chunk_ids = z["ids"]
        _, first = np.unique(chunk_ids, return_index=True)
        rows = np.sort(first)
        rows = rows[np.isin(chunk_ids[rows], keep) & ~np.isin(chunk_ids[rows], seen)]
        parts.append(("chunk", c, rows))
        ids.append(chunk_ids[rows])
        seen = np.concatenate([seen, chunk_ids[rows]])
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)

    def blocks() -> Iterator[np.ndarray]:
        for what, path, rows in parts:
            if what == "base":
                vectors = np.load(path, mmap_mode="r")
                for i in range(0, len(rows), READ_ROWS):
                    yield vectors[rows[i : i + READ_ROWS]]
            else:
                with np.load(path) as z:
                    yield z["vectors"][rows]

    write_npy(out, (len(all_ids), dim), np.float16, blocks())
    return all_ids


def read_rows(path: Path, picks: np.ndarray) -> np.ndarray:
    """Rows ``picks`` of a 2-d ``.npy`` file as float32, read with ``pread``: a mapping would put
    every page the sample touches (most of the file) in this process's resident set."""
    header = np.load(path, mmap_mode="r")  # offset, shape and dtype; no page is read
    row_bytes = header.dtype.itemsize * header.shape[1]
    fd = os.open(path, os.O_RDONLY)
    try:
        raw = b"".join(os.pread(fd, row_bytes, header.offset + int(i) * row_bytes) for i in picks)
    finally:
        os.close(fd)
    return np.frombuffer(raw, header.dtype).reshape(len(picks), header.shape[1]).astype(np.float32)


def fill_block(trained: str, vectors: str, start: int, stop: int, out: str) -> str:
    """One Ray task: rows ``start:stop`` of ``vectors`` added under their row numbers to a copy of
    the trained (empty) index, written to ``out``."""
    import faiss

    index = faiss.read_index(trained)
    rows = np.load(vectors, mmap_mode="r")
    for i in range(start, stop, READ_ROWS):
        j = min(i + READ_ROWS, stop)
        index.add_with_ids(np.asarray(rows[i:j], dtype=np.float32), np.arange(i, j, dtype=np.int64))
    faiss.write_index(index, out)
    return out


def build_ondisk(
    kind: str,
    vectors: Path,
    ids: np.ndarray,
    staging: Path,
    seed: int = 0,
    progress: bool = True,
    block_rows: int = BLOCK_ROWS,
) -> Any:
    """An ``IndexIDMap`` over an IVF of ``kind`` whose lists are ``staging/lists.ivfdata``."""

    count = len(np.load(vectors, mmap_mode="r"))
    picks = np.sort(np.random.default_rng(seed).choice(count, train_sample_size(count), replace=False))
    sample = read_rows(vectors, picks)
    ivf = trained_ivf(kind, sample, seed, count)
    del sample
    return _merge(ivf, vectors, 0, count, ids, staging, [], progress, block_rows)


def append_ondisk(
    base_index: Any,
    vectors: Path,
    ids: np.ndarray,
    staging: Path,
    progress: bool = True,
    block_rows: int = BLOCK_ROWS,
) -> Any:
    """``base_index`` with rows ``len(base):`` of ``vectors`` added: the
    base's lists are merged first, as they are, then the new blocks."""
    import faiss

    base_count = int(base_index.ntotal)
    base_ivf = faiss.extract_index_ivf(base_index)
    lists, owned, total = base_ivf.invlists, base_ivf.own_invlists, base_ivf.ntotal
    base_ivf.own_invlists = False  # swapped out for a moment to copy the trained quantizer alone
    empty = faiss.ArrayInvertedLists(base_ivf.nlist, base_ivf.code_size)
    base_ivf.replace_invlists(empty, False)
    base_ivf.ntotal = 0
    ivf = faiss.deserialize_index(faiss.serialize_index(base_ivf))
    base_ivf.replace_invlists(lists, owned)
    base_ivf.ntotal = total
    return _merge(ivf, vectors, base_count, len(ids), ids, staging, [base_ivf.invlists], progress, block_rows)


def _merge(
    ivf: Any,
    vectors: Path,
    start: int,
    count: int,
    ids: np.ndarray,
    staging: Path,
    first: list[Any],
    progress: bool,
    block_rows: int,
) -> Any:
    import faiss
    import ray

    from indexer.index.embed_job import ray_init
    from paperclip.config import get_settings

    ray_init(get_settings().ray_num_cpus)
    ivf.reset()
    trained = staging / "trained.faiss"
    faiss.write_index(ivf, str(trained))
    fill = ray.remote(num_cpus=1)(fill_block)
    pending = [
        fill.remote(
            str(trained), str(vectors), i, min(i + block_rows, count), str(staging / f"block-{i}.faiss")
        )
        for i in range(start, count, block_rows)
    ]
    blocks: list[str] = []
    with tqdm(total=len(pending), unit="block", desc="fill lists", disable=not progress) as bar:
        while pending:
            done, pending = ray.wait(pending)
            blocks += ray.get(done)
            bar.update(len(done))
    blocks.sort(key=lambda b: int(Path(b).stem.split("-")[1]))  # lists keep row order
    lists = [faiss.read_index(b, faiss.IO_FLAG_MMAP) for b in blocks]
    invlists = first + [faiss.extract_index_ivf(b).invlists for b in lists]
    ondisk = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(staging / "lists.ivfdata"))
    pointers = faiss.InvertedListsPtrVector()
    for il in invlists:
        pointers.push_back(il)
    total = ondisk.merge_from_multiple(pointers.data(), pointers.size(), False)
    if total != count:
        raise RuntimeError(f"merged {total} vectors, expected {count}")
    ivf.ntotal = total
    ivf.replace_invlists(ondisk, True)
    ondisk.this.disown()
    del lists
    for b in blocks:
        Path(b).unlink()
    trained.unlink()
    return _id_mapped(ivf, ids)


def _id_mapped(ivf: Any, ids: np.ndarray) -> Any:
    """The filled IVF inside an ``IndexIDMap`` from row numbers to ``ids``."""
    import faiss

    total = ivf.ntotal
    ivf.ntotal = 0  # IndexIDMap wraps only empty indexes; the Python wrapper keeps ``ivf`` alive
    index = faiss.IndexIDMap(ivf)
    ivf.ntotal = index.ntotal = total
    faiss.copy_array_to_vector(np.ascontiguousarray(ids, dtype=np.int64), index.id_map)
    return index
