"""Preview shards vs JPEG, side by side in one run: the loader, embedding and (compiled) training.

    python benchmarks/bench_loader.py prepare --data /tmp/bench --images 8192          # data home only
    python benchmarks/bench_loader.py loader --images 256 --batch 32 --workers 2     # CPU: augmented crops/s
    python benchmarks/bench_loader.py train --model tiny --batch 32 --steps 10       # CPU: compiled vs eager
    python benchmarks/bench_loader.py embed --model ViT-B-16 --device cuda --images 8192 --batch 256 --workers 14
    python benchmarks/bench_loader.py train --model ViT-B-16 --device cuda --batch 256 --steps 20 --workers 14
    python benchmarks/bench_loader.py train --recipe paper --model ViT-B-16 --device cuda --batch 32 \\
        --steps 60 --workers 8 --variants compiled

A data home (``--data``, reused when it already holds enough previews) gets 512 px JPEG previews
made the way the indexer stores them (the HST sample, each copy shifted so no two files are
equal, else synthetic fields), rows in a SQLite database and preview shards written by the real
builder (``indexer.shards.build``). ``loader`` times augmented 224 px crops delivered as
tensors, with tokens: the old per-image PIL path, the JPEG fallback and the shards. ``train``
times full fine-tuning steps fed from the shards, eager and compiled, beside the same model on a
batch already on the device. ``embed`` times the indexer's embedding from shards, from JPEG and
on ready tensors. Figures go to stdout and, with ``--json``, to a JSONL file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HST_MINI = Path(
    os.environ.get("PAPERCLIP_HST_MINI")
    or next(
        (p for p in (REPO / "tests/data/hst-mini", REPO.parent / "shared/data/hst-mini") if p.is_dir()),
        REPO / "tests/data/hst-mini",
    )
)


# -- data ------------------------------------------------------------------------------------------
def prepare(home: Path, n: int) -> dict:
    """n distinct previews, their rows and their shards in ``home``; returns the build's figures."""
    os.environ["PAPERCLIP_HOME"] = str(home)
    os.environ.pop("PAPERCLIP_DATABASE_URL", None)
    os.environ.pop("PAPERCLIP_SHARDS_DIR", None)
    from paperclip.config import get_settings

    get_settings.cache_clear()
    from sqlalchemy import func, select

    from paperclip.db import session_scope, upgrade
    from paperclip.schema import Observation

    upgrade(get_settings().db_url)
    with session_scope() as s:
        have = s.scalar(select(func.count()).select_from(Observation))
    if have < n:
        _add_previews(have, n)
    from indexer.shards.build import build

    start = time.perf_counter()
    summary = build(progress=False)
    return {"shard_build_s": round(time.perf_counter() - start, 2), "shards_decoded": summary.written}


def _add_previews(start: int, n: int) -> None:
    from PIL import Image

    from paperclip.db import session_scope
    from paperclip.imaging import encode_jpeg, to_preview
    from paperclip.schema import Caption, Observation, Proposal
    from paperclip.storage import ImageStore, get_paths

    sources = sorted((HST_MINI / "images").glob("*.png")) + sorted((HST_MINI / "images").glob("*.jpg"))
    rng = np.random.default_rng(0)
    fields = [  # no sample: smooth synthetic fields (noise compresses unlike the sky)
        Image.fromarray(rng.gamma(1.5, 30, (70, 90, 3)).clip(0, 255).astype(np.uint8)).resize((900, 700))
        for _ in range(16)
    ]
    bases = [np.asarray(to_preview(Image.open(p) if sources else p)) for p in (sources or fields)]
    texts = [t.strip() for t in (HST_MINI / "abstracts_noid.txt").open()] if HST_MINI.is_dir() else []
    texts = [t for t in texts if t] or [
        f"Survey {i} of dwarf galaxies; star formation histories" for i in range(64)
    ]
    store = ImageStore(get_paths().ensure().images)

    def make(i: int) -> str:  # shifted copies: same statistics, distinct files and records
        image = np.roll(bases[i % len(bases)], 1 + (i // len(bases)) % 509, axis=1)
        return store.put(encode_jpeg(Image.fromarray(image)), "preview", "jpg")[0]

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        rels = list(pool.map(make, range(start, n)))
    with session_scope() as s:
        proposals = [
            Proposal(collection="BENCH", proposal_id=f"B{i:07d}", abstract=texts[i % len(texts)])
            for i in range(start, n)
        ]
        s.add_all(proposals)
        s.flush()
        for i, rel, proposal in zip(range(start, n), rels, proposals, strict=True):
            s.add(Observation(proposal_pk=proposal.id, collection="BENCH", obs_id=f"b{i}", local_path=rel))
            s.add(
                Caption(
                    proposal_pk=proposal.id,
                    kind="summary",
                    generator="extract",
                    text=texts[i % len(texts)][:300],
                )
            )


def pairs(n: int) -> list:
    from sqlalchemy import select

    from paperclip.db import session_scope
    from paperclip.schema import Caption, Observation
    from paperclip.storage import ImageStore, get_paths
    from training.data import Pair

    store = ImageStore(get_paths().images)
    with session_scope() as s:
        rows = s.execute(
            select(Observation.id, Observation.proposal_pk, Observation.local_path, Caption.text)
            .join(Caption, Caption.proposal_pk == Observation.proposal_pk)
            .order_by(Observation.id)
            .limit(n)
        ).all()
    return [Pair(i, pk, store.resolve(rel), text, None, "summary") for i, pk, rel, text in rows]


def batches(n: int, batch: int, count: int, start: int = 0) -> list[list[tuple[int, int, bool]]]:
    return [
        [((b * batch + j) % n, b * 4096 + j, True) for j in range(batch)] for b in range(start, start + count)
    ]


def no_shards() -> Path:
    """Point the readers at an empty shards folder (the JPEG runs)."""
    from paperclip.config import get_settings

    empty = Path(tempfile.mkdtemp(prefix="no-shards-"))
    os.environ["PAPERCLIP_SHARDS_DIR"] = str(empty)
    get_settings.cache_clear()
    return empty


def with_shards() -> None:
    from paperclip.config import get_settings

    os.environ.pop("PAPERCLIP_SHARDS_DIR", None)
    get_settings.cache_clear()


def cpu_seconds() -> float:
    """CPU time of this process and its live workers: a shared machine's load does not inflate it."""
    import psutil

    procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
    return sum(t.user + t.system for t in (p.cpu_times() for p in procs))


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


# -- loader ----------------------------------------------------------------------------------------
class PilItems:
    """The per-image path training used before the shards: PIL decode + PaperTransform in workers
    (and, with ``tokens``, the caption tokenised per item, as the old dataset did)."""

    def __init__(self, pairs: list, clip, tokens: bool):
        from training.augment import PaperTransform

        self.pairs, self.tokenizer, self.tokens = pairs, clip.tokenizer, tokens
        self.transform = PaperTransform(clip.image_size, clip.config["mean"], clip.config["std"])

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, item):
        from PIL import Image

        index, seed, _ = item
        with Image.open(self.pairs[index].image_path) as im:
            pixels = self.transform.train(im, seed)
        return (pixels, self.tokenizer([self.pairs[index].caption])[0]) if self.tokens else pixels


def bench_loader(args: argparse.Namespace) -> dict:
    import torch
    from torch.utils.data import DataLoader

    from paperclip.model import load_model
    from paperclip.shards import PreviewShards
    from training.config import TrainConfig
    from training.pair_batches import PairBatches

    torch.set_num_threads(args.threads)
    clip = load_model(args.model, args.device)
    config = TrainConfig(name="bench", model=args.model, batch_size=args.batch)
    data = pairs(args.images)
    n = len(data)
    shards = PreviewShards.open()
    pin = clip.device.type == "cuda"

    def loader(dataset, workers: int, **kw):
        return DataLoader(
            dataset, num_workers=workers, pin_memory=pin, prefetch_factor=4 if workers else None, **kw
        )

    def pil(workers: int):
        order = batches(n, args.batch, args.batches + 2)
        for batch in loader(PilItems(data, clip, args.tokens), workers, batch_sampler=order):
            yield batch[0].to(clip.device, non_blocking=True) if args.tokens else batch.to(clip.device)

    def new(shard_set, workers: int):
        feed = PairBatches(data, clip, config, clip.device, shard_set, what="bench")
        yield from (p for p, _ in feed.stream(batches(n, args.batch, args.batches + 2), workers))

    w = args.workers
    runs = {
        f"jpeg_pil_per_image_w{w}": lambda: pil(w),
        f"jpeg_batched_augment_w{w}": lambda: new(None, w),
        "shards": lambda: new(shards, w),  # read in place: PairBatches drops the workers for the CPU
    }
    wall: dict[str, list[float]] = {k: [] for k in runs}
    per_cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.rounds):  # interleaved rounds: a shared machine's load hits every path alike
        for name, make in runs.items():
            stream = make()
            for _ in range(2):  # workers start, caches warm
                pixels = next(stream)
            sync(clip.device)
            start, cpu = time.perf_counter(), cpu_seconds()
            for _ in range(args.batches):
                pixels = next(stream)
            sync(clip.device)
            done = args.batch * args.batches
            wall[name].append(done / (time.perf_counter() - start))
            per_cpu[name].append(done / (cpu_seconds() - cpu))
            stream.close()
    assert pixels.shape == (args.batch, 3, clip.image_size, clip.image_size) and pixels.dtype == torch.float32
    # the least disturbed of the interleaved rounds, for every path alike
    out = {f"{k}_per_s": round(max(v), 1) for k, v in wall.items()}
    out |= {f"{k}_per_cpu_s": round(max(v), 1) for k, v in per_cpu.items()}

    def ratio(kind: str) -> float:
        best = {
            side: max(v for k, v in out.items() if k.startswith(side) and k.endswith(kind))
            for side in ("jpeg", "shards")
        }
        return round(best["shards"] / best["jpeg"], 1)

    return {
        "what": f"loader: augmented {clip.image_size} px crops{' + tokens' if args.tokens else ''} "
        "delivered as float tensors, per s (best of rounds)",
        "model": args.model,
        "device": str(clip.device),
        "batch": args.batch,
        "images": n,
        "cpus": os.cpu_count(),
        "main_threads": args.threads,
        "load_avg_1min": round(os.getloadavg()[0], 1),
        **out,
        "shards_over_jpeg_wall": ratio("_per_s"),
        "shards_over_jpeg_per_cpu_s": ratio("_per_cpu_s"),
    }


# -- training --------------------------------------------------------------------------------------
def bench_train(args: argparse.Namespace) -> dict:
    import torch

    from paperclip.model import load_model
    from paperclip.shards import PreviewShards
    from training.compiled import compile_mode, compile_model
    from training.config import TrainConfig
    from training.loss import ContrastiveLoss
    from training.pair_batches import PairBatches
    from training.train import make_optimizer

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clip = load_model(args.model, args.device)
    clip.model.train()
    base = {"model": args.model, "batch_size": args.batch, "workers": args.workers}
    config = (
        TrainConfig.from_recipe(args.recipe, name="bench", **base)
        if args.recipe
        else TrainConfig(name="bench", **base)
    )
    params = [p for p in clip.model.parameters() if p.requires_grad]
    loss_fn = ContrastiveLoss(config.loss, config.paper_scale).to(clip.device)
    optimizer = make_optimizer(params, list(loss_fn.parameters()), config)
    data = pairs(args.images)
    shards = PreviewShards.open() if args.source == "shards" else None
    feed = PairBatches(data, clip, config, clip.device, shards, what="bench")
    out: dict = {
        "what": f"training pairs/s, full fine-tune fed from {args.source}",
        "model": args.model,
        "recipe": args.recipe or "custom",
        "device": str(clip.device),
        "batch": args.batch,
        "workers": args.workers,
        "threads": torch.get_num_threads(),
        "compile_mode": compile_mode(clip.device, 1),
    }

    def step(module, pixels, tokens) -> None:
        with clip.autocast():
            image, text, scale = module(pixels, tokens)[:3]
        loss_fn(image, text, scale.log()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def timed(module, stream) -> tuple[float, float]:
        start = time.perf_counter()
        for _ in range(args.warmup):
            step(module, *next(stream))
        sync(clip.device)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.steps):
            step(module, *next(stream))
        sync(clip.device)
        return args.steps * args.batch / (time.perf_counter() - start), first

    n = len(data)
    fixed = feed.load(batches(n, args.batch, 1)[0])
    offset = 0
    for variant in args.variants.split(","):
        module = clip.model if variant == "eager" else compile_model(clip.model, clip.device)
        count = args.warmup + args.steps
        stream = feed.stream(batches(n, args.batch, count, offset), args.workers)
        offset += count
        rate, first = timed(module, stream)
        ceiling, _ = timed(module, iter(lambda: fixed, None))
        out[f"{variant}_pairs_per_s"] = round(rate, 1)
        out[f"{variant}_step_ms"] = round(1000 * args.batch / rate, 1)
        out[f"{variant}_model_only_pairs_per_s"] = round(ceiling, 1)
        out[f"{variant}_warmup_s"] = round(first, 1)
    if "eager_pairs_per_s" in out and "compiled_pairs_per_s" in out:
        out["compiled_over_eager"] = round(out["compiled_pairs_per_s"] / out["eager_pairs_per_s"], 2)
    return out


# -- embedding -------------------------------------------------------------------------------------
def bench_embed(args: argparse.Namespace) -> dict:
    import torch

    from indexer.index.embed import encode_batches, loader
    from paperclip.model import load_model
    from paperclip.storage import get_paths

    if args.threads:
        torch.set_num_threads(args.threads)
    clip = load_model(args.model, args.device)
    data = pairs(args.images)
    root = get_paths().images
    items = [(p.observation_id, str(p.image_path.relative_to(root.resolve()))) for p in data] * args.passes
    out: dict = {
        "what": "embedding images/s through the indexer's loader",
        "model": args.model,
        "device": str(clip.device),
        "batch": args.batch,
        "workers": args.workers,
        "images": len(items),
    }
    pixels = torch.randn(args.batch, 3, clip.image_size, clip.image_size, device=clip.device)
    clip.encode_image_tensor(pixels)
    sync(clip.device)
    start = time.perf_counter()
    reps = max(2, len(items) // args.batch // 4)
    for _ in range(reps):
        clip.encode_image_tensor(pixels)
    sync(clip.device)
    out["model_only_img_per_s"] = round(reps * args.batch / (time.perf_counter() - start), 1)

    def run(label: str) -> None:
        start = time.perf_counter()
        done = sum(
            len(ids)
            for ids, _, _ in encode_batches(clip, loader(clip, items, root, args.batch, args.workers), False)
        )
        sync(clip.device)
        out[f"{label}_img_per_s"] = round(done / (time.perf_counter() - start), 1)

    run("shards")
    no_shards()
    run("jpeg")
    with_shards()
    out["shards_over_model_only"] = round(out["shards_img_per_s"] / out["model_only_img_per_s"], 3)
    out["shards_over_jpeg"] = round(out["shards_img_per_s"] / out["jpeg_img_per_s"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["prepare", "loader", "train", "embed"])
    parser.add_argument("--data", type=Path, help="data home to (re)use; default: a temporary folder")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--model", default=None, help="default: lite for loader, tiny for train and embed")
    parser.add_argument(
        "--recipe", default=None, help="train: optimiser and loss from this recipe (e.g. paper)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=10, help="loader: timed batches per round")
    parser.add_argument("--rounds", type=int, default=5, help="loader: interleaved rounds (the best counts)")
    parser.add_argument(
        "--tokens", action="store_true", help="loader: captions tokenised too (training's batches)"
    )
    parser.add_argument("--steps", type=int, default=10, help="train: timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="train: untimed first steps (compilation)")
    parser.add_argument("--variants", default="eager,compiled", help="train: eager and/or compiled")
    parser.add_argument("--source", default="shards", choices=["shards", "jpeg"], help="train: what feeds it")
    parser.add_argument("--passes", type=int, default=1, help="embed: times over the images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the main process")
    parser.add_argument("--json", type=Path, help="also append the result to this JSONL file")
    args = parser.parse_args()
    args.model = args.model or ("lite" if args.what == "loader" else "tiny")
    runs = {"prepare": lambda _: {}, "loader": bench_loader, "train": bench_train, "embed": bench_embed}
    with tempfile.TemporaryDirectory() as tmp:
        home = args.data or Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        prep = prepare(home, args.images)
        result = {"bench": args.what, **runs[args.what](args), **prep}
    for key, value in result.items():
        print(f"{key:>36}: {value}")
    if args.json:
        with args.json.open("a") as f:
            f.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
