"""Index benchmark: embedding throughput (pipeline vs a naive loop) and FAISS kinds at scale.

    python benchmarks/bench_index.py embed --model lite --images 512            # CPU here
    python benchmarks/bench_index.py embed --model ViT-B-16 --images 20000      # GPU: target >= 6,000 img/s
    python benchmarks/bench_index.py search --sizes 100000 --dim 512            # CPU here
    python benchmarks/bench_index.py search --sizes 100000,1000000 --dim 512    # GPU machine (16 cores)

``embed`` writes real 512 px JPEG previews (the HST sample, cycled, else synthetic fields) and
times, in one run: the model alone on ready tensors (the ceiling), the DataLoader pipeline the
indexer uses (worker decoding, batched, bf16 on CUDA), and a one-image-at-a-time loop (the
baseline). ``search`` builds every kind over clustered synthetic vectors and reports build time,
bytes per vector, single-query latency on one thread (p50/p99) and recall@10 against exact search, and plots
recall against latency. Figures go to stdout and ``--out`` (JSON + PNG;
default ``<data home>/reports/bench-index``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

HST_MINI = Path(
    os.environ.get("PAPERCLIP_HST_MINI", Path(__file__).resolve().parents[2] / "shared/data/hst-mini")
)


def write_previews(n: int, root: Path) -> list[tuple[int, str]]:
    """n distinct-named 512 px JPEG previews in an image store layout; returns (id, relative path)."""
    from PIL import Image

    from paperclip.imaging import encode_jpeg, to_preview

    sources = sorted((HST_MINI / "images").glob("*.png"))
    if sources:
        blobs = [encode_jpeg(to_preview(Image.open(p))) for p in sources]
    else:
        rng = np.random.default_rng(0)
        blobs = [
            encode_jpeg(
                to_preview(
                    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).resize((512, 512))
                )
            )
            for _ in range(32)
        ]
    items = []
    for i in range(n):
        rel = f"preview/{i % 256:02x}/{i:08d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blobs[i % len(blobs)])
        items.append((i, rel))
    return items


def bench_embed(args: argparse.Namespace) -> dict:
    import torch
    from PIL import Image

    from indexer.index.embed import encode_batches, loader
    from paperclip.model import load_model

    clip = load_model(args.model, args.device)
    workers = args.workers if args.workers is not None else max(0, (os.cpu_count() or 1) - 1)
    out: dict = {"model": args.model, "device": str(clip.device), "images": args.images, "workers": workers}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        items = write_previews(args.images, root)

        size = clip.image_size
        pixels = torch.randn(args.batch, 3, size, size)
        if clip.device.type == "cuda":
            pixels = pixels.to(clip.device)
        clip.encode_image_tensor(pixels)  # warm up (cuDNN autotune, lazy init)
        if clip.device.type == "cuda":
            torch.cuda.synchronize()
        steps = max(1, args.images // args.batch)
        t = time.perf_counter()
        for _ in range(steps):
            clip.encode_image_tensor(pixels)
        if clip.device.type == "cuda":
            torch.cuda.synchronize()
        out["model_only_img_s"] = steps * args.batch / (time.perf_counter() - t)

        t = time.perf_counter()
        n = sum(
            len(ids) for ids, _, _ in encode_batches(clip, loader(clip, items, root, args.batch, workers))
        )
        out["pipeline_img_s"] = n / (time.perf_counter() - t)

        naive_items = items[: args.naive_images]
        t = time.perf_counter()
        for _, rel in naive_items:
            clip.encode_images([Image.open(root / rel)])
        out["naive_img_s"] = len(naive_items) / (time.perf_counter() - t)
    out["pipeline_vs_naive"] = out["pipeline_img_s"] / out["naive_img_s"]
    out["pipeline_vs_model_only"] = out["pipeline_img_s"] / out["model_only_img_s"]
    print(
        f"{args.model} on {out['device']} ({workers} decode workers, batch {args.batch}):\n"
        f"  model alone     {out['model_only_img_s']:>9,.0f} img/s\n"
        f"  pipeline        {out['pipeline_img_s']:>9,.0f} img/s  "
        f"({out['pipeline_vs_model_only']:.0%} of the model alone)\n"
        f"  naive loop      {out['naive_img_s']:>9,.0f} img/s  "
        f"(pipeline is {out['pipeline_vs_naive']:.1f}x faster)"
    )
    return out


def clustered(n: int, d: int, seed: int, clusters: int = 1000) -> np.ndarray:
    """Unit vectors around random centres: clustered like CLIP embeddings (isotropic noise is not)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, d), np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        x = centres[rng.integers(0, clusters, m)] + rng.normal(size=(m, d)).astype(np.float32) / np.sqrt(d)
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def bench_search(args: argparse.Namespace) -> dict:
    import faiss

    from indexer.index.kinds import gpu_available, make_index

    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        data = clustered(n + args.queries, args.dim, seed=0)
        x, q = data[:n], data[n:]
        ids = np.arange(n, dtype=np.int64) * 3 + 1
        truth = None
        kinds = args.kinds.split(",") + (["flat-gpu"] if gpu_available() else [])
        for kind in kinds:
            t = time.perf_counter()
            if kind == "flat-gpu":
                index = faiss.index_cpu_to_all_gpus(make_index("flat", x, ids))
            else:
                index = make_index(kind, x, ids)
            build_s = time.perf_counter() - t
            nbytes = (
                faiss.serialize_index(index).nbytes
                if kind != "flat-gpu"
                else next(r["bytes_per_vector"] for r in results if r["kind"] == "flat" and r["n"] == n) * n
            )
            _, found = index.search(q, 10)  # batch answer for recall
            if truth is None:
                truth = found
            recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
            lat = []
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)  # one query per thread, as a service answering many at once
            for row in q[: args.latency_queries]:
                t = time.perf_counter()
                index.search(row[None], 10)
                lat.append((time.perf_counter() - t) * 1000)
            faiss.omp_set_num_threads(threads)
            lat.sort()
            r = {
                "n": n,
                "kind": kind,
                "build_s": build_s,
                "bytes_per_vector": nbytes / n,
                "p50_ms": statistics.median(lat),
                "p99_ms": lat[int(0.99 * (len(lat) - 1))],
                "recall_at_10": recall,
            }
            results.append(r)
            print(
                f"n={n:>9,} {kind:<9} build {build_s:7.1f}s  {r['bytes_per_vector']:7.0f} B/vec  "
                f"p50 {r['p50_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms  recall@10 {recall:.3f}"
            )
            del index
    flat = {r["n"]: r["p50_ms"] for r in results if r["kind"] == "flat"}
    for r in results:
        r["speedup_vs_flat"] = flat[r["n"]] / r["p50_ms"] if r["p50_ms"] else None
    return {"dim": args.dim, "threads": faiss.omp_get_max_threads(), "results": results}


def plot_search(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in res["results"]:
        ax.scatter(r["p50_ms"], r["recall_at_10"], s=40)
        ax.annotate(f"{r['kind']} {r['n']:,}", (r["p50_ms"], r["recall_at_10"]), fontsize=8)
    ax.set_xscale("log")
    ax.set_ylim(min(0.9, min(r["recall_at_10"] for r in res["results"]) - 0.02), 1.005)
    ax.set_xlabel("single-query latency p50, one thread (ms, log)")
    ax.set_ylabel("recall@10 vs exact")
    ax.set_title(f"FAISS kinds, {res['dim']}-d clustered vectors, {res['threads']} threads")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    e = sub.add_parser("embed")
    e.add_argument("--model", default="lite")
    e.add_argument("--device", default="auto")
    e.add_argument("--images", type=int, default=512)
    e.add_argument("--naive-images", type=int, default=128)
    e.add_argument("--batch", type=int, default=256)
    e.add_argument("--workers", type=int, default=None)
    s = sub.add_parser("search")
    s.add_argument("--sizes", default="100000")
    s.add_argument("--dim", type=int, default=512)
    s.add_argument("--kinds", default="flat,hnsw,ivfpq", help="flat first: it is the recall baseline")
    s.add_argument("--queries", type=int, default=500)
    s.add_argument("--latency-queries", type=int, default=200)
    for a in (e, s):
        a.add_argument("--out", type=Path, default=None, help="default: <data home>/reports/bench-index")
    args = p.parse_args()
    if args.out is None:
        from paperclip.storage import get_paths

        args.out = get_paths().reports / "bench-index"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "embed":
        res = bench_embed(args)
    else:
        res = bench_search(args)
        plot_search(res, args.out / "search.png")
    (args.out / f"{args.what}.json").write_text(json.dumps(res, indent=2))
    print(f"wrote {args.out / (args.what + '.json')}")


if __name__ == "__main__":
    main()
