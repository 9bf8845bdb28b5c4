"""Learning curves for `reporter backtest`: a curves JSONL (shared/curves format) or run histories."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from reporter.analysis.metrics import natural_range, scale_of
from reporter.backtest import MIN_CURVE_POINTS, Curve
from reporter.errors import HistoryError
from reporter.ingest.files import read_text
from reporter.ingest.tabular import json_records

log = logging.getLogger(__name__)


def _from_jsonl(path: Path) -> list[Curve]:
    curves = []
    for number, item in enumerate(json_records(read_text(path, HistoryError)), start=1):
        try:
            x, y = [float(v) for v in item["x"]], [float(v) for v in item["y"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise HistoryError(f"{path}: record {number} is not a curve (needs id, x, y): {exc}") from None
        keep = [i for i, v in enumerate(y) if math.isfinite(v)]
        if len(keep) < MIN_CURVE_POINTS:
            log.warning("%s: record %d has %d finite points, a backtest needs %d; skipped", path, number, len(keep),
                        MIN_CURVE_POINTS)
        else:
            values, metric = tuple(y[i] for i in keep), str(item.get("metric", ""))
            curves.append(Curve(str(item.get("id", number)), str(item.get("source_repo", item.get("id", number))),
                                tuple(x[i] for i in keep), values, bool(item.get("higher_is_better", True)),
                                natural_range(metric, scale_of(metric, values))))
    return curves


def load_curves(paths: list[str]) -> list[Curve]:
    """Curves from JSONL files, or the primary metric of run directories / history files.

    Raises:
        HistoryError: a file is not a curves file or a readable history.
    """
    from reporter.analysis import primary_metric_key, summarize_metric
    from reporter.analysis.metrics import finite_part, series
    from reporter.config import Thresholds
    from reporter.ingest import load_run

    curves: list[Curve] = []
    for name in paths:
        path = Path(name)
        if path.suffix == ".jsonl" and path.is_file() and read_text(path, HistoryError).text.lstrip().startswith('{"id"'):
            curves.extend(_from_jsonl(path))
            continue
        run = load_run(name)
        key = primary_metric_key(run)
        if key is None:
            raise HistoryError(f"{name}: no metric to backtest")
        data = finite_part(series(run.history, key))
        if len(data) < MIN_CURVE_POINTS:
            log.warning("%s: %s has %d finite points, a backtest needs %d; skipped", name, key, len(data),
                        MIN_CURVE_POINTS)
            continue
        summary = summarize_metric(run, key, Thresholds())
        curves.append(Curve(run.id, run.id, data.x, data.values, summary.mode.value == "max",
                            natural_range(key, summary.scale)))
    return curves
