"""Evaluation metrics at validation-set scale: tie-exact ranks vs a naive argsort baseline.

``RankStats`` scores every query from counts (above / tied) instead of sorting each row; the
baseline is the usual double argsort, which breaks ties by column order. The figures show the
speed ratio (naive / exact), that both agree where the tie order is unbiased (rows in random
order), the duplicate-aware AUC beside the strict one, and a collapsed model scoring chance.
Unlike the baseline, the exact figures do not depend on the order the pairs are listed in.

    python benchmarks/bench_evaluate.py --sizes 1000 3000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from training.evaluate import metrics as M


def naive_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of the diagonal per row, ties broken by column order (the common shortcut)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.argmax(order == np.arange(len(scores))[:, None], axis=1) + 1


def naive_auc(ranks: np.ndarray) -> float:
    n = len(ranks)
    return float(np.mean([(ranks <= M.percent_cutoff(k, n)).mean() for k in M.PERCENTS]))


def data(n: int, per_caption: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images near their proposal's caption; ``per_caption`` images share one caption."""
    rng = np.random.default_rng(seed)
    groups = np.arange(n) // per_caption
    captions = rng.standard_normal((groups.max() + 1, 64)).astype(np.float32)
    images = captions[groups] + 5.0 * rng.standard_normal((n, 64)).astype(np.float32)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    return unit(images) @ unit(captions[groups]).T, groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--per-caption", type=int, default=8, help="images sharing one caption")
    args = parser.parse_args()
    print(f"{'N':>6} {'exact s':>8} {'naive s':>8} {'ratio':>6} | {'AUC exact':>9} {'naive':>6} "
          f"{'any-caption':>11} | {'collapsed exact':>15} {'naive':>6}")  # fmt: skip
    for n in args.sizes:
        scores, groups = data(n, args.per_caption)
        strict, any_caption = M.positive_masks(groups, groups)
        t = time.perf_counter()
        exact = M.retrieval_metrics(M.RankStats.from_scores(scores, strict))
        t_exact = time.perf_counter() - t
        t = time.perf_counter()
        naive = naive_auc(naive_ranks(scores))
        t_naive = time.perf_counter() - t
        dup = M.retrieval_metrics(M.RankStats.from_scores(scores, any_caption))["auc"]
        flat = np.ones((n, n), np.float32)
        collapsed = M.retrieval_metrics(M.RankStats.from_scores(flat, strict))["auc"]
        print(f"{n:>6} {t_exact:>8.2f} {t_naive:>8.2f} {t_naive / t_exact:>6.1f} | {exact['auc']:>9.3f} "
              f"{naive:>6.3f} {dup:>11.3f} | {collapsed:>15.3f} {naive_auc(naive_ranks(flat)):>6.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
