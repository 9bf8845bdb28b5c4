"""Analyse: a pure function from a `Run` to an `Analysis` of codes and numbers.

No file access and no text for people here: the templates and catalogs give the words.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

import numpy as np

from reporter.config import Thresholds
from reporter.errors import HistoryError
from reporter.model import (
    Analysis,
    Curve,
    Curves,
    Finding,
    Floats,
    LossSummary,
    MetricSummary,
    Mode,
    Point,
    Projection,
    ReferenceRow,
    Run,
    RunInfo,
    SeedSummary,
    Series,
    TrainValPair,
    Trend,
    TrendResult,
    frozen_mapping,
)
from reporter.report.analysis import metrics
from reporter.report.analysis.advice import checklist, recommendations
from reporter.report.analysis.clustering import analyse_clustering
from reporter.report.analysis.dataset import dataset_mismatch, profile
from reporter.report.analysis.diagnosis import own_stop, paired_losses, run_pairs, verdict
from reporter.report.analysis.findings import Facts, findings, reference_target
from reporter.report.analysis.projection import (
    Calibration,
    default_targets,
    no_projection,
    project,
    projection_limit,
    run_kind,
)
from reporter.report.analysis.status import pretraining_epoch, run_status
from reporter.report.series import finite_part, history_keys, main_phase, series

LOSS_CURVES = 6
"""Loss curves drawn in one chart at most: more would be a tangle of lines."""


def _keys(run: Run) -> list[str]:
    return [str(key) for key in history_keys(run.history)]  # first-seen order, as dict.fromkeys, but vectorised


def primary_metric_key(run: Run) -> str | None:
    """The metric the report is about (see metrics.primary_choice for the order)."""
    return metrics.primary_choice(run)[0]


def loss_key(run: Run, metric_key: str | None) -> str | None:
    """The training loss to check for signal: 'loss' itself, else the first train loss."""
    keys = [k for k in _keys(run) if metrics.is_loss(k) and k != metric_key and not k.startswith("pretrain")]
    if "loss" in keys:
        return "loss"
    return next((k for k in keys if run.splits.get(k) in (None, "train")), keys[0] if keys else None)


def _check_metric(run: Run, key: str | None, data: Series) -> None:
    """A named metric must exist and hold numbers, or no honest report can be written.

    Raises:
        HistoryError: the metric is missing from the history or has no finite value.
    """
    source = run.sources[0].path if run.sources else run.id
    if run.config.metric and key is None:
        keys = ", ".join(_keys(run)[:15])
        raise HistoryError(f"{source}: no metric '{run.config.metric}' in the history (keys: {keys}); fix --metric "
                           "or [metric] name in run.toml")
    if key is not None and not finite_part(data).values:
        raise HistoryError(f"{source}: metric '{key}' has no finite values (all NaN or inf); choose another with "
                           "--metric")


def summarize_metric(run: Run, key: str, limits: Thresholds, data: Series | None = None) -> MetricSummary:
    data = data if data is not None else series(run.history, key)
    mode = run.config.mode or metrics.direction(key) or Mode.MAX
    clean = finite_part(data)
    best = metrics.best_point(data, mode)
    if key in run.best_so_far_keys and run.logged_stats and run.logged_stats[-1].best_epoch is not None and best:
        best = Point(run.logged_stats[-1].best_epoch, best.value)
    improved, degraded = metrics.improvements_and_degradations(data, mode, limits.min_delta)
    current = Point(clean.x[-1], clean.values[-1]) if clean.x else None
    best_so_far = key in run.best_so_far_keys
    return MetricSummary(
        name=key, mode=mode, scale=metrics.scale_of(key, data.arrays[1]), split=run.config.split or run.splits.get(key),
        best_so_far=best_so_far, n_points=len(clean), current=current, best=best, improvements=improved,
        degradations=degraded,
        epochs_since_best=(current.x - best.x) if current and best else None,
        trend=metrics.trend(data, mode, limits),
        stability=metrics.stability(data, limits.window) if not best_so_far else metrics.Stability(None, None, None),
    )


def summarize_loss(run: Run, key: str, data: Series | None = None) -> LossSummary:
    data = data if data is not None else series(run.history, key)
    clean = finite_part(data)
    current = Point(data.x[-1], data.values[-1]) if data.x else None
    return LossSummary(key=key, current=current, relative_change=metrics.relative_change(data), n_points=len(clean))


def seed_summary(run: Run) -> SeedSummary | None:
    """Mean, std (n - 1), min and max per metric when the history is a table of seeds."""
    if not len(run.history) or not (run.history["x_kind"] == "seed").all():
        return None
    grouped = run.history.groupby("key")["value"]
    stats = {str(key): {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                        "min": float(v.min()), "max": float(v.max())} for key, v in grouped}
    return SeedSummary(n=int(run.history["x"].nunique()), metrics=frozen_mapping(stats))


def analyse(run: Run, now: datetime, references: tuple[ReferenceRow, ...] = (), limits: Thresholds = Thresholds(),
            project_to: tuple[float, ...] = (), calibration: Calibration | None = None) -> Analysis:
    """The whole analysis of one run; `now` is injected so reports are reproducible.

    A diverging run's values near the float limit overflow in sums and products along the way; the rules
    judge such results as non-finite themselves, so numpy's RuntimeWarnings would only add lines to the
    nightly cron mail.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _analysis(run, now, references, limits, project_to, calibration)


def _analysis(run: Run, now: datetime, references: tuple[ReferenceRow, ...], limits: Thresholds,
              project_to: tuple[float, ...], calibration: Calibration | None) -> Analysis:
    pretraining = pretraining_epoch(run) is not None  # no evaluation metric exists yet: none is chosen or required
    key, basis = (None, None) if pretraining else metrics.primary_choice(run)
    data = series(run.history, key) if key else Series("", Floats(), Floats())
    if not pretraining:
        _check_metric(run, key, data)
    seeds = seed_summary(run)
    metric = replace(summarize_metric(run, key, limits, data), basis=basis) if key else None
    if metric is not None and seeds is not None:  # seeds are not a curve: no trend, no stability
        metric = replace(metric, trend=TrendResult(Trend.INSUFFICIENT, metric.n_points, None, None),
                         stability=metrics.Stability(None, None, None), epochs_since_best=None)
    loss_name = loss_key(run, key)
    loss_data = series(run.history, loss_name) if loss_name else None
    loss = summarize_loss(run, loss_name, loss_data) if loss_name else None
    status = run_status(run, [loss_name] if loss_name else [], key, now, limits, own_stop(run, limits))
    planned_last = run.plan.epochs - (1 - run.epoch_base) if run.plan and not status.past_plan else None
    limit = projection_limit(status.status, status.last_epoch, planned_last)
    unit = metrics.x_unit(run.history, run.plan.epochs if run.plan else None)
    ahead = 20.0 if unit == "epoch" or not data.x else max(data.x[-1] - data.x[0], 1.0)
    requested = tuple(float(t) for t in project_to) or default_targets(status.last_epoch or 0.0, limit, ahead)
    refs = () if dataset_mismatch(run) else tuple(r for r in references
                                                  if run.dataset and r.dataset.lower() == run.dataset.lower())
    target = reference_target(metric, refs)
    projection = no_projection("seeds", limits.interval, (), None) if seeds else project(
                         data, metrics.natural_range(key or "", metric.scale if metric else metrics.Scale.RAW), requested,
                         limit, limits.interval, bool(metric and metric.best_so_far),
                         higher_is_better=metric is None or metric.mode is Mode.MAX, calibration=calibration,
                         target=target.value if target else None, kind=run_kind(run))
    dataset = profile(run.labels) if run.labels is not None else None
    clustering = analyse_clustering(run.predictions) if run.predictions else None
    facts = Facts(run, status, metric, loss, projection, dataset, refs, limits, seeds, clustering, unit, now, target)
    found = findings(facts)
    gated = withheld(projection, found, metric, data, limits)
    if gated is not projection:  # the projection's own findings (its chance of a new best) go with it
        projection, found = gated, findings(replace(facts, projection=gated))
    pairs = run_pairs(run)
    return Analysis(
        run=run_info(run), curves=curves(run, data if key else None, loss_data, pairs), status=status.status,
        last_epoch=status.last_epoch, metric=metric, loss=loss,
        x_unit=unit,
        projection=projection, dataset=dataset,
        reference=refs, findings=found, checklist=checklist(run, metric, found, loss),
        recommendations=recommendations(run, metric, found), thresholds=frozen_mapping(asdict(limits)),
        generated_at=now, seeds=seeds, clustering=clustering, verdict=verdict(found), pairs=pairs,
        paired_losses=paired_losses(run, pairs),
    )


def withheld(projection: Projection, found: tuple[Finding, ...], metric: MetricSummary | None, data: Series,
             limits: Thresholds) -> Projection:
    """The projection, or none with the reason (`withholding_reason`) when a forecast would contradict the
    diagnosis. The forecast maths stay in projection.py; this only decides whether its result may be shown."""
    if projection.reason is not None or metric is None:
        return projection
    reason = withholding_reason(found, metric, data, limits)
    return projection if reason is None else no_projection(reason, projection.interval, projection.capped,
                                                           projection.limit)


def withholding_reason(found: tuple[Finding, ...], metric: MetricSummary, data: Series,
                       limits: Thresholds) -> str | None:
    """Why no learning curve may be extrapolated from this run, or None.

    The curve families rise and settle: fitted to a run whose training loss diverges ("diverging") or whose
    projected validation metric swings beyond its noise ("unstable"), they forecast a recovery the run shows no
    sign of (other-volatility: 50% to beat its best, beside a loss grown ×9). A ratio metric that moves in whole
    steps of a tiny split ("coarse") has no values between its steps to forecast, and its asymptote lands on
    the bound (lightning-convlstm-v11: 100%, and 80% to beat a best unbeaten for 33 epochs)."""
    by_code = {f.code: f for f in found}
    if "loss.diverging" in by_code:
        return "diverging"
    swinging = by_code.get("metric.unstable")
    if swinging is not None and swinging.params.get("key") == metric.name:
        return "unstable"
    return "coarse" if split_size(data, metric.scale, limits) is not None else None


def split_size(data: Series, scale: metrics.Scale, limits: Thresholds) -> int | None:
    """The n of a ratio metric whose every value is a whole number of 1/n (n up to `coarse_split`: it counts
    the right answers of a split that small) and that keeps returning to the same values (at most
    `coarse_levels` distinct values per evaluation), else None. Two-decimal logging also lies on a grid (n =
    100) but takes a new value at nearly every evaluation, so the share of distinct values tells the two apart."""
    if scale is metrics.Scale.RAW:
        return None
    values = np.asarray(finite_part(data).values, dtype=float) / (100.0 if scale is metrics.Scale.PERCENT else 1.0)
    if not len(values) or len(np.unique(values)) > limits.coarse_levels * len(values):
        return None
    return next((n for n in range(1, limits.coarse_split + 1)
                 if np.allclose(values * n, np.round(values * n), rtol=0.0, atol=1e-6 * n)), None)


def run_info(run: Run) -> RunInfo:
    """The run as the later stages see it: who it is and how it was configured, not its history."""
    return RunInfo(id=run.id, name=run.name, dataset=run.dataset, family=run.family, sources=run.sources,
                   hyperparameters=run.hyperparameters, plan=run.plan, configured_metric=run.config.metric,
                   location=run.location)


def curve(data: Series) -> Curve:
    return Curve(data.key, *data.arrays)


def curves(run: Run, metric: Series | None, loss: Series | None, pairs: tuple[TrainValPair, ...]) -> Curves:
    """The series the charts and comparisons need, so they never cut the history again.

    The loss chart draws at most LOSS_CURVES losses: first those the diagnosis reads (the train/validation pairs,
    the judged training loss), then the others in history order; the ones left out are named (a run logging
    twelve loss components once drew the first six alphabetically, without its validation loss, and said nothing).
    """
    main = main_phase(run.history)
    keys = [str(k) for k in history_keys(main) if "loss" in str(k).lower()]
    read = {key for pair in pairs for key in (*pair.train, *pair.val)} | ({loss.key} if loss else set())
    kept = set(sorted(keys, key=lambda key: key not in read)[:LOSS_CURVES])  # a stable sort: history order within
    wall = run.history["wall_time"].dropna()
    return Curves(metric=curve(metric) if metric else None, loss=curve(loss) if loss else None,
                  losses=tuple(curve(series(main, k)) for k in keys if k in kept),
                  losses_not_drawn=tuple(k for k in keys if k not in kept),
                  wall_seconds=float(wall.max()) - float(wall.min()) if len(wall) > 1 else None)
