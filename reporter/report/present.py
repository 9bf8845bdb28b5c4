"""Present: Analysis -> ReportContext, the language-neutral structure every template renders.

It decides what goes where (positive signals vs watch items, which hyperparameters to show, where
this run sits in the published table) but holds no words: codes, numbers and the user's own strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from reporter import __version__
from reporter.changes import Changes
from reporter.model import (
    Analysis,
    CheckItem,
    DatasetProfile,
    Finding,
    MetricSummary,
    Projection,
    Recommendation,
    SeedSummary,
    Severity,
    Source,
    TrainValPair,
    frozen_mapping,
    scalar,
)
from reporter.report.analysis.diagnosis import CLOSE_MOSAIC, TRAIN_ONLY_KEYS, fit
from reporter.report.analysis.diagnosis.stopping import CLASSIFY_KEYS, CLASSIFY_WEIGHT, FITNESS_WEIGHTS
from reporter.report.analysis.findings import FORK_MIN_EVALUATIONS
from reporter.report.analysis.instability import MIN_SWING_POINTS, SPIKE_WARMUP
from reporter.report.analysis.learning_rate import WARMUP_RISE
from reporter.report.analysis.metrics import (
    CONSTANT_SPREAD,
    LOSS_EDGE,
    MIN_TREND_POINTS,
    OSCILLATING_BELOW,
    STABILITY_SCALE,
    STEPS_PER_SLOPE,
)
from reporter.report.analysis.projection import (
    CAP,
    FLAT_GAIN,
    FLAT_WINDOW,
    HELD_OUT_COVERAGE,
    HELD_OUT_INTERVAL,
    HELD_OUT_KIND_COVERAGE,
    HELD_OUT_KIND_REST_COVERAGE,
    HELD_OUT_REST_COVERAGE,
    MIN_KIND_CURVES,
    MIN_POINTS,
    SHRINK,
    Calibration,
)
from reporter.report.analysis.timing import ETA_QUANTILES

SHOWN_HYPERPARAMETERS = ("lr", "lr_pre", "thres", "delta", "base_dim", "train_batch_size", "num_train_epochs",
                         "num_pretrain_epochs", "train_temperature_sup", "train_temperature_unsup", "seed",
                         "learning_rate", "batch_size", "epochs", "weight_decay")


@dataclass(frozen=True)
class KeyMetric:
    code: str  # what the row is; the template names it
    kind: str  # how to format value: metric | number | epoch | text | code | stability
    value: Any
    note: str | None = None  # a code for the explanation column, or the key a loss row reads
    at: float | None = None  # the epoch (or step) the value belongs to, shown in the explanation column


@dataclass(frozen=True)
class ReferenceLine:
    method: str
    value: float  # percent
    split: str
    is_run: bool


@dataclass(frozen=True)
class ReportContext:
    run_id: str
    run_name: str
    dataset: str | None
    family: str
    generated_at: datetime
    status: str
    metric: MetricSummary | None
    key_metrics: tuple[KeyMetric, ...]
    positives: tuple[Finding, ...]
    errors: tuple[Finding, ...]  # the run's results cannot be trusted until they are fixed: their own heading
    watch: tuple[Finding, ...]
    info: tuple[Finding, ...]
    dataset_profile: DatasetProfile | None
    reference_column: str | None
    reference_lines: tuple[ReferenceLine, ...]
    citation: str | None
    hyperparameters: tuple[tuple[str, Any], ...]
    recommendations: tuple[Recommendation, ...]
    projection: Projection
    checklist: tuple[CheckItem, ...]
    verdict: str
    counts: Mapping[str, int]
    thresholds: Mapping[str, Any]
    sources: tuple[Source, ...]
    version: str
    findings: Mapping[str, Finding]
    seeds: SeedSummary | None
    clustering: Any
    clustering_reference: Mapping[str, ReferenceLine]  # metric (nmi, ari, acc, fmi) -> best published value
    changes: Changes | None  # since the previous report; None for the first one
    x_unit: str = "epoch"  # "step" when x counts optimiser steps: labels and sentences say steps
    rules: Mapping[str, Any] = field(default_factory=frozen_mapping)  # fixed numbers the text states (see stated_rules), never typed twice
    pairs: tuple[TrainValPair, ...] = ()  # the train/validation pairs the diagnosis read
    losses_not_drawn: tuple[str, ...] = ()  # losses the loss chart leaves out, which its caption names


def _seed_metrics(a: Analysis) -> tuple[KeyMetric, ...]:
    assert a.seeds is not None and a.metric is not None
    stats = a.seeds.metrics[a.metric.name]
    return (KeyMetric("key.best_metric", "metric", a.metric.best.value if a.metric.best else None),
            KeyMetric("key.seed_mean", "mean_std", (stats["mean"], stats["std"])),
            KeyMetric("key.seed_count", "number0", a.seeds.n),
            KeyMetric("key.status", "code", a.status.value))


def _key_metrics(a: Analysis) -> tuple[KeyMetric, ...]:
    """What a senior researcher reads first: the primary metric now and at its best, the validation loss now and at
    its minimum, and the training loss the fit rules read; then trend, status and plan."""
    if a.seeds is not None and a.metric is not None:
        return _seed_metrics(a)
    rows = [*_metric_rows(a), *_loss_rows(a)]
    m = a.metric
    if m is not None:
        rows.append(KeyMetric("key.trend", "code", m.trend.kind.value))
        rows.append(KeyMetric("key.stability", "stability", m.stability.score))
    rows.append(KeyMetric("key.status", "code", a.status.value))
    rows.append(KeyMetric("key.last_epoch", "epoch", a.last_epoch))
    rows.append(KeyMetric("key.planned_epochs", "epoch", a.run.plan.epochs if a.run.plan else None,
                          a.run.plan.basis if a.run.plan else None))
    eta = next((f for f in a.findings if f.code == "time.eta" and f.params["finish_at"] is not None), None)
    if eta is not None:  # "finishes around Thu 14:00 (±1 h)": the middle of the range and its half-width
        rows.append(KeyMetric("key.finish", "finish", (eta.params["finish_at"], eta.params["spread"])))
    return tuple(rows)


def _metric_rows(a: Analysis) -> list[KeyMetric]:
    m = a.metric
    if m is None:
        return []
    rows = [KeyMetric("key.current_metric", "metric", m.current.value, at=m.current.x)] if m.current else []
    if m.best is not None:
        rows.append(KeyMetric("key.best_metric", "metric", m.best.value))
        rows.append(KeyMetric("key.best_epoch", "epoch", m.best.x))
    return rows


def _loss_rows(a: Analysis) -> list[KeyMetric]:
    """The paired validation loss (unless it is the primary metric) and the training loss the fit rules read;
    without a pair, the training loss the analysis judged."""
    p = a.paired_losses
    if p is None:
        current = a.loss.current if a.loss is not None else None
        return [KeyMetric("key.current_loss", "number", current.value, a.loss.key, current.x)] if a.loss and current else []
    rows = []
    if p.val is not None and p.val_best is not None and (a.metric is None or a.metric.name != p.val_key):
        rows.append(KeyMetric("key.current_val_loss", "number", p.val.value, p.val_key, p.val.x))
        rows.append(KeyMetric("key.best_val_loss", "number", p.val_best.value, p.val_key, p.val_best.x))
    if p.train is not None:
        rows.append(KeyMetric("key.train_loss", "number", p.train.value, p.train_key, p.train.x))
    return rows


def _reference_lines(a: Analysis) -> tuple[str | None, tuple[ReferenceLine, ...]]:
    compare = next((f for f in a.findings if f.code == "reference.compare"), None)
    if a.metric is None and a.reference:  # no metric yet (pre-training): the published results it will meet
        return _published_only(a)
    if compare is None or a.metric is None or a.metric.best is None:
        return None, ()
    column = compare.params["column"]
    lines = [ReferenceLine(r.method, r.metrics[column], r.split, False) for r in a.reference]
    lines.append(ReferenceLine(a.run.name, compare.params["value"], a.metric.split or "unknown", True))
    return column, tuple(sorted(lines, key=lambda line: -line.value))


def _published_only(a: Analysis) -> tuple[str | None, tuple[ReferenceLine, ...]]:
    """The published column of the configured metric (else the table's first), without a line for this run."""
    columns = list(a.reference[0].metrics)
    wanted = (a.run.configured_metric or "").lower()
    column = next((c for c in columns if c.lower() == wanted), columns[0])
    lines = [ReferenceLine(r.method, r.metrics[column], r.split, False) for r in a.reference]
    return column, tuple(sorted(lines, key=lambda line: -line.value))


def _hyperparameters(a: Analysis) -> tuple[tuple[str, Any], ...]:
    shown = [(key, scalar(a.run.hyperparameters[key])) for key in SHOWN_HYPERPARAMETERS if key in a.run.hyperparameters]
    return tuple(shown)


VERDICT_CODES = {"action_needed": "verdict.action_needed", "needs_attention": "verdict.attention",
                 "healthy": "verdict.healthy"}
"""analysis.diagnosis.verdict's value -> the code the templates name it by."""


def stated_rules(calibration: Calibration | None) -> Mapping[str, Any]:
    """The analysis' fixed rules that the report's sentences quote, taken from where they are defined."""
    return frozen_mapping({
        "trend_min_points": MIN_TREND_POINTS, "oscillating_below": OSCILLATING_BELOW, "constant_spread": CONSTANT_SPREAD,
        "projection_min_points": MIN_POINTS, "calibration_curves": calibration.curves if calibration else None,
        "held_out_low": HELD_OUT_COVERAGE[0], "held_out_high": HELD_OUT_COVERAGE[1],
        "held_out_rest_low": HELD_OUT_REST_COVERAGE[0], "held_out_rest_high": HELD_OUT_REST_COVERAGE[1],
        "calibration_repositories": calibration.repositories if calibration else None,
        "calibration_kinds": len(calibration.by_kind) if calibration else None, "kind_min_curves": MIN_KIND_CURVES,
        "held_out_kind_low": HELD_OUT_KIND_COVERAGE[0], "held_out_kind_high": HELD_OUT_KIND_COVERAGE[1],
        "held_out_kind_rest_low": HELD_OUT_KIND_REST_COVERAGE[0],
        "held_out_kind_rest_high": HELD_OUT_KIND_REST_COVERAGE[1],
        "projection_shrink": SHRINK, "projection_cap": CAP,
        "held_out_interval": HELD_OUT_INTERVAL, "stability_scale": STABILITY_SCALE, "loss_edge": LOSS_EDGE,
        "flat_gain": FLAT_GAIN, "flat_window": FLAT_WINDOW, "fork_min_evaluations": FORK_MIN_EVALUATIONS,
        "steps_per_slope": STEPS_PER_SLOPE, "fit_smoothing": fit.SMOOTHING, "fit_end_points": fit.END_POINTS,
        "fit_min_after": fit.MIN_AFTER_MINIMUM, "fit_min_points": fit.MIN_POINTS, "noise_factor": fit.NOISE_FACTOR, "fit_recent_share": fit.RECENT_SHARE,
        "train_only_keys": TRAIN_ONLY_KEYS, "close_mosaic": CLOSE_MOSAIC,
        "fitness_map50": FITNESS_WEIGHTS["metrics/mAP50({head})"],
        "fitness_map50_95": FITNESS_WEIGHTS["metrics/mAP50-95({head})"], "fitness_top": CLASSIFY_WEIGHT,
        "spike_warmup": SPIKE_WARMUP, "unstable_min_points": MIN_SWING_POINTS,
        "warmup_rise": WARMUP_RISE, "eta_low": ETA_QUANTILES[0], "eta_high": ETA_QUANTILES[1],
    })


def present(a: Analysis, since: Changes | None = None, calibration: Calibration | None = None) -> ReportContext:
    """The report's structure for one analysis; the same context serves every language and format."""
    column, lines = _reference_lines(a)
    return ReportContext(
        run_id=a.run.id, run_name=a.run.name, dataset=a.run.dataset, family=a.run.family,
        generated_at=a.generated_at, status=a.status.value, metric=a.metric, key_metrics=_key_metrics(a),
        positives=tuple(f for f in a.findings if f.severity is Severity.OK),
        errors=tuple(f for f in a.findings if f.severity is Severity.ERROR),
        watch=tuple(f for f in a.findings if f.severity is Severity.WARN),
        info=tuple(f for f in a.findings if f.severity is Severity.INFO),
        dataset_profile=a.dataset, reference_column=column, reference_lines=lines,
        citation=a.reference[0].citation if a.reference else None,
        hyperparameters=_hyperparameters(a), recommendations=a.recommendations, projection=a.projection,
        checklist=a.checklist, verdict=VERDICT_CODES[a.verdict],
        counts={s.value: sum(1 for f in a.findings if f.severity is s) for s in Severity},
        thresholds=a.thresholds, sources=a.run.sources, version=__version__,
        findings={f.code: f for f in a.findings}, seeds=a.seeds, clustering=a.clustering,
        clustering_reference=_clustering_reference(a), changes=since, x_unit=a.x_unit,
        rules=frozen_mapping({**stated_rules(calibration), "fitness_classify": _classification_fitness(a)}),
        pairs=a.pairs,
        losses_not_drawn=a.curves.losses_not_drawn,
    )


def _classification_fitness(a: Analysis) -> bool:
    """Whether Ultralytics' fitness for this run is the classification one, (top1 + top5) / 2, by its args.yaml task
    or its top-1 metric: the appendix states the formula the counterfactual replayed."""
    return a.run.hyperparameters.get("task") == "classify" or (a.metric is not None and a.metric.name in CLASSIFY_KEYS)


def _clustering_reference(a: Analysis) -> Mapping[str, ReferenceLine]:
    """For each UMC metric, the best published value on the dataset (percent, test split), keyed by the
    clustering metric's name so templates look a row up instead of matching strings."""
    if a.clustering is None or not a.reference:
        return {}
    lines = {}
    for column in ("NMI", "ARI", "ACC", "FMI"):
        best = max(a.reference, key=lambda r: r.metrics[column])
        lines[column.lower()] = ReferenceLine(best.method, best.metrics[column], best.split, False)
    return lines
