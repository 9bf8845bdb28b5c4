"""The simple projector: honest refusals, bounds, and no projection past the end."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.model import Series, Status
from reporter.report.analysis.metrics import natural_range, scale_of
from reporter.report.analysis.projection import (
    default_targets,
    project,
    projection_limit,
    thinned,
)


def curve(values: list[float]) -> Series:
    return Series("val_acc", tuple(float(i) for i in range(len(values))), tuple(values))


SATURATING = [0.9 - 0.5 * (i + 1) ** -0.8 for i in range(20)]


@pytest.mark.parametrize("values, reason", [
    ([0.5], "insufficient_data"), ([0.5, 0.6], "insufficient_data"), ([0.5, 0.6, 0.7], "insufficient_data"),
    ([0.5] * 10, "constant"), ([0.1, math.nan, 0.2, math.nan, 0.3], "insufficient_data"),
])
def test_too_little_or_uninformative_data_gives_a_reason_not_numbers(values: list[float], reason: str) -> None:
    result = project(curve(values), (0.0, 1.0), (30.0,), 40.0, 0.8, False)
    assert result.points == () and result.reason == reason


def test_best_so_far_values_are_not_extrapolated() -> None:
    assert project(curve(SATURATING), (0.0, 1.0), (30.0,), 40.0, 0.8, True).reason == "best_so_far"


def test_saturating_curve_projects_near_its_asymptote_inside_bounds() -> None:
    result = project(curve(SATURATING), (0.0, 1.0), (25.0, 39.0), 39.0, 0.8, False)
    assert [p.epoch for p in result.points] == [25.0, 39.0]
    for point in result.points:
        assert 0 <= point.low <= point.median <= point.high <= 1
        assert point.low <= 0.9 - 0.5 * (point.epoch + 1) ** -0.8 <= point.high
    assert result.backtest_error is not None and result.backtest_error < 0.1


def test_a_single_outlier_does_not_blow_up_the_median() -> None:
    values = list(SATURATING)
    values[12] = 0.1
    result = project(curve(values), (0.0, 1.0), (30.0,), 39.0, 0.8, False)
    assert abs(result.points[0].median - SATURATING[-1]) < 0.15


def test_epochs_past_the_limit_are_capped() -> None:
    result = project(curve(SATURATING), (0.0, 1.0), (25.0, 50.0), 30.0, 0.8, False)
    assert [p.epoch for p in result.points] == [25.0] and result.capped == (50.0,)


@pytest.mark.parametrize("status, expected", [
    (Status.STOPPED_EARLY, 9.0), (Status.FINISHED, 9.0), (Status.CRASHED, 9.0), (Status.RUNNING, 96.0),
    (Status.UNKNOWN, 96.0),
])
def test_limit_is_the_actual_end_of_an_ended_run(status: Status, expected: float) -> None:
    assert projection_limit(status, 9.0, 96.0) == expected


def test_default_targets_stop_at_the_limit() -> None:
    assert default_targets(19.0, 99.0) == (39.0, 59.0, 79.0, 99.0)
    assert default_targets(9.0, 9.0) == ()
    assert max(default_targets(5.0, None)) == 25.0


def test_losses_stay_non_negative() -> None:
    loss = [2.0 * np.exp(-i / 3) for i in range(15)]
    result = project(Series("loss", tuple(map(float, range(15))), tuple(loss)), (0.0, math.inf), (40.0,), 50.0, 0.8,
                     False)
    assert result.points[0].low >= 0


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 3000), st.integers(10, 500))
def test_thinned_keeps_short_curves_and_ends_at_the_last_point(n: int, limit: int) -> None:
    x = np.arange(n, dtype=float)
    y = np.sin(x)
    tx, ty = thinned(x, y, limit)
    if n <= limit:
        assert np.array_equal(tx, x) and np.array_equal(ty, y)
    else:
        assert len(tx) == limit and tx[-1] == x[-1] and ty[-1] == y[-1] and np.all(np.diff(tx) > 0)


def test_default_targets_for_a_long_step_run_are_round_numbers() -> None:
    assert default_targets(200_000.0, None, ahead=199_999.0) == (250_000.0, 300_000.0, 350_000.0, 400_000.0)
    assert default_targets(30.0, None) == (35.0, 40.0, 45.0, 50.0)


@pytest.mark.parametrize("name, values, expected", [
    ("val_acc", (0.5, 0.9), (0.0, 1.0)), ("top1", (50.0, 90.0), (0.0, 100.0)), ("eval_wer", (0.4, 0.1), (0.0, math.inf)),
    ("steer_mae", (3.0, 1.0), (0.0, math.inf)), ("val_loss", (2.0, 1.0), (0.0, math.inf)),
    ("reward", (-5.0, 3.0), (-math.inf, math.inf)),
])
def test_natural_range_bounds_ratios_losses_and_error_rates(name: str, values: tuple, expected: tuple) -> None:
    assert natural_range(name, scale_of(name, values)) == expected


def test_a_steeply_falling_error_rate_is_never_forecast_below_zero() -> None:
    cer = [0.33, 0.29, 0.11, 0.13, 0.10, 0.22, 0.07, 0.12, 0.06, 0.067, 0.063, 0.061]  # whisper_hdsd, first 12
    data = Series("eval_cer", tuple(float(i) for i in range(len(cer))), tuple(cer))
    unbounded = project(data, (-math.inf, math.inf), (60.0,), 60.0, 0.8, False, higher_is_better=False)
    bounded = project(data, natural_range("eval_cer", scale_of("eval_cer", data.values)), (60.0,), 60.0, 0.8, False, higher_is_better=False)
    assert unbounded.points[0].low < 0  # what the families alone would say
    assert 0 <= bounded.points[0].low <= bounded.points[0].median <= bounded.points[0].high


@pytest.mark.parametrize("name, values, expected", [
    ("验证准确率", (0.30, 0.48), (0.0, 1.0)), ("测试精度", (30.0, 48.0), (0.0, 100.0)),
    ("训练损失", (2.0, 1.0), (0.0, math.inf)), ("验证错误率", (0.4, 0.1), (0.0, 1.0)),
])
def test_chinese_metric_names_get_their_natural_range(name: str, values: tuple, expected: tuple) -> None:
    """Issue #12 item 13: 验证准确率 at 0.30-0.48 was projected up to 1.88, its range guessed from English only."""
    assert natural_range(name, scale_of(name, values)) == expected


def test_the_band_widens_smoothly_with_the_horizon() -> None:
    """Issue #12 item 13: the upper bound jumped at each calibration bin edge (x12 from epoch 40 to 41 of a
    20-epoch history) and shrank again in the sparse last bin."""
    from reporter.report.reference import projection_calibration

    values = [0.30 + 0.18 * (1 - math.exp(-epoch / 6)) for epoch in range(1, 21)]
    data = Series("val_acc", tuple(float(e) for e in range(1, 21)), tuple(values))
    targets = tuple(float(e) for e in range(21, 101))
    highs = [p.high for p in project(data, (-math.inf, math.inf), targets, 100.0, 0.8, False,
                                     calibration=projection_calibration()).points]
    steps = np.diff(highs)
    assert steps.min() >= 0  # never narrower further ahead for a rising curve
    assert steps.max() < 0.02  # no jump between adjacent epochs


def test_a_negative_loss_is_forecast_on_from_its_values_not_from_zero() -> None:
    """A loss that is a negative log-likelihood or an ELBO falls below zero; its forecast jumped from -290 to the
    loss's natural floor of 0, a band drawn far above every value the run logged."""
    values = [-10.0 * i - 5 for i in range(30)]
    result = project(Series("val_loss", tuple(map(float, range(30))), tuple(values)), (0.0, math.inf), (34.0, 49.0),
                     49.0, 0.8, False, higher_is_better=False)
    for point in result.points:
        assert point.median <= values[-1] and point.high < 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, -1e-3), min_size=8, max_size=30), st.booleans())
def test_a_bound_the_history_already_broke_constrains_nothing(values: list[float], higher_is_better: bool) -> None:
    data = Series("loss", tuple(map(float, range(len(values)))), tuple(values))
    args = ((float(len(values) + 5),), float(len(values) + 10), 0.8, False, higher_is_better)
    assert project(data, (0.0, math.inf), *args) == project(data, (-math.inf, math.inf), *args)
