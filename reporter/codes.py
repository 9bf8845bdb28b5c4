"""Every finding and recommendation code, declared once: its severities, its params and their kinds.

Analysis emits only declared codes (`check` refuses any other, or a param the code does not declare), every
code has one template, `templates/findings/<code>.j2` (macros `title()`, which change lists show without
params, and `text(p, c)`) or `templates/recommendations/<code>.j2` (`title(p, c)` and `text(p, c)`), where p
holds the params and c the report context (c.x_unit, c.rules: the fixed numbers a sentence quotes).
tests/test_codes.py renders each code from the example values of its params, every choice and flag, in both
languages and on both x units. summary.json carries the params under the same names, so the
names here are a contract with the tools that read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Mapping

from reporter.model import Finding, Recommendation, SettingChange, Severity, Status, frozen_mapping


class Kind(StrEnum):
    """What a param holds; each kind has an example value the catalog test renders."""

    EPOCH = "epoch"  # an x value: an epoch, or a step on step-indexed runs
    COUNT = "count"
    NUMBER = "number"
    FRACTION = "fraction"  # 0.43 is shown as 43%
    HOURS = "hours"
    TEXT = "text"  # a key or a name from the run, shown as written
    FLAG = "flag"
    LIST = "list"
    VALUE = "value"  # a hyperparameter's value as the config has it (number, text or flag)
    GROUPS = "groups"  # [cluster, [class, ...]] pairs
    TIME = "time"  # a moment, as ISO 8601 text with its UTC offset


EXAMPLES: Mapping[Kind, object] = MappingProxyType({
    Kind.EPOCH: 18, Kind.COUNT: 3, Kind.NUMBER: 0.25, Kind.FRACTION: 0.43, Kind.HOURS: 1.5, Kind.TEXT: "val_loss",
    Kind.FLAG: True, Kind.LIST: [3, 7], Kind.VALUE: 0.001,
    Kind.GROUPS: [[3, ["a", "b"]]], Kind.TIME: "2026-12-10T14:00:00+00:00",
})


@dataclass(frozen=True)
class Param:
    kind: Kind
    optional: bool = False  # may be None; the key is always there, so summary.json readers see every name
    choices: tuple[str, ...] = ()  # a text param whose value picks the sentence; the test renders each


@dataclass(frozen=True)
class Code:
    name: str
    severities: frozenset[Severity]
    params: Mapping[str, Param] = field(default_factory=dict)
    unit_aware: bool = False  # its words name the x unit (epoch or step)


def _code(name: str, *severities: Severity, unit_aware: bool = False, **params: Param) -> Code:
    return Code(name, frozenset(severities), MappingProxyType(params), unit_aware)


P = Param
K = Kind
S = Severity
FRAMEWORKS = ("keras", "lightning", "hf", "ultralytics", "yolov5", "mmengine")
"""Whose early-stopping rule a run's counterfactual replays (analysis.diagnosis.framework)."""

FINDINGS: Mapping[str, Code] = MappingProxyType({c.name: c for c in (
    # run status
    _code("run.past_plan", S.WARN, last_epoch=P(K.EPOCH), planned_epochs=P(K.EPOCH)),
    _code("run.crashed", S.ERROR, unit_aware=True, epoch=P(K.EPOCH, optional=True),
          reason=P(K.TEXT, choices=("nan", "traceback"))),
    _code("run.stopped_early", S.WARN, S.INFO, epoch=P(K.EPOCH, optional=True),
          planned_epochs=P(K.EPOCH, optional=True), patience=P(K.COUNT, optional=True),
          framework=P(K.TEXT, optional=True, choices=FRAMEWORKS)),
    _code("run.finished", S.OK, unit_aware=True, last_epoch=P(K.EPOCH, optional=True),
          planned_epochs=P(K.EPOCH, optional=True), epoch_base=P(K.COUNT), epochs_done=P(K.EPOCH, optional=True),
          max_steps=P(K.COUNT, optional=True)),
    _code("run.stalled", S.ERROR, unit_aware=True, hours_since_last=P(K.HOURS, optional=True),
          typical_hours=P(K.HOURS, optional=True), last_write=P(K.TIME, optional=True), recorded=P(K.FLAG)),
    _code("run.pretraining", S.INFO, epoch=P(K.EPOCH), planned_epochs=P(K.EPOCH, optional=True),
          metric=P(K.TEXT, optional=True)),
    _code("run.running", S.INFO, unit_aware=True, last_epoch=P(K.EPOCH, optional=True),
          planned_epochs=P(K.EPOCH, optional=True)),
    _code("run.stopped_logging", S.WARN, S.INFO, unit_aware=True, hours_since_last=P(K.HOURS, optional=True),
          last_epoch=P(K.EPOCH, optional=True), planned_epochs=P(K.EPOCH, optional=True),
          last_write=P(K.TIME, optional=True), recorded=P(K.FLAG)),
    _code("run.planned_from_thres_delta", S.INFO, planned_epochs=P(K.EPOCH), thres=P(K.NUMBER), delta=P(K.NUMBER),
          configured=P(K.VALUE, optional=True)),
    _code("run.resumed", S.INFO, restarts=P(K.COUNT)),
    _code("history.rows_skipped", S.WARN, file=P(K.TEXT), lines=P(K.LIST), count=P(K.COUNT)),
    _code("umc.early_stop_rule", S.WARN, epoch=P(K.EPOCH)),
    # metric
    _code("metric.missing", S.WARN),
    _code("seeds.summary", S.INFO, n=P(K.COUNT), key=P(K.TEXT), mean=P(K.NUMBER), std=P(K.NUMBER),
          low=P(K.NUMBER), high=P(K.NUMBER)),
    _code("metric.chosen", S.INFO, unit_aware=True, metric=P(K.TEXT),
          basis=P(K.TEXT, choices=("framework", "fitness", "validation", "test", "loss", "other")), n_points=P(K.COUNT),
          fitness_epoch=P(K.EPOCH, optional=True), best_epoch=P(K.EPOCH, optional=True), heads=P(K.COUNT),
          mask_metric=P(K.TEXT, optional=True), mask_best=P(K.NUMBER, optional=True),
          mask_best_epoch=P(K.EPOCH, optional=True), mask_last=P(K.NUMBER, optional=True),
          framework=P(K.TEXT, choices=("hf", "ultralytics", "recorder"), optional=True)),
    _code("metric.sparse", S.WARN, unit_aware=True, n_points=P(K.COUNT), last_metric_epoch=P(K.EPOCH),
          last_epoch=P(K.EPOCH), best_so_far=P(K.FLAG)),
    _code("metric.insufficient_data", S.WARN, n_points=P(K.COUNT), needed=P(K.COUNT)),
    _code("metric.declining", S.WARN, unit_aware=True, window=P(K.COUNT), slope=P(K.NUMBER, optional=True),
          slope_per=P(K.TEXT), epochs_since_best=P(K.EPOCH, optional=True)),
    _code("metric.plateau", S.WARN, S.INFO, unit_aware=True, window=P(K.COUNT), slope=P(K.NUMBER, optional=True),
          slope_per=P(K.TEXT), epochs_since_best=P(K.EPOCH, optional=True), ended=P(K.FLAG)),
    _code("metric.improving", S.OK, unit_aware=True, window=P(K.COUNT), slope=P(K.NUMBER, optional=True),
          slope_per=P(K.TEXT), epochs_since_best=P(K.EPOCH, optional=True)),
    _code("metric.oscillating", S.WARN, window=P(K.COUNT), noise=P(K.NUMBER, optional=True)),
    _code("metric.stable", S.INFO, window=P(K.COUNT), slope=P(K.NUMBER, optional=True), slope_per=P(K.TEXT),
          change=P(K.FRACTION, optional=True), min_gain=P(K.FRACTION, optional=True)),
    _code("metric.diverged", S.ERROR, unit_aware=True, key=P(K.TEXT), epoch=P(K.EPOCH),
          cause=P(K.TEXT, choices=("nan", "inf", "jump")), to_end=P(K.FLAG)),
    _code("metric.nan", S.WARN, unit_aware=True, key=P(K.TEXT), epochs=P(K.LIST), count=P(K.COUNT)),
    _code("loss.nan_rows", S.INFO, unit_aware=True, key=P(K.TEXT), epochs=P(K.LIST), count=P(K.COUNT),
          summed=P(K.FLAG)),
    # the training script's own monitor
    _code("monitor.logged", S.INFO, epoch=P(K.EPOCH), trend=P(K.TEXT, optional=True),
          stability=P(K.NUMBER, optional=True), improvements=P(K.COUNT, optional=True),
          degradations=P(K.COUNT, optional=True), best_epoch=P(K.EPOCH, optional=True)),
    _code("stability.trend_driven", S.INFO, stability=P(K.NUMBER), noise=P(K.NUMBER, optional=True),
          window=P(K.COUNT), basis=P(K.TEXT, choices=("monotone", "detrended"))),
    # loss
    _code("loss.flat", S.WARN, key=P(K.TEXT), relative_change=P(K.FRACTION), metric_change=P(K.FRACTION, optional=True)),
    _code("loss.near_ceiling", S.WARN, value=P(K.NUMBER), ceiling=P(K.NUMBER), batch=P(K.COUNT),
          share=P(K.FRACTION), temperature=P(K.VALUE, optional=True)),
    # constants
    _code("fact.constant", S.INFO, unit_aware=True, key=P(K.TEXT), value=P(K.NUMBER), count=P(K.COUNT),
          formula=P(K.TEXT, optional=True, choices=("umc_min_samples",)), n=P(K.COUNT, optional=True),
          k=P(K.COUNT, optional=True), expected=P(K.COUNT, optional=True)),
    # dataset
    _code("dataset.mismatch", S.ERROR, declared=P(K.TEXT), found=P(K.TEXT)),
    _code("dataset.header_as_class", S.WARN, label=P(K.TEXT), count=P(K.COUNT), naive_ratio=P(K.NUMBER, optional=True)),
    _code("dataset.tiny_class", S.WARN, label=P(K.TEXT), count=P(K.COUNT)),
    _code("dataset.imbalance", S.WARN, S.INFO, ratio=P(K.NUMBER), largest=P(K.TEXT), smallest=P(K.TEXT),
          naive_ratio=P(K.NUMBER, optional=True)),
    # published results
    _code("reference.compare", S.INFO, reference=P(K.NUMBER), method=P(K.TEXT), column=P(K.TEXT), value=P(K.NUMBER),
          delta=P(K.NUMBER), split=P(K.TEXT, optional=True), reference_split=P(K.TEXT),
          basis=P(K.TEXT, choices=("best", "seed_mean"))),
    _code("reference.split_mismatch", S.WARN, split=P(K.TEXT), reference_split=P(K.TEXT)),
    # projection
    _code("projection.capped", S.INFO, unit_aware=True, requested=P(K.LIST), planned_epochs=P(K.EPOCH, optional=True),
          limit=P(K.EPOCH, optional=True), status=P(K.TEXT, choices=tuple(s.value for s in Status))),
    _code("projection.unlikely_target", S.WARN, unit_aware=True, target=P(K.NUMBER), probability=P(K.FRACTION),
          epoch=P(K.EPOCH, optional=True)),
    _code("projection.improvement_chance", S.WARN, S.INFO, unit_aware=True, probability=P(K.FRACTION),
          epoch=P(K.EPOCH, optional=True)),
    # clustering
    _code("clusters.minority_lost", S.WARN, labels=P(K.LIST), count=P(K.COUNT), minority=P(K.COUNT),
          minority_share=P(K.FRACTION), lost_recall=P(K.FRACTION)),
    _code("clusters.minority_recovered", S.OK, count=P(K.COUNT), recall=P(K.FRACTION), minority_share=P(K.FRACTION)),
    _code("clusters.merged", S.WARN, groups=P(K.GROUPS), count=P(K.COUNT), recall=P(K.FRACTION)),
    _code("clusters.degenerate", S.WARN, share=P(K.FRACTION), class_share=P(K.FRACTION)),
    _code("features.poor_separation", S.WARN, silhouette=P(K.NUMBER), ratio=P(K.NUMBER)),
    # seeds
    _code("seeds.high_variance", S.WARN, std=P(K.NUMBER), gap=P(K.NUMBER), n=P(K.COUNT)),
    # diagnosis: fit and stopping
    _code("eval.constant", S.ERROR, S.WARN, unit_aware=True, key=P(K.TEXT), keys=P(K.LIST), values=P(K.LIST), value=P(K.NUMBER), count=P(K.COUNT),
          digits=P(K.COUNT), metric=P(K.TEXT, optional=True)),
    _code("fit.overfitting", S.WARN, unit_aware=True, best_epoch=P(K.EPOCH), rise=P(K.FRACTION),
          train_change=P(K.FRACTION), key=P(K.TEXT), train_key=P(K.TEXT), p_value=P(K.NUMBER)),
    _code("fit.generalization_gap", S.WARN, unit_aware=True, since_epoch=P(K.EPOCH), val_change=P(K.FRACTION),
          train_change=P(K.FRACTION), key=P(K.TEXT), train_key=P(K.TEXT), evaluations=P(K.COUNT),
          noise=P(K.FRACTION), best_epoch=P(K.EPOCH)),
    _code("fit.still_improving", S.OK, S.INFO, S.WARN, unit_aware=True, key=P(K.TEXT), train_key=P(K.TEXT),
          val_change=P(K.FRACTION), train_change=P(K.FRACTION), window=P(K.COUNT), metric=P(K.TEXT, optional=True),
          metric_change=P(K.FRACTION, optional=True), settled=P(K.FLAG), metric_window=P(K.COUNT, optional=True)),
    _code("fit.underfitting", S.WARN, unit_aware=True, key=P(K.TEXT), train_key=P(K.TEXT),
          val_change=P(K.FRACTION), train_change=P(K.FRACTION), window=P(K.COUNT), metric=P(K.TEXT, optional=True),
          metric_change=P(K.FRACTION, optional=True), settled=P(K.FLAG), metric_window=P(K.COUNT, optional=True)),
    _code("fit.at_best", S.OK, unit_aware=True, key=P(K.TEXT), train_key=P(K.TEXT), best_epoch=P(K.EPOCH),
          rise=P(K.FRACTION), stopped=P(K.FLAG), from_best=P(K.FRACTION)),
    _code("fit.not_judged", S.INFO, reason=P(K.TEXT, choices=("no_validation_loss", "too_few_points", "unstable",
                                                                  "no_conclusion")),
          key=P(K.TEXT, optional=True), count=P(K.COUNT, optional=True), needed=P(K.COUNT)),
    _code("stop.counterfactual", S.INFO, S.WARN, unit_aware=True, monitor=P(K.TEXT), mode=P(K.TEXT, choices=("min", "max")),
          patience=P(K.COUNT), min_delta=P(K.NUMBER), stop_epoch=P(K.EPOCH, optional=True), best_epoch=P(K.EPOCH),
          epochs_after_best=P(K.EPOCH), hours_after_best=P(K.HOURS, optional=True),
          premature=P(K.FLAG),
          framework=P(K.TEXT, choices=FRAMEWORKS),
          basis=P(K.TEXT, choices=("config", "default")), evaluations_after_best=P(K.COUNT),
          later_best_epoch=P(K.EPOCH, optional=True), mismatch=P(K.FLAG), too_early=P(K.FLAG),
          default_patience=P(K.COUNT), noise_scales=P(K.NUMBER), metric=P(K.TEXT, optional=True),
          metric_at_stop=P(K.NUMBER, optional=True), metric_best=P(K.NUMBER, optional=True),
          metric_best_epoch=P(K.EPOCH, optional=True)),    # diagnosis: instability, learning rate, time
    _code("loss.spikes", S.WARN, S.INFO, unit_aware=True, key=P(K.TEXT), epochs=P(K.LIST), count=P(K.COUNT),
          noise=P(K.FRACTION, optional=True), noise_limit=P(K.FRACTION), window=P(K.COUNT), rtol=P(K.NUMBER),
          recovered=P(K.FLAG)),
    _code("loss.diverging", S.WARN, unit_aware=True, key=P(K.TEXT), min_epoch=P(K.EPOCH), minimum=P(K.NUMBER),
          last=P(K.NUMBER), window=P(K.COUNT)),
    _code("metric.unstable", S.WARN, unit_aware=True, key=P(K.TEXT), change=P(K.FRACTION), since=P(K.EPOCH),
          threshold=P(K.FRACTION)),
    _code("lr.warmup", S.INFO, unit_aware=True, key=P(K.TEXT), start=P(K.NUMBER, optional=True),
          peak=P(K.NUMBER, optional=True), until=P(K.EPOCH)),
    _code("lr.drop_helped", S.OK, unit_aware=True, key=P(K.TEXT), epoch=P(K.EPOCH), before=P(K.NUMBER),
          after=P(K.NUMBER), metric=P(K.TEXT), window=P(K.COUNT), min_delta=P(K.NUMBER)),
    _code("lr.drop_no_effect", S.INFO, unit_aware=True, key=P(K.TEXT), epoch=P(K.EPOCH), before=P(K.NUMBER),
          after=P(K.NUMBER), metric=P(K.TEXT), window=P(K.COUNT), min_delta=P(K.NUMBER)),
    _code("lr.at_floor", S.WARN, S.INFO, unit_aware=True, key=P(K.TEXT), value=P(K.NUMBER), peak=P(K.NUMBER),
          since=P(K.EPOCH), best_epoch=P(K.EPOCH), evaluations_since_best=P(K.COUNT), floor=P(K.FRACTION)),
    _code("time.spent", S.INFO, hours=P(K.HOURS), epochs=P(K.COUNT), hours_per_epoch=P(K.HOURS)),
    _code("time.eta", S.INFO, hours_left=P(K.HOURS), low=P(K.HOURS), high=P(K.HOURS), hours_per_epoch=P(K.HOURS),
          epochs_left=P(K.EPOCH), finish_at=P(K.TIME, optional=True), spread=P(K.HOURS)),
    _code("time.slowdown", S.WARN, before=P(K.HOURS), after=P(K.HOURS), ratio=P(K.NUMBER), since=P(K.EPOCH),
          factor=P(K.NUMBER)),
)})

RECOMMENDATIONS: Mapping[str, Code] = MappingProxyType({c.name: c for c in (
    # run status
    _code("rec.disable_fork_early_stop", key=P(K.TEXT), current=P(K.VALUE, optional=True), suggested=P(K.VALUE),
          epoch=P(K.EPOCH), planned_epochs=P(K.EPOCH, optional=True)),
    _code("rec.inspect_crash", unit_aware=True, epoch=P(K.EPOCH, optional=True),
          reason=P(K.TEXT, choices=("nan", "traceback"))),
    _code("rec.check_stalled", hours_since_last=P(K.HOURS, optional=True), typical_hours=P(K.HOURS, optional=True)),
    # metric
    _code("rec.log_metric_every_epoch", unit_aware=True, n_points=P(K.COUNT), best_so_far=P(K.FLAG)),
    _code("rec.lower_lr", key=P(K.TEXT), current=P(K.VALUE), suggested=P(K.VALUE)),
    _code("rec.use_best_checkpoint", unit_aware=True, epoch=P(K.EPOCH, optional=True)),
    # loss
    _code("rec.watch_metric_not_loss", key=P(K.TEXT), current=P(K.VALUE, optional=True), value=P(K.NUMBER),
          ceiling=P(K.NUMBER)),
    # dataset
    _code("rec.fix_label_file", label=P(K.TEXT), count=P(K.COUNT), naive_ratio=P(K.NUMBER, optional=True)),
    # published results
    _code("rec.evaluate_on_test", split=P(K.TEXT), reference_split=P(K.TEXT)),
    # projection
    _code("rec.stop_training", unit_aware=True, probability=P(K.FRACTION), epoch=P(K.EPOCH, optional=True),
          stop_below=P(K.FRACTION)),
    # nothing to change
    _code("rec.keep_going"),
    # diagnosis: fit and stopping
    _code("rec.restore_best_checkpoint", unit_aware=True, epoch=P(K.EPOCH), key=P(K.TEXT),
          metric=P(K.TEXT, optional=True), metric_epoch=P(K.EPOCH, optional=True)),
    _code("rec.regularise", key=P(K.TEXT), ultralytics=P(K.FLAG), classify=P(K.FLAG), rising=P(K.FLAG)),
    _code("rec.early_stopping", unit_aware=True, monitor=P(K.TEXT), mode=P(K.TEXT, choices=("min", "max")),
          patience=P(K.COUNT), min_delta=P(K.NUMBER), stop_epoch=P(K.EPOCH),
          framework=P(K.TEXT, choices=FRAMEWORKS)),
    _code("rec.raise_patience", unit_aware=True, stop_epoch=P(K.EPOCH), patience=P(K.COUNT), default=P(K.COUNT),
          framework=P(K.TEXT, choices=FRAMEWORKS)),
    _code("rec.more_epochs", unit_aware=True, last_epoch=P(K.EPOCH), val_change=P(K.FRACTION), window=P(K.COUNT),
          metric=P(K.TEXT, optional=True)),
    _code("rec.check_validation_split", key=P(K.TEXT), value=P(K.NUMBER), keys=P(K.LIST), values=P(K.LIST),
          metric=P(K.TEXT, optional=True)),
    _code("rec.log_validation_loss", reason=P(K.TEXT, choices=("no_validation_loss", "too_few_points")),
          key=P(K.TEXT, optional=True), count=P(K.COUNT, optional=True), needed=P(K.COUNT)),
    _code("rec.compare_best_and_last", key=P(K.TEXT)),
    _code("rec.fix_dataset_name", declared=P(K.TEXT), found=P(K.TEXT)),
    _code("rec.check_evaluation", unit_aware=True, key=P(K.TEXT), epoch=P(K.EPOCH), cause=P(K.TEXT, choices=("nan", "inf"))),
    # diagnosis: instability, learning rate, time
    _code("rec.stabilise_training", key=P(K.TEXT, optional=True), current=P(K.VALUE, optional=True),
          suggested=P(K.VALUE, optional=True)),
    _code("rec.review_lr_schedule", key=P(K.TEXT, optional=True), current=P(K.VALUE, optional=True),
          value=P(K.NUMBER), since=P(K.EPOCH)),
    _code("rec.check_data_loading", key=P(K.TEXT, optional=True), current=P(K.VALUE, optional=True),
          ratio=P(K.NUMBER), since=P(K.EPOCH)),
)})


def check(registry: Mapping[str, Code], code: str, severity: Severity | None, params: Mapping[str, object]) -> None:
    """Fail loudly in development when a rule emits what the registry does not declare: the words, the
    catalog test and summary.json readers all rely on the declaration."""
    declared = registry.get(code)
    if declared is None:
        raise KeyError(f"{code} is not declared in reporter/codes.py")
    if severity is not None and severity not in declared.severities:
        raise ValueError(f"{code}: severity {severity.value} is not declared")
    unknown = params.keys() - declared.params.keys()
    missing = declared.params.keys() - params.keys()
    if unknown or missing:
        raise ValueError(f"{code}: undeclared params {sorted(unknown)}, missing params {sorted(missing)}")


def _whole_epochs(declared: Code, params: dict[str, object]) -> dict[str, object]:
    """Epoch params as ints when they are whole (summary.json says "best_epoch": 2, not 2.0); values of a
    fractional epoch (0.23 of one) stay floats."""
    return {k: int(v) if declared.params[k].kind is Kind.EPOCH and isinstance(v, float) and v.is_integer() else v
            for k, v in params.items()}


def finding(code: str, severity: Severity, **params: object) -> Finding:
    """A finding of a declared code, checked against its declaration: every rule builds its findings here."""
    check(FINDINGS, code, severity, params)
    return Finding(code, severity, frozen_mapping(_whole_epochs(FINDINGS[code], params)))


def recommendation(code: str, evidence: tuple[str, ...] = (), change: SettingChange | None = None,
                   **params: object) -> Recommendation:
    """A recommendation of a declared code, with the finding codes behind it and the setting it changes."""
    check(RECOMMENDATIONS, code, None, params)
    params = _whole_epochs(RECOMMENDATIONS[code], params)
    return Recommendation(code, frozen_mapping(params), evidence, change)
