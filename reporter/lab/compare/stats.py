"""Statistics for comparing groups of seeds, as rliable (Agarwal et al., NeurIPS 2021) recommends for few runs.

Pure functions over arrays of per-seed values: percentile bootstrap intervals with a fixed seed (the same
resampling as `scipy.stats.bootstrap(method="percentile")`), the interquartile mean, the probability of
improvement (Mann-Whitney U / (n_A n_B), ties counted 1/2) and Welch's t-test. Non-finite values (a
diverged seed) are dropped here and counted by the caller, which reports them.

"Better" always means better in the metric's direction: for a 'min' metric, lower.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from reporter.model import Mode

LEVEL = 0.95
"""Coverage of every interval in a comparison."""
RESAMPLES = 10_000
"""Bootstrap resamples; with the fixed seed, the same input gives the same interval."""
SEED = 0
MIN_SEEDS = 2
"""Below this many seeds in either group there is no verdict: one seed says nothing about a configuration."""
WARN_SEEDS = 5
"""Below this many seeds the report warns that intervals are rough (rliable's few-run regime)."""
IQM_MIN_SEEDS = 4
"""The interquartile mean trims a quarter from each side: with fewer runs it trims nothing."""


class Verdict(StrEnum):
    BETTER = "better"
    WORSE = "worse"
    NO_DETECTABLE_DIFFERENCE = "no_detectable_difference"
    TOO_FEW_SEEDS = "too_few_seeds"


@dataclass(frozen=True)
class Estimate:
    """One group's value over seeds: mean ± std (n - 1) and a bootstrap interval of the mean."""

    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None
    iqm: float | None


@dataclass(frozen=True)
class Difference:
    """Group B against baseline A: mean(B) - mean(A) with its interval, and the tests."""

    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_improve: float | None  # P(a seed of B beats a seed of A), in the metric's direction
    welch_p: float | None
    verdict: Verdict


def finite(values: ArrayLike) -> np.ndarray:
    """The finite values, as floats (NaN and ±inf removed)."""
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _resampled(values: np.ndarray, rng: np.random.Generator, statistic: Callable[..., np.ndarray]) -> np.ndarray:
    indices = rng.integers(0, len(values), size=(RESAMPLES, len(values)))
    return statistic(values[indices], axis=-1)


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    low, high = np.percentile(samples, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def bootstrap_ci(values: ArrayLike, level: float = LEVEL, seed: int = SEED) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None without values. One value gives a zero-width interval."""
    data = finite(values)
    if not len(data):
        return None
    return _percentiles(_resampled(data, np.random.default_rng(seed), np.mean), level)


def iqm(values: ArrayLike) -> float | None:
    """Interquartile mean (the mean of the middle half, scipy's trim_mean at 0.25), from IQM_MIN_SEEDS runs."""
    data = np.sort(finite(values))
    if len(data) < IQM_MIN_SEEDS:
        return None
    cut = int(0.25 * len(data))
    return float(np.mean(data[cut:len(data) - cut]))


def estimate(values: ArrayLike, level: float = LEVEL) -> Estimate:
    data = finite(values)
    if not len(data):
        return Estimate(0, None, None, None, None, None)
    low, high = bootstrap_ci(data, level) or (None, None)
    std = float(np.std(data, ddof=1)) if len(data) > 1 else None
    return Estimate(len(data), float(np.mean(data)), std, low, high, iqm(data))


def p_improve(a: ArrayLike, b: ArrayLike, mode: Mode = Mode.MAX) -> float | None:
    """P(B > A) as rliable computes it: the Mann-Whitney U of B over A divided by n_A n_B, ties counting 1/2.

    For a 'min' metric, "B > A" means B is lower.
    """
    x, y = finite(b), finite(a)
    if not len(x) or not len(y):
        return None
    if mode is Mode.MIN:
        x, y = -x, -y
    pairs = x[:, None] - y[None, :]
    return float((np.sum(pairs > 0) + 0.5 * np.sum(pairs == 0)) / pairs.size)


def welch_p(a: ArrayLike, b: ArrayLike) -> float | None:
    """Two-sided Welch t-test p-value; None when it is undefined (fewer than 2 seeds, or no variance at all)."""
    x, y = finite(a), finite(b)
    if len(x) < 2 or len(y) < 2 or (np.ptp(x) == 0 and np.ptp(y) == 0):
        return None
    from scipy.stats import ttest_ind  # half a second to import: only the compare command needs it

    with warnings.catch_warnings():  # nearly identical seeds: scipy warns, and the p-value is still what it is
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(ttest_ind(y, x, equal_var=False).pvalue)
    return value if math.isfinite(value) else None


def difference_ci(a: ArrayLike, b: ArrayLike, level: float = LEVEL,
                  seed: int = SEED) -> tuple[float, float] | None:
    """Interval of mean(B) - mean(A) by the stratified bootstrap: each group resampled within itself."""
    x, y = finite(a), finite(b)
    if not len(x) or not len(y):
        return None
    rng = np.random.default_rng(seed)
    means_a = _resampled(x, rng, np.mean)
    means_b = _resampled(y, rng, np.mean)
    return _percentiles(means_b - means_a, level)


def verdict(interval: tuple[float, float] | None, welch: float | None, n_a: int, n_b: int, mode: Mode,
            level: float = LEVEL) -> Verdict:
    """better / worse only when the interval of the difference excludes 0 AND Welch's test agrees at 1 - level.

    With few seeds the percentile bootstrap is too narrow (it estimates the spread with 1/n): requiring
    the t-test as well keeps three lucky seeds from reading as a win.
    """
    if n_a < MIN_SEEDS or n_b < MIN_SEEDS or interval is None:
        return Verdict.TOO_FEW_SEEDS
    low, high = interval if mode is Mode.MAX else (-interval[1], -interval[0])
    significant = welch is not None and welch < 1 - level
    if low > 0 and significant:
        return Verdict.BETTER
    if high < 0 and significant:
        return Verdict.WORSE
    return Verdict.NO_DETECTABLE_DIFFERENCE


def compare(a: ArrayLike, b: ArrayLike, mode: Mode, level: float = LEVEL) -> Difference:
    """Everything the report says about B against baseline A."""
    x, y = finite(a), finite(b)
    interval = difference_ci(x, y, level)
    welch = welch_p(x, y)
    diff = float(np.mean(y) - np.mean(x)) if len(x) and len(y) else None
    return Difference(diff, interval[0] if interval else None, interval[1] if interval else None,
                      p_improve(x, y, mode), welch, verdict(interval, welch, len(x), len(y), mode, level))
