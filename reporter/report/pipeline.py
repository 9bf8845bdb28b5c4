"""The whole pipeline for one run, top to bottom: ingest, analyse, present, render, publish."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping

from reporter.changes import changes
from reporter.errors import ReporterError
from reporter.model import RunConfig
from reporter.outstore import previous_snapshot, publish, run_directory
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run, load_settings
from reporter.report.present import present
from reporter.report.reference import projection_calibration, published_results
from reporter.report.render import render_report, warm_up
from reporter.report.summary import summary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportRequest:
    run: str
    out: Path
    now: datetime
    languages: tuple[str, ...] | None = None
    formats: tuple[str, ...] | None = None
    project_to: tuple[float, ...] | None = None
    config: Path | None = None
    templates: Path | None = None
    overrides: RunConfig = RunConfig()
    parallel: bool = False  # render the languages side by side (by hand); batches parallelise across runs
    root: Path | None = None  # the batch's root, which run ids are spelled from


def make_report(request: ReportRequest, extra: Mapping[str, bytes] | None = None) -> list[Path]:
    """Every file of one run's report, written only after all of them rendered.

    `extra` files (the batch's record of the inputs) are published with the report, in the same
    version, so they can never describe another report than the one beside them.

    Raises:
        ReporterError: any input, config or rendering problem, with one clear message.
    """
    settings = load_settings(request.config)
    run = load_run(request.run, Path(settings.runs_root), request.overrides, request.root)
    log.info("read %s (%s, %d history rows)", run.id, run.family, len(run.history))
    calibration = projection_calibration()
    analysis = analyse(run, request.now, published_results(), settings.thresholds,
                       request.project_to or settings.project_to, calibration)
    result = summary(analysis)
    previous = previous_snapshot(run_directory(request.out, run.id), f"{request.now:%Y-%m-%d}")
    context = present(analysis, changes(*previous, result) if previous else None, calibration)
    files = render_report(analysis, context, request.languages or settings.languages,
                          request.formats or settings.formats, request.templates, request.parallel)
    return publish(request.out, run.id, {**files, **(extra or {})}, result, request.now, run.location)


def prepare(request: ReportRequest) -> None:
    """Pays the fixed costs of rendering `request`'s documents in this process (imports, fonts, compiled
    templates): a batch calls it once before forking its workers, so that no worker pays them again."""
    settings = load_settings(request.config)
    try:
        warm_up(request.languages or settings.languages, request.formats or settings.formats, request.templates)
    except ReporterError:  # a lab's broken template, WeasyPrint missing: each run reports it in its own line
        pass
