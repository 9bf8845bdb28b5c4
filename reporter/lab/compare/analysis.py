"""Compare groups of analysed runs: a pure function from groups of `Analysis` to a `Comparison` of numbers and codes.

Each group is one configuration; its runs are seeds. The statistics are in `stats`; this module picks the
values (final and best of the primary metric), lines up the curves, diffs the configurations and raises
the honesty flags (different splits, datasets or planned lengths; few seeds; diverged seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from reporter.errors import UsageError
from reporter.lab.compare import stats
from reporter.lab.compare.stats import Difference, Estimate
from reporter.model import Analysis, Curve, Finding, MetricSummary, Mode, Severity, frozen_mapping


@dataclass(frozen=True)
class Group:
    """A configuration as given on the command line or in `[[experiments]]`: its name and its seeds."""

    name: str
    analyses: tuple[Analysis, ...]


@dataclass(frozen=True)
class Band:
    """The median across seeds at each x, with the lowest and highest seed."""

    x: tuple[float, ...]
    median: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]


@dataclass(frozen=True)
class GroupResult:
    name: str
    runs: tuple[str, ...]
    final: Estimate
    best: Estimate
    metric_band: Band | None  # None when no seed of the group logged a finite value of the metric
    loss_key: str | None
    loss_band: Band | None
    wall_hours: float | None  # median over seeds of the logged training time; None when no wall clock
    reaches_baseline_best: float | None  # first x where the median curve reaches the baseline's mean best


@dataclass(frozen=True)
class GroupComparison:
    group: str
    baseline: str
    final: Difference
    best: Difference


@dataclass(frozen=True)
class ConfigRow:
    key: str
    values: tuple[str, ...]  # one per group, in group order; "—" when a group does not set it


@dataclass(frozen=True)
class Comparison:
    metric: str
    mode: Mode
    split: str | None
    x_unit: str
    baseline: str
    groups: tuple[GroupResult, ...]
    comparisons: tuple[GroupComparison, ...]
    config_diff: tuple[ConfigRow, ...]
    findings: tuple[Finding, ...]
    level: float = stats.LEVEL
    resamples: int = stats.RESAMPLES
    min_seeds: int = stats.MIN_SEEDS
    warn_seeds: int = stats.WARN_SEEDS
    iqm_min_seeds: int = stats.IQM_MIN_SEEDS


def _finding(code: str, severity: Severity = Severity.WARN, **params: object) -> Finding:
    return Finding(code, severity, frozen_mapping(params))


def _final(a: Analysis) -> float:
    """The metric's last logged value, NaN included: a seed that diverged at the end did not finish well."""
    data = a.curves.metric
    return float(data.values[-1]) if data is not None and len(data) else float("nan")


def band(curves: Sequence[Curve | None]) -> Band | None:
    """Median, lowest and highest seed at every x some seed logged (finite values only)."""
    points: dict[float, list[float]] = {}
    for data in curves:
        if data is None:
            continue
        for x, value in zip(data.x.tolist(), data.values.tolist()):
            if np.isfinite(value):
                points.setdefault(x, []).append(value)
    if not points:
        return None
    xs = sorted(points)
    return Band(tuple(xs), tuple(float(np.median(points[x])) for x in xs), tuple(min(points[x]) for x in xs),
                tuple(max(points[x]) for x in xs))


def _reaches(curve: Band | None, target: float | None, mode: Mode) -> float | None:
    if curve is None or target is None:
        return None
    return next((x for x, v in zip(curve.x, curve.median) if (v >= target if mode is Mode.MAX else v <= target)),
                None)


def _wall_hours(analyses: Sequence[Analysis]) -> float | None:
    spans = [a.curves.wall_seconds / 3600 for a in analyses if a.curves.wall_seconds is not None]
    return float(np.median(spans)) if spans else None


def _metric(a: Analysis) -> MetricSummary:
    """The run's metric summary.

    Raises:
        UsageError: the run has no metric (compare_groups checks every run first, in _metric_of).
    """
    if a.metric is None:
        raise UsageError(f"{a.run.id}: no metric to compare in its history; choose one with --metric")
    return a.metric


def _metric_of(groups: Sequence[Group]) -> tuple[str, Mode]:
    """The one metric every run reports, in one direction.

    Raises:
        UsageError: runs report different primary metrics or directions (comparing them would mislead).
    """
    seen: dict[tuple[str, str], str] = {}
    for g in groups:
        for a in g.analyses:
            metric = _metric(a)
            seen.setdefault((metric.name, metric.mode.value), a.run.id)
    if len(seen) > 1:
        listed = ", ".join(f"{name} ({mode}) in {run}" for (name, mode), run in seen.items())
        raise UsageError(f"the runs report different metrics or directions: {listed}; choose one with --metric "
                         "(and --mode), or compare like with like")
    (name, mode), _ = seen.popitem()
    return name, Mode(mode)


def config_diff(groups: Sequence[Group]) -> tuple[tuple[ConfigRow, ...], dict[str, tuple[str, ...]]]:
    """Hyperparameters that differ between groups (side by side), and per group the keys that differ
    between its own seeds (noted, then left out of the diff)."""
    keys = list(dict.fromkeys(k for g in groups for a in g.analyses for k in a.run.hyperparameters))
    within: dict[str, list[str]] = {}
    rows = []
    for key in keys:
        per_group = []
        for g in groups:
            values = {str(a.run.hyperparameters.get(key, "—")) for a in g.analyses}
            if len(values) > 1:
                within.setdefault(g.name, []).append(key)
            per_group.append(values)
        if all(len(v) == 1 for v in per_group) and len({next(iter(v)) for v in per_group}) > 1:
            rows.append(ConfigRow(key, tuple(next(iter(v)) for v in per_group)))
    return tuple(rows), {name: tuple(found) for name, found in within.items()}


def _honesty(groups: Sequence[Group], within: Mapping[str, tuple[str, ...]]) -> list[Finding]:
    runs = [a for g in groups for a in g.analyses]
    found = []
    splits = sorted({_metric(a).split or "—" for a in runs})
    if len(splits) > 1:
        found.append(_finding("compare.split_mismatch", splits=", ".join(splits)))
    datasets = sorted({a.run.dataset or "—" for a in runs})
    if len(datasets) > 1:
        found.append(_finding("compare.dataset_mismatch", datasets=", ".join(datasets)))
    lengths = sorted({a.run.plan.epochs for a in runs if a.run.plan})
    if len(lengths) > 1:
        found.append(_finding("compare.length_mismatch", lengths=", ".join(str(n) for n in lengths)))
    for name, keys in within.items():
        found.append(_finding("compare.within_group_diff", Severity.INFO, group=name, keys=", ".join(keys)))
    return found


def _seed_findings(group: Group, final: Sequence[float]) -> list[Finding]:
    found = []
    dropped = [a.run.id for a, value in zip(group.analyses, final) if not np.isfinite(value)]
    if dropped:
        found.append(_finding("compare.nonfinite_dropped", group=group.name, runs=", ".join(dropped),
                              count=len(dropped)))
    n = len(final) - len(dropped)
    if n < stats.WARN_SEEDS:
        found.append(_finding("compare.few_seeds", group=group.name, n=n, warn_seeds=stats.WARN_SEEDS))
    return found


def compare_groups(groups: Sequence[Group], baseline: str) -> Comparison:
    """The whole comparison: each group's estimates and curves, and every other group against `baseline`.

    Raises:
        UsageError: the runs report different metrics, or `baseline` names no group.
    """
    names = [g.name for g in groups]
    if baseline not in names:
        raise UsageError(f"--baseline: no group named '{baseline}' (groups: {', '.join(names)})")
    metric, mode = _metric_of(groups)
    rows, within = config_diff(groups)
    findings = _honesty(groups, within)
    finals = {g.name: [_final(a) for a in g.analyses] for g in groups}
    bests = {g.name: [best.value if (best := _metric(a).best) else float("nan") for a in g.analyses] for g in groups}
    base_best = stats.estimate(bests[baseline]).mean
    results = []
    for g in groups:
        findings += _seed_findings(g, finals[g.name])
        metric_band = band([a.curves.metric for a in g.analyses])
        loss = g.analyses[0].loss.key if g.analyses[0].loss else None
        losses = band([a.curves.loss for a in g.analyses if a.loss is not None and a.loss.key == loss])
        results.append(GroupResult(g.name, tuple(a.run.id for a in g.analyses), stats.estimate(finals[g.name]),
                                   stats.estimate(bests[g.name]), metric_band, loss, losses,
                                   _wall_hours(g.analyses), _reaches(metric_band, base_best, mode)))
    if all(r.final.n <= 1 for r in results):
        findings.insert(0, _finding("compare.single_seed", Severity.ERROR))
    comparisons = tuple(GroupComparison(g.name, baseline, stats.compare(finals[baseline], finals[g.name], mode),
                                        stats.compare(bests[baseline], bests[g.name], mode))
                        for g in groups if g.name != baseline)
    first = groups[0].analyses[0]
    return Comparison(metric, mode, _metric(first).split, first.x_unit, baseline, tuple(results), comparisons, rows,
                      tuple(findings))


def compare_json(c: Comparison) -> dict:
    """compare.json, the machine-readable contract (see the README)."""
    def estimate(e: Estimate) -> dict:
        return {"mean": e.mean, "std": e.std, "ci_low": e.ci_low, "ci_high": e.ci_high}

    return {
        "metric": c.metric, "mode": c.mode.value, "baseline": c.baseline,
        "groups": [{"name": g.name, "runs": list(g.runs), "n": g.final.n, "final": estimate(g.final),
                    "best": estimate(g.best)} for g in c.groups],
        "comparisons": [{"group": k.group, "baseline": k.baseline, "diff": k.final.diff, "ci_low": k.final.ci_low,
                         "ci_high": k.final.ci_high, "p_improve": k.final.p_improve, "welch_p": k.final.welch_p,
                         "verdict": k.final.verdict.value} for k in c.comparisons],
    }
