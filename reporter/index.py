"""out/index.html and out/index.md: every run at a glance, problems first."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reporter.analysis.changes import projected_final
from reporter.ingest.summaries import read_summary
from reporter.publish import write_atomic
from reporter.render.environment import environment, format_date, render_template

STATUS_ORDER = {"crashed": 0, "stalled": 1, "stopped_early": 2, "unknown": 3, "running": 4, "finished": 5}


def problems_first(summary: dict[str, Any]) -> tuple[int, str]:
    """Sort key of a run's summary: crashed and stalled runs first, finished last, then by name."""
    return STATUS_ORDER.get(summary["run"]["status"], 3), summary["run"]["name"]


@dataclass(frozen=True)
class IndexRow:
    run_id: str
    summary: dict[str, Any]
    sparkline: str  # SVG points, "" when there is nothing to draw
    projected: float | None


def sparkline_points(series: dict | None, width: int = 100, height: int = 24) -> str:
    """Polyline points scaled into a small box."""
    if not series or len(series.get("y", [])) < 2:
        return ""
    pairs = [(x, y) for x, y in zip(series["x"], series["y"]) if y is not None and math.isfinite(y)]
    if len(pairs) < 2:
        return ""
    xs, ys = zip(*pairs)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return " ".join(f"{(x - x0) / ((x1 - x0) or 1) * width:.1f},{height - (y - y0) / ((y1 - y0) or 1) * height:.1f}"
                    for x, y in pairs)


def read_rows(out: Path, run_ids: list[str]) -> list[IndexRow]:
    rows = []
    for run_id in run_ids:
        data = read_summary(out / run_id / "summary.json")
        if data is None:
            continue
        rows.append(IndexRow(run_id, data, sparkline_points(data.get("series")), projected_final(data)))
    rows.sort(key=lambda r: problems_first(r.summary))
    return rows


def write_index(out: Path, run_ids: list[str], now: datetime, lang: str) -> None:
    """out/index.html and index.md in the batch's first language; every row links to both languages."""
    rows = read_rows(out, run_ids)
    date = format_date(now, lang)
    for output, name in (("html", "index.html"), ("md", "index.md")):
        text = render_template(environment(lang, output), f"index.{output}.j2", rows=rows, date=date)
        write_atomic(out / name, text.encode("utf-8"))
