"""Batches with at most one image per proposal.

A proposal contributes up to 20 near-identical previews that all share one caption; two of
them in one batch are positives marked as negatives, which stalls contrastive training.
Batches are a pure function of (seed, epoch), so a resumed run replays the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np


class ProposalBatchSampler:
    """Yields lists of (pair index, sample seed); ``proposal_aware=False`` gives plain shuffled batches.

    Each batch draws ``batch_size`` distinct proposals weighted by how many images they have
    left, so big proposals do not pile up at the end of an epoch; the epoch ends when fewer
    than ``batch_size`` proposals have images left (those images wait for the next epoch's
    reshuffle).
    """

    def __init__(self, groups: Sequence[int], batch_size: int, seed: int, proposal_aware: bool = True):
        self.groups = list(groups)
        self.seed = seed
        self.proposal_aware = proposal_aware
        distinct = len(set(self.groups))
        limit = distinct if proposal_aware else len(self.groups)
        if limit < 2:
            raise ValueError(f"need at least two {'proposals' if proposal_aware else 'pairs'} to train")
        self.batch_size = min(batch_size, limit)

    def epoch(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        if not self.proposal_aware:
            order = rng.permutation(len(self.groups))
            n = len(order) // self.batch_size
            return [order[i * self.batch_size : (i + 1) * self.batch_size].tolist() for i in range(n)]
        members: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(self.groups):
            members[g].append(i)
        keys = sorted(members)
        queues = [list(rng.permutation(members[k])) for k in keys]
        left = np.array([len(q) for q in queues], dtype=float)
        batches = []
        while np.count_nonzero(left) >= self.batch_size:
            chosen = rng.choice(len(queues), size=self.batch_size, replace=False, p=left / left.sum())
            batches.append([int(queues[c].pop()) for c in chosen])
            left[chosen] -= 1
        return batches

    def batches(self, start_step: int = 0) -> Iterator[list[tuple[int, int]]]:
        """Endless batches from global step ``start_step``; each sample carries its augmentation seed."""
        step, epoch = 0, 0
        while True:
            for batch in self.epoch(epoch):
                if step >= start_step:
                    yield [(i, self.seed * 1_000_003 + step * 4096 + j) for j, i in enumerate(batch)]
                step += 1
            epoch += 1
