"""Training's validation scores with the very functions ``paperclip evaluate`` uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from training.config import TrainConfig
from training.data import Pair
from training.evaluate import metrics as M
from training.loss import ContrastiveLoss
from training.train import validate


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_validation_figures_are_evaluates_figures():
    """30 proposals of 4 images sharing one caption: identical captions must tie (a random order,
    as in evaluate), not rank the true pair first; the Fig. 2 metric uses batches of val_batch."""
    rng = np.random.default_rng(0)
    pairs = [
        Pair(10 * p + j, p, Path(f"/img/{p}-{j}.jpg"), f"caption {p}", None)
        for p in range(30)
        for j in range(4)
    ]
    image_table = _unit(rng.standard_normal((120, 16)))
    caption_table = _unit(image_table.reshape(30, 4, 16).mean(1) + 0.6 * rng.standard_normal((30, 16)))
    text_table = caption_table[[p.proposal_pk for p in pairs]]

    def forward(items, train):
        rows = [i for i, _ in items]
        return (
            torch.from_numpy(image_table[rows]),
            torch.from_numpy(text_table[rows]),
            torch.tensor(np.log(10.0)),
        )

    config = TrainConfig.from_recipe("tiny", batch_size=8, val_batch=50)
    got = validate(forward, ContrastiveLoss(), pairs, config)
    groups = np.array([p.proposal_pk for p in pairs])
    want = M.pair_retrieval(image_table @ text_table.T, groups)
    assert got["val_i2t_top10pct"] == want["image_to_text"]["top_k_accuracy"]["10"]
    assert got["val_t2i_top10pct"] == want["text_to_image"]["top_k_accuracy"]["10"]
    assert got["val_i2t_auc"] == want["image_to_text"]["auc"]
    assert got["val_t2i_r1"] == want["text_to_image"]["recall_at_1"]
    # four identical captions per image: the own one ranks first a quarter of the time at best
    assert got["val_i2t_r1"] <= 0.25 + 1e-9
    shuffled = np.random.default_rng(0).permutation(len(pairs))
    fig2 = M.in_batch_accuracy(text_table[shuffled], image_table[shuffled], 50, 10)
    assert got["val_fig2_t2i_top10_of_100"] == fig2
    assert fig2 != M.in_batch_accuracy(text_table, image_table, 50, 10)  # a proposal's images spread out
    assert got["val_loss"] > 0


def test_validation_needs_two_proposals():
    pairs = [Pair(i, 1, Path(f"/img/{i}.jpg"), "one", None) for i in range(3)]
    assert validate(None, ContrastiveLoss(), pairs, TrainConfig.from_recipe("tiny")) == {}
