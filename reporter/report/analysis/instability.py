"""Instability: spikes and divergence of the training loss, and a validation loss that keeps swinging.

Rules emit codes and numbers only; the definitions are printed in the report's appendix.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reporter.codes import finding, recommendation
from reporter.config import Thresholds
from reporter.model import Finding, Mode, Recommendation, Run, Severity, config_keys
from reporter.report.analysis.metrics import is_loss
from reporter.report.analysis.rank_tests import mann_kendall_p
from reporter.report.series import finite_part, history_keys, series

if TYPE_CHECKING:
    from reporter.report.analysis.findings import Facts

SPIKE_WARMUP = 1
"""Lightning SpikeDetection's default warmup: the first value is never judged."""
CANDIDATE_SLACK = 1e-9
"""Relative margin by which the vectorised pre-scan errs towards candidates (see _to_judge): its sums round
in another order than the replay's, which decides exactly."""
MIN_SWING_POINTS = 8
"""Fewer evaluations than this cannot tell swings from a settling curve."""
LR_KEYS = ("lr0", "lr", "learning_rate", "base_lr")
"""Config keys holding the (initial) learning rate: Ultralytics, most research code, HF, mmengine/detectron."""
CALMER_LR = 0.5
"""An unstable run's next learning rate, as a share of the current one."""


def spikes(values: Sequence[float], window: int = 10, rtol: float | None = 2.0, atol: float | None = None,
           mode: Mode = Mode.MIN, warmup: int = SPIKE_WARMUP) -> list[int]:
    """Indexes of the spikes, by the rule of Lightning's `lightning.fabric.utilities.spike.SpikeDetection`
    (finite_only=True), replayed over a logged series so the report flags what the callback would have.

    As in the callback: `last_val` starts at 0 and the running mean holds the last `window` accepted values.
    From index `warmup` on, a value is a spike when it is not finite, or when it moved for the worse since
    `last_val` and both `|v - mean| >= |atol|` (if atol is set) and `|v - mean| >= |rtol * mean|` (if rtol is
    set). A spike is not added to the running mean or to `last_val`; the callback raises there, and a run
    resumed past the skipped batches carries on from the same state, as this replay does. Every other value is
    added (a NaN before warmup takes a window slot but no part in the mean, as torchmetrics' MeanMetric drops it).

    Only the values _to_judge marks, and the `window` values after each spike, are judged one by one (a
    million-step loss has a few percent of them); every value between them is accepted unjudged.
    """
    data = np.asarray(values, dtype=float)  # read as Python floats one at a time (item), never all of them
    marked = np.flatnonzero(_to_judge(data, window, rtol, atol, mode)).tolist()
    recent: list[float] = []  # the last `window` accepted values, oldest first
    last, found, done, tail_end = 0.0, [], 0, -1
    index = marked[0] if marked else len(data)
    while index < len(data):
        if index > done:  # values[done:index] were accepted unjudged
            recent = (recent + data[max(done, index - window):index].tolist())[-window:]
            last = data.item(index - 1)
        value, done = data.item(index), index + 1
        if index >= warmup and _is_spike(value, last, recent, rtol, atol, mode):
            found.append(index)
            tail_end = index + window  # the windows after a spike differ from the plain ones _to_judge saw
        else:
            recent = (recent + [value])[-window:]  # only a value before warmup can be non-finite here
            last = value
        index = index + 1 if index < tail_end else _after(marked, index, len(data))
    return found


def _after(marked: list[int], index: int, end: int) -> int:
    at = bisect.bisect_right(marked, index)
    return marked[at] if at < len(marked) else end


def _to_judge(values: np.ndarray, window: int, rtol: float | None, atol: float | None, mode: Mode) -> np.ndarray:
    """Which values could be spikes, judged as if none of the `window` values before each were one (then they
    are exactly the running mean's), erring towards yes; vectorised: histories of a million steps.

    Also marked: the first `window` values, and every non-finite value with the `window` values after it."""
    marks = np.ones(len(values), dtype=bool)
    if window < 1 or len(values) <= window:
        return marks
    bad = ~np.isfinite(values)
    clean = np.where(bad, 0.0, values)
    mean = sliding_window_view(clean[:-1], window).sum(axis=1) / window
    size = sliding_window_view(np.abs(clean[:-1]), window).sum(axis=1) / window
    value, previous = values[window:], values[window - 1:-1]
    rose = value > previous if mode is Mode.MIN else value < previous
    gap = np.abs(value - mean) + CANDIDATE_SLACK * (size + np.abs(value)) * (1 + abs(rtol or 0.0))
    marks[window:] = rose & (gap >= np.abs(rtol * mean) if rtol is not None else True) & \
        (gap >= abs(atol) if atol is not None else True)
    seen = np.concatenate([[0], np.cumsum(bad)])
    near_bad = seen[window + 1:] - seen[:-window - 1] > 0  # a non-finite value in values[i - window:i + 1]
    marks[window:] |= near_bad
    return marks


def _is_spike(value: float, last: float, recent: list[float], rtol: float | None, atol: float | None,
              mode: Mode) -> bool:
    if not math.isfinite(value):
        return True
    diff = value - last
    if (diff <= 0) if mode is Mode.MIN else (diff >= 0):  # checked before the mean: half a long series stops here
        return False
    counted = [v for v in recent if not math.isnan(v)]  # MeanMetric drops NaN (nan_strategy="warn")
    if not counted:  # torchmetrics' mean of nothing is NaN, and every comparison with NaN is False
        return False
    mean = sum(counted) / len(counted)
    return (atol is None or abs(value - mean) >= abs(atol)) and (rtol is None or abs(value - mean) >= abs(rtol * mean))


def recovered(values: Sequence[float], found: list[int], window: int) -> bool:
    """Whether the loss spiked once and came back: a finite spike followed, within the next `window` values, by a
    value at or below the mean of the `window` values before it (the level the rule judged it against). One
    disturbance the run shook off is information, not instability (hf-whisper-flemish: 0.023 to 0.158 at step
    10700, 0.010 by 11000); spikes that recur are a pattern however each ends (lightning-finance-v3: five), and a
    spike at the very end, or a non-finite one, has shown no recovery."""
    if len(found) != 1:
        return False
    data, i = np.asarray(values, dtype=float), found[0]
    before, after = data[max(0, i - window):i], data[i + 1:i + 1 + window]
    before, after = before[np.isfinite(before)], after[np.isfinite(after)]
    return bool(math.isfinite(data[i]) and before.size and after.size and after.min() <= before.mean())


def diverging(values: Sequence[float] | np.ndarray, window: int, significance: float, share: float, ratio: float,
              floor: float = 0.0) -> bool:
    """The loss rose significantly (Mann-Kendall, p < significance) over its last `window` finite values, and
    either gave back more than `share` of all it had gained from its first value down to its minimum, or ended
    at least `ratio` times its (positive) minimum; in both cases by at least `floor` of its own range, so that
    noise on a loss already ~0 (a ratio of two tiny numbers) is not called divergence."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if len(data) < max(window, 4):
        return False
    recent, low = data[-window:], data.min()
    rising = recent[-1] > recent[0] and mann_kendall_p(np.arange(len(recent)), recent) < significance
    gave_back = data[0] > low and data[-1] - low > share * (data[0] - low)
    large = data[-1] - low >= floor * (data.max() - low)
    return bool(rising and large and (gave_back or (low > 0 and data[-1] >= ratio * low)))


def relative_changes(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """|v[i] - v[i-1]| / v[i-1] between consecutive evaluations of a positive series."""
    data = np.asarray(values, dtype=float)
    return np.abs(np.diff(data)) / data[:-1]


def rules(f: Facts) -> Iterator[Finding]:
    """loss.spikes, loss.diverging and metric.unstable, in that order."""
    limits = f.limits
    if f.loss is not None:
        data = series(f.run.history, f.loss.key)
        found = spikes(data.values, limits.spike_window, limits.spike_rtol)
        if found:
            level = finite_part(data).arrays[1]
            moves = relative_changes(level) if len(level) > 1 and level.min() > 0 else np.array([])
            noise = float(np.median(moves)) if moves.size else None
            noisy = noise is not None and noise >= limits.spike_noise
            back = recovered(data.values, found, limits.spike_window)
            yield finding("loss.spikes", Severity.INFO if noisy or back else Severity.WARN, key=f.loss.key,
                          epochs=[data.x[i] for i in found][:10], count=len(found), noise=noise,
                          noise_limit=limits.spike_noise, window=limits.spike_window, rtol=limits.spike_rtol,
                          recovered=back)
        if diverging(data.arrays[1], limits.window, limits.significance, limits.diverging_share, limits.diverging_ratio,
                     limits.diverging_floor):
            clean = finite_part(data)
            low = int(np.argmin(clean.values))
            yield finding("loss.diverging", Severity.WARN, key=f.loss.key, min_epoch=clean.x[low],
                          minimum=clean.values[low], last=clean.values[-1], window=limits.window)
    yield from _unstable(f)


def swing(values: Sequence[float] | np.ndarray) -> float:
    """How far a positive series moves against its own net direction, per step, as a share of its median level.

    A trend, however steep, moves one way and scores 0; only the back-and-forth that the trend does not explain
    counts (a relative change cannot tell a fast exponential decay from noise)."""
    data = np.asarray(values, dtype=float)
    moves = np.diff(data)
    against = (np.abs(moves).sum() - abs(moves.sum())) / 2
    return float(against / len(moves) / np.median(data))


def _unstable(f: Facts) -> Iterator[Finding]:
    """metric.unstable on the validation loss (see unstable)."""
    key = validation_loss(f)
    if key is None:
        return
    data = finite_part(series(f.run.history, key))
    change = unstable(data.values, f.limits)
    if change is not None:
        yield finding("metric.unstable", Severity.WARN, key=key, change=change, since=data.x[len(data) // 2],
                   threshold=f.limits.unstable_change)


def unstable(values: Sequence[float], limits: Thresholds) -> float | None:
    """The swing of a validation loss's second half when it is unstable, else None: it moves against its own
    trend by at least `unstable_change` of its level and `unstable_range` of its whole range per evaluation. A
    settling curve goes one way, a swinging one keeps turning, and noise on a loss that converged near 0 is large
    against its level but small against how far it fell. The fit diagnosis asks too: a swinging loss is not
    called at its best."""
    data = np.asarray(values, dtype=float)
    if len(data) < MIN_SWING_POINTS or data.min() <= 0:
        return None
    half = len(data) // 2
    change = swing(data[half - 1:])
    spread = (data.max() - data.min()) / float(np.median(data[half - 1:]))
    return change if change >= limits.unstable_change and change >= limits.unstable_range * spread else None


def validation_loss(f: Facts) -> str | None:
    """The primary metric when it is a validation loss, else the validation loss with the most values."""
    m = f.metric
    if m is not None and is_loss(m.name) and m.split != "train":
        return m.name
    keys = [str(k) for k in history_keys(f.run.history) if is_loss(str(k)) and f.run.splits.get(str(k)) == "val"]
    counts = f.run.history[f.run.history["key"].isin(keys)].groupby("key").size()
    return max(sorted(keys), key=lambda k: counts[k]) if keys else None


def advice(run: Run, found: dict[str, Finding]) -> Iterator[Recommendation]:
    """Spikes or a diverging loss: a lower learning rate (halved, when the config holds one), a warmup, or
    gradient clipping."""
    evidence = tuple(code for code in ("loss.spikes", "loss.diverging")
                     if code in found and found[code].severity is Severity.WARN)
    if not evidence:
        return
    yield stabilise(run, evidence)


def stabilise(run: Run, evidence: tuple[str, ...]) -> Recommendation:
    """rec.stabilise_training from these findings: the config's learning rate halved, when it holds one."""
    key = next((k for k in config_keys(run.hyperparameters, LR_KEYS) if _number(run.hyperparameters[k]) is not None),
               None)
    current = _number(run.hyperparameters.get(key)) if key else None
    return recommendation("rec.stabilise_training", evidence, key=key, current=current,
                          suggested=current * CALMER_LR if current is not None else None)


def _number(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None
