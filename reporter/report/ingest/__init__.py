"""Ingest: the only stage that reads files. A run directory (or one file) becomes a typed `Run`.

Formats are detected by content, not by name, because labs rename their logs freely.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
import unicodedata
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from reporter.config import MAX_PLANNED_EPOCHS, run_config_from_dict
from reporter.errors import ConfigError, HistoryError, UsageError
from reporter.model import HISTORY_COLUMNS, Plan, Run, RunConfig, Source, config_keys, frozen_mapping
from reporter.report.ingest.files import TextFile, read_text
from reporter.report.ingest.labels import read_labels
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.predictions import read_predictions
from reporter.report.ingest.registry import (
    RUN_FILE,
    Candidate,
    histories,
    named_history,
    no_history_error,
)
from reporter.report.ingest.registry import (
    looks_like_run as looks_like_run,  # the face batch discovery asks
)
from reporter.report.ingest.sidecar import PLAN_KEYS, YAML_FILES, read_sidecars
from reporter.report.ingest.tabular import repeated, split_of

if TYPE_CHECKING:
    from pandas._typing import ArrayLike

    from reporter.config import Settings

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_ID = 100
"""Longest id kept as it is; file names may hold 255 bytes, and the id is also part of temporary names."""


def resolve_run_path(target: str, runs_root: Path) -> Path:
    """A run directory or file from a path or a run id under the runs root.

    Raises:
        UsageError: neither exists, or the id tries to leave the runs root.
    """
    path = Path(target)
    if path.exists():
        return path
    if "/" not in target and "\\" not in target and target not in ("", ".", ".."):
        candidate = runs_root / target
        if candidate.exists():
            return candidate
    raise UsageError(f"{target}: no such run directory or file, and no run id '{target}' under {runs_root}")


def _own_name(path: Path) -> str:
    """The run's own name as the user wrote it: the folder's name, or the single history file's stem."""
    return path.resolve().name if path.is_dir() else path.stem


def run_id_for(path: Path, root: Path | None = None) -> str:
    """The run's folder name under out/: the same every night, and different for different runs.

    Below `root` (a batch root, or the runs root) the id spells the path from it, so runs/expA/seed0
    and runs/expB/seed0 become expA-seed0 and expB-seed0 instead of both overwriting out/seed0.
    Characters outside [A-Za-z0-9._-] become '-', which keeps the id a plain folder name and a link
    that needs no escaping anywhere (shells, URLs, zip files, cron mail). Where that drops letters (a
    Chinese name) or the id would be too long for a file name, an 8-digit hash of the original path
    keeps different runs apart: 实验一 becomes run-<hash>, 实验一/seed0 seed0-<hash>. The report still
    shows the run's real name.
    """
    parts = [_own_name(path)]
    if root is not None:
        resolved, base = path.resolve(), root.resolve()
        if resolved != base and resolved.is_relative_to(base):
            parts = [*resolved.relative_to(base).parts[:-1], parts[0]]
    original = unicodedata.normalize("NFC", "-".join(parts))
    cleaned = _SAFE_ID.sub("-", original).strip(".-")
    if cleaned and original.isascii() and len(cleaned) <= _MAX_ID:
        return cleaned
    digest = hashlib.sha256(original.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned[:_MAX_ID - 9].rstrip('.-') or 'run'}-{digest}"


def _read_run_toml(directory: Path) -> tuple[RunConfig, TextFile | None]:
    path = directory / RUN_FILE
    if not path.exists():
        return RunConfig(), None
    file = read_text(path, ConfigError)
    try:
        data = tomllib.loads(file.text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the file") from None
    return run_config_from_dict(data, origin=str(path)), file


def _candidates(directory: Path, config: RunConfig) -> list[Candidate]:
    excluded = {RUN_FILE, *YAML_FILES}
    if config.labels_file:
        excluded.add(Path(config.labels_file).name)
    return histories(directory, excluded)


def _find_history(directory: Path, config: RunConfig, flag: str | None = None) -> Candidate:
    """The history to read: the one named (by run.toml, or by `flag` on the command line), else the only one."""
    if config.history:
        name, _, selector = config.history.partition("#")
        return named_history(_inside(directory, name, "history", flag), directory, selector or None)
    found = _candidates(directory, config)
    if not found:
        raise no_history_error(directory)
    if len(found) > 1:
        names = ", ".join(str(c.path.relative_to(directory)) or "." for c in found)
        raise HistoryError(f"{directory}: several histories ({names}); choose one with --source FILE or "
                           "history = \"FILE\" in run.toml")
    return found[0]


def _inside(directory: Path, relative: str, what: str, flag: str | None = None) -> Path:
    """A path named in run.toml (or by a command-line flag), refused when it points outside the run directory.

    Raises:
        UsageError: the flag's path is outside. ConfigError: run.toml's path is outside.
    """
    path = (directory / relative).resolve()
    if not path.is_relative_to(directory.resolve()) and flag is not None:
        raise UsageError(f"{flag} '{relative}' points outside the run directory {directory}; name a file inside it")
    if not path.is_relative_to(directory.resolve()):
        raise ConfigError(f"{directory / 'run.toml'}: {what} '{relative}' points outside the run directory; keep inputs inside it")
    return path


def _appended_sessions(x: np.ndarray) -> np.ndarray:
    """x with each appended session (x back at the very first value) moved after the previous one."""
    steps = np.diff(x)
    step = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1.0
    out, offset = x.astype(float).copy(), 0.0
    for i in range(1, len(x)):
        if x[i] < x[i - 1] and x[i] == x[0]:
            offset = out[i - 1] + step - x[i]
        out[i] = x[i] + offset
    return out


def history_frame(parsed: ParsedHistory, source: str) -> tuple[pd.DataFrame, int]:
    """The long history table with restarts resolved, and the number of restarts.

    When x goes back to the very first x, a new session was appended (Keras CSVLogger(append=True)
    across fit() calls): its x continues after the previous session. When x goes back to a later
    point, training resumed from a checkpoint: the last value at each x wins.

    Keys are sorted as integer codes and rows taken once, column by column, so a million-row history
    costs a few integer arrays beside the table rather than hashing its strings again for each step.
    """
    frame = parsed.long_table()
    frame.insert(0, "source", repeated([source], [len(frame)]).set_axis(frame.index))
    codes = _key_codes(frame["key"].array)
    x = frame["x"].to_numpy()
    if _in_order(codes, x):  # a table read column by column: nothing to move
        return frame[list(HISTORY_COLUMNS)].reset_index(drop=True), 0
    went_back = _went_back(codes, x)
    restarts = int(np.bincount(codes[went_back]).max()) if went_back.any() else 0
    if went_back.any():
        x = x.copy()
        for code in np.unique(codes[went_back]):
            rows = np.flatnonzero(codes == code)
            x[rows] = _appended_sessions(x[rows])
        frame["x"] = x
    rows = _last_of_each_point(codes, x)
    del codes, x
    if len(rows) == len(frame) and bool((rows == np.arange(len(rows))).all()):
        return frame[list(HISTORY_COLUMNS)].reset_index(drop=True), restarts
    return pd.DataFrame({column: frame.pop(column).take(rows).reset_index(drop=True)
                         for column in HISTORY_COLUMNS}, copy=False), restarts


def _key_codes(keys: ArrayLike) -> np.ndarray:
    """Each row's key as its rank among the sorted keys; only rows where the key changes are hashed, since a
    long table mostly holds each key's values together."""
    if not len(keys):
        return np.zeros(0, dtype=np.int32)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ranks = pd.factorize(np.asarray(keys[starts], dtype=object), sort=True)[0].astype(np.int32)
    return np.repeat(ranks, np.diff(np.append(starts, len(keys))))


def _in_order(codes: np.ndarray, x: np.ndarray) -> bool:
    """Whether the rows are already sorted by key, then by strictly rising x (so no restart and no repeat)."""
    same = codes[1:] == codes[:-1]
    return bool((codes[1:] >= codes[:-1]).all() and (x[1:] > x[:-1])[same].all())


def _went_back(codes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rows whose x is below the previous x of the same key, in file order."""
    by_key = np.argsort(codes, kind="stable")
    same = codes[by_key[1:]] == codes[by_key[:-1]]
    back = np.zeros(len(x), dtype=bool)
    back[by_key[1:]] = same & (x[by_key[1:]] < x[by_key[:-1]])
    return back


def _last_of_each_point(codes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row numbers sorted by (key, x), keeping the last row in file order at each (key, x), NaN x last."""
    order = np.lexsort((x, codes))
    key, at = codes[order], x[order]
    same_point = (key[1:] == key[:-1]) & ((at[1:] == at[:-1]) | (np.isnan(at[1:]) & np.isnan(at[:-1])))
    return order[np.append(~same_point, True)]


def _epoch_base(frame: pd.DataFrame) -> int:
    """0 when the history counts from 0 (Keras, Lightning, an MLflow or TensorBoard step that is the epoch)."""
    epochs = frame.loc[frame["x_kind"] == "epoch", "x"]
    epochs = epochs if len(epochs) else frame.loc[frame["x_kind"] == "step", "x"]
    return 0 if len(epochs) and epochs.min() == 0 else 1


def load_run(target: str, runs_root: Path = Path("runs"), overrides: RunConfig = RunConfig(),
             root: Path | None = None) -> Run:
    """Everything reporter knows about one run, read from its directory or single history file.

    Its id is spelled from `root` (the batch's root), else from the runs root when the run lies below it.

    Raises:
        UsageError: the run cannot be found.
        ConfigError: run.toml is invalid.
        HistoryError / DatasetError: an input cannot be read.
    """
    path = resolve_run_path(target, runs_root)
    directory = path if path.is_dir() else path.parent
    config, toml_file = _read_run_toml(path) if path.is_dir() else (RunConfig(), None)
    config = _merge(config, overrides)
    flag = "--source" if overrides.history else None
    candidate = _find_history(path, config, flag) if path.is_dir() else named_history(path, directory)
    parsed, sources = candidate.load()
    frame, restarts = history_frame(parsed, candidate.path.name)
    if frame.empty:
        raise HistoryError(f"{candidate.path}: the history has no values")
    sidecar_values, sidecar_plan, sidecar_sources = read_sidecars(candidate.path.parent if candidate.path.is_file()
                                                                  else candidate.path)
    hyperparameters = {**sidecar_values, **parsed.hyperparameters}
    sources += sidecar_sources
    if toml_file is not None:
        sources.append(Source("run.toml", "run.toml", toml_file.sha256, toml_file.size))
    labels = None
    if config.labels_file:
        labels_path = _inside(directory, config.labels_file, "labels.file")
        labels = replace(read_labels(labels_path, config.label_column, config.text_column), path=config.labels_file)
        sources.append(Source(config.labels_file, "labels", labels.sha256, labels.size))
    splits = {key: split for key in frame["key"].unique() if (split := split_of(key))} | parsed.splits
    predictions, prediction_sources = read_predictions(directory) if path.is_dir() else ((), [])
    sources += prediction_sources
    last = recorded_last_write(frame)
    return Run(
        id=run_id_for(path, root or runs_root),
        name=config.name or parsed.name or _name_from(hyperparameters) or _own_name(path),
        dataset=config.dataset or _text(hyperparameters.get("dataset")),
        sources=tuple(sources),
        history=frame,
        hyperparameters=frozen_mapping(hyperparameters),
        plan=_plan(config, parsed.plan or sidecar_plan, hyperparameters),
        events=tuple(parsed.events),
        splits=frozen_mapping(splits),
        best_so_far_keys=frozenset(parsed.best_so_far_keys),
        logged_stats=tuple(parsed.logged_stats),
        labels=labels,
        config=config,
        last_write=last or datetime.fromtimestamp(candidate.path.stat().st_mtime, tz=timezone.utc),
        last_write_recorded=last is not None,
        family=parsed.format,
        epoch_base=_epoch_base(frame),
        restarts=restarts,
        predictions=predictions,
        location=path.resolve(),
        metric_hint=parsed.metric_hint,
        skipped_lines=tuple(parsed.skipped_lines),
    )


def _merge(config: RunConfig, overrides: RunConfig) -> RunConfig:
    given = {k: v for k, v in overrides.__dict__.items() if v is not None}
    return replace(config, **given)


def _plan(config: RunConfig, parsed: Plan | None, hyperparameters: dict[str, Any]) -> Plan | None:
    """run.toml first, then what the history's format says, then an epochs hyperparameter.

    A derived length beyond MAX_PLANNED_EPOCHS (max_epochs: 1e20, a tiny UMC delta) means "no fixed end":
    it is ignored, not projected to.
    """
    if config.planned_epochs is not None:
        return Plan(epochs=config.planned_epochs, basis="run_toml")
    if parsed is not None and parsed.epochs <= MAX_PLANNED_EPOCHS:
        return parsed
    for key in config_keys(hyperparameters, PLAN_KEYS):
        value = hyperparameters[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= MAX_PLANNED_EPOCHS \
                and float(value).is_integer():
            return Plan(epochs=int(value), basis="config", params={"key": key})
    if parsed is not None:
        log.info("ignored a planned length of %s epochs (more than %s): the run has no fixed end", parsed.epochs,
                 f"{MAX_PLANNED_EPOCHS:,}")
    return None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _name_from(hyperparameters: dict[str, Any]) -> str | None:
    return _text(hyperparameters.get("logger_name"))


def load_settings(path: Path | None) -> Settings:
    """Lab-wide settings from a TOML file, or the defaults when no file is given.

    Raises:
        ConfigError: the file is unreadable, not TOML, or fails validation.
    """
    from reporter.config import Settings, settings_from_dict

    if path is None:
        return Settings()
    file = read_text(path, ConfigError)
    try:
        data = tomllib.loads(file.text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the file") from None
    return settings_from_dict(data, origin=str(path))


RECORDED_SINCE = 1e9
"""Wall times past this (2001-09-09, in Unix seconds) are moments; smaller ones count seconds from the start of
training (Ultralytics' `time`) and date nothing."""


def recorded_last_write(frame: pd.DataFrame) -> datetime | None:
    """When the history says its last entry was written (the latest wall time it records as a moment), else None:
    a file's mtime is when it was copied or checked out as much as when the run wrote it, so status and hours
    since the last entry read the recorded time first."""
    walls = pd.to_numeric(frame["wall_time"], errors="coerce") if "wall_time" in frame else pd.Series(dtype=float)
    walls = walls[np.isfinite(walls) & (walls > RECORDED_SINCE)]
    return datetime.fromtimestamp(float(walls.max()), tz=timezone.utc) if len(walls) else None

