"""Theil-Sen and Mann-Kendall on numpy alone agree with scipy.stats, which the tests may import."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from reporter.report.analysis.rank_tests import mann_kendall_p, theil_sen

# Small integer levels make ties common, as in best-so-far curves and rounded logs.
values = st.lists(st.integers(-6, 6), min_size=3, max_size=45)
reals = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=45, unique=True)


@settings(max_examples=300, deadline=None)
@given(st.one_of(values, reals), st.booleans())
def test_mann_kendall_p_equals_scipy_kendalltau(ys: list[float], shuffle_x: bool) -> None:
    y = np.asarray(ys, dtype=float)
    x = np.arange(len(y), dtype=float)
    if shuffle_x:
        x = np.random.default_rng(len(y)).permutation(x)
    expected = stats.kendalltau(x, y).pvalue
    if np.isnan(expected):  # scipy says nan for a constant side; we say "no evidence of a trend"
        assert mann_kendall_p(x, y) == 1.0
    else:
        assert mann_kendall_p(x, y) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt")  # scipy's unused confidence interval
@settings(max_examples=300, deadline=None)
@given(st.one_of(values, reals), st.lists(st.integers(0, 50), min_size=3, max_size=45))
def test_theil_sen_equals_scipy_theilslopes(ys: list[float], xs: list[int]) -> None:
    n = min(len(ys), len(xs))
    y, x = np.asarray(ys[:n], dtype=float), np.asarray(xs[:n], dtype=float)
    assume(np.ptp(x) > 0)
    slope, intercept = theil_sen(y, x)
    expected = stats.theilslopes(y, x)
    assert slope == pytest.approx(expected.slope, rel=1e-9, abs=1e-9)
    assert intercept == pytest.approx(expected.intercept, rel=1e-9, abs=1e-6)


def test_a_steady_rise_of_six_points_has_the_exact_p_value() -> None:
    # One ordering of 720 is perfectly increasing, and one decreasing: p = 2/720.
    assert mann_kendall_p(np.arange(6.0), np.arange(6.0) ** 2) == pytest.approx(2 / 720)
