"""The comparison statistics against scipy and a reference bootstrap, the edge cases, and the swap property."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.lab.compare import stats
from reporter.lab.compare.stats import Verdict
from reporter.model import Mode

A = [0.9974, 0.9959, 0.9973, 0.9982, 0.9976, 0.9988]
B = [0.9989, 0.9990, 0.9985]


def reference_difference_ci(a: list[float], b: list[float], level: float, seed: int) -> tuple[float, float]:
    """The stratified bootstrap written as a plain loop: resample A, then B, each within itself."""
    rng = np.random.default_rng(seed)
    x, y = np.array(a), np.array(b)
    indices_a = rng.integers(0, len(x), size=(stats.RESAMPLES, len(x)))
    indices_b = rng.integers(0, len(y), size=(stats.RESAMPLES, len(y)))
    diffs = [y[indices_b[i]].mean() - x[indices_a[i]].mean() for i in range(stats.RESAMPLES)]
    alpha = (1 - level) / 2
    return float(np.percentile(diffs, 100 * alpha)), float(np.percentile(diffs, 100 * (1 - alpha)))


def test_bootstrap_interval_is_scipys_percentile_bootstrap_with_the_same_seed() -> None:
    expected = scipy.stats.bootstrap((np.array(A),), np.mean, method="percentile", n_resamples=stats.RESAMPLES,
                                     random_state=np.random.default_rng(stats.SEED), vectorized=True)
    low, high = stats.bootstrap_ci(A)
    assert (low, high) == pytest.approx((expected.confidence_interval.low, expected.confidence_interval.high), abs=1e-12)


def test_difference_interval_matches_the_reference_bootstrap() -> None:
    assert stats.difference_ci(A, B) == pytest.approx(reference_difference_ci(A, B, stats.LEVEL, stats.SEED), abs=1e-12)


@pytest.mark.parametrize("a, b", [(A, B), ([1, 2, 2, 3], [2, 2, 3, 3, 4]), ([5, 5], [5, 5, 5])])
def test_probability_of_improvement_is_mann_whitney_u_over_pairs(a: list[float], b: list[float]) -> None:
    u = scipy.stats.mannwhitneyu(b, a).statistic
    assert stats.p_improve(a, b) == pytest.approx(u / (len(a) * len(b)))


def test_probability_of_improvement_follows_the_metric_direction() -> None:
    assert stats.p_improve([0.5, 0.6], [0.3, 0.4], Mode.MIN) == 1.0
    assert stats.p_improve([0.5, 0.6], [0.3, 0.4], Mode.MAX) == 0.0


def test_welch_p_value_is_scipys() -> None:
    assert stats.welch_p(A, B) == pytest.approx(scipy.stats.ttest_ind(B, A, equal_var=False).pvalue)


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0, 4.0], A, list(range(11))])
def test_iqm_is_the_quarter_trimmed_mean(values: list[float]) -> None:
    assert stats.iqm(values) == pytest.approx(scipy.stats.trim_mean(values, 0.25))


def test_one_seed_each_gives_no_verdict() -> None:
    result = stats.compare([0.90], [0.95], Mode.MAX)
    assert result.verdict is Verdict.TOO_FEW_SEEDS
    assert result.diff == pytest.approx(0.05) and result.welch_p is None
    single = stats.estimate([0.9])
    assert (single.n, single.std, single.ci_low, single.ci_high, single.iqm) == (1, None, 0.9, 0.9, None)


def test_identical_runs_show_no_difference() -> None:
    result = stats.compare([0.8, 0.8, 0.8], [0.8, 0.8, 0.8], Mode.MAX)
    assert (result.diff, result.ci_low, result.ci_high, result.p_improve, result.welch_p) == (0.0, 0.0, 0.0, 0.5, None)
    assert result.verdict is Verdict.NO_DETECTABLE_DIFFERENCE


def test_ties_count_one_half() -> None:
    assert stats.p_improve([1.0, 2.0], [1.0, 2.0]) == 0.5
    assert stats.p_improve([1.0], [1.0, 2.0]) == 0.75


def test_non_finite_seeds_are_left_out() -> None:
    estimate = stats.estimate([0.5, math.nan, 0.7, math.inf])
    assert estimate.n == 2 and estimate.mean == pytest.approx(0.6)
    assert stats.compare([math.nan], [0.5, 0.6], Mode.MAX).verdict is Verdict.TOO_FEW_SEEDS
    assert stats.estimate([math.nan]).mean is None


@pytest.mark.parametrize("a, b, mode, expected", [
    ([0.70, 0.71, 0.72, 0.70, 0.71], [0.80, 0.81, 0.79, 0.80, 0.82], Mode.MAX, Verdict.BETTER),
    ([0.70, 0.71, 0.72, 0.70, 0.71], [0.80, 0.81, 0.79, 0.80, 0.82], Mode.MIN, Verdict.WORSE),
    ([0.50, 0.40, 0.45], [0.30, 0.31, 0.29], Mode.MIN, Verdict.BETTER),
    # Three seeds each of one configuration (the MNIST example's lr-0.001 split in two): the bootstrap interval
    # excludes zero, Welch's test does not (p = 0.10), so no verdict of better.
    ([0.9974, 0.9959, 0.9973], [0.9982, 0.9976, 0.9988], Mode.MAX, Verdict.NO_DETECTABLE_DIFFERENCE),
])
def test_verdict_needs_the_interval_and_the_t_test(a: list[float], b: list[float], mode: Mode,
                                                   expected: Verdict) -> None:
    assert stats.compare(a, b, mode).verdict is expected


seeds = st.lists(st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(seeds, seeds, st.sampled_from(list(Mode)))
def test_swapping_the_groups_flips_the_sign_and_the_probability(a: list[float], b: list[float], mode: Mode) -> None:
    forward, backward = stats.compare(a, b, mode), stats.compare(b, a, mode)
    assert forward.diff == pytest.approx(-backward.diff, abs=1e-9)
    assert forward.p_improve == pytest.approx(1 - backward.p_improve)
    flipped = {Verdict.BETTER: Verdict.WORSE, Verdict.WORSE: Verdict.BETTER}
    if forward.verdict in flipped and backward.verdict in flipped:
        assert backward.verdict is flipped[forward.verdict]
