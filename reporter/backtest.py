"""Backtest of projection methods on real learning curves: cut prefixes, forecast, score.

Pure functions over `Curve` values; `reporter backtest` reads the curves and prints the table.
Intervals are calibrated leave-one-source-out: a curve is never scored with a calibration that saw
its own repository, because in-sample calibration flatters itself.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from reporter.analysis.curves import FAMILIES, fit_family
from reporter.analysis.projection import (
    Calibration,
    CurveEnsemble,
    calibration_from_errors,
)

PREFIXES = (0.2, 0.4, 0.6)
CALIBRATION_CUTS = tuple(np.round(np.linspace(0.2, 0.8, 7), 2))
METHODS = ("ours", "last_value", "best_so_far", "pow3")


@dataclass(frozen=True)
class Curve:
    id: str
    source: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    higher_is_better: bool


@dataclass(frozen=True)
class Score:
    curve: str
    source: str
    prefix: float
    method: str
    error: float  # |forecast of the final value - final value| / range of the whole curve
    covered: bool | None  # the final value inside the interval (methods with an interval only)
    milliseconds: float


@dataclass(frozen=True)
class Summary:
    method: str
    prefix: float
    curves: int
    median_error: float
    mean_error: float
    coverage: float | None
    median_ms: float


def prefix_length(n: int, fraction: float) -> int:
    return min(n - 1, max(3, int(round(n * fraction))))


def calibration_errors(curves: Iterable[Curve], cuts: Sequence[float] = CALIBRATION_CUTS) -> list[tuple[float, float]]:
    """(horizon, signed error / observed range) for every later point of every cut of every curve."""
    pairs: list[tuple[float, float]] = []
    for curve in curves:
        x, y = np.asarray(curve.x), np.asarray(curve.y)
        for cut in sorted({prefix_length(len(x), c) for c in cuts}):
            model = CurveEnsemble().fit(x[:cut], y[:cut], curve.higher_is_better)
            future = x[cut:]
            errors = model.sign_ * (y[cut:] - model.predict(future)) / model.span_
            pairs.extend(zip(model.horizon(future).tolist(), errors.tolist()))
    return pairs


def leave_one_source_out(curves: Sequence[Curve]) -> dict[str, Calibration]:
    """A calibration per source repository, built from every other repository's curves."""
    errors_by_source: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for curve in curves:
        errors_by_source[curve.source].extend(calibration_errors([curve]))
    return {source: calibration_from_errors([e for other, errs in errors_by_source.items() if other != source
                                             for e in errs])
            for source in errors_by_source}


def _timed(forecast: Callable[[], tuple[float, float | None, float | None]]) -> tuple[float, float | None, float | None, float]:
    start = time.perf_counter()
    median, low, high = forecast()
    return median, low, high, (time.perf_counter() - start) * 1000


def _forecasts(curve: Curve, cut: int, calibration: Calibration | None, interval: float
               ) -> dict[str, Callable[[], tuple[float, float | None, float | None]]]:
    x, y = np.asarray(curve.x[:cut]), np.asarray(curve.y[:cut])
    final = curve.x[-1]

    def ours() -> tuple[float, float | None, float | None]:
        model = CurveEnsemble(interval=interval, calibration=calibration).fit(x, y, curve.higher_is_better)
        low, high = model.predict_interval([final])
        return float(model.predict([final])[0]), float(low[0]), float(high[0])

    def pow3() -> tuple[float, float | None, float | None]:
        u = 1 + (x - x[0]) / (np.median(np.diff(x)) or 1)
        fit = fit_family(FAMILIES[0], u, y)
        return float(fit.predict(np.array([1 + (final - x[0]) / (np.median(np.diff(x)) or 1)]))[0]), None, None

    return {
        "ours": ours,
        "last_value": lambda: (float(y[-1]), None, None),
        "best_so_far": lambda: (float(np.max(y) if curve.higher_is_better else np.min(y)), None, None),
        "pow3": pow3,
    }


def backtest(curves: Sequence[Curve], prefixes: Sequence[float] = PREFIXES,
             calibrations: dict[str, Calibration] | None = None, interval: float = 0.8) -> list[Score]:
    """Scores of every method on every curve and prefix."""
    scores = []
    for curve in curves:
        span = float(np.ptp(curve.y)) or 1.0
        for fraction in prefixes:
            cut = prefix_length(len(curve.x), fraction)
            calibration = calibrations.get(curve.source) if calibrations else None
            for method, forecast in _forecasts(curve, cut, calibration, interval).items():
                median, low, high, ms = _timed(forecast)
                covered = None if low is None or high is None else bool(low <= curve.y[-1] <= high)
                scores.append(Score(curve.id, curve.source, fraction, method, abs(median - curve.y[-1]) / span,
                                    covered, ms))
    return scores


def summarise(scores: Sequence[Score]) -> list[Summary]:
    """One row per method and prefix."""
    rows = []
    for method in METHODS:
        for prefix in sorted({s.prefix for s in scores}):
            chosen = [s for s in scores if s.method == method and s.prefix == prefix]
            if not chosen:
                continue
            covered = [s.covered for s in chosen if s.covered is not None]
            rows.append(Summary(method, prefix, len(chosen), float(np.median([s.error for s in chosen])),
                                float(np.mean([s.error for s in chosen])),
                                float(np.mean(covered)) if covered else None,
                                float(np.median([s.milliseconds for s in chosen]))))
    return rows
