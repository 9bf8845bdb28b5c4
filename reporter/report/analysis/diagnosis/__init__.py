"""Diagnosis of the fit and of stopping, as a senior researcher reads a run: overfitting first.

`rules(facts)` yields the findings `fit.overfitting`, `fit.generalization_gap`, `fit.still_improving` /
`fit.underfitting` (else `fit.at_best`, when the validation loss ends at its best), `eval.constant` and
`stop.counterfactual` from the run's train/validation pairs, and `fit.not_judged` with its reason when no fit rule
could be read; `verdict(findings)` states the run's overall verdict from the severities and the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from reporter.codes import finding
from reporter.config import Thresholds
from reporter.model import (
    Finding,
    MetricSummary,
    Mode,
    PairedLosses,
    Point,
    Run,
    Severity,
    Status,
    TrainValPair,
    config_keys,
)
from reporter.report.analysis import instability
from reporter.report.analysis.diagnosis import fit, stopping
from reporter.report.analysis.diagnosis.pairing import loss_pair, pairs
from reporter.report.analysis.metrics import CONSTANT_SPREAD, direction, tokens
from reporter.report.series import finite_part, history_keys, non_finite_tail, series

if TYPE_CHECKING:
    from reporter.report.analysis.findings import Facts

VERDICTS = ("healthy", "needs_attention", "action_needed")
"""The verdict: action_needed when any finding is an error, needs_attention when any is a warning or when the fit
was not judged healthy (JUDGED_HEALTHY), else healthy."""
JUDGED_HEALTHY = ("fit.at_best", "fit.still_improving")
"""The fit findings a healthy verdict needs: without one, nothing says the run learns what it should."""
EVAL_PREFIXES = ("val_", "val/", "eval_", "valid_", "validation_", "test_", "metrics/")
"""How evaluation keys begin; Ultralytics writes its validation metrics under metrics/."""
NOT_EVALUATION = {"runtime", "second", "time", "lr", "top5", "acc5"}
"""Tokens of keys whose constancy says nothing about the evaluation: bookkeeping an evaluation logs beside its
results (HF eval_runtime, eval_samples_per_second), and top-5 accuracy, which is 1 by construction on a
dataset of at most five classes."""


def verdict(findings: tuple[Finding, ...]) -> str:
    """action_needed when any finding is an error, needs_attention when any is a warning or when no finding says
    the fit is sound (a run without a validation loss is not called healthy), else healthy."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return VERDICTS[2]
    judged = any(f.code in JUDGED_HEALTHY for f in findings)
    return VERDICTS[1] if Severity.WARN in severities or not judged else VERDICTS[0]


def run_pairs(run: Run) -> tuple[TrainValPair, ...]:
    return pairs(str(key) for key in history_keys(run.history))


def _summed(run: Run, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """x and the sum of the keys' values at the x values all of them share (finite ones only)."""
    parts = [series(run.history, key) for key in keys]
    arrays = [p.arrays for p in parts]
    x = arrays[0][0] if _rising(arrays[0][0]) else np.unique(arrays[0][0])
    for other, _ in arrays[1:]:
        x = np.intersect1d(x, other, assume_unique=_rising(other))
    total = np.zeros(len(x))
    for xs, values in arrays:
        total += values[_last_at(xs, x)]
    keep = np.isfinite(total)
    return x[keep], total[keep]


def _last_at(xs: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The index of the last occurrence in xs of each wanted value (all present): the value a dict built from the
    series in order keeps for an x logged twice."""
    if len(xs) == len(wanted) and np.array_equal(xs, wanted):  # one key alone: every x is wanted, in order
        return np.arange(len(xs))
    if _rising(xs):  # each x once, in order (the series of a history table): nothing to sort
        return np.searchsorted(xs, wanted)
    order = np.argsort(xs, kind="stable")
    return order[np.searchsorted(xs[order], wanted, side="right") - 1]


def _rising(xs: np.ndarray) -> bool:
    return bool((xs[1:] > xs[:-1]).all())


def paired_losses(run: Run, found: tuple[TrainValPair, ...]) -> PairedLosses | None:
    """The loss pair the fit rules read, summed as they sum it, with its last values and the validation minimum."""
    pair = loss_pair(found)
    if pair is None:
        return None
    tx, train = _summed(run, pair.train)
    vx, val = _summed(run, pair.val)
    lowest = int(np.argmin(val)) if len(val) else None
    return PairedLosses(*pair.label, train=Point(float(tx[-1]), float(train[-1])) if len(tx) else None,
                        val=Point(float(vx[-1]), float(val[-1])) if len(vx) else None,
                        val_best=Point(float(vx[lowest]), float(val[lowest])) if lowest is not None else None)


def curves(run: Run, pair: TrainValPair) -> fit.Curves | None:
    """The pair on the validation's x values; the training loss interpolated where it was logged elsewhere.

    Both need MIN_POINTS values logged where they overlap: a training loss logged four times, interpolated onto
    twenty evaluations, would pass a rank test on the straight lines drawn between its points.
    """
    vx, val = _summed(run, pair.val)
    tx, train = _summed(run, pair.train)
    inside = (vx >= tx.min()) & (vx <= tx.max()) if len(tx) else np.zeros(len(vx), dtype=bool)
    if overlap(vx, tx) < fit.MIN_POINTS:
        return None
    return fit.Curves(vx[inside], np.interp(vx[inside], tx, train), val[inside])


def overlap(vx: np.ndarray, tx: np.ndarray) -> int:
    """How many values the less often logged of the two curves has where both were logged."""
    inside = int(((vx >= tx.min()) & (vx <= tx.max())).sum()) if len(tx) else 0
    logged = int(((tx >= vx.min()) & (tx <= vx.max())).sum()) if len(vx) else 0
    return min(inside, logged)


def rules(f: Facts) -> Iterator[Finding]:
    """The diagnosis findings, in the order the report presents them: evaluation, fit, stopping."""
    found = run_pairs(f.run)
    broken = _constant_evaluation(f.run, f.metric)
    yield from broken
    pair = loss_pair(found)
    c = curves(f.run, pair) if pair is not None and not diverged(f.run, pair.train + pair.val) else None
    if not broken:
        yield from _judged_fit(f, pair, c)
    yield from _counterfactual(f, pair, c if not broken else None)


def _judged_fit(f: Facts, pair: TrainValPair | None, c: fit.Curves | None) -> Iterator[Finding]:
    """The fit findings of the pair read on its curves c, or fit.not_judged with the reason no fit rule could be
    read (nothing when a loss of the pair diverged: metric.diverged says it)."""
    if pair is None:
        yield finding("fit.not_judged", Severity.INFO, reason="no_validation_loss", key=None, count=None,
                      needed=fit.MIN_POINTS)
        return
    if diverged(f.run, pair.train + pair.val):
        return
    if c is None:
        count = overlap(_summed(f.run, pair.val)[0], _summed(f.run, pair.train)[0])
        yield finding("fit.not_judged", Severity.INFO, reason="too_few_points", key=pair.label[1], count=count,
                      needed=fit.MIN_POINTS)
        return
    judged = list(_fit(f, pair, c))
    reason = "unstable" if _swings(f.run, pair, f.limits) else "no_conclusion"
    yield from judged or [finding("fit.not_judged", Severity.INFO, reason=reason, key=pair.label[1],
                                  count=len(c.x), needed=fit.MIN_POINTS)]


def diverged(run: Run, keys: tuple[str, ...]) -> bool:
    """Whether any of the keys turns NaN or infinite for good: no fit is read from a loss whose last epochs are
    missing (metric.diverged says it); NaN rows with finite values after them are only left out (_summed)."""
    return any(non_finite_tail(series(run.history, key)) is not None for key in keys)


def evaluation_key(run: Run, key: str) -> bool:
    """Whether a key holds an evaluation result, by its name or the split its source states: whether it is
    constant is eval.constant's question, never configuration (fact.constant)."""
    return key.startswith(EVAL_PREFIXES) or key.endswith(("/val", "_val")) or run.splits.get(key) == "val"


def _evaluation_keys(run: Run, found: tuple[TrainValPair, ...]) -> list[str]:
    keys = [str(k) for k in history_keys(run.history)]
    paired = {k for p in found for k in p.val}
    return [k for k in keys if (k in paired or evaluation_key(run, k)) and not NOT_EVALUATION & set(tokens(k))]


def broken_evaluation(run: Run) -> dict[str, float]:
    """The evaluation series that never change, with their value; when there is one, also those never finite (a
    validation loss at inf all along beside two at 0 is the same broken evaluation, not a divergence at epoch 0)."""
    broken: dict[str, float] = {}
    for key in _evaluation_keys(run, run_pairs(run)):
        values = series(run.history, key).arrays[1]
        if fit.constant(values):
            broken[key] = float(values[np.isfinite(values)][0])
        elif len(values) >= fit.END_POINTS and not np.isfinite(values).any():
            broken[key] = float(values[0])
    return broken if any(math.isfinite(v) for v in broken.values()) else {}


def _constant_evaluation(run: Run, metric: MetricSummary | None) -> list[Finding]:
    """eval.constant, or nothing; no fit is read from a broken evaluation. A watch item rather than an error when the
    primary validation metric moves (yolo-anpr-train-model: mAP50-95 0.018 to 0.49 beside losses at 0 and inf): the
    evaluation runs and its metric is usable, only its losses are not recorded, so the fit cannot be judged."""
    broken = broken_evaluation(run)
    if not broken:
        return []
    key, value = next((k, v) for k, v in broken.items() if math.isfinite(v))
    moving = _moving_metric(run, metric, broken)
    return [finding("eval.constant", Severity.WARN if moving else Severity.ERROR, key=key, keys=list(broken),
                    values=list(broken.values()), value=value, count=len(series(run.history, key)),
                    digits=round(-math.log10(CONSTANT_SPREAD)), metric=moving)]


def _moving_metric(run: Run, metric: MetricSummary | None, broken: dict[str, float]) -> str | None:
    """The primary metric's name when it is a validation metric outside the broken series that changes."""
    if metric is None or metric.split != "val" or metric.name in broken:
        return None
    values = np.asarray(series(run.history, metric.name).values, dtype=float)
    return metric.name if int(np.isfinite(values).sum()) >= fit.END_POINTS and not fit.constant(values) else None


def _fit(f: Facts, pair: TrainValPair, c: fit.Curves) -> Iterator[Finding]:
    train_key, val_key = pair.label
    over = fit.overfitting(c, f.limits)
    if over is not None:
        yield finding("fit.overfitting", Severity.WARN, best_epoch=over.best_epoch, rise=over.rise,
                       train_change=over.train_change, key=val_key, train_key=train_key, p_value=over.p_value)
        return
    gap = fit.generalization_gap(c, f.limits)
    if gap is not None:
        yield finding("fit.generalization_gap", Severity.WARN, since_epoch=gap.since_epoch, val_change=gap.val_change,
                       train_change=gap.train_change, key=val_key, train_key=train_key, evaluations=gap.evaluations,
                       noise=gap.noise, best_epoch=gap.best_epoch)
        return
    closed = mosaic_closed(f.run)
    better = fit.still_improving(c, f.limits, closed)
    if better is not None:
        ended = f.status.status not in (Status.RUNNING, Status.STALLED)
        code = "fit.underfitting" if better.underfit and ended and not augmented(f.run) else "fit.still_improving"
        metric, change, evaluations = _metric_change(f, pair, better.start, closed)
        flat = ended and metric is not None and change is None  # the losses fall, the metric judged by does not
        yield finding("fit.still_improving" if flat else code,
                      Severity.INFO if flat else Severity.WARN if ended else Severity.OK, key=val_key,
                      train_key=train_key, val_change=better.val_change, train_change=better.train_change,
                      window=better.window, metric=metric, metric_change=change, settled=flat,
                      metric_window=evaluations)
        return
    settled = fit.at_best(c, f.limits)
    if settled is not None and not _swings(f.run, pair, f.limits):
        lowest = float(np.min(c.val))
        yield finding("fit.at_best", Severity.OK, key=val_key, train_key=train_key,
                       best_epoch=_best_epoch(f.run, pair, settled.best_epoch), rise=settled.rise,
                       stopped=_own_rule_ends(f),  # it ended for lack of improvement: not 'at its best'
                       from_best=max(0.0, (float(c.val[-1]) - lowest) / abs(lowest)) if lowest else 0.0)


def _own_rule_ends(f: Facts) -> bool:
    """Whether the run's own early-stopping rule, replayed with its configured patience, stops it at its last
    evaluation: the run ended because the monitored value made no new best for `patience` evaluations."""
    own = own_stop(f.run, f.limits)
    return own is not None and own.epoch == float(f.run.history["x"].max())


def _swings(run: Run, pair: TrainValPair, limits: Thresholds) -> bool:
    """Whether the validation loss swings (metric.unstable's rule): then its end within its own noise says
    nothing, and the run is not called at its best."""
    return len(pair.val) == 1 and instability.unstable(finite_part(series(run.history, pair.val[0])).values,
                                                        limits) is not None


def _best_epoch(run: Run, pair: TrainValPair, paired_best: float) -> float:
    """The epoch of the lowest logged validation value, evaluations without a training value beside them
    included, so that the report names the same best epoch as the early-stopping replay; a summed loss has
    only its paired evaluations."""
    if len(pair.val) != 1:
        return paired_best
    data = series(run.history, pair.val[0])
    finite = [(v, x) for x, v in zip(data.x, data.values) if math.isfinite(v)]
    return float(min(finite)[1]) if finite else paired_best


def _metric_change(f: Facts, pair: TrainValPair, start: float,
                   until: float | None) -> tuple[str | None, float | None, int | None]:
    """The primary metric, when it is a validation metric other than the paired loss logged at least MIN_POINTS times
    from `start` (and before `until`), its change there when it still gains clearly (fit.gaining, the test the
    trend finding applies to its own window), else None, and how many evaluations that stretch holds (the text
    states it beside the trend finding's window)."""
    m = f.metric
    if m is None or m.split != "val" or m.name in pair.val:
        return None, None, None
    data = series(f.run.history, m.name)
    x, values = np.array(data.x, dtype=float), np.array(data.values, dtype=float)
    keep = (x >= start) & (x < until if until is not None else True) & np.isfinite(values)
    if keep.sum() < fit.MIN_POINTS:  # too few values to tell: more epochs are advised on the losses alone
        return None, None, None
    since_best = int(np.sum(np.isfinite(values) & (x > m.best.x))) if m.best is not None else 0
    if since_best >= f.limits.patience:  # metric.plateau's rule: no new best for that long is no gain
        return m.name, None, int(keep.sum())
    return m.name, fit.gaining(x[keep], values[keep], m.mode is Mode.MAX, f.limits), int(keep.sum())


CLOSE_MOSAIC = 10
"""Ultralytics' default close_mosaic: the last this many epochs train without mosaic."""


def mosaic_closed(run: Run) -> float | None:
    """The first x at which an Ultralytics run trains without mosaic (its last close_mosaic epochs of the planned
    epochs; results.csv counts epochs from 1), or None when it never used mosaic or never closes it. A classifier
    never trains on mosaic images, whatever args.yaml's mosaic and close_mosaic say."""
    epochs = _setting(run, ("epochs",))
    close = _setting(run, ("close_mosaic",))
    close = CLOSE_MOSAIC if close is None else close
    if framework(run) != "ultralytics" or not (_setting(run, ("mosaic",)) or 0.0) > 0 or epochs is None \
            or not 0 < close < epochs or run.hyperparameters.get("task") == "classify":
        return None
    return epochs - close + run.epoch_base


TRAIN_ONLY_KEYS = ("mosaic", "dropout")
"""Config keys that make the training loss higher than the validation loss by construction when above 0: it is
measured on mosaic-augmented images (Ultralytics, YOLOv5) or with dropout on."""


def augmented(run: Run) -> bool:
    """Whether the config turns on augmentation or dropout for training only: then a training loss above the
    validation loss says nothing about underfitting."""
    return any((_setting(run, (key,)) or 0.0) > 0 for key in TRAIN_ONLY_KEYS)


@dataclass(frozen=True)
class OwnStop:
    """The epoch at which the run's own early-stopping rule stops it, with that rule's patience."""

    epoch: float
    patience: int
    framework: str
PATIENCE_KEYS = ("patience", "early_stopping_patience", "es_patience")
MIN_DELTA_KEYS = ("min_delta", "early_stopping_min_delta", "early_stopping_threshold")
HOOK_MONITOR, HOOK_RULE = "EarlyStoppingHook.monitor", "EarlyStoppingHook.rule"
"""mmengine's hook settings as ingest reads them from the run's config.py."""
RULES = {"greater": Mode.MAX, "less": Mode.MIN}
SCHEDULER = "sched"
"""Sections holding it (lr_scheduler, scheduler) configure the learning rate, not early stopping."""


LIGHTNING_CSV = "metrics.csv"
"""The file Lightning's CSVLogger writes: a CSV history of that name is Lightning's, hparams.yaml or not."""


def framework(run: Run) -> str:
    """Whose early-stopping rule applies: first the reader that read the run (its format and file name), then the
    sidecar config, then the key names Lightning writes (x_epoch beside x_step, lr- from LearningRateMonitor)."""
    keys = frozenset(str(k) for k in history_keys(run.history))
    sidecars = {s.path.rsplit("/", 1)[-1] for s in run.sources}
    if run.family.startswith("hf"):
        return "hf"
    if run.family == "mmengine":
        return "mmengine"
    if "opt.yaml" in sidecars or stopping.yolov5_fitness_keys(keys):
        return "yolov5"
    if "args.yaml" in sidecars or stopping.fitness_keys(keys):
        return "ultralytics"
    if (run.family == "csv" and LIGHTNING_CSV in sidecars) or "hparams.yaml" in sidecars or \
            any(k.endswith("_epoch") and f"{k[:-len('_epoch')]}_step" in keys or k.startswith("lr-") for k in keys):
        return "lightning"
    return "keras"


def _setting(run: Run, names: tuple[str, ...]) -> float | None:
    """A number from the run's config under any of the names, in any section but a learning-rate scheduler's
    (ReduceLROnPlateau has a patience too), a one-element list unwrapped."""
    for key in config_keys(run.hyperparameters, names):
        value = run.hyperparameters[key]
        value = value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and SCHEDULER not in key.lower():
            return float(value)
    return None


def _monitor(run: Run, which: str, pair: TrainValPair | None) -> tuple[str, Mode, np.ndarray, np.ndarray] | None:
    """The monitored key as the history names it, its mode, and its x and values (NaN kept: rules treat it)."""
    keys = frozenset(str(k) for k in history_keys(run.history))
    if which in ("ultralytics", "yolov5"):
        weights = stopping.fitness_keys(keys) if which == "ultralytics" else stopping.yolov5_fitness_keys(keys)
        if not weights:
            return None
        parts = {k: dict(zip(*(lambda s: (s.x, s.values))(series(run.history, k)))) for k in weights}
        xs = sorted(set.intersection(*(set(p) for p in parts.values())))
        values = [sum(w * parts[k][x] for k, w in weights.items()) for x in xs]
        return "fitness", Mode.MAX, np.array(xs, dtype=float), np.array(values, dtype=float)
    if which == "hf":
        name = str(run.hyperparameters.get("metric_for_best_model") or "loss")
        key = name if name.startswith("eval_") else f"eval_{name}"
        greater = run.hyperparameters.get("greater_is_better")
        mode = (Mode.MAX if greater else Mode.MIN) if isinstance(greater, bool) else direction(key) or Mode.MIN
    elif which == "mmengine" and isinstance(monitor := run.hyperparameters.get(HOOK_MONITOR), str):
        key, rule = monitor, run.hyperparameters.get(HOOK_RULE)
        mode = RULES.get(str(rule)) or stopping.mmengine_rule(key) or direction(key) or Mode.MIN
    else:
        key = "val_loss" if "val_loss" in keys else pair.val[0] if pair is not None and len(pair.val) == 1 else ""
        mode = Mode.MIN
    if key not in keys:
        return None
    data = series(run.history, key)
    return key, mode, np.array(data.x, dtype=float), np.array(data.values, dtype=float)


def replay(which: str, values: np.ndarray, x: np.ndarray, mode: Mode, patience: int, min_delta: float) -> stopping.Stop:
    """The framework's rule on the logged values."""
    if which == "ultralytics":
        return stopping.ultralytics(x.tolist(), values.tolist(), patience)
    if which == "yolov5":
        return stopping.yolov5(x.tolist(), values.tolist(), patience)
    if which == "mmengine":
        return stopping.mmengine(values.tolist(), mode is Mode.MAX, patience, min_delta)
    if which == "hf":
        return stopping.huggingface(values.tolist(), mode is Mode.MAX, patience, min_delta)
    if which == "lightning":
        return stopping.lightning(values.tolist(), mode, patience, min_delta)
    return stopping.keras(values, mode, patience, min_delta)


def _hours_between(run: Run, start: float, end: float) -> float | None:
    """Wall-clock hours between two x values: the recorded wall times, else Ultralytics' elapsed `time`."""
    h = run.history
    walls = h[h["wall_time"].notna()].groupby("x")["wall_time"].max()
    if start in walls.index and end in walls.index:
        return float(walls[end] - walls[start]) / 3600
    elapsed = dict(zip(*(lambda s: (s.x, s.values))(series(h, "time"))))
    if start in elapsed and end in elapsed and math.isfinite(elapsed[end] - elapsed[start]):
        return float(elapsed[end] - elapsed[start]) / 3600
    return None


def fitness_best(run: Run) -> float | None:
    """The epoch of Ultralytics' best.pt, where its fitness first peaks (the counterfactual's best checkpoint): the
    primary metric alone (mAP50-95, top-1) may peak elsewhere, and the report says which epoch is which."""
    monitored = _monitor(run, "ultralytics", None)
    if monitored is None or not np.isfinite(monitored[3]).any():
        return None
    _, mode, x, values = monitored
    best = replay("ultralytics", values, x, mode, len(values) + 1, 0.0).best  # as _counterfactual finds it
    return float(x[best]) if best is not None else None


def own_stop(run: Run, defaults: Thresholds) -> OwnStop | None:
    """Where the run's own early stopping, with the patience its config states, stops it on the logged values
    (None without a configured patience or when the rule never fires): status.run_status compares it with the
    run's last epoch, since a framework that stopped a run early often writes no end marker."""
    patience = _setting(run, PATIENCE_KEYS)
    if patience is None or patience <= 0:
        return None
    which = framework(run)
    found = run_pairs(run)
    monitored = _monitor(run, which, loss_pair(found))
    if monitored is None or len(monitored[2]) < fit.MIN_POINTS or fit.constant(monitored[3]):
        return None
    _, mode, x, values = monitored
    stop = replay(which, values, x, mode, int(patience), _min_delta(run, which, defaults)).stop
    return OwnStop(float(x[stop]), int(patience), which) if stop is not None else None


def _min_delta(run: Run, which: str, defaults: Thresholds) -> float:
    """The configured min_delta; else mmengine's own default when the run's config has its hook, else ours."""
    configured = _setting(run, MIN_DELTA_KEYS)
    if configured is not None:
        return configured
    return stopping.MMENGINE_MIN_DELTA if which == "mmengine" and HOOK_MONITOR in run.hyperparameters \
        else defaults.stop_min_delta


ENFORCED = frozenset({"ultralytics", "yolov5", "hf", "mmengine"})
"""Frameworks whose trainer acts on the patience its config records (Ultralytics' and YOLOv5's `patience`, the
arguments of HF's EarlyStoppingCallback in trainer_state.json, mmengine's EarlyStoppingHook). A Keras or Lightning
config's `patience` is a hyperparameter that may never have reached an EarlyStopping callback: a run that went on
past the replay's stop simply had none, and the advice is to add it."""


def _counterfactual(f: Facts, pair: TrainValPair | None, c: fit.Curves | None) -> Iterator[Finding]:
    run, defaults = f.run, f.limits
    which = framework(run)
    monitored = _monitor(run, which, pair)
    if monitored is None or len(monitored[2]) < fit.MIN_POINTS:
        return
    key, mode, x, values = monitored
    if fit.constant(values) or not np.isfinite(values[-1]):  # eval.constant / metric.diverged say it: a rule
        return  # replayed on a broken evaluation, or on one whose last values are missing, means nothing
    configured = _setting(run, PATIENCE_KEYS)
    patience = int(configured) if configured is not None and configured >= 0 else None
    used = patience if patience is not None else defaults.stop_patience
    min_delta = _min_delta(run, which, defaults)
    result = replay(which, values, x, mode, used, min_delta)
    best = replay(which, values, x, mode, len(values) + 1, min_delta).best  # the best over the whole run
    if best is None:
        return
    stop, later = result.stop, None
    if stop is not None and best > stop and result.best is not None \
            and not _beats(values, values[best], values[result.best], mode, defaults.stop_noise):
        best, later = result.best, best  # a later best inside the curve's noise: the stop lost nothing
    premature = stop is not None and best > stop  # the run found its best after the rule would have stopped
    cost = _metric_cost(f, key, x[stop]) if stop is not None and not premature else None
    own = -1 if patience is None or stop is None or which not in ENFORCED else stop  # the run's own rule's stop
    mismatch = 0 <= own < len(x) - 1  # the run's own rule did not stop it where the replay does
    too_early = own == len(x) - 1 and _stopped_at_best(f, c, values, mode, used)
    wasted = stop is not None and not premature and stop < len(x) - 1 and cost is None and not mismatch
    yield finding(
        "stop.counterfactual", Severity.WARN if wasted or too_early else Severity.INFO, monitor=key,
        mode=mode.value, patience=used, min_delta=min_delta, stop_epoch=float(x[stop]) if stop is not None else None,
        best_epoch=float(x[best]), epochs_after_best=float(x[-1] - x[best]), evaluations_after_best=len(x) - 1 - best,
        hours_after_best=_hours_between(run, float(x[best]), float(x[-1])), premature=premature, framework=which,
        basis="config" if patience is not None else "default",
        later_best_epoch=float(x[later]) if later is not None else None, mismatch=mismatch, too_early=too_early,
        default_patience=stopping.DEFAULT_PATIENCE[which], noise_scales=defaults.stop_noise,
        **(cost or {"metric": None, "metric_at_stop": None, "metric_best": None, "metric_best_epoch": None}))


def _beats(values: np.ndarray, new: float, old: float, mode: Mode, scales: float) -> bool:
    """Whether `new` is better than `old` by more than `scales` noise scales of the curve (fit.noise)."""
    gain = (new - old) if mode is Mode.MAX else (old - new)
    return bool(gain > scales * fit.noise(values[np.isfinite(values)]))


def _metric_cost(f: Facts, monitor: str, stop_x: float) -> dict[str, float | str | None] | None:
    """What stopping at stop_x would have cost on the primary metric, when it is not the monitored key and its
    best after the stop beats its best up to the stop by more than the curve's noise; else None."""
    m = f.metric
    if m is None or m.name == monitor or m.split != "val":
        return None
    data = series(f.run.history, m.name)
    x, v = np.array(data.x, dtype=float), np.array(data.values, dtype=float)
    ok = np.isfinite(v)
    before, after = ok & (x <= stop_x), ok & (x > stop_x)
    if not before.any() or not after.any():
        return None
    pick = np.argmax if m.mode is Mode.MAX else np.argmin
    kept, then = int(np.flatnonzero(before)[pick(v[before])]), int(np.flatnonzero(after)[pick(v[after])])
    if not _beats(v, v[then], v[kept], m.mode, f.limits.stop_noise):
        return None
    at_stop = int(np.flatnonzero(before)[-1])
    return {"metric": m.name, "metric_at_stop": float(v[at_stop]), "metric_best": float(v[then]),
            "metric_best_epoch": float(x[then])}


def _stopped_at_best(f: Facts, c: fit.Curves | None, values: np.ndarray, mode: Mode, patience: int) -> bool:
    """Whether the run's own rule ended it before its plan while it was still at its best: the smoothed validation
    loss reached its minimum within the last `patience` evaluations, and the monitored value ends within its noise
    of its best. A plateau (the loss lowest earlier) or a monitored value in decline is the rule doing its job."""
    plan = f.run.plan
    if plan is None or c is None or c.x[-1] + 1 - f.run.epoch_base >= plan.epochs:
        return False
    recent = len(c.val) - 1 - int(np.argmin(c.smoothed_val)) <= patience
    finite = values[np.isfinite(values)]
    best = float(finite.max() if mode is Mode.MAX else finite.min())
    return recent and not _beats(values, best, float(values[-1]), mode, f.limits.stop_noise)
