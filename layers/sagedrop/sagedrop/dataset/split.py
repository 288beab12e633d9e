"""Train/validation/test split: exact sizes, reproducible from the seed, stratified by class.

Sizes: ``round(n × fraction)`` by largest remainder, so they add up to n and each is within one
row of its fraction (a split with a non-zero fraction gets at least one row). Stratification: the
rows are shuffled with the seed, grouped by class (shuffled order kept inside each class), and
dealt out to the splits in an evenly interleaved pattern of the exact sizes — so every class is
spread over the splits in proportion (within a row per class), and the totals stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SPLITS = ("train", "validation", "test")


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Sizes adding up to ``n``: largest remainder, then at least one row where the fraction is > 0."""
    exact = [n * f for f in fractions]
    sizes = [math.floor(x) for x in exact]
    order = sorted(range(len(fractions)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    for i, fraction in enumerate(fractions):
        if fraction > 0 and sizes[i] == 0:
            donor = max(range(len(sizes)), key=lambda j: sizes[j])
            if sizes[donor] > 1:
                sizes[donor] -= 1
                sizes[i] += 1
    return sizes


def split_indices(
    n: int, fractions: Sequence[float], seed: int, strata: np.ndarray | None = None
) -> list[np.ndarray]:
    """Row indices of each split (in ``fractions`` order), each shuffled."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    if strata is not None:
        order = order[np.argsort(np.asarray(strata)[order], kind="stable")]
    sizes = split_sizes(n, fractions)
    pattern = _interleave(sizes)
    result = []
    for s in range(len(sizes)):
        chosen = order[pattern == s]
        result.append(chosen[rng.permutation(len(chosen))])
    return result


def _interleave(sizes: Sequence[int]) -> np.ndarray:
    """A sequence of split numbers, ``sizes[s]`` of each, every split spread evenly along it."""
    n = sum(sizes)
    positions = np.concatenate(
        [(np.arange(size) + 0.5) * (n / size) for size in sizes if size] or [np.zeros(0)]
    )
    labels = np.concatenate([np.full(size, s) for s, size in enumerate(sizes) if size] or [np.zeros(0, int)])
    return labels[np.lexsort((labels, positions))]
