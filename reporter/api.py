"""The Python face of reporter: what a training script or a notebook calls instead of the command line.

Three calls, the same pipeline and the same `ReporterError` tree the CLI maps to exit status 2:
`report` writes a run's documents to out/ and says what it concluded, `analyse` gives the typed analysis
for a notebook, `load_run` the typed run as ingest read it. The heavy stages are imported inside the
calls, so `import reporter` stays cheap enough for a training script.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from reporter.errors import UsageError

if TYPE_CHECKING:
    from reporter.model import Analysis, Run
    from reporter.report.pipeline import ReportRequest

RunPath = str | os.PathLike[str]
OPTIONS = ("metric", "mode", "source", "project_to", "config", "templates", "now")
"""The keyword options `report` and `analyse` take: the command line's flags of the same names."""


@dataclass(frozen=True)
class ReportResult:
    """What one `report` call wrote and concluded.

    paths: every file published (documents, figures, summary.json). verdict: healthy, needs_attention or
    action_needed. summary: summary.json as a dict, the stable machine-readable contract.
    """

    paths: tuple[Path, ...]
    verdict: str
    summary: Mapping[str, Any] = field(repr=False)

    @property
    def documents(self) -> tuple[Path, ...]:
        """The report documents alone (report.<lang>.<format>), without figures and summaries."""
        return tuple(p for p in self.paths if p.name.startswith("report."))


def load_run(path: RunPath) -> Run:
    """The run at `path` (a run folder or one history file) as ingest reads it, with run.toml applied.

    Raises:
        ReporterError: the run cannot be found or read (UsageError, ConfigError, HistoryError, ...).
    """
    from reporter.report.ingest import load_run as ingest_run

    return ingest_run(str(path))


def analyse(run: RunPath | Run, **options: Any) -> Analysis:
    """The whole analysis of one run, for a notebook: metrics, projection, findings, verdict.

    `run` is a path or a Run from `load_run`. Options: metric, mode, project_to, config, now (see `report`).

    Raises:
        ReporterError: bad options, or the run cannot be read or analysed.
    """
    from reporter.model import Run
    from reporter.report.analysis import analyse as analyse_run
    from reporter.report.ingest import load_run as ingest_run
    from reporter.report.ingest import load_settings
    from reporter.report.reference import projection_calibration, published_results

    path = run if isinstance(run, (str, os.PathLike)) else run.location or ""
    request = _request(path, "out", None, None, options)
    settings = load_settings(request.config)
    loaded = run if isinstance(run, Run) else ingest_run(request.run, Path(settings.runs_root), request.overrides)
    return analyse_run(loaded, request.now, published_results(), settings.thresholds,
                       request.project_to or settings.project_to, projection_calibration())


def report(run: RunPath, out: RunPath = "out", languages: Sequence[str] = ("zh", "en"),
           formats: Sequence[str] = ("md", "html", "pdf"), **options: Any) -> ReportResult:
    """Write the run's report to out/<run-id>/ (atomically, as `reporter report` does) and return what it found.

    Options, named as the command line's flags: metric (str), mode ("max"/"min"), source (the history file
    inside the run folder), project_to (epochs), config (lab settings TOML), templates (a restyled copy of
    the templates folder), now (a datetime; default the current time).

    Raises:
        UsageError: an unknown option or value. ReporterError: the run cannot be read or the report written.
    """
    from reporter.outstore import read_summary
    from reporter.report.pipeline import make_report

    request = _request(run, out, tuple(languages), tuple(formats), options)
    paths = make_report(request)
    summary_path = next(p for p in paths if p.name == "summary.json" and "history" not in p.parts)
    typed = read_summary(summary_path)
    summary = typed.to_json() if typed is not None else {}
    return ReportResult(paths=tuple(paths), verdict=str(summary.get("verdict", "")), summary=summary)


def _request(run: RunPath, out: RunPath, languages: tuple[str, ...] | None, formats: tuple[str, ...] | None,
             options: Mapping[str, Any]) -> ReportRequest:
    """The pipeline's request from the keyword options, every problem reported at once as the CLI does."""
    from reporter.config import FORMATS, LANGUAGES
    from reporter.model import Mode, RunConfig
    from reporter.report.pipeline import ReportRequest

    problems = [_unknown(name) for name in options if name not in OPTIONS]
    problems += [f"languages: unknown '{lang}' (choose from {', '.join(LANGUAGES)})"
                 for lang in languages or () if lang not in LANGUAGES]
    problems += [f"formats: unknown '{fmt}' (choose from {', '.join(FORMATS)})"
                 for fmt in formats or () if fmt not in FORMATS]
    mode = options.get("mode")
    if mode is not None and mode not in ("max", "min"):
        problems.append(f"mode: expected 'max' or 'min', got {mode!r}")
    now = options.get("now") or datetime.now(timezone.utc)
    if not isinstance(now, datetime):
        problems.append(f"now: expected a datetime, got {now!r}")
    templates = options.get("templates")
    if templates is not None and not Path(templates).is_dir():
        problems.append(f"templates: {templates} is not a folder")
    if problems:
        raise UsageError("; ".join(problems))
    overrides = RunConfig(metric=options.get("metric"), mode=Mode(mode) if mode else None,
                          history=options.get("source"))
    config, project_to = options.get("config"), options.get("project_to")
    return ReportRequest(run=str(run), out=Path(out), now=now if now.tzinfo else now.replace(tzinfo=timezone.utc),
                         languages=languages, formats=formats,
                         project_to=tuple(int(e) for e in project_to) if project_to else None,
                         config=Path(config) if config is not None else None,
                         templates=Path(templates) if templates is not None else None, overrides=overrides)


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, OPTIONS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (options: {', '.join(OPTIONS)})"
    return f"unknown option '{name}'{hint}"
