"""Backtest of projection methods on real learning curves: cut prefixes, forecast, score.

Pure functions over `Curve` values; `reporter backtest` reads the curves and prints the table.
Intervals are calibrated leave-one-source-out: a curve is never scored with a calibration that saw
its own repository, because in-sample calibration flatters itself.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from reporter.report.analysis.curves import FAMILIES, fit_family
from reporter.report.analysis.projection import (
    Calibration,
    CurveEnsemble,
    kind_calibration,
)

PREFIXES = (0.2, 0.4, 0.6)
MIN_CURVE_POINTS = 6
"""Shorter curves are skipped: the 20% prefix must still hold 3 points and leave some to score."""
CALIBRATION_CUTS = tuple(np.round(np.linspace(0.2, 0.8, 7), 2))
METHODS = ("ours", "last_value", "best_so_far", "pow3")


@dataclass(frozen=True)
class Curve:
    id: str
    source: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    higher_is_better: bool
    bounds: tuple[float, float] = (-math.inf, math.inf)  # the metric's natural range, as reports use it
    kind: str = ""  # the log format it came from (curves-large's `kind`), for coverage by kind


@dataclass(frozen=True)
class Score:
    curve: str
    source: str
    prefix: float
    method: str
    error: float  # |forecast of the final value - final value| / range of the whole curve
    rest_error: float  # median over every point after the prefix of |forecast - value| / range
    covered: bool | None  # the final value inside the interval (methods with an interval only)
    rest_covered: float | None  # share of the points after the prefix inside their intervals
    width: float | None  # the interval's width / range of the whole curve
    milliseconds: float
    kind: str = ""
    points: int = 0  # how many points the prefix held


@dataclass(frozen=True)
class Summary:
    method: str
    prefix: float
    curves: int
    median_error: float
    mean_error: float
    median_rest_error: float
    coverage: float | None
    rest_coverage: float | None  # mean over curves of the share of later points inside their intervals
    median_width: float | None
    median_ms: float
    gain: tuple[float, float, float] | None  # 1 - median error / last value's, with a 90% bootstrap interval


def prefix_length(n: int, fraction: float) -> int:
    return min(n - 1, max(3, int(round(n * fraction))))


def calibration_errors(curves: Iterable[Curve], cuts: Sequence[float] = CALIBRATION_CUTS
                       ) -> list[tuple[float, float, float, int]]:
    """(horizon, signed error in interval units, weight, prefix length) for every later point of every cut of
    every curve; the weights of one cut's points add up to 1, so long curves do not outvote short ones."""
    rows: list[tuple[float, float, float, int]] = []
    for curve in curves:
        x, y = np.asarray(curve.x), np.asarray(curve.y)
        for cut in sorted({prefix_length(len(x), c) for c in cuts}):
            model = CurveEnsemble(bounds=curve.bounds).fit(x[:cut], y[:cut], curve.higher_is_better)
            future = x[cut:]
            rows.extend((h, e, 1 / len(future), cut) for h, e in zip(model.horizon(future).tolist(),
                                                                      model.calibration_error(future, y[cut:]).tolist()))
    return rows


def leave_one_source_out(curves: Sequence[Curve]) -> dict[str, Calibration]:
    """A calibration per source repository, built from every other repository's curves."""
    errors = [(curve.source, curve.kind, calibration_errors([curve])) for curve in curves]
    return {source: kind_calibration([(kind, rows) for other, kind, rows in errors if other != source])
            for source in {curve.source for curve in curves}}


Forecast = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]  # values and interval at every later x


def _timed(forecast: Callable[[], Forecast]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, float]:
    start = time.perf_counter()
    values, low, high = forecast()
    return values, low, high, (time.perf_counter() - start) * 1000


def _forecasts(curve: Curve, cut: int, calibration: Calibration | None, interval: float
               ) -> dict[str, Callable[[], Forecast]]:
    x, y = np.asarray(curve.x[:cut]), np.asarray(curve.y[:cut])
    later = np.asarray(curve.x[cut:])
    calibration = calibration.for_kind(curve.kind) if calibration else None

    def ours() -> Forecast:
        model = CurveEnsemble(interval=interval, calibration=calibration, bounds=curve.bounds).fit(
            x, y, curve.higher_is_better)
        low, high = model.predict_interval(later)
        return model.predict(later), low, high

    def pow3() -> Forecast:
        step = np.median(np.diff(x)) or 1
        fit = fit_family(FAMILIES[0], 1 + (x - x[0]) / step, y)
        return np.clip(fit.predict(1 + (later - x[0]) / step), *curve.bounds), None, None

    def constant(value: float) -> Callable[[], Forecast]:
        return lambda: (np.full(len(later), value), None, None)

    return {
        "ours": ours,
        "last_value": constant(float(y[-1])),
        "best_so_far": constant(float(np.max(y) if curve.higher_is_better else np.min(y))),
        "pow3": pow3,
    }


def backtest(curves: Sequence[Curve], prefixes: Sequence[float] = PREFIXES,
             calibrations: Mapping[str, Calibration | None] | None = None, interval: float = 0.8) -> list[Score]:
    """Scores of every method on every curve and prefix."""
    scores = []
    for curve in curves:
        span = float(np.ptp(curve.y)) or 1.0
        for fraction in prefixes:
            cut = prefix_length(len(curve.x), fraction)
            calibration = calibrations.get(curve.source) if calibrations else None
            actual = np.asarray(curve.y[cut:])
            for method, forecast in _forecasts(curve, cut, calibration, interval).items():
                values, low, high, ms = _timed(forecast)
                inside = None if low is None or high is None else (low <= actual) & (actual <= high)
                scores.append(Score(curve.id, curve.source, fraction, method, abs(values[-1] - actual[-1]) / span,
                                    float(np.median(np.abs(values - actual))) / span,
                                    None if inside is None else bool(inside[-1]),
                                    None if inside is None else float(np.mean(inside)),
                                    None if low is None or high is None else float(high[-1] - low[-1]) / span, ms,
                                    curve.kind, cut))
    return scores


def gain_over_last_value(errors: dict[str, np.ndarray], baseline: dict[str, np.ndarray], draws: int = 2000,
                         seed: int = 0) -> tuple[float, float, float]:
    """1 - median error / last value's median error, with a 90% interval from resampling whole sources; NaN when
    the last value's median error is 0 (curves settled before the cut), where no gain is defined.

    Curves of one repository are alike, so sources, not curves, are the independent units; the
    interval shows how much of a difference between methods a corpus this size can resolve.
    """
    sources = sorted(errors)
    ours, theirs = np.concatenate([errors[s] for s in sources]), np.concatenate([baseline[s] for s in sources])
    point = 1 - float(np.median(ours)) / float(np.median(theirs)) if np.median(theirs) > 0 else math.nan
    rng = np.random.default_rng(seed)
    gains = []
    for _ in range(draws):
        picked = rng.integers(0, len(sources), len(sources))
        a = np.concatenate([errors[sources[i]] for i in picked])
        b = np.concatenate([baseline[sources[i]] for i in picked])
        if np.median(b) > 0:
            gains.append(1 - float(np.median(a)) / float(np.median(b)))
    low, high = np.quantile(gains, [0.05, 0.95]) if gains else (np.nan, np.nan)
    return point, float(low), float(high)


def _by_source(scores: Sequence[Score]) -> dict[str, np.ndarray]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for s in sorted(scores, key=lambda s: s.curve):
        grouped[s.source].append(s.error)
    return {source: np.asarray(values) for source, values in grouped.items()}


def summarise(scores: Sequence[Score]) -> list[Summary]:
    """One row per method and prefix."""
    rows = []
    for method in METHODS:
        for prefix in sorted({s.prefix for s in scores}):
            chosen = [s for s in scores if s.method == method and s.prefix == prefix]
            if not chosen:
                continue
            covered = [s.covered for s in chosen if s.covered is not None]
            widths = [s.width for s in chosen if s.width is not None]
            rest = [s.rest_covered for s in chosen if s.rest_covered is not None]
            baseline = [s for s in scores if s.method == "last_value" and s.prefix == prefix]
            gain = (gain_over_last_value(_by_source(chosen), _by_source(baseline))
                    if method != "last_value" and len(baseline) == len(chosen) else None)
            rows.append(Summary(method, prefix, len(chosen), float(np.median([s.error for s in chosen])),
                                float(np.mean([s.error for s in chosen])),
                                float(np.median([s.rest_error for s in chosen])),
                                float(np.mean(covered)) if covered else None,
                                float(np.mean(rest)) if rest else None,
                                float(np.median(widths)) if widths else None,
                                float(np.median([s.milliseconds for s in chosen])), gain))
    return rows


@dataclass(frozen=True)
class Breakdown:
    """Our method against the last value within one group of scores (a kind at a prefix, a prefix length)."""

    group: str
    curves: int
    median_error: float
    last_value_error: float
    coverage: float
    rest_coverage: float

    @property
    def gain(self) -> float:
        """1 - our median final error / the last value's (positive: we beat it)."""
        return 1 - self.median_error / self.last_value_error if self.last_value_error > 0 else math.nan


def breakdown(scores: Sequence[Score], group: Callable[[Score], str]) -> list[Breakdown]:
    """One row per group, in sorted group order: how ours compares with the last value and how its intervals cover.

    The headline table pools kinds and prefix lengths; a method can win on average while losing on the
    shortest prefixes or on one log format, and the issue's targets are stated per kind and per length.
    """
    ours: dict[str, list[Score]] = defaultdict(list)
    last: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        if s.method == "ours":
            ours[group(s)].append(s)
        elif s.method == "last_value":
            last[group(s)].append(s.error)
    return [Breakdown(name, len(chosen), float(np.median([s.error for s in chosen])), float(np.median(last[name])),
                      float(np.mean([bool(s.covered) for s in chosen])),
                      float(np.mean([s.rest_covered or 0.0 for s in chosen])))
            for name, chosen in sorted(ours.items())]


def by_kind(score: Score) -> str:
    return f"{score.kind or '-'} {score.prefix:.0%}"


def by_points(score: Score) -> str:
    """Prefix lengths 3 to 8 one by one (where the issue asks for no loss to the last value), longer ones pooled."""
    return f"{score.points} points" if score.points <= 8 else "9+ points"
