"""The lab-meeting digest: every run on one cover table, seeds grouped, changes since the last meeting,
and a page per run with its key plot, findings and recommendations.

It reads what the batch published (out/<run>/summary.json, history snapshots, figures) and renders
out/digest.<lang>.md|html|pdf.
"""

from __future__ import annotations

import base64
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reporter.changes import Changes, changes
from reporter.lab.index import Failure, failed_rows, problems_first
from reporter.outstore import DIGEST, digest_path, figure_bytes, run_summary, snapshot_on_or_before, write_atomic
from reporter.report.present import stated_rules
from reporter.report.render.environment import environment, format_date, render_template
from reporter.summary import Summary

SEED_KEYS = ("seed", "log_id", "logger_name", "output_path", "pred_output_path", "model_output_path")
"""Hyperparameters that name a seed or its outputs: runs differing only in these are one experiment."""


@dataclass(frozen=True)
class DigestRun:
    run_id: str
    summary: Summary
    changes: Changes | None
    figures: dict[str, str]  # language -> data URI of the metric plot, for the languages that have one


@dataclass(frozen=True)
class SeedGroup:
    runs: tuple[str, ...]
    metric: str
    mean: float
    std: float


def seed_groups(runs: list[DigestRun]) -> tuple[SeedGroup, ...]:
    """Runs with the same dataset, metric and hyperparameters except the seed."""
    groups: dict[tuple, list[DigestRun]] = {}
    for run in runs:
        s = run.summary
        params = {k: v for k, v in s.run.hyperparameters.items() if k not in SEED_KEYS}
        if not params or s.best is None or s.best.value is None or not s.primary_metric:
            continue
        key = (s.run.dataset, s.primary_metric.name, tuple(sorted((k, str(v)) for k, v in params.items())))
        groups.setdefault(key, []).append(run)
    result = []
    for (_, metric, _), members in groups.items():
        if len(members) > 1:
            values = [m.summary.best.value for m in members if m.summary.best and m.summary.best.value is not None]
            result.append(SeedGroup(tuple(m.run_id for m in members), metric, statistics.mean(values),
                                    statistics.stdev(values)))
    return tuple(result)


@dataclass(frozen=True)
class _ScaleFree:
    """What the finding messages read from a report context: c.metric for the metric's scale (the
    digest states values scale-free), c.x_unit, so a step-indexed run's sentences say steps, and c.rules,
    the fixed numbers the sentences quote."""

    x_unit: str = "epoch"
    metric: None = None
    rules = stated_rules(None)


def collect(out: Path, run_ids: list[str], since: str, languages: tuple[str, ...]) -> list[DigestRun]:
    """What the digest shows of each run, read once for every language, problems first."""
    runs = []
    for run_id in run_ids:
        summary = run_summary(out, run_id)
        if summary is None:
            continue
        before = snapshot_on_or_before(out / run_id, since)
        svgs = {lang: figure_bytes(out / run_id, f"metric.{lang}.svg") for lang in languages}
        runs.append(DigestRun(run_id, summary, changes(*before, summary) if before else None,
                              {lang: "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
                               for lang, svg in svgs.items() if svg}))
    return sorted(runs, key=lambda r: problems_first(r.summary.run.status, r.summary.run.name))


def write_digest(out: Path, run_ids: list[str], failures: dict[str, Failure], now: datetime, since: str,
                 languages: tuple[str, ...], formats: tuple[str, ...], templates: Path | None = None,
                 ablations: tuple = (), stem: str = DIGEST) -> list[Path]:
    """out/<stem>.<lang>.<format> for every language and format asked for; runs that failed in this batch
    come first, with their error and the last good report, so a broken run is never missing from the meeting.
    `ablations` are the declared experiments as (name, reporter.lab.compare.analysis.Comparison) pairs; `stem`
    is outstore.DIGEST for the meeting, outstore.NIGHTLY for tonight's delivery."""
    from reporter.report.render.pdf import html_to_pdf

    runs = collect(out, run_ids, since, languages)
    groups = seed_groups(runs)
    written = []
    for lang in languages:
        context = {"runs": runs, "groups": groups, "since": since, "date": format_date(now, lang),
                   "scale_free": _ScaleFree, "ablations": ablations}
        if "md" in formats:
            path = digest_path(out, lang, "md", stem)
            write_atomic(path, render_template(environment(lang, "md", templates), "digest.md.j2",
                                               failed=failed_rows(out, failures, "md"), **context).encode())
            written.append(path)
        if "html" in formats or "pdf" in formats:
            html = render_template(environment(lang, "html", templates), "digest.html.j2",
                                   failed=failed_rows(out, failures, "html"), **context)
            if "html" in formats:
                write_atomic(digest_path(out, lang, "html", stem), html.encode())
                written.append(digest_path(out, lang, "html", stem))
            if "pdf" in formats:
                pdf, _ = html_to_pdf(html, now)
                write_atomic(digest_path(out, lang, "pdf", stem), pdf)
                written.append(digest_path(out, lang, "pdf", stem))
    return written
