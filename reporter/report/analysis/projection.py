"""Projected trajectory: an ensemble of learning-curve families with calibrated intervals.

How a forecast is made (scikit-learn conventions: parameters in __init__, fit returns self, learned
attributes end in `_`):
1. x becomes the evaluation index u = 1, 2, ...; y becomes z, oriented so improving is up and scaled
   by the observed range (span), so one calibration serves every metric and unit.
2. Every family in `curves` is fitted on the history without its last third, and again without its
   last fifth, and scored by how far it misses the last value from there, averaged (the error of an
   extrapolation, which is what is asked of it; two origins steady the weights of short histories);
   weights are 1 / (error + floor)^2, so no single wild fit can dominate.
3. All families are refitted on the whole history; their weighted median, capped at `cap` times the
   observed range from the last value, is trusted by the share `shrink`: the forecast moves that far
   from the last value towards it. Below MIN_FIT_POINTS points the only member is the last value plus
   SHORT_TREND of the net change since the first point, reached gradually (`curves.net_trend`).
4. The interval adds quantiles of signed forecast errors measured on a corpus of real curves
   (`Calibration`, split-conformal style), binned by how far ahead the forecast reaches relative to the
   observed length and by how many points the history holds (LENGTH_EDGES), or by the run's log format
   when the corpus holds enough curves of it (`run_kind`, MIN_KIND_CURVES); every cut of every curve
   weighs the same, however many points follow it. Errors are measured in units of the curve's recent movement (the range of its
   last third, at least RECENT_FLOOR of the whole observed range), so a curve that has settled gets
   a narrow band and one still climbing a wide one. `reporter backtest` measures coverage on curves
   the calibration did not see.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from reporter.model import Projection, ProjectionPoint, Run, Series, Status
from reporter.report.analysis.curves import Fit, fit_members, net_trend
from reporter.report.analysis.diagnosis import framework
from reporter.report.series import finite_part, history_keys

METHOD = "curve_ensemble"
"""The projection method's code in summary.json; the templates name it in each language (messages.projection_method)."""
MIN_POINTS = 6
"""Fewer per-epoch values than this give an honest 'insufficient data' in reports."""
MIN_FIT_POINTS = 5
"""Below this no family is fitted (used by the backtest, never shown as a curve): on curves-large's 3- and
4-point prefixes every fitted shape, even the mean of the last 3, lost 57-59% to the last value."""
HELD_OUT_SHARES = (1 / 3, 1 / 5)
"""The members are scored on extrapolating over these last shares of the history. One origin (the last third)
gained 31% and 29% over the last value at curves-large's 40% and 60% prefixes, two gained 34% and 34%."""
CAP = 0.5
"""Largest change of the families' median from the last value, in units of the observed range."""
SHRINK = 0.6
"""Share of the way from the last value to the families' median that the forecast goes. On curves-large
(`reporter backtest`) 0.6 to 0.8 did best at every prefix length from 5 points up and at every noise level
(share of back-and-forth movement) measured; 1.0 lost up to a third of the gain, so no length or noise rule
beat one constant."""
SHORT_TREND = 0.5
"""Below MIN_FIT_POINTS the forecast carries on this share of the net change so far (times SHRINK: 30%). On
curves-large's 3- and 4-point prefixes the final value lay a median 0.51 observed ranges beyond the last value
(a quarter of them under 0.13). SHORT_TREND 0.3 and 0.5 beat the last value there by 16-28%, 0.7 by 15-16%."""
LEVELS = tuple(round(0.01 * i, 2) for i in range(1, 100))
HORIZON_EDGES = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, math.inf)
LENGTH_EDGES = (0, 5, 9, 21)
"""A history of at least LENGTH_EDGES[i] points (and fewer than the next edge) uses calibration i. One table for
all lengths covered 88% of curves-large's later points after 21+ points and 59% after 9-20 (leave one
repository out); one per length bin covered 75-81% in each."""
MIN_BIN_ERRORS = 20
"""A horizon bin with fewer errors than this borrows its row (from the pooled table, or its nearest neighbour)."""
MIN_KIND_CURVES = 30
"""A log format (`run_kind`) with at least this many calibration curves gets its own table; fewer use the pooled one."""
HELD_OUT_COVERAGE = (0.79, 0.81)
"""Lowest and highest share of final values inside the HELD_OUT_INTERVAL band over the 20/40/60% prefixes of
curves-large, each repository's curves scored with a calibration built without them
(`reporter backtest ../shared/curves-large/curves.jsonl`; bench/README.md)."""
HELD_OUT_REST_COVERAGE = (0.74, 0.80)
"""The same for every point after the prefix (the mean over curves of the share inside their bands)."""
HELD_OUT_KIND_COVERAGE = (0.74, 0.85)
"""HELD_OUT_COVERAGE's range over each kind with its own table (MIN_KIND_CURVES or more curves) and prefix."""
HELD_OUT_KIND_REST_COVERAGE = (0.72, 0.84)
"""HELD_OUT_REST_COVERAGE's range over the same kinds and prefixes."""
HELD_OUT_INTERVAL = 0.8
FLAT_GAIN = 0.01
"""A curve has flattened when it gains less than this share of its observed range over FLAT_WINDOW evaluation
intervals (the median spacing of its x values: epochs apart when evaluated every few epochs)."""
FLAT_WINDOW = 5
MAX_FLAT_GRID = 10_000
"""flatten_x looks at most this many points ahead: one per epoch up to a planned end of 10 million epochs
took 23 s and 4.7 GB."""
RECENT_FLOOR = 0.03
"""The interval's unit is never below this share of the observed range (a perfectly flat tail would give 0).
Coverage on held-out sources stayed at 74-91% for floors from 0.02 to 0.2 (`reporter backtest`)."""
MAX_FIT_POINTS = 400
"""Longer histories are averaged into this many consecutive buckets before fitting: a curve shape needs a
few hundred points, and a run logged every step (200,000 points) took 4 s to fit otherwise."""


@dataclass(frozen=True)
class Calibration:
    """Quantiles of signed, normalised forecast errors per horizon bin (rows) and level (columns)."""

    edges: tuple[float, ...]
    levels: tuple[float, ...]
    table: tuple[tuple[float, ...], ...]
    n: tuple[int, ...]
    curves: int | None = None  # how many learning curves the errors were measured on (the appendix says it)
    repositories: int | None = None  # and from how many repositories
    by_length: tuple[tuple[int, "Calibration"], ...] = ()  # (fewest points, table) for histories of that length
    by_kind: tuple[tuple[str, "Calibration"], ...] = ()  # (log format, table) for the formats with enough curves

    def for_kind(self, kind: str) -> "Calibration":
        """The table measured on curves of this log format (`run_kind`), or the pooled one when too few were."""
        return next((table for name, table in self.by_kind if name == kind), self)

    def for_length(self, points: int) -> "Calibration":
        """The table measured on histories about as long as this one (the pooled one when none was)."""
        chosen = [table for fewest, table in self.by_length if fewest <= points]
        return chosen[-1] if chosen else self

    def quantile(self, horizon: float, level: float) -> float:
        return float(np.interp(level, self.levels, self._row(horizon)))

    def cdf(self, horizon: float, value: float) -> float:
        """P(error <= value) at this horizon, from the quantile table."""
        return float(np.interp(value, self._row(horizon), self.levels, left=0.0, right=1.0))

    def _row(self, horizon: float) -> np.ndarray:
        """The error quantiles at a horizon, continuous and never narrower than at a shorter horizon.

        Each bin's row holds at its anchor (the bin's middle; 1.5 times the start for the open last bin)
        and rows in between are interpolated: one row per bin made the band jump at every bin edge (the
        80% upper bound went from 2.7 to 33 interval units between epochs 39 and 40 of a 20-epoch run).
        The rows are first widened to the widest band of every shorter horizon: the open last bin holds
        few curves (45 of 7,543), and a narrower band further ahead is an artefact of that, not knowledge.
        """
        anchors, widened = self._widened
        upper = int(np.clip(np.searchsorted(anchors, horizon), 1, len(anchors) - 1))
        share = float(np.clip((horizon - anchors[upper - 1]) / (anchors[upper] - anchors[upper - 1]), 0.0, 1.0))
        return (1 - share) * widened[upper - 1] + share * widened[upper]

    @functools.cached_property
    def _widened(self) -> tuple[np.ndarray, np.ndarray]:
        """The bins' anchor horizons and their rows widened as `_row` explains (computed once)."""
        table = np.asarray(self.table, dtype=float)
        upper = np.asarray(self.levels) >= 0.5
        widened = np.where(upper, np.maximum.accumulate(table, axis=0), np.minimum.accumulate(table, axis=0))
        starts = np.asarray(self.edges[:len(table)], dtype=float)
        ends = np.asarray(self.edges[1:len(table) + 1], dtype=float)
        with np.errstate(invalid="ignore"):
            anchors = np.where(np.isfinite(ends), (starts + ends) / 2, 1.5 * starts)
        return anchors, widened


ULTRALYTICS_KINDS = (("metrics/accuracy_top1", "ultralytics-classify"), ("metrics/mAP50-95(M)", "ultralytics-segment"),
                     ("metrics/mAP50-95(B)", "ultralytics-detect"), ("metrics/mAP_0.5:0.95", "ultralytics-detect"))
"""curves-large's Ultralytics kinds by the column of their metric, in the order its build.py tries them."""


def run_kind(run: Run) -> str:
    """The run's log format in curves-large's `kind` names, which picks its interval table (`Calibration.for_kind`):
    the one place a run is mapped to a kind, from the reader (`Run.family`), the framework that wrote the file
    and its columns; "" (the pooled table) for a format curves-large does not hold."""
    keys = frozenset(history_keys(run.history))
    ultralytics = next((kind for key, kind in ULTRALYTICS_KINDS if key in keys), None)
    if ultralytics is not None:
        return ultralytics
    if run.family.startswith("hf"):
        return "hf-trainer"
    if run.family not in ("csv", "dataframe-csv"):  # the second: pandas' to_csv, its index an unnamed column
        return ""
    if framework(run) == "lightning":
        return "lightning-csv"
    keras = any(k.startswith("val_") and k[4:] in keys for k in keys)  # CSVLogger: loss beside val_loss
    return "keras-csv" if keras else "other-csv"


def fallback_calibration() -> Calibration:
    """A wide, symmetric calibration for when no corpus calibration is available."""
    from scipy.stats import norm

    spreads = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)  # in interval units (recent movement), per horizon bin
    table = tuple(tuple(float(norm.ppf(level) * s) for level in LEVELS) for s in spreads)
    return Calibration(HORIZON_EDGES, LEVELS, table, tuple(0 for _ in spreads))


def calibration_from_errors(errors: Sequence[tuple[float, float, float, int]], curves: int | None = None,
                            repositories: int | None = None, lengths: bool = True) -> Calibration:
    """A calibration from (horizon, signed normalised error, weight, history length) rows: a pooled table and
    (with `lengths`) one per LENGTH_EDGES bin, whose sparse horizon bins borrow the pooled row."""
    data = np.asarray(errors, dtype=float).reshape(-1, 4)
    pooled = _table(data, None)
    if not lengths:
        return replace(pooled, curves=curves, repositories=repositories)
    bins = np.searchsorted(LENGTH_EDGES, data[:, 3], side="right") - 1
    return replace(pooled, curves=curves, repositories=repositories,
                   by_length=tuple((edge, _table(data[bins == i], pooled)) for i, edge in enumerate(LENGTH_EDGES)))


def kind_calibration(curves: Sequence[tuple[str, Sequence[tuple[float, float, float, int]]]],
                     repositories: int | None = None) -> Calibration:
    """A pooled calibration (`calibration_from_errors`) over every curve's (kind, error rows), plus one per kind
    with at least MIN_KIND_CURVES curves: Ultralytics detection misses by other multiples of its recent movement
    than a Lightning loss, and one pooled table covered 61-91% of final values across kinds (bench/README.md).
    A kind's table is not split by history length: a kind holds too few curves for that (tables per kind and
    length covered 65-70% of segmentation's final values at the 40% and 60% prefixes)."""
    counts: dict[str, int] = {}
    for kind, _ in curves:
        counts[kind] = counts.get(kind, 0) + 1
    pooled = calibration_from_errors([row for _, rows in curves for row in rows], len(curves), repositories)
    own = tuple((kind, calibration_from_errors([row for k, rows in curves if k == kind for row in rows], count,
                                               lengths=False))
                for kind, count in sorted(counts.items()) if kind and count >= MIN_KIND_CURVES)
    return replace(pooled, by_kind=own)


def _table(data: np.ndarray, pooled: Calibration | None) -> Calibration:
    rows, counts = [], []
    for low, high in zip(HORIZON_EDGES[:-1], HORIZON_EDGES[1:]):
        inside = data[(data[:, 0] >= low) & (data[:, 0] < high)]
        counts.append(len(inside))
        rows.append(_weighted_quantiles(inside[:, 1], inside[:, 2]) if len(inside) >= MIN_BIN_ERRORS else None)
    filled = ([row if row is not None else pooled.table[i] for i, row in enumerate(rows)] if pooled
              else _fill_sparse(rows))
    return Calibration(HORIZON_EDGES, LEVELS, tuple(filled), tuple(counts))


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray) -> tuple[float, ...]:
    """LEVELS quantiles of values, each counted with its weight (midpoint rule on the cumulative weights)."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) - weights[order] / 2
    return tuple(float(q) for q in np.interp(LEVELS, cumulative / weights.sum(), values[order]))


def _fill_sparse(rows: list[tuple[float, ...] | None]) -> list[tuple[float, ...]]:
    known = {i: row for i, row in enumerate(rows) if row is not None}
    if not known:
        return list(fallback_calibration().table)
    return [row if row is not None else known[min(known, key=lambda k: abs(k - i))] for i, row in enumerate(rows)]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted median of each column of values [members, points]."""
    order = np.argsort(values, axis=0)
    sorted_values = np.take_along_axis(values, order, axis=0)
    cumulative = np.cumsum(weights[order], axis=0)
    index = (cumulative < cumulative[-1] / 2).sum(axis=0)
    return sorted_values[index, np.arange(values.shape[1])]


class CurveEnsemble:
    """Forecasts a learning curve from its observed prefix.

    Parameters:
        interval: coverage of the interval (0.8 gives the 10% and 90% quantiles).
        cap: largest forecast change from the recent level, in units of the observed range.
        floor: error floor in the member weights, in units of the observed range.
        calibration: error quantiles from a corpus; the fallback is deliberately wide.
        bounds: the values the metric can take (`metrics.natural_range`); forecasts and intervals stay inside.
        shrink: share of the way from the last value to the families' median that the forecast goes.
    """

    def __init__(self, interval: float = 0.8, cap: float = CAP, floor: float = 0.02,
                 calibration: Calibration | None = None,
                 bounds: tuple[float, float] = (-math.inf, math.inf), shrink: float = SHRINK,
                 short_trend: float = SHORT_TREND) -> None:
        self.short_trend = short_trend
        self.interval = interval
        self.cap = cap
        self.shrink = shrink
        self.floor = floor
        self.calibration = calibration
        self.bounds = bounds

    def fit(self, x: ArrayLike, y: ArrayLike, higher_is_better: bool = True) -> "CurveEnsemble":
        x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        steps = np.diff(x_arr)
        self.x0_ = float(x_arr[0])
        self.dx_ = float(np.median(steps)) if len(steps) and np.median(steps) > 0 else 1.0
        self.sign_ = 1.0 if higher_is_better else -1.0
        self.y0_ = float(y_arr[0])
        self.span_ = float(np.ptp(y_arr)) or max(abs(float(y_arr[-1])) * 0.01, 1e-9)
        u, z = self._u(x_arr), self._z(y_arr)
        self.u_last_ = float(u[-1])
        low, high = sorted(float(b) for b in self._z(np.asarray(self._observed_bounds(y_arr), dtype=float)))
        self.z_bounds_ = (low, high)
        self.level_ = float(z[-1])
        tail = z[-max(3, len(z) // 3):]
        self.unit_ = max(float(np.ptp(tail)), RECENT_FLOOR)  # interval unit, in units of the span
        self.members_, self.weights_ = self._members(u, z)
        self.calibration_ = (self.calibration or fallback_calibration()).for_length(len(u))
        return self

    def _observed_bounds(self, y: np.ndarray) -> tuple[float, float]:
        """The bounds, less any side the history already crossed: a loss that is a negative log-likelihood falls
        below the 0 of `natural_range`, and clipping its forecast there drew a jump from -290 to 0."""
        low, high = self.bounds
        return (low if y.min() >= low else -math.inf, high if y.max() <= high else math.inf)

    def _u(self, x: np.ndarray) -> np.ndarray:
        return 1.0 + (np.asarray(x, dtype=float) - self.x0_) / self.dx_

    def _z(self, y: np.ndarray) -> np.ndarray:
        return self.sign_ * (np.asarray(y, dtype=float) - self.y0_) / self.span_

    def _y(self, z: np.ndarray) -> np.ndarray:
        return self.y0_ + self.sign_ * np.asarray(z) * self.span_

    def _members(self, u: np.ndarray, z: np.ndarray) -> tuple[list[Fit], np.ndarray]:
        if len(u) < MIN_FIT_POINTS:
            return [net_trend(u, z, self.short_trend)], np.ones(1)
        errors = np.mean([self._extrapolation_errors(u, z, share) for share in HELD_OUT_SHARES], axis=0)
        weights = 1.0 / (errors + self.floor) ** 2
        return fit_members(u, z), weights / weights.sum()

    @staticmethod
    def _extrapolation_errors(u: np.ndarray, z: np.ndarray, share: float) -> np.ndarray:
        """How far each member, fitted without the last `share` of the history, misses its last value."""
        hold = max(2, int(round(len(u) * share)))
        with np.errstate(all="ignore"):
            errors = np.array([abs(float(m.predict(u[-1:])[0]) - z[-1]) for m in fit_members(u[:-hold], z[:-hold])])
        return np.where(np.isfinite(errors), errors, np.inf)

    def _median_z(self, x: ArrayLike) -> np.ndarray:
        u = self._u(np.atleast_1d(np.asarray(x, dtype=float)))
        with np.errstate(all="ignore"):
            values = np.array([m.predict(u) for m in self.members_])
        values = np.where(np.isfinite(values), values, self.level_)
        median = np.clip(_weighted_median(values, self.weights_), self.level_ - self.cap, self.level_ + self.cap)
        return np.clip(self.level_ + self.shrink * (median - self.level_), *self.z_bounds_)

    def horizon(self, x: ArrayLike) -> np.ndarray:
        """How far ahead each x lies, relative to the observed length."""
        return (self._u(np.atleast_1d(np.asarray(x, dtype=float))) - self.u_last_) / max(self.u_last_, 1.0)

    def calibration_error(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Signed errors of the forecast at x against the values y, oriented and in interval units:
        what a Calibration is built from."""
        return self.sign_ * (np.asarray(y, dtype=float) - self.predict(x)) / (self.span_ * self.unit_)

    def predict(self, x: ArrayLike) -> np.ndarray:
        return self._y(self._median_z(x))

    def predict_interval(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        median = self._median_z(x)
        tail = (1 - self.interval) / 2
        low = self.unit_ * np.asarray([self.calibration_.quantile(h, tail) for h in self.horizon(x)])
        high = self.unit_ * np.asarray([self.calibration_.quantile(h, 1 - tail) for h in self.horizon(x)])
        ends = [self._y(np.clip(median + q, *self.z_bounds_)) for q in (low, high)]
        return np.minimum(*ends), np.maximum(*ends)

    def probability_beyond(self, x: float, target: float) -> float:
        """P(the metric at x is better than target), from the calibrated error distribution."""
        median = float(self._median_z([x])[0])
        gap = (float(self._z(np.array([target]))[0]) - median) / self.unit_
        return 1.0 - self.calibration_.cdf(float(self.horizon([x])[0]), gap)

    def flatten_x(self, limit: float) -> float | None:
        """The first x after the history where the forecast gains under FLAT_GAIN of the range in FLAT_WINDOW."""
        steps = self._u(np.array([limit]))[0] + 1 - self.u_last_
        stride = max(1.0, math.ceil(steps / MAX_FLAT_GRID))  # a plan of millions of epochs: look every few
        grid = self.x0_ + (np.arange(self.u_last_, self._u(np.array([limit]))[0] + 1, stride) - 1) * self.dx_
        if len(grid) < 2:
            return None
        z = self._median_z(grid)
        ahead = self._median_z(grid + FLAT_WINDOW * self.dx_)
        flat = np.nonzero(ahead - z < FLAT_GAIN)[0]
        return float(grid[flat[0]]) if len(flat) else None


def default_targets(last: float, limit: float | None, ahead: float = 20.0) -> tuple[float, ...]:
    """A few points between the last one and the planned end (or `ahead` more when no end is known:
    20 epochs, or for step-indexed runs as many steps again as observed, since 20 steps is nothing)."""
    end = limit if limit is not None else last + ahead
    if end <= last:
        return ()
    grain = 10.0 ** max(0, math.floor(math.log10((end - last) / 4))) if limit is None else 1.0  # 250,000 not 249,999
    steps = sorted({grain * round((last + (end - last) * f) / grain) for f in (0.25, 0.5, 0.75, 1.0)} - {round(last)})
    return tuple(float(s) for s in steps if s > last)


def projection_limit(status: Status, last_epoch: float | None, planned_last: float | None) -> float | None:
    """The furthest epoch a projection may reach: the actual end of an ended run, else the planned end."""
    if status in (Status.FINISHED, Status.STOPPED_EARLY, Status.CRASHED):
        return last_epoch
    return planned_last


def no_projection(reason: str, interval: float, capped: tuple[float, ...], limit: float | None) -> Projection:
    return Projection(METHOD, interval, (), None, None, capped, limit, reason, None, None, None)


def project(data: Series, bounds: tuple[float, float], requested: tuple[float, ...], limit: float | None,
            interval: float, best_so_far: bool, higher_is_better: bool = True,
            calibration: Calibration | None = None, target: float | None = None, kind: str = "") -> Projection:
    """Low/median/high at the requested epochs within the limit, or the reason there are none; `kind`
    (`run_kind`) picks the interval table of the run's log format."""
    calibration = calibration.for_kind(kind) if calibration else None
    clean = finite_part(data)
    last = clean.x[-1] if clean.x else None
    capped = tuple(t for t in requested if limit is not None and t > limit)
    allowed = tuple(t for t in requested if (limit is None or t <= limit) and (last is None or t > last))
    if len(clean) < MIN_POINTS:
        return no_projection("insufficient_data", interval, capped, limit)
    if best_so_far:
        return no_projection("best_so_far", interval, capped, limit)
    x, y = thinned(np.asarray(clean.x), np.asarray(clean.values))
    if np.ptp(y) == 0:
        return no_projection("constant", interval, capped, limit)
    model = CurveEnsemble(interval=interval, calibration=calibration, bounds=bounds).fit(x, y, higher_is_better)
    points = tuple(_point(model, t) for t in allowed)
    first, final = clean.x[0], clean.x[-1]  # the history's own ends, not bucket means
    end = limit if limit is not None else final + (final - first)
    far = final + 10 * max(final - first, model.dx_)
    best = float(np.max(clean.values) if higher_is_better else np.min(clean.values))  # the real best, not a bucket mean
    return Projection(
        METHOD, interval, points, _point(model, far), _backtest_error(x, y, higher_is_better, calibration, bounds),
        capped, limit, None if points else ("run_ended" if capped or (limit is not None and limit <= x[-1])
                                            else "nothing_requested"),
        model.flatten_x(end) if end > x[-1] else None,
        model.probability_beyond(end, best) if end > x[-1] else None,
        model.probability_beyond(end, target) if target is not None and end > x[-1] else None,
        end if end > x[-1] else None,
    )


def thinned(x: np.ndarray, y: np.ndarray, limit: int = MAX_FIT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """x and y averaged over `limit` consecutive, equally sized buckets; unchanged when already short.

    The last point stays itself, so the forecast starts from the latest evaluation, not a bucket mean.
    """
    if len(x) <= limit:
        return x, y
    buckets = np.array_split(np.arange(len(x) - 1), limit - 1)
    xs = np.array([x[b].mean() for b in buckets] + [x[-1]])
    ys = np.array([y[b].mean() for b in buckets] + [y[-1]])
    return xs, ys


def _point(model: CurveEnsemble, t: float) -> ProjectionPoint:
    lo, hi = model.predict_interval([t])
    return ProjectionPoint(float(t), float(lo[0]), float(model.predict([t])[0]), float(hi[0]))


def _backtest_error(x: np.ndarray, y: np.ndarray, higher_is_better: bool, calibration: Calibration | None,
                    bounds: tuple[float, float]) -> float | None:
    """Median |error| / range when forecasting the last third from the first two thirds of this history."""
    cut = max(MIN_FIT_POINTS, int(len(x) * 2 / 3))
    if cut >= len(x):
        return None
    model = CurveEnsemble(calibration=calibration, bounds=bounds).fit(x[:cut], y[:cut], higher_is_better)
    return float(np.median(np.abs(model.predict(x[cut:]) - y[cut:]))) / float(np.ptp(y))
