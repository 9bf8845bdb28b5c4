"""Learning curves for `reporter backtest`: a curves JSONL (shared/curves format) or run histories."""

from __future__ import annotations

import json
import math
from pathlib import Path

from reporter.backtest import Curve
from reporter.errors import HistoryError
from reporter.ingest.files import checked_lines, read_text


def _from_jsonl(path: Path) -> list[Curve]:
    file = read_text(path, HistoryError)
    curves = []
    for number, line in enumerate(checked_lines(file, HistoryError), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            x, y = [float(v) for v in item["x"]], [float(v) for v in item["y"]]
            curve = Curve(str(item["id"]), str(item.get("source_repo", item["id"])), tuple(x), tuple(y),
                          bool(item.get("higher_is_better", True)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise HistoryError(f"{path}:{number}: not a curve record (needs id, x, y): {exc}") from None
        keep = [i for i, v in enumerate(curve.y) if math.isfinite(v)]
        if len(keep) >= 6:
            curves.append(Curve(curve.id, curve.source, tuple(curve.x[i] for i in keep),
                                tuple(curve.y[i] for i in keep), curve.higher_is_better))
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
        mode = summarize_metric(run, key, Thresholds()).mode
        curves.append(Curve(run.id, run.id, data.x, data.values, mode.value == "max"))
    return curves
