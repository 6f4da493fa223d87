"""``evaluate()``: every model on the same validation pairs, then one JSON, plots and an HTML report.

Reading top to bottom: load the split's pairs, then per model embed the unique images and
captions once, score both directions, the class queries and the panels; then the optional LLM
judge, the plots, the report, and the metrics onto each checkpoint row.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from tqdm import tqdm

from paperclip.config import get_settings
from paperclip.db import session_scope
from paperclip.schema import Checkpoint, Proposal, Split
from paperclip.storage import atomic_write
from paperclip.vocabulary import load_vocabulary
from training.config import TrainConfig
from training.data import Pair, ensure_split, fit_caption, load_pairs, token_fits
from training.evaluate import metrics as M
from training.evaluate.models import BASE, ModelSpec, resolve_models
from training.evaluate.queries import PAPER_QUERIES, class_query

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SPLIT = "val"
DESCRIBED_IMAGES = 6


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


def _embed_images(clip, paths: Sequence[Path], batch_size: int = 32) -> np.ndarray:
    from PIL import Image

    chunks = []
    for i in tqdm(range(0, len(paths), batch_size), desc=f"images {clip.spec}", unit="batch", leave=False):
        batch = []
        for path in paths[i : i + batch_size]:
            with Image.open(path) as im:
                batch.append(im.convert("RGB"))
        chunks.append(clip.encode_images(batch, batch_size=batch_size))
    return np.concatenate(chunks)


def _top(scores: np.ndarray, ids: Sequence, k: int) -> list:
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def score_model(clip, layout: Layout, seed: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metrics, similarity samples for the histogram)."""
    images = _embed_images(clip, layout.images)
    texts = clip.encode_text(layout.texts)
    vocab = load_vocabulary()
    vocab_emb = clip.encode_text([t.text for t in vocab])
    paper_emb = clip.encode_text(list(PAPER_QUERIES))

    pair_img, pair_txt = images[layout.pair_image], texts[layout.pair_text]
    scores = pair_img @ pair_txt.T
    strict, any_caption = M.positive_masks(layout.groups, layout.groups)
    out: dict[str, Any] = {"spec": clip.spec, "dim": clip.dim}
    for direction, s in (("image_to_text", scores), ("text_to_image", scores.T)):
        block = M.retrieval_metrics(M.RankStats.from_scores(s, strict))
        block["duplicate_aware"] = M.retrieval_metrics(M.RankStats.from_scores(s, any_caption))
        out[direction] = block

    sims = M.similarity_gap(pair_img, pair_txt, layout.groups, seed)
    out["similarity"] = {k: v for k, v in sims.items() if k not in ("matched", "shuffled")}

    obs_emb = images[layout.obs_image]
    out.update(_class_metrics(clip, layout, obs_emb, vocab_emb, [t.text for t in vocab]))

    out["image_retrieval"] = {  # top 10 observations per paper query: the contact sheet and the judge
        q: _top(obs_emb @ e, layout.obs_ids, 10) for q, e in zip(PAPER_QUERIES, paper_emb, strict=True)
    }
    rng = np.random.default_rng(seed)
    picked = sorted(
        rng.choice(layout.obs_ids, size=min(DESCRIBED_IMAGES, len(layout.obs_ids)), replace=False)
    )
    proposal_emb = texts[layout.proposal_text]
    out["descriptions"] = {}
    for obs in map(int, picked):
        e = images[layout.obs_image[layout.obs_ids.index(obs)]]
        term_s, prop_s = vocab_emb @ e, proposal_emb @ e
        out["descriptions"][str(obs)] = {
            "proposal_pk": layout.obs_proposal[obs],
            "terms": [[vocab[i].text, float(term_s[i])] for i in np.argsort(-term_s, kind="stable")[:5]],
            "proposals": [
                [layout.proposals[i], float(prop_s[i])] for i in np.argsort(-prop_s, kind="stable")[:3]
            ],
        }
    return out, {"matched": sims["matched"], "shuffled": sims["shuffled"]}


def _class_metrics(
    clip, layout: Layout, obs_emb: np.ndarray, vocab_emb: np.ndarray, vocab: list[str]
) -> dict[str, Any]:
    """Per ground-truth class: its query's precision@10 and nDCG@10 over the validation images; and
    description retrieval: where each labelled image ranks its class among all descriptions."""
    if not layout.labels:
        return {
            "classes": {},
            "class_precision_at_10": None,
            "ndcg_at_10": None,
            "description_retrieval": None,
        }
    queries = [class_query(label) for label in layout.labels]
    query_emb = clip.encode_text(queries)
    classes = {}
    for label, query, q in zip(layout.labels, queries, query_emb, strict=True):
        s, relevant = obs_emb @ q, layout.obs_label == label
        classes[label] = {
            "query": query,
            "n_relevant": int(relevant.sum()),
            "precision_at_10": M.precision_at_k(s, relevant, 10),
            "ndcg_at_10": M.ndcg_at_k(s, relevant, 10),
        }
    extra = [i for i, q in enumerate(queries) if q not in vocab]  # class names the vocabulary lacks
    candidates = [*vocab, *(queries[i] for i in extra)]
    candidate_emb = np.concatenate([vocab_emb, query_emb[extra]])
    labelled = np.flatnonzero(layout.obs_label != "")
    position = {label: candidates.index(q) for label, q in zip(layout.labels, queries, strict=True)}
    wanted = np.array([position[label] for label in layout.obs_label[labelled]])
    positives = np.zeros((len(labelled), len(candidates)), bool)
    positives[np.arange(len(labelled)), wanted] = True
    ranks = M.retrieval_metrics(M.RankStats.from_scores(obs_emb[labelled] @ candidate_emb.T, positives))
    return {
        "classes": classes,
        "class_precision_at_10": float(np.mean([c["precision_at_10"] for c in classes.values()])),
        "ndcg_at_10": float(np.mean([c["ndcg_at_10"] for c in classes.values()])),
        "description_retrieval": {
            "candidates": len(candidates),
            **{k: ranks[k] for k in ("recall_at_1", "recall_at_5", "recall_at_10", "median_rank", "mrr")},
        },
    }


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
) -> dict[str, Any]:
    """Evaluate resolved models on given pairs and write metrics.json, plots and report.html."""
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
    for spec in tqdm(models, desc="models", unit="model"):
        try:
            clip = load_model(spec.spec, device=settings.device)
        except Exception as exc:
            if spec.label != BASE:
                raise
            log.warning("base model %s could not load, left out: %s", spec.spec, exc)
            skipped[spec.label] = f"{spec.spec}: {type(exc).__name__}: {exc}"[:300]
            continue
        if layout is None:
            layout = Layout(_window_raw(pairs, clip))
        results[spec.label], sims[spec.label] = score_model(clip, layout, seed)
        verdict = None
        if judge_ is not None:
            ranked = {
                q: [(abstracts or {}).get(layout.obs_proposal[o]) or "" for o in ids]
                for q, ids in results[spec.label]["image_retrieval"].items()
            }
            verdict = judge_.precision(ranked)
        results[spec.label]["judge"] = verdict
        del clip
    if layout is None:
        raise RuntimeError(f"no model could load: {skipped}")

    metrics = _clean(
        {
            "schema_version": SCHEMA_VERSION,
            "split": SPLIT,
            "variant": variant,
            "seed": seed,
            "n_pairs": len(layout.pairs),
            "n_images": len(layout.images),
            "n_proposals": len(layout.proposals),
            "n_labelled": int(sum(bool(lbl) for lbl in layout.obs_label)),
            "queries": list(PAPER_QUERIES),
            "class_queries": {lbl: class_query(lbl) for lbl in layout.labels},
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
    url: str | None = None,
) -> dict[str, Any]:
    """Compare ``base`` (always, when it loads), checkpoint names and folders on the validation split.

    ``judge`` None asks the LLM judge when an endpoint is configured. The split is made with
    ``seed`` only when none exists yet. Each checkpoint row keeps its metrics under
    ``metrics["evaluation"][variant]``.
    """
    from training.evaluate.judge import configured

    with session_scope(url) as session:
        specs = resolve_models(session, models)
        if not session.scalar(select(func.count()).select_from(Split)):
            ensure_split(session, seed, TrainConfig.model_fields["val_fraction"].default)
        pairs = load_pairs(session, SPLIT, variant)
        pks = {p.proposal_pk for p in pairs}
        rows = session.execute(select(Proposal.id, Proposal.abstract).where(Proposal.id.in_(pks)))
        abstracts = {pk: abstract for pk, abstract in rows}
    metrics = evaluate_pairs(
        specs, pairs, Path(out_dir), variant, seed, abstracts, configured() if judge is None else judge
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
