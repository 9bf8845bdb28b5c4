"""The diagnostic checklist and the recommendations, derived from findings and the run's config.

Recommendations name a concrete hyperparameter with its current and suggested value only when a
finding supports the change; otherwise they ask for the evidence that is missing.
"""

from __future__ import annotations

import math
from dataclasses import replace

from reporter.codes import recommendation
from reporter.model import (
    CheckItem,
    CheckStatus,
    Finding,
    LossSummary,
    MetricSummary,
    Recommendation,
    Run,
    Severity,
    frozen_mapping,
    scalar,
)
from reporter.report.analysis import instability, learning_rate, timing
from reporter.report.analysis.diagnosis import evaluation_key, remedies
from reporter.report.analysis.findings import STOP_BELOW, importance


def _codes(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


def _logged_too_rarely(run: Run, metric: MetricSummary | None, found: dict[str, Finding]) -> bool:
    """metric.sparse, or too few values for a trend because the metric is logged less often than once an epoch (or
    only as a best-so-far value): a two-epoch run that logs it every epoch has too little data, not too rare a log."""
    if "metric.sparse" in found:
        return True
    if metric is None or "metric.insufficient_data" not in found:
        return False
    return metric.best_so_far or metric.n_points < (run.history["x"] // 1).nunique()


def _non_finite(findings: tuple[Finding, ...]) -> bool:
    """A loss or metric that turned NaN or infinite (not a jump): 'no crash, traceback or NaN' does not hold."""
    return any(f.code == "metric.diverged" and f.params["cause"] != "jump" for f in findings)


def _never_finite(found: dict[str, Finding]) -> bool:
    """A validation series of a broken evaluation that is infinite or NaN all along (val/cls_loss = inf): 'loss and
    metric stay finite' does not hold beside it."""
    broken = found.get("eval.constant")
    return broken is not None and not all(math.isfinite(v) for v in broken.params["values"])


def _item(code: str, status: CheckStatus, **params: object) -> CheckItem:
    return CheckItem(code, status, frozen_mapping(params))


def _planned_length(run: Run, found: dict[str, Finding]) -> CheckItem:
    """Whether the run reached its planned length. A run its framework's early-stopping rule ended (the rule replayed
    with its configured patience stops at the last epoch) did what its config asked: it passes as 'stopped by its own
    early stopping'. An early-stop event alone still fails: the UMC fork's rule fires at its first chance."""
    P, F, W, NA = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.PENDING, CheckStatus.NOT_APPLICABLE
    stopped = found.get("run.stopped_early")
    if stopped is not None and stopped.params.get("framework") is not None:
        return _item("check.stopped_by_own_rule", P, epoch=stopped.params["epoch"])
    return _item("check.reached_plan", NA if run.plan is None else P if {"run.finished", "run.past_plan"} & found.keys()
                 else F if {"run.stopped_early", "run.crashed", "run.stalled"} & found.keys() else W)


def checklist(run: Run, metric: MetricSummary | None, findings: tuple[Finding, ...],
              loss: LossSummary | None = None) -> tuple[CheckItem, ...]:
    """Pass / fail / pending / n/a items: pending means the data cannot tell yet, n/a that there is nothing
    to check (no loss, no metric, no plan...), so the report never marks 'pass' for what it never checked."""
    found = _codes(findings)
    P, F, W, NA = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.PENDING, CheckStatus.NOT_APPLICABLE
    items = [
        _item("check.no_crash", F if "run.crashed" in found or _non_finite(findings) else P),
        _item("check.loss_finite", F if "metric.diverged" in found or _never_finite(found) else P if loss or metric else NA),
        _item("check.loss_informative", F if {"loss.flat", "loss.near_ceiling"} & found.keys() else
              P if loss and loss.relative_change is not None else NA),
        _item("check.metric_logged_often",
              NA if metric is None else F if _logged_too_rarely(run, metric, found) else P),
        _item("check.metric_improving",
              NA if metric is None else P if "metric.improving" in found else
              F if {"metric.plateau", "metric.declining"} & found.keys() else W),
        _planned_length(run, found),
        _item("check.dataset_clean",
              NA if run.labels is None else F if {"dataset.header_as_class", "dataset.tiny_class"} & found.keys() else P),
        _item("check.same_split_as_reference",
              F if "reference.split_mismatch" in found else P if "reference.compare" in found else NA),
        _item("check.test_result", P if any(s == "test" for s in run.splits.values()) else W),
    ]
    return tuple(items)


def recommendations(run: Run, metric: MetricSummary | None, findings: tuple[Finding, ...]) -> tuple[Recommendation, ...]:
    """Concrete next steps, each tied to a finding and, where it applies, to a config value."""
    found = _codes(findings)
    recs: list[Recommendation] = list(remedies.recommendations(run, findings, metric))
    if "umc.early_stop_rule" in found:
        recs.append(recommendation(
            "rec.disable_fork_early_stop", key="enable_early_stop", current=run.hyperparameters.get("enable_early_stop"),
            suggested=False, epoch=found["umc.early_stop_rule"].params["epoch"],
            planned_epochs=run.plan.epochs if run.plan else None))
    if _logged_too_rarely(run, metric, found):
        recs.append(recommendation("rec.log_metric_every_epoch", n_points=metric.n_points if metric else 0,
                                   best_so_far=bool(metric and metric.best_so_far)))
    if "reference.split_mismatch" in found:
        recs.append(recommendation("rec.evaluate_on_test", **found["reference.split_mismatch"].params))
    if "loss.near_ceiling" in found:
        params = found["loss.near_ceiling"].params
        recs.append(recommendation(
            "rec.watch_metric_not_loss", key="train_temperature_sup",
            current=scalar(run.hyperparameters.get("train_temperature_sup")), ceiling=params["ceiling"],
            value=params["value"]))
    plateau = found.get("metric.plateau")
    if plateau is not None and not plateau.params["ended"] and (lr := scalar(run.hyperparameters.get("lr"))) is not None:
        if isinstance(lr, (int, float)):
            recs.append(recommendation("rec.lower_lr", key="lr", current=lr, suggested=lr / 2))
    chance = found.get("projection.improvement_chance")
    if chance is not None and chance.params["probability"] < STOP_BELOW:
        recs.append(recommendation("rec.stop_training", **chance.params, stop_below=STOP_BELOW))
    if "metric.declining" in found:
        recs.append(recommendation("rec.use_best_checkpoint", epoch=metric.best.x if metric and metric.best else None))
    if "dataset.header_as_class" in found:
        recs.append(recommendation("rec.fix_label_file", **found["dataset.header_as_class"].params))
    if "dataset.mismatch" in found:
        recs.append(recommendation("rec.fix_dataset_name", **found["dataset.mismatch"].params))
    if "run.crashed" in found:
        recs.append(recommendation("rec.inspect_crash", **found["run.crashed"].params))
    if "run.stalled" in found:
        stalled = found["run.stalled"].params
        recs.append(recommendation("rec.check_stalled", hours_since_last=stalled["hours_since_last"],
                                   typical_hours=stalled["typical_hours"]))
    recs += [r for module in (instability, learning_rate, timing) for r in module.advice(run, found)]
    recs += _divergence(run, found, recs)
    if not recs:
        recs.append(recommendation("rec.keep_going"))
    cited = [r if r.evidence or r.code not in EVIDENCE else replace(r, evidence=tuple(c for c in EVIDENCE[r.code] if c in found))
             for r in recs]
    return tuple(sorted(cited, key=lambda r: _urgency(r, found)))


SEVERITY_ORDER = (Severity.ERROR, Severity.WARN, Severity.INFO, Severity.OK)


def _urgency(r: Recommendation, found: dict[str, Finding]) -> tuple[int, int]:
    """A recommendation acts on its most urgent evidence: errors before watch items, then the findings' importance,
    so the step against divergence comes before the early-stopping rule that would have saved a few epochs."""
    keys = [(SEVERITY_ORDER.index(found[code].severity), importance(code)) for code in r.evidence if code in found]
    return min(keys, default=(len(SEVERITY_ORDER), 0))


def _divergence(run: Run, found: dict[str, Finding], recs: list[Recommendation]) -> list[Recommendation]:
    """What to do about metric.diverged, an error: an evaluation that alone turns NaN or infinite is checked where
    it does; a training loss or metric that diverged asks for calmer training (unless spikes already asked)."""
    diverged = found.get("metric.diverged")
    if diverged is None:
        return []
    p = diverged.params
    if p["cause"] != "jump" and evaluation_key(run, p["key"]):
        return [recommendation("rec.check_evaluation", ("metric.diverged",), key=p["key"], epoch=p["epoch"],
                               cause=p["cause"])]
    stabilising = next((r for r in recs if r.code == "rec.stabilise_training"), None)
    if stabilising is not None:
        recs[recs.index(stabilising)] = replace(stabilising, evidence=("metric.diverged",) + stabilising.evidence)
        return []
    return [instability.stabilise(run, ("metric.diverged",))]


EVIDENCE = {
    "rec.disable_fork_early_stop": ("umc.early_stop_rule",), "rec.evaluate_on_test": ("reference.split_mismatch",),
    "rec.watch_metric_not_loss": ("loss.near_ceiling",), "rec.lower_lr": ("metric.plateau",),
    "rec.stop_training": ("projection.improvement_chance",), "rec.use_best_checkpoint": ("metric.declining",),
    "rec.fix_label_file": ("dataset.header_as_class",), "rec.fix_dataset_name": ("dataset.mismatch",), "rec.inspect_crash": ("run.crashed",),
    "rec.check_stalled": ("run.stalled",), "rec.log_metric_every_epoch": ("metric.sparse", "metric.insufficient_data"),
    "rec.keep_going": ("fit.at_best",),
}
"""The finding each older recommendation follows from, for the evidence the report cites."""
