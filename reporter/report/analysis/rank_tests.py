"""Theil-Sen slope and the Mann-Kendall trend test, on numpy alone.

scipy.stats gives both (`theilslopes`, `kendalltau`), but importing it costs about half a second, a
sixth of the whole single-report budget (issue 5), for windows of a handful of points. These are
the textbook definitions; tests/test_rank_tests.py checks them against scipy.stats on random data.
"""

from __future__ import annotations

import math

import numpy as np

EXACT_LIMIT = 33  # as scipy.stats.kendalltau: exact null distribution up to this size when nothing ties
RANK_POINTS = 1000
"""Longer windows are averaged into this many consecutive, equally sized buckets first, as the projection
buckets before fitting: both tests compare every pair of points, and a million-step window would need a
million-squared array; a thousand bucket means still show any trend the rules speak of."""


def _bounded(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y as at most RANK_POINTS bucket means; unchanged when already that short."""
    if len(x) <= RANK_POINTS:
        return x, y
    starts = np.linspace(0, len(x), RANK_POINTS + 1).astype(int)[:-1]
    sizes = np.diff(np.append(starts, len(x)))
    return np.add.reduceat(x, starts) / sizes, np.add.reduceat(y, starts) / sizes


def theil_sen(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Median of the pairwise slopes, and the intercept median(y) - slope * median(x).

    At least two distinct x are required.
    """
    x, y = _bounded(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    later, earlier = np.triu_indices(len(x), k=1)
    dx = x[earlier] - x[later]
    usable = dx != 0
    slope = float(np.median((y[earlier] - y[later])[usable] / dx[usable]))
    return slope, float(np.median(y) - slope * np.median(x))


def _signs(values: np.ndarray) -> np.ndarray:
    later, earlier = np.triu_indices(len(values), k=1)
    return np.sign(values[earlier] - values[later])


def _tie_term(values: np.ndarray) -> float:
    _, sizes = np.unique(values, return_counts=True)
    return float(np.sum(sizes * (sizes - 1) * (2 * sizes + 5)))


def _tie_pairs(values: np.ndarray) -> tuple[float, float]:
    _, sizes = np.unique(values, return_counts=True)
    return float(np.sum(sizes * (sizes - 1))), float(np.sum(sizes * (sizes - 1) * (sizes - 2)))


def _inversions_at_most(n: int, c: int) -> int:
    """How many orderings of n items have at most c inversions (Mahonian numbers, summed)."""
    counts = [1] + [0] * c  # orderings of 1 item
    for size in range(2, n + 1):
        running, shifted = 0, []
        for k in range(c + 1):  # a new item adds 0..size-1 inversions
            running += counts[k]
            if k - size >= 0:
                running -= counts[k - size]
            shifted.append(running)
        counts = shifted
    return sum(counts)


def mann_kendall_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p-value of Kendall's association between x and y (the Mann-Kendall test when x is time).

    Exact null distribution when nothing ties and the window is small; otherwise the normal
    approximation with Kendall's tie-corrected variance. Returns 1.0 when either side is constant.
    """
    x, y = _bounded(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    n = len(x)
    products = _signs(x) * _signs(y)
    concordant, discordant = int(np.sum(products > 0)), int(np.sum(products < 0))
    ties = len(np.unique(x)) < n or len(np.unique(y)) < n
    if n < 2 or len(np.unique(x)) == 1 or len(np.unique(y)) == 1:
        return 1.0
    if not ties and (n <= EXACT_LIMIT or min(concordant, discordant) <= 1):
        fewer = min(concordant, discordant)
        if 4 * fewer == n * (n - 1):
            return 1.0
        return min(1.0, 2 * _inversions_at_most(n, fewer) / math.factorial(n))
    pairs_x, triples_x = _tie_pairs(x)
    pairs_y, triples_y = _tie_pairs(y)
    variance = ((n * (n - 1) * (2 * n + 5) - _tie_term(x) - _tie_term(y)) / 18
                + triples_x * triples_y / (9 * n * (n - 1) * (n - 2))
                + pairs_x * pairs_y / (2 * n * (n - 1)))
    z = (concordant - discordant) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))
