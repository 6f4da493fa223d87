"""Synthetic archive: rendering speed (1 worker baseline vs N) and how distinct the classes are
to the frozen paperclip-lite image tower (what the ``lite`` recipe trains on top of).

    python benchmarks/bench_synth.py [--images 320] [--workers 2] [--probe 4]

Speed: CPU ms per image by class, then wall time of ``generate`` with 1 and N workers and the
projection to the demo's 1,500 images. Probe (``--probe P``, 0 to skip): P images of each of
150 proposals embedded with the untrained lite tower; nearest class centroid, with a quarter
of the proposals held out. Chance is 1/16.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from indexer.synth import CLASSES, generate
from indexer.synth.generate import render_image


def per_class_ms(repeat: int = 4) -> dict[str, float]:
    out = {}
    for cls in CLASSES:
        t = time.process_time()
        for i in range(repeat):
            render_image(cls, 0, i, 0)
        out[cls.label] = (time.process_time() - t) / repeat * 1000
    return out


def wall(images: int, workers: int, folder: Path) -> float:
    t = time.perf_counter()
    generate(folder, proposals=images // 10, seed=1, images_per_proposal=(10, 10), workers=workers)
    return time.perf_counter() - t


def probe(per_proposal: int) -> None:
    from PIL import Image

    from paperclip.model import load_model

    with tempfile.TemporaryDirectory() as tmp:
        manifest = generate(
            Path(tmp), proposals=150, seed=0, images_per_proposal=(per_proposal, per_proposal)
        )
        rows = [json.loads(line) for line in manifest.read_text().splitlines()]
        clip = load_model("lite", device="cpu")
        t = time.perf_counter()
        emb = clip.encode_images([Image.open(manifest.parent / r["image"]) for r in rows], batch_size=32)
        print(f"embedded {len(rows)} images in {time.perf_counter() - t:.0f} s")
    labels = np.array([r["label"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    rng = np.random.default_rng(0)
    held = set(rng.choice(np.unique(groups), len(np.unique(groups)) // 4, replace=False))
    test = np.isin(groups, list(held))
    classes = sorted(set(labels))
    centroids = np.stack([emb[~test & (labels == c)].mean(0) for c in classes])
    pred = np.array(classes)[np.argmax(emb[test] @ centroids.T, axis=1)]
    print(
        f"held-out nearest-centroid accuracy {(pred == labels[test]).mean():.2f} (chance {1 / len(classes):.2f})"
    )
    for c in classes:
        m = labels[test] == c
        if m.any():
            worst = Counter(pred[m][pred[m] != c]).most_common(1)
            print(
                f"  {c:>24} {(pred[m] == c).mean():.2f}"
                + (f"  mostly confused with {worst[0][0]}" if worst else "")
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=320)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--probe", type=int, default=4)
    args = ap.parse_args()

    ms = per_class_ms()
    for label, v in sorted(ms.items(), key=lambda kv: -kv[1]):
        print(f"{label:>24} {v:6.1f} CPU ms/image")
    print(f"{'mean':>24} {np.mean(list(ms.values())):6.1f} CPU ms/image")
    with tempfile.TemporaryDirectory() as tmp:
        base = wall(args.images, 1, Path(tmp) / "one")
        par = wall(args.images, args.workers, Path(tmp) / "many")
    print(
        f"generate {args.images} images: 1 worker {base:.1f} s, {args.workers} workers {par:.1f} s (x{base / par:.2f})"
    )
    print(
        f"projected for the demo's 1,500 images with {args.workers} workers: {par * 1500 / args.images:.0f} s"
    )
    if args.probe:
        probe(args.probe)


if __name__ == "__main__":
    main()
