"""How well the model fits: overfitting, a generalisation gap, a run still improving, broken evaluation.

Each rule reads a training series and its validation twin (see pairing) as arrays and returns a small
result or None; diagnosis.rules turns the results into findings. Real validation losses are noisy, so
every rule compares a change with the curve's own noise, never with a fixed step:

- smoothing: a running median over SMOOTHING evaluations (centred, shrinking at the edges);
- noise: NOISE_FACTOR × the median absolute second difference v[i-1] - 2 v[i] + v[i+1], a robust standard
  deviation of the noise that a steady trend or a single bend does not inflate (the DER_SNR estimator);
- direction: the Theil–Sen slope, significant only when the Mann–Kendall test gives p below the
  significance threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from reporter.config import Thresholds
from reporter.report.analysis import metrics
from reporter.report.analysis.rank_tests import mann_kendall_p, theil_sen

SMOOTHING = 5
"""Evaluations in the running median the rules smooth validation curves with."""
END_POINTS = 3
"""The level a curve ends at is the median of its last this many evaluations."""
MIN_AFTER_MINIMUM = 5
"""Evaluations from the smoothed minimum to the end (minimum included) a rise needs before it can be tested:
below five points the Mann–Kendall test cannot reach p < 0.05."""
MIN_POINTS = 8
RECENT_SHARE = 3
"""'Still improving' looks at the last 1/RECENT_SHARE of the run (at least the trend window)."""
"""Fewer paired evaluations than this: too short a history to judge the fit."""
NOISE_FACTOR = 1.4826 / math.sqrt(6)
"""Second differences of independent noise of deviation s have deviation s·√6, and 1.4826 × a median absolute
value estimates a normal deviation."""


@dataclass(frozen=True)
class Curves:
    """A training series and its validation twin, on the validation's x values."""

    x: np.ndarray
    train: np.ndarray
    val: np.ndarray

    @cached_property
    def smoothed_val(self) -> np.ndarray:
        """smoothed(val), made once: the overfitting and at-best rules and the counterfactual each read it."""
        return smoothed(self.val)

    @cached_property
    def val_noise(self) -> float:
        """noise(val), made once: the overfitting, generalization-gap and at-best rules each read it."""
        return noise(self.val)


@dataclass(frozen=True)
class Overfit:
    best_epoch: float
    rise: float  # (end level - minimum) / |minimum|
    train_change: float  # relative change of the training loss from the best epoch to the end
    p_value: float
    noise: float


@dataclass(frozen=True)
class Gap:
    since_epoch: float
    val_change: float
    train_change: float
    evaluations: int
    noise: float  # `overfit_noise` noise scales relative to the best: a rise within it is not shown to be one
    best_epoch: float  # the lowest value; later than since_epoch when the lows after it lie within the noise


@dataclass(frozen=True)
class AtBest:
    best_epoch: float  # where the validation loss is lowest: the best epoch of the appendix and of the replay
    rise: float  # (end level - smoothed minimum) / |smoothed minimum|: within the noise


@dataclass(frozen=True)
class Improving:
    val_change: float  # relative change over the last window
    train_change: float
    window: int
    underfit: bool  # the training loss is no lower than the validation loss
    start: float  # the first x of the training stretch the trend was read over


def smoothed(values: np.ndarray, width: int = SMOOTHING) -> np.ndarray:
    """Running median, centred, the window shrinking at both ends.

    The full windows are one vectorised partition over a sliding view (a million points would otherwise be a
    million np.median calls): the middle of an odd window is its median, as np.median picks it, at half the
    time of np.median's own checks; a window holding a NaN is NaN, as np.median makes it. Only the `half`
    shrinking windows at each end are taken one by one.
    """
    values = np.asarray(values, dtype=float)
    half = width // 2
    n = len(values)
    out = np.empty(n)
    if n >= 2 * half + 1:
        out[half:n - half] = np.partition(np.lib.stride_tricks.sliding_window_view(values, 2 * half + 1), half,
                                          axis=1)[:, half]
        nan_seen = np.concatenate(([0], np.cumsum(np.isnan(values))))
        out[half:n - half][nan_seen[2 * half + 1:] > nan_seen[:n - 2 * half]] = np.nan
    for i in [*range(min(half, n)), *range(max(half, n - half), n)]:
        out[i] = np.median(values[max(0, i - half): i + half + 1])
    return out


def smoothed_at(values: np.ndarray, index: int, width: int = SMOOTHING) -> float:
    """smoothed(values, width)[index], without smoothing every other point."""
    half = width // 2
    return float(np.median(values[max(0, index - half): index + half + 1]))


def noise(values: np.ndarray) -> float:
    """A robust standard deviation of the curve's noise, from its second differences."""
    if len(values) < 3:
        return 0.0
    return float(NOISE_FACTOR * np.median(np.abs(values[:-2] - 2 * values[1:-1] + values[2:])))


def _relative(new: float, old: float) -> float:
    return (new - old) / abs(old) if old != 0 else 0.0


def _end(values: np.ndarray) -> float:
    return float(np.median(values[-END_POINTS:]))


def _rising(x: np.ndarray, values: np.ndarray, limits: Thresholds) -> tuple[bool, float]:
    """A significant upward trend (Mann–Kendall) and its p-value."""
    p = mann_kendall_p(x, values)
    return p < limits.significance and theil_sen(values, x)[0] > 0, p


def _falling(x: np.ndarray, values: np.ndarray, limits: Thresholds) -> bool:
    return mann_kendall_p(x, values) < limits.significance and theil_sen(values, x)[0] < 0


def overfitting(c: Curves, limits: Thresholds) -> Overfit | None:
    """The validation loss passed its minimum and rose since, beyond its noise, while the training loss fell.

    All of: the smoothed minimum lies at least MIN_AFTER_MINIMUM - 1 evaluations before the end; the part
    from it to the end rises significantly (Mann–Kendall); the end level exceeds the smoothed minimum by
    more than `overfit_noise` noise scales and by at least `overfit_rise` of the minimum; the training
    loss ends lower than it was at the minimum.
    """
    if len(c.val) < MIN_POINTS:
        return None
    smooth = c.smoothed_val
    at = int(np.argmin(smooth))
    if len(c.val) - at < MIN_AFTER_MINIMUM:
        return None
    rising, p = _rising(c.x[at:], c.val[at:], limits)
    scale = c.val_noise
    lowest = float(smooth[at])
    end = _end(c.val)
    train_change = _relative(_end(c.train), smoothed_at(c.train, at))
    if not rising or end - lowest <= limits.overfit_noise * scale or _relative(end, lowest) < limits.overfit_rise \
            or train_change >= 0:
        return None
    best = int(np.argmin(c.val))
    return Overfit(float(c.x[best]), _relative(end, float(c.val[best])), train_change, p, scale)


def generalization_gap(c: Curves, limits: Thresholds) -> Gap | None:
    """No new validation best for `gap_patience` evaluations while the training loss kept falling
    significantly, by at least `gap_train_drop` of its value at the validation best.

    The validation loss may end above its best (other-wheeze: 35%, measured from one low evaluation on a curve
    with ±20% spikes) yet not rise beyond its noise, which is why overfitting did not fire; `noise` tells the
    reader how wide that noise is, so a gap is never worded as a flat curve when it ends higher.

    The count starts where the validation loss first came within its noise of its minimum (_floor_reached) when it
    has moved by less than `gap_train_drop` since, the training loss falling by at least that much: on a flat, noisy
    curve a new lowest value within the noise restarts no clock. Else it starts at the minimum itself.

    Not when the validation loss still improves by the still-improving test (its lowest value can be one lucky
    evaluation on a curve that is still coming down), nor when the training loss ends at or above the validation
    loss: a gap is training pulling away from validation, and a training loss above it (augmentation, dropout,
    label smoothing make training the harder task) is still catching up, as for underfitting."""
    if len(c.val) < MIN_POINTS or _val_improving(c, limits) is not None:  # one low evaluation is not where a curve
        return None  # still falling stopped
    if _end(c.train) >= _end(c.val):  # training has not pulled away from validation: it is still catching up
        return None
    best = int(np.argmin(c.val))
    for since in dict.fromkeys((_floor_reached(c.val, limits), best)):
        after = len(c.val) - 1 - since
        train_change = _relative(_end(c.train), float(c.train[since]))
        flat = since == best or abs(_relative(_end(c.val), float(c.val[since]))) < limits.gap_train_drop
        if after >= limits.gap_patience and train_change <= -limits.gap_train_drop and flat \
                and _falling(c.x[since:], c.train[since:], limits):
            band = limits.overfit_noise * c.val_noise / abs(float(c.val[best])) if c.val[best] != 0 else 0.0
            return Gap(float(c.x[since]), _relative(_end(c.val), float(c.val[best])), train_change, after, band,
                       float(c.x[best]))
    return None


def _floor_reached(val: np.ndarray, limits: Thresholds) -> int:
    """The first evaluation within `overfit_noise` noise scales of the validation minimum: no later value beats it
    by more than the curve's noise, so the curve has not improved since. On a flat, noisy curve the minimum itself
    is one lucky evaluation near the end that restarts a count of evaluations without a new best
    (hf-whisper-flemish: eval_loss 0.21-0.27 from its first evaluation while the training loss fell 86%)."""
    band = limits.overfit_noise * noise(val)
    return int(np.flatnonzero(val <= float(np.min(val)) + band)[0])


def still_improving(c: Curves, limits: Thresholds, train_until: float | None = None) -> Improving | None:
    """Both losses fall significantly (Mann–Kendall on each) over the last third of the run, at least `window`
    evaluations, and the validation loss by at least `improving_min_drop` over it: a clear, not a token, gain.

    The training trend is read over the same number of evaluations ending before `train_until`: Ultralytics turns mosaic off for its last
    close_mosaic epochs, and the step down in the training loss there is a change of the training data, not
    learning (yolo-dl3-train2: half of a 31% drop over its last 100 epochs)."""
    w = max(limits.window, len(c.val) // RECENT_SHARE)
    val_change = _val_improving(c, limits)
    before = c.x < train_until if train_until is not None else np.ones(len(c.x), dtype=bool)
    x, train = c.x[before][-w:], c.train[before][-w:]
    if val_change is None or len(train) < MIN_POINTS or not _falling(x, train, limits):
        return None
    return Improving(val_change, _relative(float(train[-1]), float(train[0])), w,
                     underfit=bool(_end(c.train) >= _end(c.val)), start=float(x[0]))


def gaining(x: np.ndarray, values: np.ndarray, higher_is_better: bool, limits: Thresholds) -> float | None:
    """The relative change of a metric over the x range given when it moves significantly (Mann–Kendall) in its
    good direction and by at least `improving_min_drop` of its level, else None: the same clear-gain test the
    validation loss passes for 'still improving', which must hold for the metric the run is judged by before more
    epochs are worth their compute (yolo-dl3-train2: mAP50-95 0.985 to 0.989 over its last 100 epochs). The values
    are finite, at least MIN_POINTS of them."""
    change = _relative(float(values[-1]), float(values[0]))
    sign = 1.0 if higher_is_better else -1.0
    moving = _rising(x, sign * values, limits)[0]
    return change if moving and sign * change >= limits.improving_min_drop else None


def recent_gain(x: np.ndarray, values: np.ndarray, higher_is_better: bool, limits: Thresholds) -> float | None:
    """gaining() over the metric's last `window` finite evaluations, the window the trend finding states: the trend
    finding calls a metric improving by the same test the more-epochs advice applies to its own, stated, stretch.
    Without it one report said "the metric is improving" beside "it has settled" (yolo-dl3-train2)."""
    x, values = _recent(x, values, limits)
    if len(values) < metrics.MIN_TREND_POINTS:
        return None
    return gaining(x, values, higher_is_better, limits)


def recent_change(x: np.ndarray, values: np.ndarray, limits: Thresholds) -> float | None:
    """The metric's relative change over the window recent_gain reads, to say how small a gain it rejected."""
    values = _recent(x, values, limits)[1]
    return _relative(float(values[-1]), float(values[0])) if len(values) and values[0] else None


def _recent(x: np.ndarray, values: np.ndarray, limits: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(values)
    return x[keep][-limits.window:], values[keep][-limits.window:]


def _val_improving(c: Curves, limits: Thresholds) -> float | None:
    """The validation loss's relative change over the last third of the run (at least `window` evaluations) when
    it falls there significantly (Mann–Kendall) and by at least `improving_min_drop`, else None: the one test of
    "still improving", which the gap (validation stopped improving) must fail too."""
    w = max(limits.window, len(c.val) // RECENT_SHARE)
    if len(c.val) < max(w, MIN_POINTS):
        return None
    x, val = c.x[-w:], c.val[-w:]
    val_change = _relative(float(val[-1]), float(val[0]))
    return val_change if val_change <= -limits.improving_min_drop and _falling(x, val, limits) else None


def at_best(c: Curves, limits: Thresholds) -> AtBest | None:
    """The validation loss ends at its best: its end level lies neither more than `overfit_noise` noise scales
    nor more than `overfit_rise` above its smoothed minimum (overfitting must exceed both; a claim that all is
    well must stay below both, so a curve noisy enough to hide anything is not called at its best). The
    diagnosis says it when no fit rule fired, so a healthy verdict states why."""
    if len(c.val) < MIN_POINTS:
        return None
    smooth = c.smoothed_val
    at = int(np.argmin(smooth))
    end, lowest = _end(c.val), float(smooth[at])
    if end - lowest > limits.overfit_noise * c.val_noise or _relative(end, lowest) > limits.overfit_rise:
        return None
    return AtBest(float(c.x[np.argmin(c.val)]), max(0.0, _relative(end, lowest)))


def constant(values: np.ndarray) -> bool:
    """A validation series that never changes (all zeros included; see metrics.constant): broken evaluation,
    not a stable model."""
    return int(np.isfinite(values).sum()) >= END_POINTS and metrics.constant(values)
