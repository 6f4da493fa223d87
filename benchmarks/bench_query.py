"""Query-side help and hub-free description retrieval, measured side by side on a finished demo home.

Text -> image (``paperclip.query_embedding``): class precision@10 of each query option over the
demo archive's whole active index (relevant: an observation of the query's class), and over the
held-out split alone, for

- ``class``: one query per demo class, the evaluation's own (``training.evaluate.queries``);
- ``freeform``: ``tests/data/freeform/queries.json``, six plain-language queries per class.

Options: baseline (the query as typed), prompt ensembling, vocabulary expansion, both; with how
many class, free-form and unseen random-string queries the weak-match rule flags under each.

Image -> description (``paperclip.description_bank``), bare cosine vs CSLS (10 nearest images)
vs the default (cosine less the term's mean over the archive): over every labelled image of the
index, class hit@5 and hit@1 (the evaluation's class term / any term at least half of the class's
proposal summaries name) and the most common top-1 answer's share; the same share on the real
previews of ``tests/data/hst-mini``; and whether constant grey, black, grey-noise and colour-noise
uploads come back weak through the service's own describe path.

    python -m benchmarks.bench_query [--home ~/.paperclip/demo]
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FREEFORM = REPO / "tests" / "data" / "freeform" / "queries.json"
HST_MINI = REPO / "tests" / "data" / "hst-mini" / "images"
K = 10


def options() -> dict[str, object]:
    from paperclip.query_embedding import PROMPTS, QueryOptions

    return {
        "baseline (as typed)": QueryOptions(),
        "prompts": QueryOptions(PROMPTS),
        "expand 1 x0.4": QueryOptions(expand_terms=1, expand_weight=0.4),
        "expand 3 x0.3 (default)": QueryOptions(expand_terms=3, expand_weight=0.3),
        "prompts + expand 1 x0.4": QueryOptions(PROMPTS, 1, 0.4),
        "prompts + expand 3 x0.3": QueryOptions(PROMPTS, 3, 0.3),
    }


def summary_terms(db_url: str, vocab: list[str], share: float = 0.5) -> dict[str, set[int]]:
    """Per class, the vocabulary terms named in at least ``share`` of its proposals' summaries:
    what the demo's captions teach the model the class is called."""
    from sqlalchemy import select

    from paperclip.db import session_scope
    from paperclip.schema import Caption, Observation

    with session_scope(db_url) as s:
        rows = s.execute(
            select(Observation.label, Caption.proposal_pk, Caption.text)
            .join(Caption, Caption.proposal_pk == Observation.proposal_pk)
            .where(Caption.kind == "summary", Caption.status == "ok", Observation.label.is_not(None))
            .distinct()
        ).all()
    proposals: Counter = Counter()
    named: dict[str, Counter] = {}
    for label, _, text in rows:
        proposals[label] += 1
        for term in {t.strip() for t in (text or "").replace(";", ",").split(",")}:
            if term in vocab:
                named.setdefault(label, Counter())[vocab.index(term)] += 1
    return {
        label: {i for i, n in named.get(label, Counter()).items() if n >= share * proposals[label]}
        for label in proposals
    }


def labels_of(db_url: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per index row: the observation's class ("" if none) and whether it is held out (val split)."""
    from sqlalchemy import select

    from paperclip.db import session_scope
    from paperclip.schema import Observation, Split

    with session_scope(db_url) as s:
        rows = s.execute(
            select(Observation.id, Observation.label, Split.split).outerjoin(
                Split, Split.proposal_pk == Observation.proposal_pk
            )
        ).all()
    label = {int(i): lbl or "" for i, lbl, _ in rows}
    val = {int(i): sp == "val" for i, _, sp in rows}
    return (
        np.array([label.get(int(i), "") for i in ids], dtype=object),
        np.array([val.get(int(i), False) for i in ids]),
    )


def precision(scores: np.ndarray, relevant: np.ndarray, k: int = K) -> float:
    top = np.argsort(-scores, kind="stable")[:k]
    return float(relevant[top].mean())


def query_table(model, loaded, obs_label: np.ndarray, held_out: np.ndarray) -> list[tuple]:
    """Per option: P@10 whole / held-out for class and free-form queries, and how many of each
    set (and of 32 unseen random strings) the weak-match rule flags, its null model fitted on
    probes embedded the same way (as the service does)."""
    from app.calibration import POOL, NullModel, null_texts
    from paperclip.query_embedding import embed_queries
    from training.evaluate.queries import class_query

    labels = sorted({x for x in obs_label if x})
    by_query = {class_query(lbl): lbl for lbl in labels}
    sets = {"class": [(lbl, class_query(lbl)) for lbl in labels]}
    data = json.loads(FREEFORM.read_text())["queries"]
    sets["freeform"] = [(by_query.get(key, key), q) for key, qs in data.items() for q in qs]
    sets["random"] = [("", t) for t in null_texts(32, seed=1)]
    vectors = np.asarray(loaded.vectors, np.float32)
    rows = []
    for name, opt in options().items():

        def embed(texts: list[str], opt=opt) -> np.ndarray:
            return embed_queries(model.encode_text, texts, loaded.vocab_vectors, opt)

        null = NullModel.fit(vectors, embed(null_texts()))
        figures, weak = [], []
        for set_name, queries in sets.items():
            emb = embed([q for _, q in queries])
            full, val, flagged = [], [], 0
            for (label, _), q in zip(queries, emb, strict=True):
                s = vectors @ q
                top = np.argsort(-s, kind="stable")[:POOL]
                flagged += null.weak(null.strength(s[top], top))
                full.append(precision(s, obs_label == label))
                val.append(precision(np.where(held_out, s, -np.inf), obs_label == label))
            if set_name != "random":
                figures += [np.mean(full), np.mean(val)]
            weak.append(f"{flagged}/{len(queries)}")
        rows.append((name, *figures, " ".join(weak)))
    return rows


def describe_figures(scores: np.ndarray, wanted: np.ndarray | None, vocab: list[str]) -> dict:
    """Class hit@k where ``wanted`` marks each image's class terms (images x terms), and the
    most common top-1 answer."""
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = Counter(vocab[i] for i in order[:, 0])
    term, count = top1.most_common(1)[0]
    out = {"hub": term, "hub_share": count / len(scores), "distinct_top1": len(top1)}
    if wanted is not None:
        out["hit_at_5"] = float(np.take_along_axis(wanted, order[:, :5], 1).any(axis=1).mean())
        out["hit_at_1"] = float(np.take_along_axis(wanted, order[:, :1], 1).any(axis=1).mean())
    return out


def probe_images() -> dict[str, object]:
    from PIL import Image

    rng = np.random.default_rng(12345)  # not the calibration's own probes (seed 0)
    return {
        "constant grey": Image.new("RGB", (512, 512), (128, 128, 128)),
        "black": Image.new("RGB", (512, 512), (0, 0, 0)),
        "grey noise": Image.fromarray(rng.integers(0, 256, (512, 512), dtype=np.uint8)).convert("RGB"),
        "colour noise": Image.fromarray(rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path("~/.paperclip/demo"))
    args = ap.parse_args()
    home = args.home.expanduser().resolve()
    os.environ["PAPERCLIP_HOME"] = str(home)
    from PIL import Image

    from app.api.search import is_meaningless
    from app.metrics import Metrics
    from app.retrieval import describe_vector
    from app.runtime import Runtime
    from paperclip.config import Settings
    from paperclip.description_bank import normalise, term_hubness
    from training.evaluate.queries import class_query

    settings = Settings(home=home)
    rt = Runtime(settings, Metrics())  # the service's own loading, calibration and describe path
    rt.refresh()
    loaded = rt.current()
    model, version_id, spec = loaded.model, loaded.version_id, loaded.files.manifest["model_spec"]
    obs_label, held_out = labels_of(settings.db_url, loaded.files.ids)
    print(f"demo home {home}: index v{version_id}, {loaded.files.count} vectors, model {spec}")

    print(f"\nText -> image, class precision@{K} (whole index / held-out split only)")
    print(
        f"{'option':<26} {'class':>7} {'(val)':>7} {'freeform':>9} {'(val)':>7}  weak: class freeform random"
    )
    for name, c, cv, f, fv, weak in query_table(model, loaded, obs_label, held_out):
        print(f"{name:<26} {c:7.3f} {cv:7.3f} {f:9.3f} {fv:7.3f}  {weak}")

    vocab = [t["text"] for t in loaded.files.vocab]
    labelled = np.flatnonzero(obs_label != "")
    strict = np.zeros((len(labelled), len(vocab)), bool)  # the evaluation's one term per class
    strict[np.arange(len(labelled)), [vocab.index(class_query(lbl)) for lbl in obs_label[labelled]]] = True
    named = summary_terms(settings.db_url, vocab)
    generous = strict.copy()  # or any term its class's summaries mostly name
    for r, lbl in enumerate(obs_label[labelled]):
        generous[r, list(named.get(lbl, ()))] = True
    cos = np.asarray(loaded.vectors[labelled], np.float32) @ loaded.vocab_vectors.T
    real = sorted(HST_MINI.glob("*.png"))
    real_cos = (
        np.stack([rt.embed_image(loaded, Image.open(p).convert("RGB")) for p in real])
        @ loaded.vocab_vectors.T
    )
    class_share = max(Counter(obs_label[labelled]).values()) / len(labelled)
    print(
        f"\nImage -> description: {len(labelled)} demo images (largest class {class_share:.3f} of them), "
        f"{len(real)} real hst-mini previews; hit@k: class term / any term most of the class's summaries name"
    )
    print(
        f"{'ranking':<22} {'hit@5':>11} {'hit@1':>11} {'top-1 share':>12}  most common top-1 | real previews"
    )
    rankings = {
        "bare cosine": None,
        "CSLS k=10": term_hubness(loaded.vectors, loaded.vocab_vectors, k=10),
        "bank mean (default)": term_hubness(loaded.vectors, loaded.vocab_vectors),
    }
    for name, hub in rankings.items():
        demo = describe_figures(normalise(cos, hub), strict, vocab)
        loose = describe_figures(normalise(cos, hub), generous, vocab)
        hst = describe_figures(normalise(real_cos, hub), None, vocab)
        print(
            f"{name:<22} {demo['hit_at_5']:.3f}/{loose['hit_at_5']:.3f} {demo['hit_at_1']:.3f}/{loose['hit_at_1']:.3f}"
            f" {demo['hub_share']:12.3f}  {demo['hub']!r} ({demo['distinct_top1']} distinct)"
            f" | {hst['hub_share']:.3f} {hst['hub']!r} ({hst['distinct_top1']} distinct)"
        )
    print("\nMeaningless images, through the service's describe (weak: flagged as no match)")
    for name, image in probe_images().items():
        vec = rt.embed_image(loaded, image)
        result = describe_vector(rt, loaded, vec, 3, 0, meaningless=is_meaningless(image))
        print(f"{name:<14} weak={result.weak_match}  top-3 {[d.text for d in result.descriptions]}")


if __name__ == "__main__":
    main()
