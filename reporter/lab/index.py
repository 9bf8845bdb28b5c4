"""out/index.<lang>.html|md and out/index.html|md: every run at a glance, failed runs and problems first."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reporter.config import LANGUAGES
from reporter.outstore import (
    compared_folders,
    index_path,
    last_report_date,
    read_batch,
    remove_index,
    report_path,
    report_source,
    run_summary,
    write_atomic,
)
from reporter.report.render.environment import environment, format_date, render_template
from reporter.summary import SeriesEntry, Summary

STATUS_ORDER = {"crashed": 0, "stalled": 1, "stopped_early": 2, "unknown": 3, "running": 4, "finished": 5}


def problems_first(status: str, name: str) -> tuple[int, str]:
    """Sort key of a run: crashed and stalled runs first, finished last, then by name."""
    return STATUS_ORDER.get(status, 3), name


@dataclass(frozen=True)
class ReportLink:
    """A report document that exists in out/<run>/, so the index never links to one that was not rendered."""

    lang: str
    format: str
    href: str  # relative to the run's folder


@dataclass(frozen=True)
class ComparisonLink:
    """A comparison (out/compare/<name>/) that includes a run, with its documents that exist."""

    name: str
    group: str  # the run's group in it
    hrefs: dict[str, str]  # language -> document relative to out/


@dataclass(frozen=True)
class IndexRow:
    run_id: str
    summary: Summary
    sparkline: str  # SVG points, "" when there is nothing to draw
    projected: float | None
    links: tuple[ReportLink, ...]
    comparisons: tuple[ComparisonLink, ...] = ()


@dataclass(frozen=True)
class FailedRow:
    """A run that failed tonight; its last good report (if any) is still in out/ and is linked with its date."""

    run_id: str
    name: str
    error: str
    last_report: str | None  # YYYY-MM-DD of the report still published, None when there is none
    links: tuple[ReportLink, ...]


def sparkline_points(series: SeriesEntry | None, width: int = 100, height: int = 24) -> str:
    """Polyline points scaled into a small box."""
    if series is None or len(series.y) < 2:
        return ""
    pairs = [(x, y) for x, y in zip(series.x, series.y) if y is not None and math.isfinite(y)]
    if len(pairs) < 2:
        return ""
    xs, ys = zip(*pairs)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return " ".join(f"{(x - x0) / ((x1 - x0) or 1) * width:.1f},{height - (y - y0) / ((y1 - y0) or 1) * height:.1f}"
                    for x, y in pairs)


def report_links(run_out: Path, output: str) -> tuple[ReportLink, ...]:
    """One link per language to a report that exists, in the index's own format where there is one, so
    a batch rendered with `--lang en` or `--format pdf` never gets a dead link."""
    links = []
    for lang in LANGUAGES:
        fmt = next((f for f in (output, "html", "pdf", "md") if report_path(run_out, lang, f).is_file()), None)
        if fmt is not None:
            links.append(ReportLink(lang, fmt, f"report.{lang}.{fmt}"))
    return tuple(links)


def comparison_links(out: Path, output: str) -> dict[str, tuple[ComparisonLink, ...]]:
    """Run folder -> the comparisons that include it, each linking its documents that exist (in the index's
    own format where there is one), relative to out/ so they work from disk and when served."""
    links: dict[str, list[ComparisonLink]] = {}
    for name, groups in compared_folders(out).items():
        hrefs = {}
        for lang in LANGUAGES:
            fmt = next((f for f in (output, "html", "pdf", "md") if (out / "compare" / name / f"compare.{lang}.{f}")
                        .is_file()), None)
            if fmt is not None:
                hrefs[lang] = f"compare/{name}/compare.{lang}.{fmt}"
        for group, folders in groups.items() if hrefs else ():
            for folder in folders:
                links.setdefault(folder, []).append(ComparisonLink(name, group, hrefs))
    return {folder: tuple(found) for folder, found in links.items()}


def read_rows(out: Path, run_ids: list[str], output: str) -> list[IndexRow]:
    rows = []
    compared = comparison_links(out, output)
    for run_id in run_ids:
        data = run_summary(out, run_id)
        if data is None:
            continue
        rows.append(IndexRow(run_id, data, sparkline_points(data.series), data.projection.final_median,
                             report_links(out / run_id, output), compared.get(report_source(out / run_id) or "", ())))
    rows.sort(key=lambda r: problems_first(r.summary.run.status, r.summary.run.name))
    return rows


@dataclass(frozen=True)
class Failure:
    """A run that failed tonight: its one-line error and its folder (to tell its old report from another's)."""

    error: str
    folder: str


def failed_rows(out: Path, failures: dict[str, Failure], output: str) -> list[FailedRow]:
    """Runs that failed in this batch, each with its error and the report it left from before, if any.

    Only a report made from the same folder is linked: out/<id> may hold another run's report (the
    clash the batch refused, or a run reached from another batch root), and linking it would swap them.
    """
    rows = []
    for run_id, failure in sorted(failures.items()):
        previous = run_summary(out, run_id)
        if previous is not None and report_source(out / run_id) not in (None, str(Path(failure.folder).resolve())):
            previous = None
        first_line = failure.error.splitlines()[0] if failure.error else ""
        rows.append(FailedRow(run_id, previous.run.name if previous else run_id, first_line,
                              last_report_date(out / run_id) if previous else None,
                              report_links(out / run_id, output) if previous else ()))
    return rows


def write_index(out: Path, run_ids: list[str], failures: dict[str, Failure], now: datetime, languages: tuple[str, ...],
                templates: Path | None = None) -> None:
    """out/index.<lang>.html|md for every language of the batch, and index.html|md (the first language) as
    the entry point; failed runs come first, and every row links only to reports that exist. An index left
    in another language by an earlier batch is removed, so no stale index stays beside tonight's."""
    for output in ("html", "md"):
        rows, failed = read_rows(out, run_ids, output), failed_rows(out, failures, output)
        for lang in languages:
            text = render_template(environment(lang, output, templates), f"index.{output}.j2", rows=rows, failed=failed,
                                   languages=languages, date=format_date(now, lang)).encode("utf-8")
            write_atomic(index_path(out, lang, output), text)
            if lang == languages[0]:
                write_atomic(index_path(out, None, output), text)
        for lang in set(LANGUAGES) - set(languages):  # an earlier batch's index in a language not made tonight
            remove_index(out, lang, output)


def refresh_index(out: Path, now: datetime, templates: Path | None = None) -> None:
    """The last batch's index written again (after a comparison, so it links it at once); nothing when no
    batch wrote this out/ (or one from before batch.json named its languages)."""
    batch = read_batch(out)
    languages = tuple(lang for lang in (batch or {}).get("languages") or () if lang in LANGUAGES)
    if batch is None or not languages:
        return
    entries = [e for e in batch["runs"] if isinstance(e, dict) and e.get("run")]
    failures = {e["run"]: Failure(e.get("error") or "", e.get("path") or "") for e in entries if e.get("status") == "failed"}
    write_index(out, [e["run"] for e in entries if e.get("status") != "failed"], failures, now, languages, templates)
