"""Learning curves for `reporter backtest`: a curves JSONL (shared/curves format) or run histories."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from reporter.backtest.backtest import MIN_CURVE_POINTS, Curve
from reporter.errors import HistoryError, ReporterError
from reporter.report.analysis.metrics import natural_range, scale_of
from reporter.report.ingest.files import TextFile, read_text
from reporter.report.ingest.tabular import json_records

log = logging.getLogger(__name__)


def _long_enough(where: str, points: int) -> bool:
    """Whether a curve has enough finite points to backtest; a short one is skipped with a line saying so."""
    if points < MIN_CURVE_POINTS:
        log.warning("%s has %d finite points, a backtest needs %d; skipped", where, points, MIN_CURVE_POINTS)
    return points >= MIN_CURVE_POINTS


def _from_jsonl(path: Path, text: TextFile) -> list[Curve]:
    curves = []
    for number, item in enumerate(json_records(text), start=1):
        try:
            x, y = [float(v) for v in item["x"]], [float(v) for v in item["y"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise HistoryError(f"{path}: record {number} is not a curve (needs id, x, y): {exc}") from None
        keep = [i for i, v in enumerate(y) if math.isfinite(v)]
        if _long_enough(f"{path}: record {number}", len(keep)):
            values, metric = tuple(y[i] for i in keep), str(item.get("metric", ""))
            curves.append(Curve(str(item.get("id", number)), str(item.get("source_repo", item.get("id", number))),
                                tuple(x[i] for i in keep), values, bool(item.get("higher_is_better", True)),
                                natural_range(metric, scale_of(metric, values)), str(item.get("kind", ""))))
    return curves


def load_curves(paths: list[str]) -> list[Curve]:
    """Curves from JSONL files, or the primary metric of run directories / history files. A run that
    cannot be read, has no metric or is too short is skipped with one warning line naming it.

    Raises:
        HistoryError: a curves file holds a record that is not a curve.
    """
    from reporter.config import Thresholds
    from reporter.report.analysis import primary_metric_key, summarize_metric
    from reporter.report.analysis.projection import run_kind
    from reporter.report.ingest import load_run
    from reporter.report.series import finite_part, series

    curves: list[Curve] = []
    for name in paths:
        path = Path(name)
        text = read_text(path, HistoryError) if path.suffix == ".jsonl" and path.is_file() else None
        if text is not None and text.text.lstrip().startswith('{"id"'):
            curves.extend(_from_jsonl(path, text))
            continue
        try:
            run = load_run(name)
        except ReporterError as exc:  # one unreadable run is skipped like a short one, not fatal
            log.warning("%s; skipped", exc)
            continue
        key = primary_metric_key(run)
        if key is None:
            log.warning("%s: no metric to backtest; skipped", name)
            continue
        data = finite_part(series(run.history, key))
        if not _long_enough(f"{name}: {key}", len(data)):
            continue
        summary = summarize_metric(run, key, Thresholds())
        curves.append(Curve(run.id, run.id, tuple(data.x), tuple(data.values), summary.mode.value == "max",
                            natural_range(key, summary.scale), run_kind(run)))
    return curves
