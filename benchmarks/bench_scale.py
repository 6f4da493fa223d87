"""Scale benchmark: an on-disk IVF version built through the Ray path, beside the in-memory build.

    python -m benchmarks.bench_scale --size 1000000                 # this 2-core machine
    python -m benchmarks.bench_scale --size 5000000 --in-memory-max 2000000

Synthetic 512-d vectors clustered like real embeddings (``bench_index.clustered``'s recipe) are
written as vector shards (what the Ray embedding job writes), then ``indexer.index.ondisk``
stages them into one ``vectors.npy``, trains on a sample, fills the lists with Ray tasks and
merges them on disk into a version folder. Reported: build time, peak RSS of the largest process
(the driver and every Ray process, sampled), index bytes per vector, recall@10 against exact
search, and single-query latency (p50/p99, one thread) from the memory-mapped version. The
in-memory path (every vector as float32 in one process, ``kinds.make_index``) runs in a child
process at sizes up to ``--in-memory-max``. JSON goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

SHARD = 65_536


class PeakRss:
    """The largest resident set of this process and its descendants (Ray's), sampled; and the
    largest anonymous part (private memory, without the page-cache pages of mapped files)."""

    def __init__(self, every: float = 0.2):
        self.peak = self.anon = 0
        self.who = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                    if rss > self.peak:
                        self.peak, self.who = rss, " ".join(p.cmdline()[:3])[:80]
                    self.anon = max(self.anon, _anon(p.pid))
                except (psutil.Error, OSError):
                    pass
            self._stop.wait(every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _anon(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon:")), 0)


def centres(d: int, clusters: int = 1000) -> np.ndarray:
    c = np.random.default_rng(0).normal(size=(clusters, d)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def shard(k: int, rows: int, c: np.ndarray) -> np.ndarray:
    """Shard ``k``: unit vectors around the shared centres, reproducible on its own."""
    rng = np.random.default_rng(1000 + k)
    d = c.shape[1]
    x = c[rng.integers(0, len(c), rows)] + rng.normal(size=(rows, d)).astype(np.float32) / np.sqrt(d)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_top10(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Exact top-10 ids, streaming over memory-mapped rows."""
    best_s = np.full((len(queries), 10), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 10), np.int64)
    for i in range(0, len(vectors), 100_000):
        s = queries @ np.asarray(vectors[i : i + 100_000], np.float32).T
        all_s = np.concatenate([best_s, s], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(ids[i : i + 100_000], s.shape)], axis=1)
        top = np.argsort(-all_s, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(all_s, top, 1), np.take_along_axis(all_i, top, 1)
    return best_i


def quality(index: object, queries: np.ndarray, truth: np.ndarray) -> dict:
    """recall@10 against ``truth`` and one-query-at-a-time latency on one thread."""
    import faiss

    _, got = index.search(queries, 10)
    recall = float(np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got, strict=True)]))
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    ms = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None], 10)
        ms.append((time.perf_counter() - t) * 1000)
    faiss.omp_set_num_threads(threads)
    ms.sort()
    return {"recall_at_10": recall, "p50_ms": statistics.median(ms), "p99_ms": ms[int(0.99 * (len(ms) - 1))]}


def ray_path(args: argparse.Namespace, work: Path) -> dict:
    from indexer.index.embed import WorkDir
    from indexer.index.ondisk import build_ondisk, stage_vectors
    from paperclip.index_files import LISTS_FILE, read_index_files, write_index_files

    c = centres(args.dim)
    shards = WorkDir(work / "shards").create()
    for k in tqdm(range(-(-args.size // SHARD)), desc="vector shards", unit="shard"):
        rows = min(SHARD, args.size - k * SHARD)
        shards.save(np.arange(k * SHARD, k * SHARD + rows, dtype=np.int64) + 2**33, shard(k, rows, c))
    staging = work / "staging"
    staging.mkdir()
    with PeakRss() as peak:
        start = time.perf_counter()
        ids = stage_vectors(
            shards.chunks(), np.arange(args.size) + 2**33, None, args.dim, staging / "vectors.npy"
        )
        staged = time.perf_counter()
        index = build_ondisk(args.kind, staging / "vectors.npy", ids, staging)
        built = time.perf_counter()
        version = work / "version"
        write_index_files(
            version,
            index,
            ids,
            staging / "vectors.npy",
            [{"id": 1, "text": "galaxy", "kind": "object", "source": "bench"}],
            np.zeros((1, args.dim)),
            {"kind": args.kind},
            lists=staging / LISTS_FILE,
        )
        written = time.perf_counter()
        del index
    files = read_index_files(version, verify=False, mmap=True)
    index_bytes = (version / "index.faiss").stat().st_size + (version / LISTS_FILE).stat().st_size
    vectors = np.load(version / "vectors.npy", mmap_mode="r")
    queries = shard(-1, args.queries, c)
    truth = exact_top10(queries, vectors, files.ids)
    np.save(work / "truth.npy", truth)
    return {
        "size": args.size,
        "stage_s": staged - start,
        "build_s": built - staged,
        "write_s": written - built,
        "total_s": written - start,
        "peak_rss_gb": peak.peak / 1e9,
        "peak_rss_process": peak.who,
        "peak_anon_gb": peak.anon / 1e9,
        "index_bytes_per_vector": index_bytes / args.size,
        "vectors_bytes_per_vector": (version / "vectors.npy").stat().st_size / args.size,
        **quality(files.index, queries, truth),
    }


def in_memory(args: argparse.Namespace) -> dict:
    """Child process: the whole float32 matrix and ``make_index`` in this one process."""
    import faiss

    from indexer.index.kinds import make_index

    work = Path(args.work)
    start = time.perf_counter()
    vectors = np.load(work / "version" / "vectors.npy").astype(np.float32)
    ids = np.load(work / "version" / "ids.npy")
    index = make_index(args.kind, vectors, ids)
    built = time.perf_counter() - start
    queries = shard(-1, args.queries, centres(args.dim))
    return {
        "size": len(ids),
        "total_s": built,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
        "index_bytes_per_vector": len(faiss.serialize_index(index)) / len(ids),
        **quality(index, queries, np.load(work / "truth.npy")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--kind", default="ivfsq8", choices=["ivfsq8", "ivfflat"])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument(
        "--in-memory-max", type=int, default=2_000_000, help="Largest size to also build in memory"
    )
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--in-memory", dest="child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(in_memory(args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        res = {
            "kind": args.kind,
            "dim": args.dim,
            "cpus": psutil.cpu_count(),
            "ray_on_disk": ray_path(args, Path(tmp)),
        }
        if args.size <= args.in_memory_max:
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_scale", "--in-memory", "--work", tmp]
                + ["--kind", args.kind, "--dim", str(args.dim), "--queries", str(args.queries)],
                capture_output=True,
                text=True,
                check=True,
            )
            res["in_memory"] = json.loads(child.stdout.strip().splitlines()[-1])
    for path, figures in (("Ray, on disk", res["ray_on_disk"]), ("in memory", res.get("in_memory"))):
        if figures:
            print(
                f"{path:>13}: {figures['size']:,} x {args.dim}-d {args.kind}: build {figures['total_s']:.0f} s, "
                f"peak RSS {figures['peak_rss_gb']:.2f} GB (anonymous {figures.get('peak_anon_gb', 0):.2f} GB), index {figures['index_bytes_per_vector']:.0f} B/vector, "
                f"recall@10 {figures['recall_at_10']:.3f}, p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
            )
    print(json.dumps(res, indent=2))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
