"""Rules that turn computed numbers into findings: codes, severities and params, never sentences.

Each rule is a small function returning zero or more findings; `findings` runs them in report order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import numpy as np

from reporter.codes import finding
from reporter.config import Thresholds
from reporter.model import (
    DatasetProfile,
    Finding,
    LossSummary,
    MetricSummary,
    Mode,
    Projection,
    ReferenceRow,
    ReferenceTarget,
    Run,
    Scale,
    SeedSummary,
    Series,
    Severity,
    Status,
    Trend,
    scalar,
)
from reporter.report.analysis import instability, learning_rate, timing
from reporter.report.analysis.dataset import dataset_mismatch
from reporter.report.analysis.diagnosis import broken_evaluation, evaluation_key, fit, fitness_best, run_pairs
from reporter.report.analysis.diagnosis import rules as _diagnosis
from reporter.report.analysis.diagnosis.pairing import loss_pair
from reporter.report.analysis.diagnosis.stopping import fitness_keys
from reporter.report.analysis.metrics import MIN_TREND_POINTS, STEPS_PER_SLOPE, is_loss, tokens
from reporter.report.analysis.status import StatusResult
from reporter.report.series import (
    finite_part,
    history_keys,
    non_finite_gaps,
    non_finite_tail,
    series,
    values_by_key,
)

CEILING_FAMILIES = ("umc", "umc-fork")


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at, computed once by analysis.analyse."""

    run: Run
    status: StatusResult
    metric: MetricSummary | None
    loss: LossSummary | None
    projection: Projection
    dataset: DatasetProfile | None
    reference: tuple[ReferenceRow, ...]
    limits: Thresholds
    seeds: SeedSummary | None = None
    clustering: Any = None
    x_unit: str = "epoch"  # what x counts, as analysis.analyse decided once
    now: datetime | None = None  # the report's clock (--now), for times still to come
    target: ReferenceTarget | None = None  # the published value to beat, chosen once by analysis.analyse


def _last_write(run: Run) -> dict[str, Any]:
    """The moment the silence counts from, and whether the history recorded it (else it is the file's mtime, which
    a copy or a checkout resets): the sentence says which."""
    return {"last_write": run.last_write.isoformat() if run.last_write else None, "recorded": run.last_write_recorded}


def _max_steps(run: Run) -> int | None:
    """The Trainer's max_steps when it, not a number of epochs, bounded the run (no plan in epochs was read)."""
    steps = scalar(run.hyperparameters.get("max_steps"))
    return steps if run.plan is None and run.family.startswith("hf") and isinstance(steps, int) and steps > 0 else None


def _status(f: Facts) -> Iterator[Finding]:
    s = f.status
    planned = f.run.plan.epochs if f.run.plan and not s.past_plan else None
    if s.past_plan and f.run.plan:
        yield finding("run.past_plan", Severity.WARN, last_epoch=s.last_epoch, planned_epochs=f.run.plan.epochs)
    if s.status is Status.CRASHED:
        yield finding("run.crashed", Severity.ERROR, epoch=s.crash_epoch, reason=s.reason)
    elif s.status is Status.STOPPED_EARLY:
        own = s.stopped_by  # the run's own rule ending it is what its config asked for: information
        yield finding("run.stopped_early", Severity.WARN if planned and own is None else Severity.INFO,
                      epoch=s.last_epoch, planned_epochs=planned, framework=own.framework if own else None,
                      patience=own.patience if own else None)
    elif s.status is Status.FINISHED:
        yield finding("run.finished", Severity.OK, last_epoch=s.last_epoch, planned_epochs=planned,
                      epoch_base=f.run.epoch_base, epochs_done=_epochs_done(f), max_steps=_max_steps(f.run))
    elif s.status is Status.STALLED:
        yield finding("run.stalled", Severity.ERROR, hours_since_last=s.hours_since_last,
                      typical_hours=s.typical_epoch_hours, **_last_write(f.run))
    elif s.pretraining_epoch is not None:
        pretrain = scalar(f.run.hyperparameters.get("num_pretrain_epochs"))
        yield finding("run.pretraining", Severity.INFO, epoch=s.pretraining_epoch,
                      planned_epochs=pretrain if isinstance(pretrain, int) else None, metric=f.run.config.metric)
    elif s.status is Status.RUNNING:
        yield finding("run.running", Severity.INFO, last_epoch=s.last_epoch, planned_epochs=planned)
    elif s.reason == "stopped_logging":  # no end marker and a long silence: finished, or killed without a trace
        planned = planned if f.x_unit == "epoch" else None  # a plan counts epochs, this history steps
        yield finding("run.stopped_logging", Severity.WARN if planned else Severity.INFO,
                      hours_since_last=s.hours_since_last, last_epoch=s.last_epoch, planned_epochs=planned,
                      **_last_write(f.run))
    if f.run.plan is not None and f.run.plan.basis == "umc_thres_delta":
        configured = scalar(f.run.hyperparameters.get("num_train_epochs"))
        yield finding("run.planned_from_thres_delta", Severity.INFO, planned_epochs=f.run.plan.epochs,
                      thres=f.run.plan.params["thres"], delta=f.run.plan.params["delta"], configured=configured)
    if f.run.restarts:
        yield finding("run.resumed", Severity.INFO, restarts=f.run.restarts)
    if f.run.skipped_lines:
        yield finding("history.rows_skipped", Severity.WARN, file=f.run.sources[0].path,
                      lines=list(f.run.skipped_lines[:10]), count=len(f.run.skipped_lines))
    yield from _fork_early_stop(f)


def _epochs_done(f: Facts) -> float | None:
    """Epochs completed: the last epoch + 1 when the history counts from 0 (said in the report)."""
    last = f.status.last_epoch
    return None if last is None or f.x_unit != "epoch" else last + 1 - f.run.epoch_base


FORK_MIN_EVALUATIONS = 10
"""The UMC fork's should_early_stop(min_epochs=10): from then on its 'all of the last 5 <= best' test always holds."""


def _fork_early_stop(f: Facts) -> Iterator[Finding]:
    """An early stop of the fork at its first possible epoch says nothing about the metric."""
    stop = next((e for e in f.run.events if e.kind == "early_stop"), None)
    if f.run.family == "umc-fork" and stop is not None and stop.x == FORK_MIN_EVALUATIONS - 1 + f.run.epoch_base:
        yield finding("umc.early_stop_rule", Severity.WARN, epoch=stop.x)


def _metric_chosen(run: Run, m: MetricSummary, limits: Thresholds) -> Finding:
    """Why this metric is primary; for a term of Ultralytics' fitness, also the epoch of best.pt (the fitness
    peak) beside the metric's own best, since the two differ and a user must know which checkpoint is which."""
    terms = fitness_keys(frozenset(history_keys(run.history)))
    fitness_epoch = fitness_best(run) if m.name in terms else None
    heads = len({k[-3:] for k in terms if k.endswith(")")})
    mask = _mask_fall(run, m, limits) if fitness_epoch is not None and heads > 1 else None
    return finding("metric.chosen", Severity.INFO, metric=m.name, basis="fitness" if fitness_epoch is not None
                   else m.basis, n_points=m.n_points, fitness_epoch=fitness_epoch,
                   best_epoch=m.best.x if m.best is not None else None, heads=heads,
                   framework=HINT_SOURCES.get(run.family, "recorder") if m.basis == "framework" else None,
                   **(mask or {"mask_metric": None, "mask_best": None, "mask_best_epoch": None, "mask_last": None}))


def _mask_fall(run: Run, m: MetricSummary, limits: Thresholds) -> dict[str, Any] | None:
    """The mask head's twin of a box metric (mAP50-95(M) beside mAP50-95(B)) when it ends below its best by more than
    `stop_noise` noise scales: the fitness sums both heads, and a segmentation run judged by its box metric alone
    hides a mask head in decline (yolo-microalgae-seg: mask mAP50-95 0.475 at epoch 25, 0.42 at the end)."""
    twin = f"{m.name[:-3]}(M)" if m.name.endswith("(B)") else None
    data = finite_part(series(run.history, twin)) if twin is not None else None
    if data is None or len(data) < fit.END_POINTS:
        return None
    values = np.asarray(data.values, dtype=float)
    best = int(np.argmax(values) if m.mode is Mode.MAX else np.argmin(values))
    fall = abs(float(values[best] - values[-1]))
    if fall <= limits.stop_noise * fit.noise(values):
        return None
    return {"mask_metric": twin, "mask_best": float(values[best]), "mask_best_epoch": float(data.x[best]),
            "mask_last": float(values[-1])}


HINT_SOURCES = {"hf-trainer-state": "hf", "csv": "ultralytics"}
"""Who named the primary metric when the history itself does: HF's trainer state (metric_for_best_model), an
Ultralytics results.csv (its fitness term), else the reporter's own recorder (its plan's metric)."""


def _metric(f: Facts) -> Iterator[Finding]:
    m = f.metric
    if m is None and f.status.pretraining_epoch is None:  # in pre-training, run.pretraining says why
        yield finding("metric.missing", Severity.WARN)
    if m is None:
        return
    if f.seeds is not None:
        stats = f.seeds.metrics[m.name]
        yield finding("seeds.summary", Severity.INFO, n=f.seeds.n, key=m.name, mean=stats["mean"], std=stats["std"],
                      low=stats["min"], high=stats["max"])
        return
    if m.basis is not None and m.basis != "configured":
        yield _metric_chosen(f.run, m, f.limits)
    if non_finite_tail(series(f.run.history, m.name)) is not None:  # its last values are missing: no trend to
        return  # claim from the rest (metric.diverged or metric.nan says it)
    last = f.status.last_epoch
    if m.current is not None and last is not None and last - m.current.x >= 2:
        yield finding("metric.sparse", Severity.WARN, n_points=m.n_points, last_metric_epoch=m.current.x,
                      last_epoch=last, best_so_far=m.best_so_far)
    t = m.trend
    per = f"{STEPS_PER_SLOPE} steps" if f.x_unit == "step" else "epoch"  # said in summary.json too
    slope = t.slope * STEPS_PER_SLOPE if t.slope is not None and per != "epoch" else t.slope
    plateau = m.epochs_since_best is not None and t.kind is not Trend.INSUFFICIENT and \
        _evaluations_since_best(f) >= f.limits.patience
    if t.kind is Trend.INSUFFICIENT:
        yield finding("metric.insufficient_data", Severity.WARN, n_points=m.n_points, needed=MIN_TREND_POINTS)
    elif t.kind is Trend.DECLINING:
        yield finding("metric.declining", Severity.WARN, window=t.window, slope=slope, slope_per=per,
                      epochs_since_best=m.epochs_since_best)
    elif plateau:
        ended = f.status.status is not Status.RUNNING  # a plateau at the end of a run is where it stopped improving, not a risk to watch
        yield finding("metric.plateau", Severity.INFO if ended else Severity.WARN, window=t.window, slope=slope,
                      slope_per=per, epochs_since_best=m.epochs_since_best, ended=ended)
    elif t.kind is Trend.IMPROVING and fit.recent_gain(*_values(f, m), m.mode is Mode.MAX, f.limits) is not None:
        yield finding("metric.improving", Severity.OK, window=t.window, slope=slope, slope_per=per,
                      epochs_since_best=m.epochs_since_best)
    elif t.kind is Trend.IMPROVING:  # significant, yet too small a gain to call it improving: it has settled
        yield finding("metric.stable", Severity.INFO, window=t.window, slope=slope, slope_per=per,
                      change=fit.recent_change(*_values(f, m), f.limits), min_gain=f.limits.improving_min_drop)
    elif t.kind is Trend.OSCILLATING:
        yield finding("metric.oscillating", Severity.WARN, window=t.window, noise=m.stability.noise)
    else:
        yield finding("metric.stable", Severity.INFO, window=t.window, slope=slope, slope_per=per, change=None,
                      min_gain=None)


def _values(f: Facts, m: MetricSummary) -> tuple[np.ndarray, np.ndarray]:
    """The primary metric's x and values, for the gain test the more-epochs advice shares (fit.recent_gain)."""
    data = series(f.run.history, m.name)
    return np.asarray(data.x, dtype=float), np.asarray(data.values, dtype=float)


def _evaluations_since_best(f: Facts) -> int:
    m = f.metric
    assert m is not None and m.best is not None
    x, values = series(f.run.history, m.name).arrays
    return int(((x > m.best.x) & np.isfinite(values)).sum())  # missing: unknown


def _diverged(f: Facts) -> Iterator[Finding]:
    """NaN/inf, or a jump for the worse far beyond the usual step that the curve never recovers from."""
    keys = [(f.metric.name, f.metric.mode)] if f.metric else []
    keys += [(f.loss.key, Mode.MIN)] if f.loss else []
    broken = broken_evaluation(f.run)  # eval.constant names these: a broken evaluation, not a divergence
    for key in _fit_losses(f.run):  # a validation loss the fit reads, NaN from some epoch on, is as broken
        data = series(f.run.history, key)
        if key not in dict(keys) and key not in broken and (tail := non_finite_tail(data)) is not None:
            yield _non_finite(key, tail, data)
    for key, mode in (k for k in keys if k[0] not in broken):
        data = series(f.run.history, key)
        values = data.arrays[1]
        if is_loss(key) and (tail := non_finite_tail(data)) is not None:
            yield _non_finite(key, tail, data)
            continue
        if not is_loss(key) and np.isinf(values).any():  # a metric's NaN: _nan_metric; a loss's gaps: _nan_loss_rows
            first = int(np.argmax(np.isinf(values)))
            yield finding("metric.diverged", Severity.ERROR, key=key, epoch=data.x[first], cause="inf",
                          to_end=not np.isfinite(values[first:]).any())
            continue
        xs, values = np.asarray(data.x)[np.isfinite(values)], values[np.isfinite(values)]
        with np.errstate(over="ignore", invalid="ignore"):  # values near the float limit overflow to inf here
            at = _jump(values, mode)
        if at is not None:
            yield finding("metric.diverged", Severity.ERROR, key=key, epoch=float(xs[at]), cause="jump", to_end=True)


def _non_finite(key: str, tail: float, data: Series) -> Finding:
    value = dict(zip(data.x, data.values))[tail]
    return finding("metric.diverged", Severity.ERROR, key=key, epoch=tail, cause="inf" if math.isinf(value) else "nan",
                   to_end=True)


def _fit_losses(run: Run) -> list[str]:
    """Every key of the train/validation loss pair the fit diagnosis reads (the components of a summed loss)."""
    pair = loss_pair(run_pairs(run))
    return list(pair.train + pair.val) if pair is not None else []


def _nan_loss_rows(f: Facts) -> Iterator[Finding]:
    """NaN or inf at some epochs of a loss the run went on finite after: not a crash (status and _diverged read
    only a non-finite tail as one). Said once, for the first such key; the fit rules leave those epochs out."""
    keys = list(dict.fromkeys(([f.loss.key] if f.loss else []) + _fit_losses(f.run)))
    gaps = [(key, xs) for key in keys if (xs := non_finite_gaps(series(f.run.history, key)))]
    if not gaps:
        return
    key, xs = gaps[0]
    epochs = sorted({x for _, found in gaps for x in found})
    pair = loss_pair(run_pairs(f.run))
    summed = pair is not None and any(len(side) > 1 and key in side for side in (pair.train, pair.val))
    yield finding("loss.nan_rows", Severity.INFO, key=key, epochs=epochs[:10], count=len(epochs), summed=summed)


def _jump(values: np.ndarray, mode: Mode) -> int | None:
    """The index of the first jump for the worse far beyond the usual step that the curve never recovers from
    (the first, so a loss exploding over several epochs diverged where it started)."""
    steps = np.diff(values)
    worse = steps if mode is Mode.MIN else -steps
    typical = float(np.median(np.abs(steps))) if len(steps) >= 4 else 0.0
    if typical <= 0 or worse.max() <= 50 * typical or worse.max() <= abs(values).mean():
        return None
    for at in np.nonzero(worse > 50 * typical)[0] + 1:
        later = values[at:] - values[at - 1]
        if (later if mode is Mode.MIN else -later).min() >= 10 * typical:  # never came back
            return int(at)
    return None


def _nan_metric(f: Facts) -> Iterator[Finding]:
    """NaN in some evaluations of a metric (not a loss): a failed evaluation to look at, not a crash."""
    m = f.metric
    if m is None or is_loss(m.name):
        return
    x, values = series(f.run.history, m.name).arrays
    epochs = x[np.isnan(values)].tolist()
    if epochs:
        yield finding("metric.nan", Severity.WARN, key=m.name, epochs=epochs[:10], count=len(epochs))


def _logged_monitor(f: Facts) -> Iterator[Finding]:
    """The source's own monitor (the UMC fork's dict): report its claims and whether they hold."""
    if not f.run.logged_stats:
        return
    last = f.run.logged_stats[-1]
    yield finding("monitor.logged", Severity.INFO, epoch=last.x, trend=last.trend, stability=last.stability,
                  improvements=last.improvements, degradations=last.degradations, best_epoch=last.best_epoch)
    evaluations = int(last.x) + 1
    window = min(5, evaluations)
    monotone = last.improvements is not None and last.degradations == 0 and last.improvements >= evaluations
    if last.stability is not None and last.stability < 0.5 and monotone and window >= 2:
        yield finding("stability.trend_driven", Severity.INFO, stability=last.stability, noise=None,
                      window=window, basis="monotone")


def _stability(f: Facts) -> Iterator[Finding]:
    m = f.metric
    if m is None or m.stability.raw_score is None or m.stability.score is None:
        return
    if m.stability.raw_score < 0.5 <= m.stability.score and m.trend.kind in (Trend.IMPROVING, Trend.DECLINING):
        yield finding("stability.trend_driven", Severity.INFO, stability=m.stability.raw_score,
                      noise=m.stability.noise, window=m.trend.window, basis="detrended")


def _loss(f: Facts) -> Iterator[Finding]:
    if f.loss is None or f.loss.relative_change is None:
        return
    metric_change = None
    if f.metric is not None:
        data = finite_part(series(f.run.history, f.metric.name)).values
        if len(data) >= 2 and data[0] != 0:
            metric_change = abs(data[-1] - data[0]) / abs(data[0])
    if f.loss.relative_change < f.limits.flat_loss:
        yield finding("loss.flat", Severity.WARN, key=f.loss.key, relative_change=f.loss.relative_change,
                      metric_change=metric_change)
    yield from _loss_ceiling(f)


def _loss_ceiling(f: Facts) -> Iterator[Finding]:
    """UMC's SupCon loss over 3 views of a batch of B is ln(3B - 1) when embeddings carry no signal."""
    batch = scalar(f.run.hyperparameters.get("train_batch_size"))
    if f.run.family not in CEILING_FAMILIES or not isinstance(batch, int) or batch < 2 or f.loss is None \
            or f.loss.current is None:
        return
    ceiling = math.log(3 * batch - 1)
    share = f.loss.current.value / ceiling
    if 0.95 <= share <= 1.05:
        temperature = scalar(f.run.hyperparameters.get("train_temperature_sup"))
        yield finding("loss.near_ceiling", Severity.WARN, value=f.loss.current.value, ceiling=ceiling,
                      batch=batch, share=share, temperature=temperature)


def _constants(f: Facts) -> Iterator[Finding]:
    skip = {f.metric.name if f.metric else None, f.loss.key if f.loss else None}
    epochs = (f.run.history["x_kind"] == "epoch").to_numpy()
    for key, values in values_by_key(f.run.history, epochs).items():
        if key in skip or "loss" in tokens(str(key)) or len(values) < 3 or evaluation_key(f.run, str(key)):
            continue
        first = float(values[0])
        if math.isfinite(first) and bool((values == first).all()):  # one value throughout: no hashing of each
            yield finding("fact.constant", Severity.INFO, key=key, value=first, count=len(values),
                          **_constant_origin(f, str(key)))


def _constant_origin(f: Facts, key: str) -> dict[str, object]:
    """Where a known constant comes from, e.g. the fork's max(5, int(N / K * 0.1))."""
    n, k = f.run.hyperparameters.get("num_train_examples"), f.run.hyperparameters.get("num_labels")
    if key == "min_samples_per_class" and isinstance(n, int) and isinstance(k, int) and k > 0:
        return {"formula": "umc_min_samples", "n": n, "k": k, "expected": max(5, int(n / k * 0.1))}
    return {"formula": None, "n": None, "k": None, "expected": None}


def _dataset(f: Facts) -> Iterator[Finding]:
    mismatch = dataset_mismatch(f.run)
    if mismatch is not None:
        yield finding("dataset.mismatch", Severity.ERROR, declared=mismatch[0], found=mismatch[1])
    d = f.dataset
    if d is None:
        return
    for c in d.classes:
        if c.artefact:
            yield finding("dataset.header_as_class", Severity.WARN, label=c.label, count=c.count + 1,
                          naive_ratio=d.raw_imbalance_ratio)
    for c in d.classes:
        if not c.artefact and c.count < f.limits.tiny_class:
            yield finding("dataset.tiny_class", Severity.WARN, label=c.label, count=c.count)
    if d.imbalance_ratio is not None:
        severity = Severity.WARN if d.imbalance_ratio >= f.limits.imbalance_warn else Severity.INFO
        yield finding("dataset.imbalance", severity, ratio=d.imbalance_ratio, largest=d.largest,
                      smallest=d.smallest, naive_ratio=d.raw_imbalance_ratio)


def metric_as_percent(value: float, scale: Scale) -> float:
    return value * 100 if scale is Scale.FRACTION else value


def _reference(f: Facts) -> Iterator[Finding]:
    m = f.metric
    target = f.target
    if m is None or m.best is None or target is None:
        return
    row, column = target.row, target.column
    # Papers report the mean over seeds: compare like with like when the seeds are known.
    basis = "seed_mean" if f.seeds is not None else "best"
    raw = f.seeds.metrics[m.name]["mean"] if f.seeds is not None else m.best.value
    value = metric_as_percent(raw, m.scale)
    reference = row.metrics[column]
    yield finding("reference.compare", Severity.INFO, reference=reference, method=row.method, column=column,
                  value=value, delta=value - reference, split=m.split, reference_split=row.split, basis=basis)
    if m.split is not None and m.split != row.split:
        yield finding("reference.split_mismatch", Severity.WARN, split=m.split, reference_split=row.split)


def reference_target(metric: MetricSummary | None, reference: tuple[ReferenceRow, ...]) -> ReferenceTarget | None:
    """The best published value for the metric, in the metric's own unit, with its row and column."""
    if metric is None or not reference or metric.scale is Scale.RAW:
        return None
    column = next((c for c in reference[0].metrics if c.lower() in tokens(metric.name)), None)
    if column is None:
        return None
    pick = max if metric.mode is Mode.MAX else min
    row = pick(reference, key=lambda r: r.metrics[column])
    value = row.metrics[column] / 100 if metric.scale is Scale.FRACTION else row.metrics[column]
    return ReferenceTarget(value, row, column)


def _projection(f: Facts) -> Iterator[Finding]:
    p = f.projection
    if p.capped:
        yield finding("projection.capped", Severity.INFO, requested=[float(x) for x in p.capped],
                      planned_epochs=f.run.plan.epochs if f.run.plan else None, limit=p.limit,
                      status=f.status.status.value)
    target = f.target
    if p.p_reach_target is not None and target is not None and p.p_reach_target < 0.2:
        yield finding("projection.unlikely_target", Severity.WARN, target=target.published,
                      probability=p.p_reach_target, epoch=p.chance_at)
    if p.p_beat_best is not None and f.status.status is Status.RUNNING:
        severity = Severity.WARN if p.p_beat_best < STOP_BELOW else Severity.INFO
        yield finding("projection.improvement_chance", severity, probability=p.p_beat_best, epoch=p.chance_at)


STOP_BELOW = 0.05
"""Domhan et al. (2015) stop a run when the chance of beating the best so far is below this."""
MINORITY_SHARE = 0.05
"""A class with under this share of the samples is a minority class."""
LOST_RECALL = 0.1
DEGENERATE_SHARE = 0.5
POOR_SILHOUETTE = 0.05


def _clusters(f: Facts) -> Iterator[Finding]:
    c = f.clustering
    if c is None:
        return
    minority = [r for r in c.per_class if r.support / c.n_samples < MINORITY_SHARE]
    lost = [r for r in minority if r.recall < LOST_RECALL]
    if lost:
        yield finding("clusters.minority_lost", Severity.WARN, labels=[r.label for r in lost], count=len(lost),
                      minority=len(minority), minority_share=MINORITY_SHARE, lost_recall=LOST_RECALL)
    elif minority:
        yield finding("clusters.minority_recovered", Severity.OK, count=len(minority),
                      recall=min(r.recall for r in minority), minority_share=MINORITY_SHARE)
    if c.merges:  # one cluster is the best home of several classes: all but one of them are lost to it
        recall = {r.label: r.recall for r in c.per_class}
        yield finding("clusters.merged", Severity.WARN, groups=[[cluster, list(members)] for cluster, members in c.merges],
                      count=len(c.merges), recall=min(recall[label] for _, members in c.merges for label in members))
    if c.largest_cluster_share > DEGENERATE_SHARE and c.largest_cluster_share > 1.5 * c.largest_class_share:
        yield finding("clusters.degenerate", Severity.WARN, share=c.largest_cluster_share,
                      class_share=c.largest_class_share)
    q = c.feature_quality
    if q is not None and q.silhouette < POOR_SILHOUETTE:
        yield finding("features.poor_separation", Severity.WARN, silhouette=q.silhouette, ratio=q.intra_inter_ratio)


def _seed_spread(f: Facts) -> Iterator[Finding]:
    """Seeds spread wider than the run's distance to the published result: one seed proves little."""
    if f.seeds is None or f.metric is None:
        return
    target = f.target
    stats = f.seeds.metrics[f.metric.name]
    gap = metric_as_percent(stats["mean"], f.metric.scale) - target.published if target else None
    std = metric_as_percent(stats["std"], f.metric.scale)
    if gap is not None and f.seeds.n > 1 and 2 * std > abs(gap):
        yield finding("seeds.high_variance", Severity.WARN, std=std, gap=gap, n=f.seeds.n)


RULES = (_diagnosis, _status, _metric, _diverged, _nan_loss_rows, _nan_metric, _logged_monitor, _stability, _loss, _constants, _dataset, _reference,
         _projection, _clusters, _seed_spread,
         instability.rules, learning_rate.rules, timing.rules)


IMPORTANCE = ("eval.constant", "metric.diverged", "loss.diverging", "metric.unstable", "loss.spikes", "fit.overfitting",
              "fit.generalization_gap", "fit.underfitting", "fit.still_improving", "metric.declining")
"""Within a severity, the findings a reader must act on first: a broken evaluation or diverging training makes every
other reading doubtful, then how the model fits; any other finding follows in rule order, and the early-stopping
counterfactual (what a rule would have saved) comes last."""
LAST = ("stop.counterfactual",)


def importance(code: str) -> int:
    """The rank of a finding code within its severity (lower first), shared by findings and recommendations."""
    if code in IMPORTANCE:
        return IMPORTANCE.index(code)
    return len(IMPORTANCE) + 1 if code in LAST else len(IMPORTANCE)


def findings(facts: Facts) -> tuple[Finding, ...]:
    """All findings, in the order the report presents them: by importance within each severity."""
    return tuple(sorted((item for rule in RULES for item in rule(facts)), key=lambda f: importance(f.code)))
