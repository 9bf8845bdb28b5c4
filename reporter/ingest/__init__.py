"""Ingest: the only stage that reads files. A run directory (or one file) becomes a typed `Run`.

Formats are detected by content, not by name, because labs rename their logs freely.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from reporter.config import run_config_from_dict
from reporter.errors import ConfigError, HistoryError, UsageError
from reporter.ingest.files import TextFile, read_text
from reporter.ingest.labels import read_labels
from reporter.ingest.parsed import ParsedHistory
from reporter.ingest.tabular import looks_tabular, parse_csv, parse_json
from reporter.ingest.umc import looks_like_umc, parse_umc
from reporter.model import HISTORY_COLUMNS, Plan, Run, RunConfig, Source, frozen_mapping

HISTORY_SUFFIXES = (".log", ".txt", ".csv", ".tsv", ".jsonl", ".json")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


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


def run_id_for(path: Path) -> str:
    """A file-system-safe id: the directory name (or file stem) with unsafe characters replaced."""
    name = path.resolve().name if path.is_dir() else path.stem
    cleaned = _SAFE_ID.sub("-", name).strip(".-")
    return cleaned or "run"


def _read_run_toml(directory: Path) -> tuple[RunConfig, TextFile | None]:
    path = directory / "run.toml"
    if not path.exists():
        return RunConfig(), None
    file = read_text(path, ConfigError)
    try:
        data = tomllib.loads(file.text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the file") from None
    return run_config_from_dict(data, origin=str(path)), file


def _parser_for(file: TextFile) -> Callable[[TextFile], ParsedHistory] | None:
    if looks_like_umc(file.text):
        return parse_umc
    if file.text.lstrip().startswith(("[", "{")):
        return parse_json
    if looks_tabular(file.text):
        return parse_csv
    return None


def _candidates(directory: Path, config: RunConfig) -> list[Path]:
    excluded = {"run.toml"}
    if config.labels_file:
        excluded.add(Path(config.labels_file).name)
    return sorted(
        p for p in directory.iterdir()
        if p.is_file() and p.suffix.lower() in HISTORY_SUFFIXES and p.name not in excluded and not p.name.startswith(".")
    )


def _find_history(directory: Path, config: RunConfig) -> tuple[TextFile, Callable[[TextFile], ParsedHistory]]:
    if config.history:
        path = _inside(directory, config.history, "history")
        file = read_text(path, HistoryError)
        parser = _parser_for(file)
        if parser is None:
            raise HistoryError(f"{path}: not a history reporter can read (UMC log, CSV, JSON Lines with an epoch or step column)")
        return file, parser
    found = []
    for path in _candidates(directory, config):
        file = read_text(path, HistoryError)
        if (parser := _parser_for(file)) is not None:
            found.append((file, parser))
    if not found:
        raise HistoryError(
            f"{directory}: no training history found (looked for UMC logs and CSV/JSON Lines files with an "
            f"epoch or step column among {', '.join('*' + s for s in HISTORY_SUFFIXES)})"
        )
    if len(found) > 1:
        names = ", ".join(file.path.name for file, _ in found)
        raise HistoryError(f"{directory}: several histories ({names}); name one with history = \"...\" in run.toml")
    return found[0]


def _inside(directory: Path, relative: str, what: str) -> Path:
    """A path named in run.toml, refused when it points outside the run directory."""
    path = (directory / relative).resolve()
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
    """
    frame = parsed.long_table()
    frame.insert(0, "source", source)
    went_back = frame.groupby("key", sort=False)["x"].diff() < 0
    restarts = int(frame.loc[went_back, "key"].value_counts().max()) if went_back.any() else 0
    for key in frame.loc[went_back, "key"].unique():
        rows = frame.index[frame["key"] == key]
        frame.loc[rows, "x"] = _appended_sessions(frame.loc[rows, "x"].to_numpy())
    frame = frame.drop_duplicates(subset=["key", "x"], keep="last").sort_values(["key", "x"], kind="stable")
    return frame[list(HISTORY_COLUMNS)].reset_index(drop=True), restarts


def _epoch_base(frame: pd.DataFrame) -> int:
    epochs = frame.loc[frame["x_kind"] == "epoch", "x"]
    return 0 if len(epochs) and epochs.min() == 0 else 1


def load_run(target: str, runs_root: Path = Path("runs"), overrides: RunConfig = RunConfig()) -> Run:
    """Everything reporter knows about one run, read from its directory or single history file.

    Raises:
        UsageError: the run cannot be found.
        ConfigError: run.toml is invalid.
        HistoryError / DatasetError: an input cannot be read.
    """
    path = resolve_run_path(target, runs_root)
    directory = path if path.is_dir() else path.parent
    config, toml_file = _read_run_toml(path) if path.is_dir() else (RunConfig(), None)
    config = _merge(config, overrides)
    file, parser = _find_history(path, config) if path.is_dir() else _single_file(path)
    parsed = parser(file)
    frame, restarts = history_frame(parsed, file.path.name)
    sources = [Source(str(file.path.name), parsed.format, file.sha256, file.size)]
    if toml_file is not None:
        sources.append(Source("run.toml", "run.toml", toml_file.sha256, toml_file.size))
    labels = None
    if config.labels_file:
        labels_path = _inside(directory, config.labels_file, "labels.file")
        labels = replace(read_labels(labels_path, config.label_column, config.text_column), path=config.labels_file)
        sources.append(Source(config.labels_file, "labels", labels.sha256, labels.size))
    return Run(
        id=run_id_for(path),
        name=config.name or _name_from(parsed.hyperparameters) or run_id_for(path),
        dataset=config.dataset or _text(parsed.hyperparameters.get("dataset")),
        sources=tuple(sources),
        history=frame,
        hyperparameters=frozen_mapping(parsed.hyperparameters),
        plan=_plan(config, parsed.plan),
        events=tuple(parsed.events),
        splits=frozen_mapping(parsed.splits),
        best_so_far_keys=frozenset(parsed.best_so_far_keys),
        logged_stats=tuple(parsed.logged_stats),
        labels=labels,
        config=config,
        last_write=datetime.fromtimestamp(file.path.stat().st_mtime, tz=timezone.utc),
        family=parsed.format,
        epoch_base=_epoch_base(frame),
        restarts=restarts,
    )


def _single_file(path: Path) -> tuple[TextFile, Callable[[TextFile], ParsedHistory]]:
    file = read_text(path, HistoryError)
    parser = _parser_for(file) or _BY_SUFFIX.get(path.suffix.lower())
    if parser is None:
        raise HistoryError(
            f"{path}: not a history reporter can read (a UMC log, or CSV/JSON Lines with an epoch or step column)"
        )
    return file, parser


_BY_SUFFIX: dict[str, Callable[[TextFile], ParsedHistory]] = {
    ".csv": parse_csv, ".tsv": parse_csv, ".json": parse_json, ".jsonl": parse_json}
"""A file named explicitly is parsed by its suffix when sniffing fails, for the more precise error."""


def _merge(config: RunConfig, overrides: RunConfig) -> RunConfig:
    given = {k: v for k, v in overrides.__dict__.items() if v is not None}
    return replace(config, **given)


def _plan(config: RunConfig, parsed: Plan | None) -> Plan | None:
    if config.planned_epochs is not None:
        return Plan(epochs=config.planned_epochs, basis="run_toml")
    return parsed


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _name_from(hyperparameters: dict[str, Any]) -> str | None:
    return _text(hyperparameters.get("logger_name"))


def load_settings(path: Path | None) -> "Settings":
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
