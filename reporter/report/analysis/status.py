"""Run status: finished, stopped early, crashed, stalled or running, from events and timing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from reporter.config import Thresholds
from reporter.model import Run, Status
from reporter.report.analysis.diagnosis import OwnStop
from reporter.report.analysis.metrics import is_loss, x_unit
from reporter.report.series import main_phase, non_finite_tail, series


@dataclass(frozen=True)
class StatusResult:
    status: Status
    last_epoch: float | None
    reason: str | None = None  # crash: traceback | nan; stop: early_stop | own_rule; unknown: stopped_logging
    crash_epoch: float | None = None
    hours_since_last: float | None = None
    typical_epoch_hours: float | None = None
    past_plan: bool = False  # the history goes beyond the planned length: the plan is not the run's real plan
    pretraining_epoch: float | None = None  # set while the run is still in its pre-training phase
    stopped_by: OwnStop | None = None  # the run's own early-stopping rule, when it ended the run


def pretraining_epoch(run: Run) -> float | None:
    """The last pre-training epoch when the history holds nothing else yet (UMC before its first clustering
    epoch), else None: such a run has no evaluation metric to report on yet."""
    history = run.history
    if history.empty or not main_phase(history).empty:
        return None
    return float(history["x"].max())


def last_epoch(run: Run) -> float | None:
    """The furthest epoch the main phase or its events reach."""
    history = main_phase(run.history)
    history = history[history["x_kind"] != "seed"]  # a results table: x is a seed, not time
    epochs = history.loc[history["x_kind"] == "epoch", "x"]
    epochs = epochs if len(epochs) else history["x"]  # step-only sources (MLflow, TensorBoard, W&B)
    candidates = [float(epochs.max())] if len(epochs) else []
    candidates += [e.x for e in run.events if e.x is not None]
    return max(candidates) if candidates else None


def _first_non_finite(history: pd.DataFrame, keys: list[str]) -> float | None:
    """Where the first of the keys turns NaN or infinite for good: NaN rows the run recovered from are no crash."""
    tails = [x for key in dict.fromkeys(keys) if (x := non_finite_tail(series(history, key))) is not None]
    return min(tails) if tails else None


def typical_epoch_hours(history: pd.DataFrame) -> float | None:
    """Median time between consecutive epochs, from the wall times the source recorded."""
    timed = main_phase(history).dropna(subset=["wall_time"])
    if (timed["x_kind"] == "epoch").any():
        timed = timed[timed["x_kind"] == "epoch"]
    last_wall = timed.groupby("x")["wall_time"].max().sort_index()
    gaps = np.diff(last_wall.to_numpy(dtype=float))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) / 3600 if len(gaps) else None


def run_status(run: Run, loss_keys: list[str], metric_key: str | None, now: datetime, limits: Thresholds,
               own: OwnStop | None = None) -> StatusResult:
    """The run's status; a crash outranks an early stop, which outranks a normal end. `own` is where the run's
    own early-stopping rule stops it (diagnosis.own_stop, computed once by analysis.analyse)."""
    end = last_epoch(run)
    crash = next((e for e in run.events if e.kind == "crash"), None)
    if crash is not None:
        return StatusResult(Status.CRASHED, end, "traceback", crash.x)
    if (pretraining := pretraining_epoch(run)) is not None:
        return StatusResult(Status.RUNNING, end, "pretraining", pretraining_epoch=pretraining)
    # NaN in a loss to the end is a crash; NaN in one evaluation of a metric is a finding (metric.nan), not a crash
    bad = _first_non_finite(run.history, loss_keys + ([metric_key] if metric_key and is_loss(metric_key) else []))
    if bad is not None:
        return StatusResult(Status.CRASHED, end, "nan", bad)
    if any(e.kind == "early_stop" for e in run.events):
        return StatusResult(Status.STOPPED_EARLY, end, "early_stop")
    done = epochs_done(run, end)
    planned = run.plan.epochs if run.plan is not None else None
    past = done is not None and planned is not None and done >= planned + 1
    if (done is not None and planned is not None and planned <= done < planned + 1) or \
            any(e.kind == "finished" for e in run.events):
        return StatusResult(Status.FINISHED, end, past_plan=past)
    if own is not None and own.epoch == end and _quiet_since(run, now, limits.own_stop_epochs):
        return StatusResult(Status.STOPPED_EARLY, end, "own_rule", past_plan=past, stopped_by=own)
    expect_more = done is not None and planned is not None and done < planned
    return replace(_by_timing(run, end, now, limits, expect_more), past_plan=past)


def _quiet_since(run: Run, now: datetime, epochs: float) -> bool:
    """Whether nothing was written for more than `epochs` usual epoch durations (any silence when the cadence
    is unknown): a rule that stopped at the last epoch logged ended the run only if no further epoch came."""
    if run.last_write is None:
        return True
    typical = typical_epoch_hours(run.history)
    since = (now - run.last_write).total_seconds() / 3600
    return since > epochs * typical if typical else since > 0


def epochs_done(run: Run, end: float | None) -> float | None:
    """Epochs completed, comparable with the plan; None when x counts steps (a plan counts epochs)."""
    if end is None or run.plan is None or x_unit(run.history, run.plan.epochs) == "step":
        return None
    return end + (1 - run.epoch_base)


def _by_timing(run: Run, end: float | None, now: datetime, limits: Thresholds, expect_more: bool) -> StatusResult:
    """Running, stalled or unknown, from the silence since the last write against the run's own cadence.

    A silence shorter than `stall_min_hours` (or than `stall_factor` usual epochs) is normal. A longer
    one is an alarm (stalled) only when the run's cadence is known from wall times and its planned end
    lies ahead; otherwise the run may simply have finished without writing an end marker: unknown.
    """
    typical = typical_epoch_hours(run.history)
    if run.last_write is None:
        return StatusResult(Status.UNKNOWN, end, typical_epoch_hours=typical)
    since = max(0.0, (now - run.last_write).total_seconds() / 3600)
    quiet = max(limits.stall_min_hours, limits.stall_factor * typical) if typical else limits.stall_min_hours
    if since <= quiet:
        status = Status.RUNNING if typical is not None else Status.UNKNOWN
        return StatusResult(status, end, hours_since_last=since, typical_epoch_hours=typical)
    if typical is not None and expect_more:
        return StatusResult(Status.STALLED, end, hours_since_last=since, typical_epoch_hours=typical)
    return StatusResult(Status.UNKNOWN, end, "stopped_logging", hours_since_last=since, typical_epoch_hours=typical)
