"""``evaluate()``: every model on the same validation pairs, then one JSON, plots and an HTML report.

One protocol for every model: each receives the same pixels, the centre crop of the 512 px
preview at native scale (the paper's figures; a fine-tune's own preprocessing), normalised as
the model expects; with ``eval_augment=N`` also N seeded draws of the training augmentation
(the paper's Fig. 3), reported as mean and spread. Every metric gets a 95% bootstrap interval
over proposals.

Reading top to bottom: load the split's pairs, then per model embed the unique images and
captions once, score both directions, the class queries and the panels; then the optional LLM
judge, the plots, the report, and the metrics onto each checkpoint row.
"""

from __future__ import annotations

import json
import logging
import math
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import func, select
from tqdm import tqdm

from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.query_embedding import QueryOptions, embed_queries
from paperclip.schema import Checkpoint, Proposal, Split
from paperclip.storage import atomic_write
from paperclip.vocabulary import load_vocabulary
from training.augment import PaperTransform, view_seed
from training.config import TrainConfig
from training.data import Pair, ensure_split, fit_caption, load_pairs, token_fits
from training.evaluate import metrics as M
from training.evaluate.models import BASE, ModelSpec, resolve_models
from training.evaluate.queries import PAPER_QUERIES, class_query, load_freeform

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
SPLIT = "val"
DESCRIBED_IMAGES = 6
SMALL_VALIDATION = 200  # fewer validation images than this: the report and the CLI warn
RESAMPLES = 1000
PROTOCOL = "centre crop of the 512 px preview at native scale (the paper's figures), every model alike"


class Layout:
    """The validation pairs as index arrays into unique images, captions, observations and proposals.

    Identical captions (and images) are embedded once, so their scores tie exactly.
    """

    def __init__(self, pairs: Sequence[Pair]):
        self.pairs = list(pairs)
        image_ix = {p: i for i, p in enumerate(dict.fromkeys(p.image_path for p in pairs))}
        text_ix = {t: i for i, t in enumerate(dict.fromkeys(p.caption for p in pairs))}
        self.images, self.texts = list(image_ix), list(text_ix)
        self.pair_image = np.array([image_ix[p.image_path] for p in pairs])
        self.pair_text = np.array([text_ix[p.caption] for p in pairs])
        self.groups = np.array([p.proposal_pk for p in pairs])
        first = {p.observation_id: p for p in reversed(pairs)}  # the first pair per observation
        self.obs_ids = sorted(first)
        self.obs_image = np.array([image_ix[first[o].image_path] for o in self.obs_ids])
        self.obs_label = np.array([first[o].label or "" for o in self.obs_ids], dtype=object)
        self.obs_proposal = {o: first[o].proposal_pk for o in self.obs_ids}
        self.obs_path = {o: first[o].image_path for o in self.obs_ids}
        by_proposal = {p.proposal_pk: text_ix[p.caption] for p in reversed(pairs)}
        self.proposals = sorted(by_proposal)
        self.proposal_text = np.array([by_proposal[pk] for pk in self.proposals])
        self.labels = sorted({lbl for lbl in self.obs_label if lbl})


def _window_raw(pairs: Sequence[Pair], clip) -> list[Pair]:
    """Cut raw abstracts to the first model's context, so every model reads the same text."""
    if not any(p.kind == "raw" for p in pairs):
        return list(pairs)

    fits = token_fits(clip.tokenizer, int(clip.config["context_length"]))
    cut = {t: fit_caption(t, fits) for t in {p.caption for p in pairs if p.kind == "raw"}}
    return [replace(p, caption=cut[p.caption]) if p.kind == "raw" else p for p in pairs]


def protocol_pixels(clip, path: Path, draw: int | None = None, seed: int = 0) -> torch.Tensor:
    """What every model sees of a preview: the centre crop, or draw ``draw`` of the training
    augmentation (a function of the preview and ``seed``, so the same for every model)."""
    from PIL import Image

    transform = PaperTransform.for_model(clip.config)
    with Image.open(path) as im:
        return (
            transform.eval(im) if draw is None else transform.train(im, view_seed(path, seed * 1000 + draw))
        )


def _embed_images(
    clip, paths: Sequence[Path], draw: int | None = None, seed: int = 0, batch_size: int = 32
) -> np.ndarray:
    chunks = []
    for i in tqdm(range(0, len(paths), batch_size), desc=f"images {clip.spec}", unit="batch", leave=False):
        pixels = torch.stack([protocol_pixels(clip, p, draw, seed) for p in paths[i : i + batch_size]])
        chunks.append(clip.encode_image_tensor(pixels).cpu().numpy())
    return np.concatenate(chunks)


def _top(scores: np.ndarray, ids: Sequence, k: int) -> list:
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def _flat(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """(dotted path, value) of every float in a nested metrics dict."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        elif isinstance(value, float):
            yield f"{prefix}{key}", value


class Texts:
    """A model's text side, the same for every image draw."""

    def __init__(self, clip, layout: Layout, freeform: Mapping[str, Sequence[str]] | None = None):
        vocab = load_vocabulary()
        self.vocab = [t.text for t in vocab]
        self.captions = clip.encode_text(layout.texts)
        self.vocab_emb = clip.encode_text(self.vocab)
        self.paper_emb = clip.encode_text(list(PAPER_QUERIES))
        self.queries = [class_query(label) for label in layout.labels]
        options = QueryOptions.from_settings(get_settings())  # as the service embeds queries

        def embed(texts: list[str]) -> np.ndarray:
            if not texts:
                return np.zeros((0, clip.dim))
            return embed_queries(clip.encode_text, texts, self.vocab_emb, options)

        self.query_emb = embed(self.queries)
        # free-form queries of the classes the validation images hold: (label, query) rows
        self.freeform = [(lbl, q) for lbl in layout.labels for q in (freeform or {}).get(lbl, ())]
        self.freeform_emb = embed([q for _, q in self.freeform])


def score_images(
    images: np.ndarray, texts: Texts, layout: Layout, boot: M.Bootstrap, seed: int
) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(metrics, bootstrap samples by dotted path, similarity samples for the histogram) of one
    set of image embeddings (one row per unique image)."""
    pair_img, pair_txt = images[layout.pair_image], texts.captions[layout.pair_text]
    out: dict[str, Any] = {}
    samples: dict[str, np.ndarray] = {}
    for direction, (strict, any_caption) in M.pair_stats(pair_img @ pair_txt.T, layout.groups).items():
        out[direction] = {**M.retrieval_metrics(strict), "duplicate_aware": M.retrieval_metrics(any_caption)}
        for mode, stats in (("", strict), ("duplicate_aware.", any_caption)):
            for key, values in M.retrieval_samples(stats, boot, layout.groups).items():
                samples[f"{direction}.{mode}{key}"] = values

    sims = M.similarity_gap(pair_img, pair_txt, layout.groups, seed)
    out["similarity"] = {k: sims[k] for k in ("matched_mean", "shuffled_mean", "gap")}
    matched = boot.mean(sims["matched"], layout.groups)
    shuffled = boot.mean(sims["shuffled"], sims["shuffled_groups"])
    samples.update(
        {
            "similarity.matched_mean": matched,
            "similarity.shuffled_mean": shuffled,
            "similarity.gap": matched - shuffled,
        }
    )

    classes, class_samples = _class_metrics(layout, images[layout.obs_image], texts, boot)
    out.update(classes)
    samples.update(class_samples)
    freeform, freeform_samples = _freeform_metrics(layout, images[layout.obs_image], texts, boot)
    out["freeform"] = freeform
    samples.update(freeform_samples)
    return out, samples, {"matched": sims["matched"], "shuffled": sims["shuffled"]}


def score_model(
    clip,
    layout: Layout,
    seed: int,
    boot: M.Bootstrap,
    eval_augment: int = 0,
    freeform: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metrics with ``ci95`` and, with ``eval_augment``, its block; similarity samples)."""
    texts = Texts(clip, layout, freeform)
    images = _embed_images(clip, layout.images)
    out, samples, sims = score_images(images, texts, layout, boot, seed)
    out = {"spec": clip.spec, "dim": clip.dim, **out}
    out["ci95"] = {key: M.interval(values) for key, values in samples.items()}
    if eval_augment:
        out["eval_augment"] = _augmented(clip, texts, layout, boot, seed, eval_augment)

    obs_emb = images[layout.obs_image]
    out["image_retrieval"] = {  # top 10 observations per paper query: the contact sheet and the judge
        q: _top(obs_emb @ e, layout.obs_ids, 10) for q, e in zip(PAPER_QUERIES, texts.paper_emb, strict=True)
    }
    rng = np.random.default_rng(seed)
    picked = sorted(
        rng.choice(layout.obs_ids, size=min(DESCRIBED_IMAGES, len(layout.obs_ids)), replace=False)
    )
    proposal_emb = texts.captions[layout.proposal_text]
    out["descriptions"] = {}
    for obs in map(int, picked):
        e = images[layout.obs_image[layout.obs_ids.index(obs)]]
        term_s, prop_s = texts.vocab_emb @ e, proposal_emb @ e
        out["descriptions"][str(obs)] = {
            "proposal_pk": layout.obs_proposal[obs],
            "terms": [[texts.vocab[i], float(term_s[i])] for i in np.argsort(-term_s, kind="stable")[:5]],
            "proposals": [
                [layout.proposals[i], float(prop_s[i])] for i in np.argsort(-prop_s, kind="stable")[:3]
            ],
        }
    return out, sims


def _augmented(
    clip, texts: Texts, layout: Layout, boot: M.Bootstrap, seed: int, draws: int
) -> dict[str, Any]:
    """The paper's Fig. 3 protocol: every metric over ``draws`` seeded draws of the training
    augmentation; mean, spread (sample standard deviation) and the interval of the mean."""
    values: dict[str, list[float]] = {}
    resampled: dict[str, list[np.ndarray]] = {}
    for draw in tqdm(range(draws), desc=f"augmented draws {clip.spec}", unit="draw", leave=False):
        images = _embed_images(clip, layout.images, draw, seed)
        points, samples, _ = score_images(images, texts, layout, boot, seed)
        for key, value in _flat(points):
            values.setdefault(key, []).append(value)
        for key, sample in samples.items():
            resampled.setdefault(key, []).append(sample)
    return {
        "draws": draws,
        "seed": seed,
        "mean": {k: float(np.mean(v)) for k, v in values.items()},
        "std": {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()},
        "ci95": {k: M.interval(np.mean(v, axis=0)) for k, v in resampled.items()},
    }


def _class_metrics(
    layout: Layout, obs_emb: np.ndarray, texts: Texts, boot: M.Bootstrap
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Per ground-truth class: its query's precision@10 and nDCG@10 over the validation images; and
    description retrieval: where each labelled image ranks its class among all descriptions."""
    if not layout.labels:
        return {
            "classes": {},
            "class_precision_at_10": None,
            "ndcg_at_10": None,
            "description_retrieval": None,
        }, {}
    obs_groups = np.array([layout.obs_proposal[o] for o in layout.obs_ids])
    scores = obs_emb @ texts.query_emb.T  # observations x classes
    relevant = layout.obs_label[:, None] == np.array(layout.labels, dtype=object)[None, :]

    def per_class(rows: np.ndarray) -> np.ndarray:
        """[P@10 per class..., nDCG@10 per class...] over the observations ``rows``; NaN for a class
        none of whose proposals the rows hold (a resample without it says nothing about it)."""
        pairs = [
            M.precision_and_ndcg(scores[rows, c], relevant[rows, c], 10)
            if relevant[rows, c].any()
            else (np.nan, np.nan)
            for c in range(len(layout.labels))
        ]
        return np.array([p for p, _ in pairs] + [n for _, n in pairs])

    point = per_class(np.arange(len(layout.obs_ids)))
    resampled = boot.apply(per_class, obs_groups)
    n = len(layout.labels)
    classes = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample may hold no class at all
        samples: dict[str, np.ndarray] = {
            "class_precision_at_10": np.nanmean(resampled[:, :n], axis=1),
            "ndcg_at_10": np.nanmean(resampled[:, n:], axis=1),
        }
    for c, (label, query) in enumerate(zip(layout.labels, texts.queries, strict=True)):
        classes[label] = {
            "query": query,
            "n_relevant": int(relevant[:, c].sum()),
            "precision_at_10": float(point[c]),
            "ndcg_at_10": float(point[n + c]),
        }
        samples[f"classes.{label}.precision_at_10"] = resampled[:, c]
        samples[f"classes.{label}.ndcg_at_10"] = resampled[:, n + c]

    extra = [
        i for i, q in enumerate(texts.queries) if q not in texts.vocab
    ]  # class names the vocabulary lacks
    candidates = [*texts.vocab, *(texts.queries[i] for i in extra)]
    candidate_emb = np.concatenate([texts.vocab_emb, texts.query_emb[extra]])
    labelled = np.flatnonzero(layout.obs_label != "")
    position = {label: candidates.index(q) for label, q in zip(layout.labels, texts.queries, strict=True)}
    wanted = np.array([position[label] for label in layout.obs_label[labelled]])
    positives = np.zeros((len(labelled), len(candidates)), bool)
    positives[np.arange(len(labelled)), wanted] = True
    stats = M.RankStats.from_scores(obs_emb[labelled] @ candidate_emb.T, positives)
    ranks = M.retrieval_metrics(stats)
    keys = ("recall_at_1", "recall_at_5", "recall_at_10", "median_rank", "mrr")
    for key, values in M.retrieval_samples(stats, boot, obs_groups[labelled]).items():
        if key in keys:
            samples[f"description_retrieval.{key}"] = values
    return {
        "classes": classes,
        "class_precision_at_10": float(point[:n].mean()),
        "ndcg_at_10": float(point[n:].mean()),
        "description_retrieval": {"candidates": len(candidates), **{k: ranks[k] for k in keys}},
    }, samples


def _freeform_metrics(
    layout: Layout, obs_emb: np.ndarray, texts: Texts, boot: M.Bootstrap
) -> tuple[dict[str, Any] | None, dict[str, np.ndarray]]:
    """Free-form queries: each query's precision@10 for its class over the validation images,
    averaged per class, then over classes (so every class weighs the same); None without queries."""
    if not texts.freeform:
        return None, {}
    obs_groups = np.array([layout.obs_proposal[o] for o in layout.obs_ids])
    scores = obs_emb @ texts.freeform_emb.T  # observations x queries
    query_labels = np.array([lbl for lbl, _ in texts.freeform], dtype=object)
    relevant = layout.obs_label[:, None] == query_labels[None, :]
    labels = list(dict.fromkeys(query_labels))

    def per_query(rows: np.ndarray) -> np.ndarray:
        return np.array(
            [
                M.precision_and_ndcg(scores[rows, q], relevant[rows, q], 10)[0]
                if relevant[rows, q].any()
                else np.nan
                for q in range(len(query_labels))
            ]
        )

    def class_means(values: np.ndarray) -> np.ndarray:
        """(..., queries) -> (..., classes)"""
        return np.stack([np.nanmean(values[..., query_labels == lbl], axis=-1) for lbl in labels], axis=-1)

    point = per_query(np.arange(len(layout.obs_ids)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample may hold no image of a class
        resampled = class_means(boot.apply(per_query, obs_groups))
        by_class = class_means(point)
        samples = {"freeform.precision_at_10": np.nanmean(resampled, axis=1)}
    for c, label in enumerate(labels):
        samples[f"freeform.classes.{label}.precision_at_10"] = resampled[:, c]
    return {
        "n_queries": len(query_labels),
        "precision_at_10": float(np.mean(by_class)),
        "classes": {
            label: {
                "precision_at_10": float(by_class[c]),
                "queries": {q: float(point[i]) for i, (lbl, q) in enumerate(texts.freeform) if lbl == label},
            }
            for c, label in enumerate(labels)
        },
    }, samples


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "model"


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN to null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def evaluate_pairs(
    models: Sequence[ModelSpec],
    pairs: Sequence[Pair],
    out_dir: Path,
    variant: str = "summary",
    seed: int = 0,
    abstracts: Mapping[int, str] | None = None,
    judge: bool = False,
    eval_augment: int = 0,
    resamples: int = RESAMPLES,
    freeform: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Evaluate resolved models on given pairs and write metrics.json, plots and report.html.

    Every model runs in fp32 on the protocol's pixels; ``eval_augment`` adds that many seeded
    draws of the training augmentation; ``resamples`` bootstrap resamples of the proposals give
    each metric's 95% interval; ``freeform`` (label -> queries) adds free-form precision@10.
    """
    from paperclip.model import load_model
    from training.evaluate import panels, plots, report
    from training.evaluate.judge import Judge

    if len({p.proposal_pk for p in pairs}) < 2:
        raise ValueError(
            f"evaluation needs validation pairs from at least 2 proposals, got {len(pairs)} pairs: "
            "import or harvest more data, caption it (paperclip caption) and split it"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    judge_ = Judge(settings) if judge else None
    results: dict[str, dict[str, Any]] = {}
    sims: dict[str, dict[str, np.ndarray]] = {}
    skipped: dict[str, str] = {}
    layout: Layout | None = None
    boot = M.Bootstrap(np.array([p.proposal_pk for p in pairs]), resamples, seed)
    for spec in tqdm(models, desc="models", unit="model"):
        try:
            clip = load_model(spec.spec, device=settings.device, precision="fp32")
        except Exception as exc:
            if spec.label != BASE:
                raise
            log.warning("base model %s could not load, left out: %s", spec.spec, exc)
            skipped[spec.label] = f"{spec.spec}: {type(exc).__name__}: {exc}"[:300]
            continue
        if layout is None:
            layout = Layout(_window_raw(pairs, clip))
        results[spec.label], sims[spec.label] = score_model(clip, layout, seed, boot, eval_augment, freeform)
        verdict = None
        if judge_ is not None:
            retrieved = results[spec.label]["image_retrieval"]
            ranked = {
                q: [(abstracts or {}).get(layout.obs_proposal[o]) or "" for o in ids]
                for q, ids in retrieved.items()
            }
            verdict = judge_.precision(ranked)
            judged = [  # (verdict, proposal) of every judged image: the interval resamples proposals
                (judge_.verdicts[(q, a)], layout.obs_proposal[o])
                for q, ids in retrieved.items()
                for o, a in zip(ids[:10], ranked[q][:10], strict=True)
                if judge_.verdicts[(q, a)] is not None
            ]
            if judged:
                values, groups = np.array([float(v) for v, _ in judged]), np.array([g for _, g in judged])
                results[spec.label]["ci95"]["judge.precision_at_10"] = M.interval(boot.mean(values, groups))
        results[spec.label]["judge"] = verdict
        del clip
    if layout is None:
        raise RuntimeError(f"no model could load: {skipped}")

    cautions = []
    if len(layout.images) < SMALL_VALIDATION:
        cautions.append(
            f"validation holds {len(layout.images)} images (fewer than {SMALL_VALIDATION}): "
            "the intervals are wide and differences between models may be noise"
        )
    metrics = _clean(
        {
            "schema_version": SCHEMA_VERSION,
            "split": SPLIT,
            "variant": variant,
            "seed": seed,
            "protocol": {
                "pixels": PROTOCOL,
                "precision": "fp32",
                "eval_augment": eval_augment,
                "bootstrap": {"unit": "proposal", "resamples": resamples, "seed": seed, "interval": 0.95},
            },
            "warnings": cautions,
            "n_pairs": len(layout.pairs),
            "n_images": len(layout.images),
            "n_proposals": len(layout.proposals),
            "n_labelled": int(sum(bool(lbl) for lbl in layout.obs_label)),
            "queries": list(PAPER_QUERIES),
            "class_queries": {lbl: class_query(lbl) for lbl in layout.labels},
            "freeform_queries": {
                lbl: list(freeform[lbl]) for lbl in layout.labels if lbl in (freeform or {})
            },
            "models": results,
            "skipped": skipped,
        }
    )
    figures = [
        ("Top-k% retrieval accuracy", plots.topk_curves(metrics["models"], out_dir / "topk_curves.png")),
        (
            "Cosine similarity: matched vs shuffled",
            plots.similarity_histograms(sims, out_dir / "similarity.png"),
        ),
    ]
    if layout.labels:
        figures.append(
            ("Class queries", plots.class_precision(metrics["models"], out_dir / "class_precision.png"))
        )
    captions = {pk: layout.texts[t] for pk, t in zip(layout.proposals, layout.proposal_text, strict=True)}
    for label, m in metrics["models"].items():
        slug = _slug(label)
        sheet = panels.contact_sheet(
            label, m["image_retrieval"], layout.obs_path, out_dir / f"retrieval_{slug}.png"
        )
        described = {int(o): d for o, d in m["descriptions"].items()}
        panel = panels.description_panel(
            label,
            described,
            layout.obs_path,
            captions,
            layout.obs_proposal,
            out_dir / f"descriptions_{slug}.png",
        )
        figures += [(f"Image retrieval: {label}", sheet), (f"Description retrieval: {label}", panel)]
    atomic_write(out_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True).encode())
    atomic_write(out_dir / "report.html", report.render(metrics, figures).encode())
    return metrics


def evaluate(
    models: list[str],
    out_dir: Path,
    variant: str = "summary",
    seed: int = 0,
    *,
    judge: bool | None = None,
    eval_augment: int = 0,
    url: str | None = None,
    freeform: Path | None = None,
) -> dict[str, Any]:
    """Compare ``base`` (always, when it loads), checkpoint names and folders on the validation split.

    ``judge`` None asks the LLM judge when an endpoint is configured. The split is made with
    ``seed`` only when none exists yet. Each checkpoint row keeps its metrics under
    ``metrics["evaluation"][variant]``. ``freeform``: a JSON file of free-form queries per label
    (``load_freeform``), reported beside the class queries.
    """
    from training.evaluate.judge import configured

    queries = load_freeform(freeform) if freeform is not None else None

    with session_scope(url) as session:
        specs = resolve_models(session, models)
        if not session.scalar(select(func.count()).select_from(Split)):
            ensure_split(session, seed, TrainConfig.model_fields["val_fraction"].default)
        pairs = load_pairs(session, SPLIT, variant)
        pks = {p.proposal_pk for p in pairs}
        rows = session.execute(select(Proposal.id, Proposal.abstract).where(Proposal.id.in_(pks)))
        abstracts = {pk: abstract for pk, abstract in rows}
    metrics = evaluate_pairs(
        specs,
        pairs,
        Path(out_dir),
        variant,
        seed,
        abstracts,
        configured() if judge is None else judge,
        eval_augment,
        freeform=queries,
    )
    with session_scope(url) as session:
        for spec in specs:
            if spec.checkpoint_pk is None or spec.label not in metrics["models"]:
                continue
            row = session.get(Checkpoint, spec.checkpoint_pk)
            stored = dict(row.metrics or {})
            stored["evaluation"] = {
                **stored.get("evaluation", {}),
                variant: {"seed": seed, "n_pairs": metrics["n_pairs"], **metrics["models"][spec.label]},
            }
            row.metrics = stored
    return metrics
