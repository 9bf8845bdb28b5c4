"""MLflow runs, read without mlflow and without ever writing to the user's store.

File store: `mlruns/<experiment>/<run>/{meta.yaml, metrics/<key>, params/<key>, tags/<key>}`, each
metric line `<timestamp_ms> <value> <step>`. SQL backend (sqlite): opened with `mode=ro`, because a
newer mlflow silently upgrades an older schema and breaks the store for the user's own mlflow.
NaN is stored as is_nan=1 in SQL, and +/-inf as +/-DBL_MAX.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from pathlib import Path

import pandas as pd

from reporter.errors import HistoryError
from reporter.model import Event, Source
from reporter.report.ingest.files import read_text
from reporter.report.ingest.parsed import LONG_COLUMNS, ParsedHistory
from reporter.report.ingest.reader import Reader
from reporter.report.ingest.tabular import DBL_MAX, number, split_of

FILE_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
STORE = "mlruns"
LAYOUTS = ("meta.yaml", f"{STORE}/*/*/meta.yaml")
"""A run folder itself, or a folder holding the store (mlflow's default tracking URI is ./mlruns)."""


def is_filestore_run(path: Path) -> bool:
    return path.is_dir() and (path / "meta.yaml").is_file() and (path / "metrics").is_dir()


def filestore_runs(root: Path) -> list[Path]:
    """Run folders under an mlruns folder (or the folder itself when it is a run)."""
    if is_filestore_run(root):
        return [root]
    return sorted(p for p in root.glob("*/*") if is_filestore_run(p))


def located_runs(folder: Path) -> list[Path]:
    """The file-store runs of a folder: the folder itself, the runs of the store it is, or of its mlruns/."""
    return filestore_runs(folder) or filestore_runs(folder / STORE)


def _infinite(value: float) -> float:
    return math.copysign(math.inf, value) if abs(value) >= DBL_MAX else value


def _status_event(parsed: ParsedHistory, status: str | None) -> None:
    if status == "FINISHED":
        parsed.events.append(Event("finished", None))
    elif status in ("FAILED", "KILLED"):
        parsed.events.append(Event("crash", None, f"MLflow status {status}"))


def parse_filestore_run(run: Path) -> tuple[ParsedHistory, list[Source]]:
    """One file-store run: every metric file, params, the run name and status.

    Raises:
        HistoryError: a metric line that is not `<timestamp> <value> [<step>]`, or no metrics at all.
    """
    import yaml

    parsed, sources, frames = ParsedHistory(format="mlflow-filestore"), [], []
    meta_file = read_text(run / "meta.yaml", HistoryError)
    try:
        meta = yaml.safe_load(meta_file.text) or {}
    except yaml.YAMLError:
        raise HistoryError(f"{run / 'meta.yaml'}: invalid YAML") from None
    for metric in sorted(p for p in (run / "metrics").rglob("*") if p.is_file()):
        file = read_text(metric, HistoryError)
        sources.append(Source(str(metric.relative_to(run.parent)), "mlflow-metric", file.sha256, file.size))
        rows = []
        for line_number, line in enumerate(file.text.splitlines(), start=1):
            fields = line.split()
            value = number(fields[1]) if len(fields) in (2, 3) else None
            step = number(fields[2]) if len(fields) == 3 else 0.0
            if value is None or step is None:
                raise HistoryError(f"{metric}:{line_number}: expected '<timestamp> <value> <step>', got {line[:80]!r}")
            rows.append((str(metric.relative_to(run / "metrics")), "step", step, _infinite(value),
                         (number(fields[0]) or 0) / 1000))
        frames.append(pd.DataFrame(rows, columns=LONG_COLUMNS))
    if not frames:
        raise HistoryError(f"{run}: MLflow run without metric files")
    parsed.frames.extend(frames)
    for kind in ("params", "tags"):
        folder = run / kind
        for item in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if item.is_file():
                text = read_text(item).text.strip() if item.stat().st_size else ""
                if kind == "params":
                    parsed.hyperparameters[str(item.relative_to(folder))] = param_value(text)
                elif item.name == "mlflow.runName":
                    parsed.name = text or None
    parsed.name = parsed.name or (meta.get("run_name") or meta.get("name") or None)
    status = meta.get("status")
    _status_event(parsed, FILE_STATUS.get(status) if isinstance(status, int) else None)
    sources.append(Source(str((run / "meta.yaml").relative_to(run.parent)), "mlflow-meta", meta_file.sha256,
                          meta_file.size))
    _splits(parsed)
    return parsed, sources


def param_value(text: str) -> int | float | str:
    """A param as the script passed it: MLflow stores text, so '64' is read back as 64, not 64.0."""
    if re.fullmatch(r"[+-]?\d+", text.strip()):
        return int(text)
    value = number(text)
    return value if value is not None else text


def _splits(parsed: ParsedHistory) -> None:
    for frame in parsed.frames:
        for key in frame["key"].unique():
            if split := split_of(key):
                parsed.splits[key] = split


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def parse_sqlite(path: Path, selector: str | None) -> tuple[ParsedHistory, list[Source]]:
    """One run of an MLflow SQL store, chosen by id or name when the store holds several.

    Raises:
        HistoryError: not an MLflow store, several runs and no selector, or an unknown selector.
    """
    data = path.read_bytes()
    source = Source(path.name, "mlflow-sqlite", hashlib.sha256(data).hexdigest(), len(data))
    try:
        with _connect(path) as db:
            runs = _active_runs(db)
            run = _choose(path, runs, selector)
            metrics = db.execute("SELECT key, step, timestamp, value, is_nan FROM metrics WHERE run_uuid = ? "
                                 "ORDER BY key, step, timestamp", (run[0],)).fetchall()
            params = db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run[0],)).fetchall()
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"{path}: not a readable MLflow database ({exc})") from None
    parsed = ParsedHistory(format="mlflow-sqlite", name=run[1])
    rows = [(key, "step", float(step), math.nan if is_nan else _infinite(float(value)), timestamp / 1000)
            for key, step, timestamp, value, is_nan in metrics]
    if not rows:
        raise HistoryError(f"{path}: MLflow run {run[0]} has no metrics")
    parsed.frames.append(pd.DataFrame(rows, columns=LONG_COLUMNS))
    parsed.hyperparameters.update({k: param_value(v) for k, v in params})
    _status_event(parsed, run[2])
    _splits(parsed)
    return parsed, [source]


def _active_runs(db: sqlite3.Connection) -> list[tuple]:
    """(run id, run name, status, experiment) of the live runs in live experiments.

    MLflow 3 stores put experiments in workspaces (`experiments.workspace`); a run outside the default
    workspace is named with its workspace, so two experiments of the same name stay apart. Model
    metrics (`logged_model_metrics`) repeat the run's own metrics and are not read twice.
    """
    columns = {row[1] for row in db.execute("PRAGMA table_info(experiments)")}
    workspace = "e.workspace" if "workspace" in columns else "'default'"
    rows = db.execute(f"SELECT r.run_uuid, r.name, r.status, e.name, {workspace} FROM runs r "
                      "JOIN experiments e ON e.experiment_id = r.experiment_id "
                      "WHERE r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active' ORDER BY r.start_time")
    return [(run, name, status, experiment if space == "default" else f"{space}/{experiment}")
            for run, name, status, experiment, space in rows.fetchall()]


def _choose(path: Path, runs: list[tuple], selector: str | None) -> tuple:
    if selector:
        chosen = [r for r in runs if selector in (r[0], r[1])]
        if not chosen:
            raise HistoryError(f"{path}: no run '{selector}' (runs: {', '.join(r[1] or r[0] for r in runs)})")
        return chosen[0]
    if len(runs) == 1:
        return runs[0]
    if not runs:
        raise HistoryError(f"{path}: the MLflow store has no active runs")
    names = ", ".join(f"{r[0]} ({r[1]}, experiment {r[3]})" for r in runs[:10])
    raise HistoryError(f"{path}: {len(runs)} runs ({names}); choose one with --source '{path.name}#<run id or name>'")


FILESTORE_READER = Reader("mlflow-filestore", lambda target: is_filestore_run(target.path),
                          lambda target: parse_filestore_run(target.path), layouts=LAYOUTS, locate=located_runs)
SQLITE_READER = Reader("mlflow-sqlite", lambda target: is_sqlite(target.path),
                       lambda target: parse_sqlite(target.path, target.selector), files=("*.db", "*.sqlite"))
