"""Evaluation: the paper's top-k% accuracy and the field's retrieval metrics, checkpoints side by side.

``evaluate(models, out_dir, variant, seed)`` writes ``metrics.json`` (schema_version 1):
run fields (split, variant, seed, n_pairs, n_images, n_proposals, n_labelled, queries,
class_queries, skipped) and ``models.<label>`` with ``image_to_text`` / ``text_to_image``
(top_k_accuracy {"1".."100"}, auc, recall_at_1/5/10, median_rank, mrr, and the same under
duplicate_aware), ``similarity`` (matched_mean, shuffled_mean, gap), ``classes``,
``class_precision_at_10``, ``freeform`` (with ``--freeform``: n_queries, precision_at_10 and
per class, else null; the queries under the run field ``freeform_queries``), ``ndcg_at_10``,
``description_retrieval`` (null without labels),
``image_retrieval`` (top 10 observation ids per paper query), ``descriptions`` and ``judge``
(null unless an LLM endpoint judged). Each checkpoint row keeps its block under
``metrics["evaluation"][variant]``.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:  # keeps ``paperclip --help`` from importing numpy and matplotlib
    if name == "evaluate":
        from training.evaluate.run import evaluate

        return evaluate
    raise AttributeError(name)


__all__ = ["evaluate"]
