"""Shared fixtures: a factory for in-memory runs, so analysis tests need no files."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from reporter.model import (
    Event,
    LabelTable,
    LoggedStats,
    Mode,
    Plan,
    Run,
    RunConfig,
    frozen_mapping,
)
from reporter.report.ingest import history_frame
from reporter.report.ingest.parsed import ParsedHistory

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "iemocap-da"
NOW = datetime(2025, 3, 15, 9, 0, tzinfo=timezone.utc)


def make_run(metric: list[float] | None = None, loss: list[float] | None = None, *, metric_key: str = "val_acc",
             start: int = 0, events: tuple[Event, ...] = (), planned: int | None = None,
             hyperparameters: dict[str, Any] | None = None, labels: LabelTable | None = None,
             extra: dict[str, list[float]] | None = None, dataset: str | None = None, split: str | None = None,
             family: str = "csv", logged_stats: tuple[LoggedStats, ...] = (), mode: Mode | None = None,
             best_so_far: bool = False, wall_hours: float | None = None, last_write: datetime | None = None) -> Run:
    """A run built from plain lists: metric[i] and loss[i] belong to epoch start + i."""
    parsed = ParsedHistory(format=family)
    for key, values in ({metric_key: metric or [], "loss": loss or []} | (extra or {})).items():
        for i, value in enumerate(values):
            wall = None if wall_hours is None else (start + i) * wall_hours * 3600
            parsed.add(key, start + i, value, wall_time=wall)
    frame, restarts = history_frame(parsed, "history.csv")
    splits = {metric_key: split} if split else {}
    return Run(
        id="test-run", name="test run", dataset=dataset, sources=(), history=frame,
        hyperparameters=frozen_mapping(hyperparameters), plan=Plan(planned, "run_toml") if planned else None,
        events=events, splits=frozen_mapping(splits), best_so_far_keys=frozenset({metric_key} if best_so_far else ()),
        logged_stats=logged_stats, labels=labels,
        config=RunConfig(metric=metric_key if metric else None, mode=mode), last_write=last_write, family=family,
        epoch_base=start, restarts=restarts,
    )


def make_labels(rows: list[tuple[str, str]], columns: tuple[str, ...] = ("text", "label")) -> LabelTable:
    return LabelTable(path="labels.tsv", columns=columns, label_column="label", text_column="text",
                      labels=tuple(label for _, label in rows), texts=tuple(text for text, _ in rows),
                      sha256="0" * 64, size=1)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB file system of its own (a disk that fills up, an out/ that turns read-only); unmounted afterwards."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); needs root or CAP_SYS_ADMIN")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount(where: Path, mode: str) -> None:
    """Remount a tmpfs 'ro' or 'rw' (read-only even for root, unlike chmod).

    The kernel refuses 'ro' while a file there is open for writing, so it is retried until then.
    """
    deadline = time.monotonic() + 60
    while subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, f"cannot remount {where} {mode}"
        time.sleep(0.005)
