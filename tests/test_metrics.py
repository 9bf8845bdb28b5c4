"""Statistics of one metric: table-driven cases plus properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.config import Thresholds
from reporter.model import Mode, Scale, Series, Trend
from reporter.report.analysis import metrics


def as_series(values: list[float], key: str = "val_acc") -> Series:
    return Series(key, tuple(float(i) for i in range(len(values))), tuple(values))


@pytest.mark.parametrize("name, expected", [
    ("loss", Mode.MIN), ("val_loss", Mode.MIN), ("eval/wer", Mode.MIN), ("train_error", Mode.MIN),
    ("val_accuracy", Mode.MAX), ("nmi", Mode.MAX), ("metrics/mAP50(B)", Mode.MAX), ("test_ari", Mode.MAX),
    ("accumulated_steps", None), ("learning_rate", None), ("lr-Adam", None),
])
def test_direction_comes_from_whole_name_tokens(name: str, expected: Mode | None) -> None:
    assert metrics.direction(name) == expected


@pytest.mark.parametrize("name, values, expected", [
    ("nmi", (0.2, 0.243), Scale.FRACTION), ("NMI", (24.16,), Scale.PERCENT), ("loss", (5.1, 5.0), Scale.RAW),
])
def test_scale_keeps_the_source_unit(name: str, values: tuple[float, ...], expected: Scale) -> None:
    assert metrics.scale_of(name, values) is expected


def test_best_point_is_first_reaching_best_and_ignores_nan() -> None:
    data = as_series([0.1, math.nan, 0.5, 0.5, 0.3])
    assert metrics.best_point(data, Mode.MAX) == metrics.Point(2.0, 0.5)
    assert metrics.best_point(data, Mode.MIN) == metrics.Point(0.0, 0.1)


@pytest.mark.parametrize("values, mode, min_delta, expected", [
    ([0.1, 0.2, 0.3, 0.25, 0.35], Mode.MAX, 0.0, (3, 1)),
    ([0.1, 0.2, 0.3, 0.25, 0.35], Mode.MAX, 0.06, (2, 0)),
    ([5.0, 4.0, 4.5, 3.0], Mode.MIN, 0.0, (2, 1)),
    ([0.3], Mode.MAX, 0.0, (0, 0)),
])
def test_improvements_and_degradations_use_absolute_min_delta(values, mode, min_delta, expected) -> None:
    assert metrics.improvements_and_degradations(as_series(values), mode, min_delta) == expected


def counted_in_order(values: list[float], mode: Mode, min_delta: float) -> tuple[int, int]:
    """New bests and drops, judged one evaluation after another: the reference for the vectorised count."""
    finite = [v for v in values if math.isfinite(v)]
    best, improved, degraded = (finite[0], 0, 0) if finite else (0.0, 0, 0)
    for previous, value in zip(finite, finite[1:]):
        if metrics.better(value, best, mode, min_delta):
            best, improved = value, improved + 1
        degraded += metrics.better(previous, value, mode, min_delta)
    return improved, degraded


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.25, 0.5, 0.5, 1.0, math.nan]), st.floats(-1e3, 1e3)), max_size=60),
       st.sampled_from(list(Mode)), st.sampled_from([0.0, 0.1, 0.5]))
def test_improvements_and_degradations_count_as_judged_in_order(values: list[float], mode: Mode,
                                                                 min_delta: float) -> None:
    assert metrics.improvements_and_degradations(as_series(values), mode, min_delta) == \
        counted_in_order(values, mode, min_delta)


@pytest.mark.parametrize("values, mode, expected", [
    ([0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24], Mode.MAX, Trend.IMPROVING),
    ([0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24], Mode.MIN, Trend.DECLINING),
    ([0.50, 0.51, 0.49, 0.50, 0.51, 0.50, 0.49, 0.50], Mode.MAX, Trend.STABLE),
    ([0.2, 0.8, 0.1, 0.9, 0.2, 0.8, 0.1, 0.9], Mode.MAX, Trend.OSCILLATING),
    ([0.2, 0.3, 0.4], Mode.MAX, Trend.INSUFFICIENT),
])
def test_trend(values: list[float], mode: Mode, expected: Trend) -> None:
    assert metrics.trend(as_series(values), mode, Thresholds()).kind is expected


def test_a_steady_rise_is_stable_around_its_trend_but_not_raw() -> None:
    rising = as_series([0.10 + 0.02 * i for i in range(8)])
    result = metrics.stability(rising, 8)
    assert result.score == pytest.approx(1.0)
    assert result.raw_score is not None and result.raw_score < 0.5


def test_noise_lowers_stability() -> None:
    rng = np.random.default_rng(0)
    noisy = as_series(list(0.5 + rng.normal(0, 0.05, 8)))
    assert metrics.stability(noisy, 8).score < metrics.stability(as_series([0.5] * 7 + [0.501]), 8).score


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=0, max_size=30))
def test_stability_is_bounded(values: list[float]) -> None:
    result = metrics.stability(as_series(values), 8)
    for score in (result.score, result.raw_score):
        assert score is None or 0.0 <= score <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=1e-3, max_value=10, allow_nan=False), min_size=5, max_size=20, unique=True))
def test_strictly_increasing_curves_are_improving(values: list[float]) -> None:
    ordered = sorted(values)
    assert metrics.trend(as_series(ordered), Mode.MAX, Thresholds()).kind is Trend.IMPROVING


@pytest.mark.parametrize("values, expected", [([5.2, 5.19, 5.18, 5.18], 0.0028874), ([2.0, 1.0], 0.5), ([3.0], None)])
def test_relative_change(values: list[float], expected: float | None) -> None:
    result = metrics.relative_change(as_series(values, "loss"))
    assert result == (pytest.approx(expected, rel=1e-3) if expected is not None else None)


@pytest.mark.parametrize("kinds, last_x, planned, expected", [
    (["epoch"], 30.0, None, "epoch"),
    (["step"], 4760.0, None, "step"),
    (["step"], 50.0, 50.0, "epoch"),  # MLflow's step is often the epoch: it never passes the plan
    (["step"], 4760.0, 50.0, "step"),
    (["seed"], 3.0, None, "epoch"),
])
def test_x_unit_names_what_the_history_counts(kinds: list, last_x: float, planned: float | None,
                                              expected: str) -> None:
    history = pd.DataFrame({"key": "acc", "x_kind": kinds * 2, "x": [1.0, last_x], "value": [0.1, 0.2]})
    assert metrics.x_unit(history, planned) == expected
