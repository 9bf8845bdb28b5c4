"""Reading reports already published: summary.json of a run (for the index and 'since the last report')."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reporter.publish import COMPARED


def read_summary(path: Path) -> dict[str, Any] | None:
    """A summary.json as written by publish, or None when it is missing or unreadable (never fatal)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == 1 else None


def previous_snapshot(run_out: Path, before: str) -> tuple[str, dict[str, Any]] | None:
    """The latest history/<YYYY-MM-DD>/summary.json dated before `before` (an ISO date), with its date."""
    history = run_out / "history"
    if not history.is_dir():
        return None
    for folder in sorted((p for p in history.iterdir() if p.is_dir() and p.name < before), reverse=True):
        data = read_summary(folder / "summary.json")
        if data is not None:
            return folder.name, data
    return None


def snapshot_on_or_before(run_out: Path, day: str) -> tuple[str, dict[str, Any]] | None:
    """The latest history snapshot dated on or before `day` (for 'since the last meeting')."""
    return previous_snapshot(run_out, day + "~")  # '~' sorts after any date suffix


def last_report_date(run_out: Path) -> str | None:
    """The date (YYYY-MM-DD) of the report published in out/<run>/: its newest history snapshot."""
    latest = previous_snapshot(run_out, "9999-99-99")
    return latest[0] if latest else None


def figure_bytes(run_out: Path, name: str) -> bytes | None:
    """A published figure of a run, for the digest; None when the run has none."""
    path = run_out / "figures" / name
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def read_batch(out: Path) -> dict[str, Any] | None:
    """out/batch.json as the last batch wrote it (for delivery), or None when missing or unreadable."""
    try:
        data = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("runs"), list) else None


def document_bytes(out: Path, name: str) -> bytes | None:
    """A published document of out/ (a digest PDF, for delivery); None when there is none."""
    path = out / name
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def newest_document(out: Path, names: list[str]) -> str | None:
    """Of the documents of out/ named, the one written last; None when none exists."""
    made = {}
    for name in names:
        try:
            made[name] = (out / name).stat().st_mtime_ns
        except OSError:
            continue
    return max(made, key=made.__getitem__) if made else None


def compared_folders(out: Path) -> dict[str, dict[str, list[str]]]:
    """Each comparison under out/compare/ (by its folder's name) with the run folders of each of its groups,
    as `reporter compare` recorded them beside compare.json; one without that record is left out."""
    found = {}
    folder = out / "compare"
    for comparison in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            data = json.loads((comparison / COMPARED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
            found[comparison.name] = {str(group): [str(f) for f in runs] for group, runs in data.items()}
    return found
