"""The comparison plots: top-k% curves, similarity histograms and class precision (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PNG_METADATA = {"Software": None}  # no version stamp: same inputs, same bytes
DIRECTIONS = {
    "image_to_text": "image \u2192 text (paper Fig. 3)",
    "text_to_image": "text \u2192 image (paper Fig. 2)",
}


def save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def topk_curves(models: dict[str, dict[str, Any]], path: Path) -> Path:
    """Accuracy against k% per direction; solid strict with its 95% band, dashed duplicate-aware,
    dotted chance."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (direction, title) in zip(axes, DIRECTIONS.items(), strict=True):
        ax.plot([0, 100], [0, 1], ":", color="grey", label="chance")
        for i, (label, m) in enumerate(models.items()):
            color = colors[i % len(colors)]
            for mode, style in (("strict", "-"), ("duplicate_aware", "--")):
                block = m[direction] if mode == "strict" else m[direction]["duplicate_aware"]
                ks = [int(k) for k in block["top_k_accuracy"]]
                name = f"{label} (AUC {block['auc']:.3f})" if mode == "strict" else f"{label}, any caption"
                ax.plot(ks, list(block["top_k_accuracy"].values()), style, color=color, label=name)
            bands = [m.get("ci95", {}).get(f"{direction}.top_k_accuracy.{k}") for k in ks]
            if all(bands):
                lo, hi = zip(*bands, strict=True)
                ax.fill_between(ks, lo, hi, color=color, alpha=0.15, linewidth=0)
        ax.set(title=title, xlabel="k (% of the validation set)", xlim=(0, 100), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("top-k% retrieval accuracy")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save(fig, path)


def similarity_histograms(sims: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    """Matched vs shuffled cosine per model (the paper's Fig. 3, left)."""
    fig, axes = plt.subplots(1, len(sims), figsize=(4.2 * len(sims), 3.6), squeeze=False)
    for ax, (label, s) in zip(axes[0], sims.items(), strict=True):
        both = np.concatenate([s["matched"], s["shuffled"]])
        bins = np.linspace(float(both.min()), float(both.max()) + 1e-6, 40)
        ax.hist(s["shuffled"], bins=bins, density=True, alpha=0.55, label="shuffled", color="tab:grey")
        ax.hist(s["matched"], bins=bins, density=True, alpha=0.55, label="matched", color="tab:blue")
        for key, color in (("shuffled", "tab:grey"), ("matched", "tab:blue")):
            ax.axvline(float(np.mean(s[key])), color=color, lw=1.5)
        gap = float(np.mean(s["matched"]) - np.mean(s["shuffled"]))
        ax.set(title=f"{label}: gap {gap:+.3f}", xlabel="cosine similarity")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return save(fig, path)


def class_precision(models: dict[str, dict[str, Any]], path: Path) -> Path:
    """Precision@10 of each class query, one bar per model."""
    classes = sorted({c for m in models.values() for c in m["classes"]})
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(classes) * len(models)), 4))
    width = 0.8 / len(models)
    for i, (label, m) in enumerate(models.items()):
        values = [m["classes"].get(c, {}).get("precision_at_10", 0.0) for c in classes]
        ax.bar(np.arange(len(classes)) + i * width, values, width, label=label)
    ax.set_xticks(np.arange(len(classes)) + 0.4 - width / 2, classes, rotation=40, ha="right", fontsize=8)
    ax.set(ylabel="precision@10", ylim=(0, 1.05), title="class queries: precision@10")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return save(fig, path)
