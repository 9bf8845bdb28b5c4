"""Time: hours spent, the time to the planned end as a range, and epochs getting slower.

Epoch durations come from the wall times the source records (UMC timestamps, TensorBoard, MLflow and W&B wall
times, Ultralytics' elapsed `time`): the latest wall time at each epoch is when that epoch ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import TYPE_CHECKING, Iterator

import numpy as np
import pandas as pd

from reporter.codes import finding, recommendation
from reporter.model import Finding, Recommendation, Run, Severity, Status
from reporter.report.series import main_phase

if TYPE_CHECKING:
    from reporter.report.analysis.findings import Facts

ETA_QUANTILES = (0.1, 0.9)
"""Quantiles of the recent epoch durations that bound the pace (see eta_range)."""
MIN_SLOWDOWN_WINDOW = 3
"""Fewer durations than this on either side cannot show a slowdown."""
LOADER_KEYS = ("workers", "num_workers", "dataloader_num_workers")
"""Config keys for data-loading workers (Ultralytics, most research code, HF)."""


@dataclass(frozen=True)
class Timeline:
    """When each timed epoch ended (seconds, on the source's clock) and each epoch's duration in hours."""

    epochs: np.ndarray
    ends: np.ndarray
    hours: np.ndarray  # per epoch, between consecutive timed epochs (divided by the epochs between them)
    closing: np.ndarray  # the epoch that ends each of those durations


def timeline(history: pd.DataFrame) -> Timeline | None:
    """The run's timed epochs; None with fewer than two, or when only steps are timed."""
    timed = main_phase(history).dropna(subset=["wall_time"])
    timed = timed[timed["x_kind"] == "epoch"]
    ends = timed.groupby("x")["wall_time"].max().sort_index()
    if len(ends) < 2:
        return None
    epochs, seconds = ends.index.to_numpy(dtype=float), ends.to_numpy(dtype=float)
    gaps = np.diff(seconds) / np.diff(epochs) / 3600
    keep = gaps > 0  # a resumed run's clock restarts: that gap is not an epoch
    return Timeline(epochs, seconds, gaps[keep], epochs[1:][keep]) if keep.any() else None


def eta_range(hours: np.ndarray, epochs_left: float, window: int) -> tuple[float, float, float]:
    """Hours to finish `epochs_left` epochs at the median pace of the last `window` epochs, and a range around
    it as wide as the pace has strayed in this run: the largest relative departure from that pace of the median
    of each earlier block of `window` epochs (the first epoch left out: it carries the start-up) and of the
    recent durations' ETA_QUANTILES. That departure was seen over the epochs timed so far; a pace strays
    further the further ahead it is carried, so the range grows by the epochs left over the durations seen
    (a 14/14 and 7/9 hold on tests/fixtures/eta-runs cut at half became 14/14 and 8/9, and 13/14, 3/9 cut at a
    third 14/14, 6/9)."""
    recent = hours[-window:]
    pace = float(np.median(recent))
    blocks = [float(np.median(hours[i:i + window])) for i in range(1, len(hours) - window + 1, window)]
    seen = max(abs(value / pace - 1) for value in [*blocks, *np.quantile(recent, ETA_QUANTILES)])
    spread = seen * (1 + epochs_left / len(hours))
    return pace * epochs_left, max(0.0, pace * (1 - spread)) * epochs_left, pace * (1 + spread) * epochs_left


def slowdown(hours: np.ndarray, window: int) -> tuple[float, float, int] | None:
    """Median duration of the first and of the last `window` epochs (the very first left out: warmup and caching
    often slow it), and the index of the first duration of the last window; None when there are too few durations."""
    size = min(window, (len(hours) - 1) // 2)
    if size < MIN_SLOWDOWN_WINDOW:
        return None
    return float(np.median(hours[1:size + 1])), float(np.median(hours[-size:])), len(hours) - size


def rules(f: Facts) -> Iterator[Finding]:
    """time.spent, time.eta (running runs with a plan) and time.slowdown."""
    line = timeline(f.run.history)
    if f.x_unit != "epoch":
        return
    if line is None:
        yield from _runtime(f)
        return
    per = float(np.median(line.hours))
    spent = float(line.ends[-1] - line.ends[0]) / 3600 + per  # the first epoch's own duration: a typical one
    yield finding("time.spent", Severity.INFO, hours=spent, epochs=len(line.epochs), hours_per_epoch=per)
    yield from _eta(f, line)
    found = slowdown(line.hours, f.limits.eta_window)
    if found is not None and found[1] > f.limits.slowdown * found[0]:
        before, after, start = found
        yield finding("time.slowdown", Severity.WARN, before=before, after=after, ratio=after / before,
                   since=float(line.closing[start]), factor=f.limits.slowdown)


def _runtime(f: Facts) -> Iterator[Finding]:
    """Without per-epoch wall times, the total a framework records at the end (HF `train_runtime`, seconds)."""
    seconds, last = f.run.hyperparameters.get("train_runtime"), f.status.last_epoch
    epochs = last + 1 - f.run.epoch_base if last is not None else None
    if isinstance(seconds, (int, float)) and seconds > 0 and epochs is not None and epochs > 0:
        hours = float(seconds) / 3600
        yield finding("time.spent", Severity.INFO, hours=hours, epochs=max(1, round(epochs)), hours_per_epoch=hours / epochs)


def _eta(f: Facts, line: Timeline) -> Iterator[Finding]:
    """From the end of the last epoch (the history file's last write, or `now` when the clock is pinned before
    it), the remaining planned epochs at the recent pace; the hours left count from `now`."""
    plan, last = f.run.plan, f.status.last_epoch
    if f.status.status is not Status.RUNNING or plan is None or last is None:
        return
    epochs_left = plan.epochs - (1 - f.run.epoch_base) - last
    if epochs_left <= 0:
        return
    median, low, high = eta_range(line.hours, epochs_left, f.limits.eta_window)
    anchor = min(f.run.last_write, f.now) if f.run.last_write and f.now else f.run.last_write  # a pinned --now
    elapsed = max(0.0, (f.now - anchor).total_seconds() / 3600) if anchor and f.now else 0.0
    finish_at = (anchor + timedelta(hours=median)).astimezone(timezone.utc).isoformat() if anchor else None
    yield finding("time.eta", Severity.INFO, hours_left=max(0.0, median - elapsed), low=max(0.0, low - elapsed),
               high=max(0.0, high - elapsed), hours_per_epoch=median / epochs_left, epochs_left=epochs_left,
               finish_at=finish_at, spread=(high - low) / 2)


def advice(run: Run, found: dict[str, Finding]) -> Iterator[Recommendation]:
    """Slower epochs: look at data loading and I/O first (naming the workers setting when the config has one)."""
    slower = found.get("time.slowdown")
    if slower is None:
        return
    key = next((k for k in LOADER_KEYS if k in run.hyperparameters), None)
    yield recommendation("rec.check_data_loading", ("time.slowdown",), key=key,
                    current=run.hyperparameters.get(key) if key else None, ratio=slower.params["ratio"],
                    since=slower.params["since"])
