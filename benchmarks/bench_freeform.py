"""Free-form vs vocabulary-term retrieval of lite recipes, on a demo archive's cached features.

Trains each recipe variant on the demo home's tower features (cached by the demo's own training,
so a run is seconds of projection steps) and scores, on the held-out proposals' centre crops (the
evaluation's protocol), class precision@10 for the vocabulary-term class queries and for the
free-form set (tests/data/freeform/queries.json), as ``paperclip evaluate`` computes them. Each
run with a trained text projection is also scored with that projection interpolated toward its
pretrained (semi-orthogonal) start, WiSE-FT style, on the text side only.

    python benchmarks/bench_freeform.py --home ~/.paperclip/demo            # the default sweep
    python benchmarks/bench_freeform.py --home ... --run name:mode=image-projection,variant=varied
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

SWEEP = {  # name: overrides of the lite recipe
    "summary/frozen": {"variant": "summary", "mode": "frozen"},
    "both/frozen": {"variant": "both", "mode": "frozen"},
    "varied/frozen": {"variant": "varied", "mode": "frozen"},
    "summary/image-projection": {"variant": "summary", "mode": "image-projection"},
    "both/image-projection": {"variant": "both", "mode": "image-projection"},
    "varied/image-projection": {"variant": "varied", "mode": "image-projection"},
}
ALPHAS = (0.5, 0.25)  # text projection: alpha x trained + (1 - alpha) x pretrained


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_run(spec: str) -> tuple[str, dict]:
    name, _, fields = spec.partition(":")
    return name, {k: _value(v) for k, v in (f.split("=", 1) for f in fields.split(",") if f)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True, help="a demo home whose train step has run")
    parser.add_argument(
        "--run", action="append", default=[], help="name:field=value,... (default: the sweep)"
    )
    parser.add_argument("--queries", type=Path, default=None, help="free-form queries JSON")
    args = parser.parse_args()
    os.environ["PAPERCLIP_HOME"] = str(args.home.expanduser().resolve())

    import numpy as np
    import torch
    import torch.nn.functional as F

    from paperclip.db import session_scope
    from paperclip.model import load_model, projection_slots
    from paperclip.storage import get_paths
    from paperclip_cli.demo import FULL, SEED
    from training import train as training
    from training.augment import PaperTransform
    from training.config import TrainConfig
    from training.data import ensure_split, load_pairs
    from training.evaluate import metrics as M
    from training.evaluate.queries import DEMO_FREEFORM, class_query, load_freeform
    from training.features import EVAL_VIEW, FeatureCache

    def load_then_one_thread(*args, **kwargs):
        """Build the model with the machine's threads (its semi-orthogonal projections, hence its
        feature-cache key, depend on them), then train the projections on one: tiny steps only
        contend on a shared 2-core machine."""
        torch.set_num_threads(threads)
        clip = load_model(*args, **kwargs)
        torch.set_num_threads(1)
        return clip

    threads = torch.get_num_threads()
    training.load_model = load_then_one_thread

    base = load_model("lite", device="cpu", precision="fp32")
    cache = FeatureCache(base, PaperTransform.for_model(base.config), get_paths().cache)
    with session_scope() as session:
        ensure_split(session, SEED, FULL.val_fraction)
        first = {}
        for p in load_pairs(session, "val", "summary"):
            first.setdefault(p.observation_id, p)
    obs = sorted(first)
    labels = np.array([first[o].label for o in obs], dtype=object)
    images = torch.from_numpy(cache.images([first[o].image_path for o in obs], [EVAL_VIEW], "val")[:, 0])
    classes = sorted(set(labels))
    freeform = load_freeform(args.queries or DEMO_FREEFORM)
    asked = [(c, q) for c in classes for q in freeform.get(c, ())]
    vocab_feats = torch.from_numpy(cache.texts([class_query(c) for c in classes]))
    free_feats = torch.from_numpy(cache.texts([q for _, q in asked]))
    pretrained_text = projection_slots(base.model)[1]
    pretrained_text = getattr(*pretrained_text).weight.detach().clone()

    def p10(image_emb, text_emb, query_labels) -> float:
        per_class: dict[str, list[float]] = {}
        for j, c in enumerate(query_labels):
            per_class.setdefault(c, []).append(M.precision_at_k(image_emb @ text_emb[j], labels == c, 10))
        return float(np.mean([np.mean(v) for v in per_class.values()]))

    def score(model, text_weight=None) -> tuple[float, float]:
        (io, ia), (to, ta) = projection_slots(model)
        text = getattr(to, ta)
        weight = text.weight if text_weight is None else text_weight
        with torch.no_grad():
            img = F.normalize(getattr(io, ia)(images), dim=-1).numpy()
            vocab = F.normalize(F.linear(vocab_feats, weight, text.bias), dim=-1).numpy()
            free = F.normalize(F.linear(free_feats, weight, text.bias), dim=-1).numpy()
        return p10(img, vocab, classes), p10(img, free, [c for c, _ in asked])

    runs = dict(parse_run(r) for r in args.run) or SWEEP
    print(f"{len(obs)} held-out images, {len(classes)} classes, {len(asked)} free-form queries")
    print(f"{'run':<34}{'vocab P@10':>12}{'free-form P@10':>16}{'seconds':>9}")
    for name, overrides in runs.items():
        started = time.perf_counter()
        config = TrainConfig.from_recipe(
            "lite",
            name="bench-" + name.replace("/", "-"),
            split_seed=SEED,
            val_fraction=FULL.val_fraction,
            **overrides,
        )
        model = load_model(training.train(config), device="cpu", precision="fp32").model
        seconds = time.perf_counter() - started
        vocab, free = score(model)
        print(f"{name:<34}{vocab:>12.3f}{free:>16.3f}{seconds:>9.0f}", flush=True)
        if config.mode == "frozen":
            trained = getattr(*projection_slots(model)[1]).weight.detach()
            for alpha in ALPHAS:
                vocab, free = score(model, torch.lerp(pretrained_text, trained, alpha))
                print(f"{name + f' text alpha {alpha:g}':<34}{vocab:>12.3f}{free:>16.3f}", flush=True)


if __name__ == "__main__":
    main()
