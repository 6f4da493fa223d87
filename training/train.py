"""Fine-tuning: one config in, one registered checkpoint out. Reads top to bottom.

Runs on CPU, one GPU or many under ``torchrun`` (DDP; features gathered across ranks so the
negatives are global). Every step's data is a pure function of (seed, step), and the state
saved at each validation holds the optimizer and scheduler, so ``resume`` replays the same
losses as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from paperclip.db import session_scope
from paperclip.model import ClipModel, add_head, load_model, projection_slots, resolve_device
from paperclip.shards import PreviewShards
from paperclip.storage import get_paths
from training.augment import PaperTransform
from training.compiled import compile_model
from training.config import TrainConfig
from training.data import Pair, ensure_split, load_pairs, token_fits
from training.evaluate import metrics as M
from training.export import export_checkpoint, register_checkpoint
from training.features import EVAL_VIEW, FeatureCache
from training.loss import ContrastiveLoss, clamp_logit_scale
from training.modes import CACHED_MODES, apply_mode, merge_lora, project, set_train
from training.pair_batches import PairBatches
from training.sampler import ProposalBatchSampler

log = logging.getLogger(__name__)

Items = list[tuple[int, int]]  # (pair index, sample seed)
Forward = Callable[[Items, bool], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@dataclass
class Runtime:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def setup_runtime(device: str) -> Runtime:
    """One process, or one rank of a ``torchrun`` job (gloo on CPU, nccl on GPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Runtime(0, 1, resolve_device(device))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Runtime(rank, world, dev)


def pixel_forward(clip: ClipModel, module: nn.Module, val_batches: PairBatches, rt: Runtime) -> Forward:
    """Full, LoRA and locked-tower modes: both encoders run on every batch.

    The returned function embeds validation items; its ``tensors`` attribute runs training
    batches that come ready-made from the DataLoader.
    """

    def forward(items: Items, train: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return forward_tensors(*val_batches.load([(i, s, train) for i, s in items]), train)

    def forward_tensors(pixels, tokens, train: bool):
        net = module if train else clip.model  # the raw model in validation: no DDP collectives
        with clip.autocast():
            image, text, scale = net(pixels.to(rt.device, non_blocking=True), tokens.to(rt.device))[:3]
        return image, text, scale.log()

    forward.tensors = forward_tensors  # type: ignore[attr-defined]
    return forward


@dataclass
class FeatureTables:
    """Cached tower features (pre-projection) of the training and validation pairs, on the device."""

    train_images: torch.Tensor  # (pairs, views, D)
    train_texts: torch.Tensor  # (pairs, alternatives, D): one drawn per step

    val_images: torch.Tensor | None
    val_texts: torch.Tensor | None


def feature_tables(
    cache: FeatureCache, pairs: Sequence[Pair], val_pairs: Sequence[Pair], config: TrainConfig
) -> FeatureTables:
    device = cache.clip.device

    def images(subset: Sequence[Pair], augmented: bool, desc: str) -> torch.Tensor:
        views = list(range(config.feature_views)) if augmented else [EVAL_VIEW]
        return torch.from_numpy(cache.images([p.image_path for p in subset], views, desc)).to(device)

    def texts(subset: Sequence[Pair]) -> torch.Tensor:
        return torch.from_numpy(cache.texts([p.caption for p in subset])).to(device)

    def alternatives(subset: Sequence[Pair]) -> torch.Tensor:
        """(pairs, texts, D): each pair's alternatives, or its caption alone."""
        rows = [p.alternatives or (p.caption,) for p in subset]
        width = len(rows[0]) if rows else 1
        flat = cache.texts([t for row in rows for t in row])
        return torch.from_numpy(flat.reshape(len(subset), width, -1)).to(device)

    return FeatureTables(
        images(pairs, config.augment, "train features"),
        alternatives(pairs),
        images(val_pairs, config.eval_augment, "val features") if val_pairs else None,
        texts(val_pairs) if val_pairs else None,
    )


def feature_forward(clip: ClipModel, tables: FeatureTables, mode: str) -> Forward:
    """Frozen towers: cached features through what trains on them, the existing projections
    (``frozen``) or the paper's MLP heads (``head``)."""
    model = clip.model
    if mode == "head":
        to_image, to_text = model.image_head, model.text_head
    else:
        (iowner, iattr), (towner, tattr) = projection_slots(model)

        def to_image(x: torch.Tensor) -> torch.Tensor:
            return project(getattr(iowner, iattr), x)

        def to_text(x: torch.Tensor) -> torch.Tensor:
            return project(getattr(towner, tattr), x)

    def forward(items: Items, train: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.tensor([i for i, _ in items], device=clip.device)
        img_table, txt_table = (
            (tables.train_images, tables.train_texts) if train else (tables.val_images, tables.val_texts)
        )
        n_views = img_table.shape[1]
        draws = [random.Random(s) for _, s in items]
        view = torch.tensor([r.randrange(n_views) for r in draws], device=clip.device)
        texts = txt_table[index]
        if train:
            pick = torch.tensor([r.randrange(txt_table.shape[1]) for r in draws], device=clip.device)
            texts = texts[torch.arange(len(items), device=clip.device), pick]
        with clip.autocast():
            return to_image(img_table[index, view]), to_text(texts), model.logit_scale

    return forward


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then constant (the paper) or cosine decay to zero (its best ablation).

    ``warmup_from_zero``: the first step's rate is 0, as optax's ``linear_schedule(0, lr, warmup)``
    in the released code; otherwise the warm-up's first step already moves (rate lr / warmup).
    """

    def factor(step: int) -> float:
        if step < config.warmup:
            return (step if config.warmup_from_zero else step + 1) / config.warmup
        if config.schedule == "constant":
            return 1.0
        progress = (step - config.warmup) / max(1, config.steps - config.warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_optimizer(params: list[nn.Parameter], extra: list[nn.Parameter], config: TrainConfig):
    """AdamW (or plain SGD); weight decay on every parameter with ``decay_all`` (optax's adamw in
    the released code), else not on gains, biases and the temperature (as open_clip)."""
    if config.decay_all:
        groups = [{"params": params + extra, "weight_decay": config.weight_decay}]
    else:
        decay = [p for p in params if p.ndim >= 2]
        rest = [p for p in params if p.ndim < 2] + extra
        groups = [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr)
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def validate(
    forward: Forward, loss_fn: ContrastiveLoss, pairs: Sequence[Pair], config: TrainConfig
) -> dict[str, float]:
    """Validation loss on proposal-distinct batches, and retrieval scored by the functions
    ``paperclip evaluate`` uses (each unique image and caption embedded once, ties in expectation).

    ``val_fig2_t2i_top10_of_100`` is the paper's Fig. 2 metric as the released code computes it:
    text -> image, the true image within the top 10 of its batch of ``val_batch`` pairs (the pairs
    in a fixed shuffled order: a proposal's images do not crowd one batch). Augmented
    validation (``eval_augment``) draws each image's view from its index: the same at every step.
    """
    if len(pairs) < 2 or len({p.proposal_pk for p in pairs}) < 2:
        return {}
    sampler = ProposalBatchSampler([p.proposal_pk for p in pairs], config.batch_size, seed=0)
    first_image = {p.image_path: i for i, p in reversed(list(enumerate(pairs)))}
    first_text = {p.caption: i for i, p in reversed(list(enumerate(pairs)))}
    losses = []
    with torch.no_grad():
        for batch in sampler.epoch(0):
            image, text, scale = forward([(i, i) for i in batch], False)
            losses.append(float(loss_fn(image, text, scale, distributed=False)))

        def embed(items: list[int], part: int) -> np.ndarray:
            chunks = [
                forward([(i, i) for i in items[j : j + 256]], False)[part].float()
                for j in range(0, len(items), 256)
            ]
            return torch.nn.functional.normalize(torch.cat(chunks), dim=-1).cpu().numpy()

        images, texts = embed(list(first_image.values()), 0), embed(list(first_text.values()), 1)
    image_row = {path: k for k, path in enumerate(first_image)}
    text_row = {caption: k for k, caption in enumerate(first_text)}
    pair_images = images[[image_row[p.image_path] for p in pairs]]
    pair_texts = texts[[text_row[p.caption] for p in pairs]]
    groups = np.array([p.proposal_pk for p in pairs])
    blocks = M.pair_retrieval(pair_images @ pair_texts.T, groups)
    shuffled = np.random.default_rng(0).permutation(len(pairs))  # batches of shuffled pairs, as the code's
    i2t, t2i = blocks["image_to_text"], blocks["text_to_image"]
    return {
        "val_loss": float(np.mean(losses)),
        "val_i2t_top10pct": i2t["top_k_accuracy"]["10"],
        "val_t2i_top10pct": t2i["top_k_accuracy"]["10"],
        "val_i2t_auc": i2t["auc"],
        "val_t2i_auc": t2i["auc"],
        "val_i2t_r1": i2t["recall_at_1"],
        "val_t2i_r1": t2i["recall_at_1"],
        "val_fig2_t2i_top10_of_100": M.in_batch_accuracy(
            pair_texts[shuffled], pair_images[shuffled], config.val_batch, 10
        ),
    }


class RunLog:
    """JSONL for machines (each record with the seconds since the run started), TensorBoard for
    people; only the main rank writes."""

    def __init__(self, run_dir: Path, main: bool):
        self.path, self.main, self.writer = run_dir / "log.jsonl", main, None
        self.started = time.perf_counter()
        if main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir / "tb"))

    def write(self, step: int, record: dict[str, float]) -> None:
        if not self.main:
            return
        elapsed = round(time.perf_counter() - self.started, 3)
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **record, "elapsed_s": elapsed}) + "\n")
        for key, value in record.items():
            self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.named_parameters() if v.requires_grad}


def save_state(path: Path, step: int, model, loss_fn, optimizer, scheduler, metrics) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "step": step,
            "trainable": trainable_state(model),
            "loss_fn": loss_fn.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "metrics": metrics,
        },
        tmp,
    )
    os.replace(tmp, path)


def prune_states(run_dir: Path, keep_best: int) -> None:
    """Keep the best ``keep_best`` states by validation loss, plus the last."""
    states = sorted(run_dir.glob("state-*.pt"))
    if len(states) <= keep_best + 1:
        return
    meta = json.loads((run_dir / "states.json").read_text())
    scored = sorted(states[:-1], key=lambda p: meta.get(p.name, {}).get("val_loss", math.inf))
    for stale in scored[keep_best:]:
        stale.unlink()


def best_state(run_dir: Path) -> Path:
    states = sorted(run_dir.glob("state-*.pt"))
    meta = json.loads((run_dir / "states.json").read_text()) if (run_dir / "states.json").is_file() else {}
    scored = [p for p in states if "val_loss" in meta.get(p.name, {})]
    return min(scored, key=lambda p: meta[p.name]["val_loss"]) if scored else states[-1]


def _other_run(run_dir: Path, config: TrainConfig) -> bool:
    """Whether ``run_dir`` holds a run of another config (a changed recipe): its states cannot resume."""
    saved = run_dir / "config.json"
    if not saved.is_file():
        return False
    before = {k: v for k, v in json.loads(saved.read_text()).items() if k != "resume"}
    now = {k: v for k, v in json.loads(config.model_dump_json()).items() if k != "resume"}
    if before != now:
        changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        log.warning("%s: the config changed (%s); starting over instead of resuming", run_dir.name, changed)
    return before != now


def train(config: TrainConfig) -> Path:
    """Fine-tune ``config.model`` on the database's pairs; export and register a new version of
    ``config.name``; returns its folder."""
    rt = setup_runtime(config.device)
    torch.manual_seed(config.seed)
    paths = get_paths().ensure()
    run_dir = paths.checkpoints / "runs" / config.name
    if rt.main:
        if run_dir.exists() and (not config.resume or _other_run(run_dir, config)):
            for old in (*run_dir.glob("state-*.pt"), run_dir / "log.jsonl", run_dir / "states.json"):
                old.unlink(missing_ok=True)
            shutil.rmtree(run_dir / "tb", ignore_errors=True)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(config.model_dump_json(indent=2))
    runlog = RunLog(run_dir, rt.main)

    # Data: the split is written once, by the main rank.
    if rt.main:
        with session_scope() as session:
            ensure_split(session, config.split_seed, config.val_fraction)
    rt.barrier()
    clip = load_model(config.model, device=rt.device, precision=config.precision)
    base_sha256 = clip.weights_sha256
    fits = token_fits(clip.tokenizer, clip.config["context_length"])
    cached = config.mode in CACHED_MODES
    with session_scope() as session:
        train_pairs = load_pairs(
            session, "train", config.variant, fits if cached or config.variant == "varied" else None
        )
        val_pairs = load_pairs(session, "val", config.variant, fits)
    if len({p.proposal_pk for p in train_pairs}) < 2:
        raise RuntimeError(
            f"{len(train_pairs)} training pairs from fewer than two proposals: import or harvest images "
            "and run `paperclip caption` first"
        )
    transform = PaperTransform.for_model(clip.config, config.native_crop, config.flips)

    # Model, mode, loss, optimizer. Cached modes read tower features of the model as loaded.
    if cached:
        if rt.world > 1:
            raise RuntimeError(
                f"{config.mode} mode trains cached features in one process; run it without torchrun"
            )
        tables = feature_tables(FeatureCache(clip, transform, paths.cache), train_pairs, val_pairs, config)
        if config.mode == "head":
            add_head(clip, config.head_hidden)
    params, peft_model = apply_mode(
        clip.model, config.mode, config.lora_r, config.lora_alpha, config.lora_dropout
    )
    clip.model.to(rt.device)
    loss_fn = ContrastiveLoss(config.loss, config.paper_scale).to(rt.device)
    if config.loss == "siglip":
        with torch.no_grad():
            clip.model.logit_scale.fill_(10.0 if config.paper_scale else math.log(10.0))
    optimizer = make_optimizer(params, list(loss_fn.parameters()), config)
    scheduler = make_scheduler(optimizer, config)

    start = 0
    states = sorted(run_dir.glob("state-*.pt"))
    if config.resume and states:
        state = torch.load(states[-1], map_location=rt.device, weights_only=False)
        named = dict(clip.model.named_parameters())
        with torch.no_grad():
            for key, value in state["trainable"].items():
                named[key].copy_(value)
        loss_fn.load_state_dict(state["loss_fn"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start = state["step"]
        log.info("resumed %s at step %d", config.name, start)

    if cached:
        forward = feature_forward(clip, tables, config.mode)
        tensors = None
    else:
        module: nn.Module = clip.model
        if rt.world > 1:
            module = nn.parallel.DistributedDataParallel(
                module, device_ids=[rt.device.index] if rt.device.type == "cuda" else None
            )
        if config.compile:
            module = compile_model(module, rt.device, rt.world)
        shards = PreviewShards.open()  # None until `paperclip shards build`: then JPEG, with a warning
        dataset = PairBatches(train_pairs, clip, config, rt.device, shards)
        val_batches = PairBatches(val_pairs, clip, config, rt.device, shards, what="validation")
        forward = pixel_forward(clip, module, val_batches, rt)
        tensors = forward.tensors  # type: ignore[attr-defined]

    per_step = config.grad_accum * rt.world
    sampler = ProposalBatchSampler(
        [p.proposal_pk for p in train_pairs], config.batch_size, config.seed, config.proposal_sampler
    )
    global_batch = sampler.batch_size - sampler.batch_size % per_step
    if global_batch < per_step or global_batch < 2:
        raise RuntimeError(f"batch of {sampler.batch_size} cannot be split over {per_step} micro-batches")
    if global_batch != config.batch_size:
        log.warning(
            "global batch %d (asked %d): limited by distinct proposals", global_batch, config.batch_size
        )
    sampler.batch_size = global_batch
    local = global_batch // rt.world

    def local_items(batch: Items) -> Items:
        return batch[rt.rank * local : (rt.rank + 1) * local]

    if tensors is None:
        stream: Iterator = (local_items(b) for b in sampler.batches(start))
    else:
        items = ([(i, s, True) for i, s in local_items(b)] for b in sampler.batches(start))
        stream = dataset.stream(items, config.workers)

    meta_path = run_dir / "states.json"
    meta = json.loads(meta_path.read_text()) if config.resume and meta_path.is_file() else {}
    threads = torch.get_num_threads()
    if cached and rt.device.type == "cpu":
        # Steps on cached features are a few small matrix products: on one thread they run 10-20x
        # faster than on two contended ones (measured on the shared 2-core machine).
        torch.set_num_threads(1)
    if start == 0 and rt.main:  # the untrained model's figures: the first point of the paper's Fig. 2
        clip.model.eval()
        runlog.write(0, validate(forward, loss_fn, val_pairs, config))
    bar = tqdm(
        total=config.steps, initial=start, desc=f"train {config.name}", unit="step", disable=not rt.main
    )
    tick, seen = time.perf_counter(), 0
    for step in range(start, config.steps):
        set_train(clip.model, config.mode)
        torch.manual_seed(config.seed * 1_000_003 + step * 1009 + rt.rank)  # dropout: a function of the step
        batch = next(stream)
        total = 0.0
        for micro in range(config.grad_accum):
            if tensors is None:
                part = batch[micro :: config.grad_accum]
                image, text, scale = forward(part, True)
            else:
                pixels, tokens = batch
                image, text, scale = tensors(
                    pixels[micro :: config.grad_accum], tokens[micro :: config.grad_accum], True
                )
            loss = loss_fn(image, text, scale) / config.grad_accum
            loss.backward()
            total += loss.item()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        clamp_logit_scale(clip.model.logit_scale, config.max_logit_scale, config.paper_scale)
        seen += global_batch
        done = step + 1
        if done % config.log_every == 0 or done == config.steps:
            rate = seen / (time.perf_counter() - tick)
            tick, seen = time.perf_counter(), 0
            runlog.write(
                done,
                {
                    "loss": total,
                    "lr": scheduler.get_last_lr()[0],
                    "logit_scale": clip.model.logit_scale.item(),
                    "pairs_per_s": rate,
                },
            )
            bar.set_postfix(loss=f"{total:.3f}", pairs_s=f"{rate:.0f}")
        bar.update(1)
        if done % config.val_every == 0 or done == config.steps:
            clip.model.eval()
            metrics = validate(forward, loss_fn, val_pairs, config)
            if rt.main:
                runlog.write(done, metrics)
                name = f"state-{done:07d}.pt"
                save_state(run_dir / name, done, clip.model, loss_fn, optimizer, scheduler, metrics)
                meta[name] = metrics
                meta_path.write_text(json.dumps(meta, indent=2))
                prune_states(run_dir, config.keep_best)
            rt.barrier()
    bar.close()
    runlog.close()
    torch.set_num_threads(threads)

    # Export the best state by validation loss (the last when there is no validation set).
    exported = None
    if rt.main:
        chosen = best_state(run_dir)
        state = torch.load(chosen, map_location="cpu", weights_only=False)
        named = dict(clip.model.named_parameters())
        with torch.no_grad():
            for key, value in state["trainable"].items():
                named[key].copy_(value.to(named[key].device))
        if peft_model is not None:
            clip.model = merge_lora(peft_model)
        clip.model.eval()
        metrics = {
            **state["metrics"],
            "step": state["step"],
            "train_pairs": len(train_pairs),
            "val_pairs": len(val_pairs),
        }
        exported = export_checkpoint(clip, config, metrics, train_pairs, val_pairs, base_sha256)
        with session_scope() as session:
            register_checkpoint(session, config.name, exported, config.model, config.recipe, metrics)
    rt.barrier()
    if rt.world > 1:  # every rank returns the folder rank 0 wrote
        box = [exported.path if exported else None]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]
    return exported.path
