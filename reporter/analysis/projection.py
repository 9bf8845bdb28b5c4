"""Projected trajectory: a small ensemble of learning-curve shapes with an interval from its own backtest.

Members: a flat model (mean of the last points), a log-linear trend and a saturating power law
(pow3, y = c - a * (x + 1) ** -alpha, with alpha on a grid and c, a solved exactly). Members are
weighted by their error on the last third of the history when fitted on the first two thirds; the
forecast is the weighted median; the change from the last value is capped at the observed range.
The interval combines the members' spread with the backtest error, widened with the horizon.
Projections never pass the run's planned or actual end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from reporter.model import Projection, ProjectionPoint, Scale, Series, Status
from reporter.analysis.metrics import finite_part

METHOD = "ensemble(flat, log-linear, pow3); weighted median; interval from backtest"
MIN_POINTS = 6
_ALPHAS = np.linspace(0.2, 2.0, 10)
Model = Callable[[np.ndarray], np.ndarray]


def _flat(x: np.ndarray, y: np.ndarray) -> Model:
    level = float(np.mean(y[-3:]))
    return lambda t: np.full_like(np.asarray(t, dtype=float), level)


def _log_linear(x: np.ndarray, y: np.ndarray) -> Model:
    half = max(3, len(x) // 2)
    slope, intercept = np.polyfit(np.log1p(x[-half:]), y[-half:], 1)
    return lambda t: intercept + slope * np.log1p(np.asarray(t, dtype=float))


def _pow3(x: np.ndarray, y: np.ndarray) -> Model:
    best: tuple[float, float, float, float] | None = None
    for alpha in _ALPHAS:
        basis = np.column_stack([np.ones_like(x), -(x + 1) ** -alpha])
        (c, a), *_ = np.linalg.lstsq(basis, y, rcond=None)
        sse = float(np.sum((basis @ np.array([c, a]) - y) ** 2))
        if best is None or sse < best[0]:
            best = (sse, float(c), float(a), float(alpha))
    _, c, a, alpha = best  # type: ignore[misc]
    return lambda t: c - a * (np.asarray(t, dtype=float) + 1) ** -alpha


MEMBERS: tuple[Callable[[np.ndarray, np.ndarray], Model], ...] = (_flat, _log_linear, _pow3)


@dataclass(frozen=True)
class _Fit:
    models: tuple[Model, ...]
    weights: np.ndarray
    residual: float  # typical backtest |error| per unit of sqrt(horizon)
    backtest_error: float  # median |error| / range on the held-out third


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _fit(x: np.ndarray, y: np.ndarray, interval: float) -> _Fit:
    cut = max(3, int(len(x) * 2 / 3))
    train_x, train_y, test_x, test_y = x[:cut], y[:cut], x[cut:], y[cut:]
    errors, scaled = [], []
    for member in MEMBERS:
        predicted = member(train_x, train_y)(test_x)
        errors.append(float(np.mean(np.abs(predicted - test_y))))
    weights = 1 / (np.asarray(errors) + 1e-9 + 1e-3 * (np.ptp(y) or 1))
    weights = weights / weights.sum()
    back_models = [member(train_x, train_y) for member in MEMBERS]
    for t, actual in zip(test_x, test_y):
        forecast = _weighted_median(np.array([m(np.array([t]))[0] for m in back_models]), weights)
        scaled.append(abs(forecast - actual) / math.sqrt(max(t - train_x[-1], 1)))
    span = float(np.ptp(y)) or 1.0
    backtest = float(np.median(scaled)) / span
    return _Fit(tuple(member(x, y) for member in MEMBERS), weights, float(np.quantile(scaled, interval)), backtest)


def _bounds(scale: Scale, is_loss: bool) -> tuple[float, float]:
    if scale is Scale.FRACTION:
        return 0.0, 1.0
    if scale is Scale.PERCENT:
        return 0.0, 100.0
    return (0.0, math.inf) if is_loss else (-math.inf, math.inf)


def _point(fit: _Fit, x: np.ndarray, y: np.ndarray, t: float, bounds: tuple[float, float]) -> ProjectionPoint:
    forecasts = np.array([model(np.array([t]))[0] for model in fit.models])
    span = float(np.ptp(y)) or abs(float(y[-1])) * 0.01 or 1e-6
    median = _weighted_median(forecasts, fit.weights)
    median = float(np.clip(median, y[-1] - span, y[-1] + span))
    horizon = math.sqrt(max(t - x[-1], 1))
    half = max(fit.residual * horizon, float(np.ptp(forecasts)) / 2, span * 0.02)
    low, high = np.clip([median - half, median + half], *bounds)
    return ProjectionPoint(epoch=t, low=float(low), median=float(np.clip(median, *bounds)), high=float(high))


def default_targets(last: float, limit: float | None) -> tuple[float, ...]:
    """A few epochs between the last one and the planned end (or 20 more when no end is known)."""
    end = limit if limit is not None else last + 20
    if end <= last:
        return ()
    steps = sorted({round(last + (end - last) * f) for f in (0.25, 0.5, 0.75, 1.0)} - {round(last)})
    return tuple(float(s) for s in steps)


def projection_limit(status: Status, last_epoch: float | None, planned_last: float | None) -> float | None:
    """The furthest epoch a projection may reach: the actual end of an ended run, else the planned end."""
    if status in (Status.FINISHED, Status.STOPPED_EARLY, Status.CRASHED):
        return last_epoch
    return planned_last


def project(data: Series, scale: Scale, is_loss: bool, requested: tuple[float, ...], limit: float | None,
            interval: float, best_so_far: bool) -> Projection:
    """Low/median/high at the requested epochs that lie within the limit, or the reason there are none."""
    clean = finite_part(data)
    last = clean.x[-1] if clean.x else None
    allowed = tuple(t for t in requested if limit is None or t <= limit)
    capped = tuple(t for t in requested if limit is not None and t > limit)
    if last is not None:
        allowed = tuple(t for t in allowed if t > last)
    if len(clean) < MIN_POINTS or best_so_far:
        reason = "best_so_far" if best_so_far and len(clean) >= MIN_POINTS else "insufficient_data"
        return Projection(METHOD, interval, (), None, None, capped, limit, reason)
    if not allowed:
        return Projection(METHOD, interval, (), None, None, capped, limit, "run_ended" if capped else "nothing_requested")
    x, y = np.asarray(clean.x, dtype=float), np.asarray(clean.values, dtype=float)
    if np.ptp(y) == 0:
        return Projection(METHOD, interval, (), None, None, capped, limit, "constant")
    fit = _fit(x, y, interval)
    bounds = _bounds(scale, is_loss)
    points = tuple(_point(fit, x, y, t, bounds) for t in allowed)
    return Projection(METHOD, interval, points, None, fit.backtest_error, capped, limit, None)
