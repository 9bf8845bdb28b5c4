"""Learning-rate effects: warmup, drops and whether the metric improved after each, and a plateau at the floor.

The rate comes from the logged series (Lightning's `lr-SGD`, Ultralytics' `lr/pg0`, HF's `learning_rate`, ...);
without one, only the configured warmup can be reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from reporter.codes import finding, recommendation
from reporter.model import Finding, Mode, Recommendation, Run, Series, Severity, Status, config_keys
from reporter.report.analysis.metrics import better
from reporter.report.series import finite_part, history_keys, series

if TYPE_CHECKING:
    from reporter.report.analysis.findings import Facts

_LR_KEY = re.compile(r"(^|[/_\-\s])(lr|learning_rate)([/_\-\s]|$)")
"""`lr`, `learning_rate`, `lr-SGD`, `lr-AdamW`, `train/lr`, `lr/pg0`, `epoch_learning_rate`, `lr_pg0`..."""
WARMUP_KEYS = ("warmup_epochs",)
"""Config keys that state a warmup in epochs (Ultralytics, timm, many research codes)."""
WARMUP_RISE = 0.5
"""A warmup starts below this share of the peak it rises to."""
BIAS_GROUP, WEIGHT_GROUP = "pg0", "pg1"
"""Ultralytics' optimizer parameter groups: biases first (with their own warmup), then the weights with decay."""
SCHEDULE_KEYS = ("lrf", "min_lr", "eta_min", "lr_scheduler_type", "lr_scheduler", "scheduler")
"""Config keys that set where a schedule ends (Ultralytics, timm, torch's cosine) or which schedule runs (HF)."""


def lr_key(keys: list[str]) -> str | None:
    """The logged learning rate: the first matching key in name order, except a bias group next to its weight
    group (`lr/pg1` before `lr/pg0`): Ultralytics' pg0 holds the biases, which start at warmup_bias_lr and fall
    during warmup, a fall that says nothing about the schedule the weights follow."""
    found = sorted(k for k in keys if _LR_KEY.search(k.lower()))
    kept = [k for k in found if not (k.endswith(BIAS_GROUP) and k[:-len(BIAS_GROUP)] + WEIGHT_GROUP in found)]
    return kept[0] if kept else None


@dataclass(frozen=True)
class Drop:
    index: int  # of the first value at the lower rate
    before: float
    after: float


def drops(values: Sequence[float], ratio: float, floor: float) -> list[Drop]:
    """Steps where the rate fell to at most `ratio` of the value before, from at least `floor` × its peak (so the
    last steps of a schedule decaying to zero are not counted as drops)."""
    peak = max(values, default=0.0)
    return [Drop(i, values[i - 1], values[i]) for i in range(1, len(values))
            if 0 <= values[i] <= ratio * values[i - 1] and _at_least(values[i - 1], floor * peak)]


def _at_least(value: float, bound: float) -> bool:
    """value >= bound, where 0.1 × 0.1 counts as 0.01."""
    return value >= bound or math.isclose(value, bound)


def drop_effect(metric: Series, mode: Mode, at: float, window: int, min_delta: float) -> bool | None:
    """True when the best of the first `window` evaluations from `at` on beats the best before `at` by more than
    min_delta; False when it does not; None when it did not yet and fewer than `window` evaluations exist."""
    before = [v for x, v in zip(metric.x, metric.values) if x < at]
    after = [v for x, v in zip(metric.x, metric.values) if x >= at][:window]
    if not before or not after:
        return None
    pick = max if mode is Mode.MAX else min
    if better(pick(after), pick(before), mode, min_delta):
        return True
    return False if len(after) >= window else None


def warmup_end(values: Sequence[float]) -> int | None:
    """The index of the peak a rising start reaches, when the rate starts below WARMUP_RISE of it."""
    end = 0
    while end + 1 < len(values) and values[end + 1] > values[end]:
        end += 1
    if end == 0 or values[end] <= 0 or values[0] >= WARMUP_RISE * values[end]:
        return None
    return end


def rules(f: Facts) -> Iterator[Finding]:
    """lr.warmup, then per drop lr.drop_helped or lr.drop_no_effect, then lr.at_floor."""
    key = lr_key([str(k) for k in history_keys(f.run.history)])
    if key is None:
        yield from _configured_warmup(f)
        return
    rate = finite_part(series(f.run.history, key))
    end = warmup_end(rate.values)
    if end is not None:
        yield finding("lr.warmup", Severity.INFO, key=key, start=rate.values[0], peak=rate.values[end], until=rate.x[end])
    if f.metric is None or f.metric.best is None:
        return
    metric = finite_part(series(f.run.history, f.metric.name))
    yield from _drops(f, key, rate, metric)
    yield from _at_floor(f, key, rate, metric)


def _configured_warmup(f: Facts) -> Iterator[Finding]:
    for name in config_keys(f.run.hyperparameters, WARMUP_KEYS):
        value = f.run.hyperparameters[name]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            yield finding("lr.warmup", Severity.INFO, key=name, start=None, peak=None, until=float(value))
            return


def _drops(f: Facts, key: str, rate: Series, metric: Series) -> Iterator[Finding]:
    assert f.metric is not None
    for drop in drops(rate.values, f.limits.lr_drop, f.limits.lr_floor):
        at = rate.x[drop.index]
        helped = drop_effect(metric, f.metric.mode, at, f.limits.lr_window, f.limits.min_delta)
        if helped is None:
            continue
        yield finding("lr.drop_helped" if helped else "lr.drop_no_effect", Severity.OK if helped else Severity.INFO,
                   key=key, epoch=at, before=drop.before, after=drop.after, metric=f.metric.name,
                   window=f.limits.lr_window, min_delta=f.limits.min_delta)


def _at_floor(f: Facts, key: str, rate: Series, metric: Series) -> Iterator[Finding]:
    """The metric has had no new best for `patience` evaluations, all of them with the rate at its floor (its
    minimum, at most `lr_floor` of its peak): the schedule has nothing left to give. A watch item while the run
    goes on; for a run that has ended, a fact about its schedule.

    The floor starts at the first value of the final stretch at or below `lr_floor` of the peak (a warmup's low
    start lies before the peak and is not part of it). A rate still falling at its last value, as a schedule
    decaying to 0 at its planned end does, is the plan, not a floor."""
    assert f.metric is not None and f.metric.best is not None
    if not rate.values:
        return
    peak, last = max(rate.values), rate.values[-1]
    floor = f.limits.lr_floor * peak
    if peak <= 0 or last > floor or not math.isclose(last, min(rate.values)):
        return
    if len(rate.values) > 1 and rate.values[-2] > last and not math.isclose(rate.values[-2], last):
        return  # still decaying as scheduled
    since = rate.x[max(i for i, v in enumerate(rate.values) if v > floor) + 1]
    after_best = [x for x in metric.x if x > f.metric.best.x]
    if len(after_best) < f.limits.patience or since > after_best[0]:  # the plateau began before the floor
        return
    going = f.status.status in (Status.RUNNING, Status.STALLED)
    yield finding("lr.at_floor", Severity.WARN if going else Severity.INFO, key=key, value=last, peak=peak, since=since,
               best_epoch=f.metric.best.x, evaluations_since_best=len(after_best), floor=f.limits.lr_floor)


def advice(run: Run, found: dict[str, Finding]) -> Iterator[Recommendation]:
    """A plateau at the floor: stop, or change the schedule (naming its key in the config when there is one)."""
    floor = found.get("lr.at_floor")
    if floor is None or floor.severity is not Severity.WARN:  # a run that has ended spends no more epochs
        return
    key = next(config_keys(run.hyperparameters, SCHEDULE_KEYS), None)
    yield recommendation("rec.review_lr_schedule", ("lr.at_floor",), key=key,
                    current=run.hyperparameters.get(key) if key else None, value=floor.params["value"],
                    since=floor.params["since"])
