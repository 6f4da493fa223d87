"""Ranking quality of ``mode=vector|text|hybrid`` side by side, on the demo's held-out proposals.

Runs the service (its own process, over loopback) on a finished demo home and asks
``GET /api/v1/search`` every held-out query in each mode. Only observations of the validation
split (proposals the model never trained on) count: each ranking is cut to them before its top
10 is scored, relevant meaning the observation's ground-truth class is the query's class.

Query sets:
- ``class``: one query per demo class, the evaluation's own (``training.evaluate.queries``);
- ``freeform``: ``tests/data/freeform/queries.json`` : six queries per class in an
  astronomer's words that avoid the class's vocabulary phrase (so full-text search gets no free
  ride from the synthetic abstracts' wording).

Prints P@10 and nDCG@10 per mode and query set, and the per-query latency p50 measured in the same run.

    python -m benchmarks.bench_hybrid [--home ~/.paperclip/demo]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODES = ("vector", "text", "hybrid")
DEPTH = 200  # results fetched per query, then cut to held-out observations


def held_out(db_url: str) -> dict[int, str]:
    """Observation id -> ground-truth class, for the validation split's labelled observations."""
    from sqlalchemy import select

    from paperclip.db import session_scope
    from paperclip.schema import Observation, Split

    with session_scope(db_url) as s:
        rows = s.execute(
            select(Observation.id, Observation.label)
            .join(Split, Split.proposal_pk == Observation.proposal_pk)
            .where(Split.split == "val", Observation.label.is_not(None))
        ).all()
    return {int(i): str(label) for i, label in rows}


def query_sets(labels: set[str]) -> dict[str, list[tuple[str, str]]]:
    from training.evaluate.queries import class_query

    sets = {"class": [(label, class_query(label)) for label in sorted(labels)]}
    freeform = REPO / "tests" / "data" / "freeform" / "queries.json"
    if freeform.is_file():
        data = json.loads(freeform.read_text())["queries"]
        by_query = {class_query(label): label for label in labels}
        sets["freeform"] = [
            (by_query.get(key, key), q)
            for key, qs in data.items()
            for q in qs
            if by_query.get(key, key) in labels
        ]
    return sets


def precision_ndcg(ranked_labels: list[str], label: str, n_relevant: int, k: int = 10) -> tuple[float, float]:
    gains = [1.0 if x == label else 0.0 for x in ranked_labels[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, n_relevant)))
    return sum(gains) / k, dcg / ideal if ideal else 0.0


def run(base: str, truth: dict[int, str], sets: dict[str, list[tuple[str, str]]]) -> dict:
    import httpx

    per_class = {label: sum(1 for v in truth.values() if v == label) for label in set(truth.values())}
    out: dict = {}
    with httpx.Client(timeout=120) as client:
        for name, queries in sets.items():
            for mode in MODES:
                p, n, latency = [], [], []
                for label, q in queries:
                    t0 = time.perf_counter()
                    r = client.get(
                        f"{base}/api/v1/search", params={"q": q, "mode": mode, "k": DEPTH, "group": "none"}
                    )
                    latency.append(time.perf_counter() - t0)
                    r.raise_for_status()
                    ranked = [h["observation"]["id"] for h in r.json()["results"]]
                    kept = [truth[i] for i in ranked if i in truth]
                    pk, nk = precision_ndcg(kept, label, per_class[label])
                    p.append(pk)
                    n.append(nk)
                out[(name, mode)] = {
                    "queries": len(queries),
                    "p_at_10": float(np.mean(p)),
                    "ndcg_at_10": float(np.mean(n)),
                    "p50_ms": 1000 * float(np.median(latency)),
                }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("~/.paperclip/demo").expanduser())
    parser.add_argument("--database-url", default=None, help="default: the demo home's SQLite file")
    args = parser.parse_args()
    from benchmarks.stress.service import start_server

    home = args.home.expanduser().resolve()
    url = args.database_url or f"sqlite:///{home / 'paperclip.db'}"
    truth = held_out(url)
    if not truth:
        raise SystemExit(
            f"no labelled validation observations in {url}: run `paperclip demo --no-serve` first"
        )
    sets = query_sets(set(truth.values()))
    server = start_server(home, url)
    try:
        results = run(server.base, truth, sets)
    finally:
        server.stop()
    print(f"held-out observations: {len(truth)} in {len(set(truth.values()))} classes; depth {DEPTH}")
    print(f"{'queries':>10} {'n':>4} " + " ".join(f"{m + ' P@10':>12} {m + ' nDCG':>12}" for m in MODES))
    for name in sets:
        row = [results[(name, m)] for m in MODES]
        print(
            f"{name:>10} {row[0]['queries']:>4} "
            + " ".join(f"{r['p_at_10']:>12.3f} {r['ndcg_at_10']:>12.3f}" for r in row)
        )
    print(
        "p50 ms per query: " + ", ".join(f"{m} {results[(n, m)]['p50_ms']:.0f}" for n in sets for m in MODES)
    )
    best = max(MODES, key=lambda m: np.mean([results[(n, m)]["ndcg_at_10"] for n in sets]))
    print(f"best mean nDCG@10: {best}")


if __name__ == "__main__":
    main()
