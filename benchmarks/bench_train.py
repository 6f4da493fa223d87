"""Training throughput (pairs/s): real JPEG previews through the data pipeline vs synthetic tensors.

The same model, batch and optimizer run twice: once fed by the DataLoader that ``paperclip
train`` uses (JPEG decode, rot90/flip/crop augmentation, tokenising, workers), once on
tensors already in memory. The ratio shows the data pipeline's share of a step.

CPU (here):   python benchmarks/bench_train.py --model lite --batch 32 --steps 6
GPU (lent):   python benchmarks/bench_train.py --model ViT-B-16 --device cuda --batch 256 --steps 40 \
                  --workers 12 --compile
Previews come from the shared hst-mini sample (made 512 px JPEG as the pipeline stores them),
or from synthetic sky images with ``--previews synthetic`` when the sample is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
HST_MINI = REPO.parent / "shared" / "data" / "hst-mini"


def previews(folder: Path, source: str, count: int) -> list[Path]:
    """512 px JPEG previews made the way the indexer stores them."""
    from paperclip.imaging import encode_jpeg, to_preview

    files = sorted((HST_MINI / "images").glob("*.png")) if source == "hst-mini" else []
    if source == "hst-mini" and not files:
        sys.exit(f"no hst-mini sample at {HST_MINI}; pass --previews synthetic")
    out = []
    rng = np.random.default_rng(0)
    for i in range(count):
        if files:
            image = Image.open(files[i % len(files)]).convert("RGB")
        else:
            image = Image.fromarray((rng.gamma(1.5, 30, (700, 900, 3))).clip(0, 255).astype(np.uint8))
        path = folder / f"{i:05d}.jpg"
        path.write_bytes(encode_jpeg(to_preview(image)))
        out.append(path)
    return out


def run(args: argparse.Namespace) -> dict:
    from paperclip.model import load_model
    from training.augment import PaperTransform
    from training.config import TrainConfig
    from training.data import Pair
    from training.loss import ContrastiveLoss
    from training.train import PairDataset, make_optimizer

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    clip = load_model(args.model, device=args.device)
    clip.model.train()
    config = TrainConfig(name="bench", model=args.model, batch_size=args.batch, workers=args.workers)
    transform = PaperTransform(clip.image_size, clip.config["mean"], clip.config["std"])
    texts = [line.strip() for line in (HST_MINI / "abstracts_noid.txt").open()] if HST_MINI.is_dir() else []
    texts = texts or [
        f"Category: Galaxies. Survey {i} of dwarf galaxies. We map their stars." for i in range(64)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        paths = previews(Path(tmp), args.previews, min(args.batch * 4, 512))
        pairs = [Pair(i, i, p, texts[i % len(texts)], None, "raw") for i, p in enumerate(paths)]
        dataset = PairDataset(pairs, clip, transform, config)
        params = [p for p in clip.model.parameters() if p.requires_grad]
        optimizer = make_optimizer(params, [], config)
        loss_fn = ContrastiveLoss()
        module = torch.compile(clip.model, mode=args.compile_mode) if args.compile else clip.model

        def step(pixels: torch.Tensor, tokens: torch.Tensor) -> None:
            with clip.autocast():
                image, text, scale = module(
                    pixels.to(clip.device, non_blocking=True), tokens.to(clip.device)
                )[:3]
            loss_fn(image, text, scale.log()).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        def timed(batches) -> float:
            for _ in range(args.warmup):
                step(*next(batches))
            sync()
            start = time.perf_counter()
            for _ in range(args.steps):
                step(*next(batches))
            sync()
            return args.steps * args.batch / (time.perf_counter() - start)

        def sync() -> None:
            if clip.device.type == "cuda":
                torch.cuda.synchronize()

        def loader():
            n = len(pairs)
            order = (
                [(i % n, i, True) for i in range(b * args.batch, (b + 1) * args.batch)] for b in range(10**9)
            )
            dl = torch.utils.data.DataLoader(
                dataset,
                batch_sampler=order,
                num_workers=args.workers,
                pin_memory=clip.device.type == "cuda",
                prefetch_factor=4 if args.workers else None,
            )
            return iter(dl)

        fixed = (
            torch.randn(args.batch, 3, clip.image_size, clip.image_size),
            clip.tokenizer([texts[i % len(texts)][:200] for i in range(args.batch)]),
        )
        timed(iter(lambda: fixed, None))  # first steps allocate optimizer state and kernels: not timed
        real = timed(loader())
        synthetic = timed(iter(lambda: fixed, None))
        start = time.perf_counter()
        for i in range(args.batch):
            dataset[(i, i, True)]
        per_sample_ms = (time.perf_counter() - start) / args.batch * 1000
    return {
        "model": args.model,
        "device": str(clip.device),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "workers": args.workers,
        "compile": args.compile_mode if args.compile else None,
        "pairs_per_s_synthetic": round(synthetic, 2),
        "pairs_per_s_real_jpeg": round(real, 2),
        "real_over_synthetic": round(real / synthetic, 3),
        "data_ms_per_pair_one_process": round(per_sample_ms, 2),
        "step_ms_synthetic": round(1000 * args.batch / synthetic, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lite")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--compile-mode", default="default", help="default | reduce-overhead | max-autotune")
    parser.add_argument("--previews", default="hst-mini", choices=["hst-mini", "synthetic"])
    parser.add_argument("--json", type=Path, help="also append the result to this JSONL file")
    args = parser.parse_args()
    result = run(args)
    for key, value in result.items():
        print(f"{key:>32}: {value}")
    if args.json:
        with args.json.open("a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
