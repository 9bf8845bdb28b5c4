"""A training script's own history, written in the standard format reporter reads best (docs/history-format.md).

    run folder/
      history.jsonl   a header line, then one JSON object per log call: time, epoch, step, metrics
      params.yaml     the hyperparameters
      status.json     running | finished | crashed | stopped_early, the plan, and a crash's traceback

Training must not wait for it: records are buffered and appended in one write when an epoch begins,
when `flush_seconds` have passed, or on `flush()`. A crash or kill -9 at any moment leaves whole lines
plus at most one torn last line, which readers ignore and the next Recorder on the folder cuts off; a
failed write (full disk) is logged, kept in the buffer and retried, and training goes on. status.json
and params.yaml are replaced atomically, so a concurrent reader sees the old file or the new one.
Only rank 0 of a distributed job writes (RANK, else LOCAL_RANK); the other ranks' recorders do nothing.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import traceback
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Mapping

from reporter.errors import OutputError, UsageError

log = logging.getLogger(__name__)

HISTORY, PARAMS, STATUS = "history.jsonl", "params.yaml", "status.json"
FORMAT, STATUS_FORMAT, VERSION = "reporter.history", "reporter.status", 1
STATUSES = ("running", "finished", "crashed", "stopped_early")
PLAN_KEYS = ("epochs", "metric")
"""What a plan may say: the planned number of epochs, and the metric the run is judged by."""


def is_rank_zero(environ: Mapping[str, str] = os.environ) -> bool:
    """True unless RANK (or, without it, LOCAL_RANK) names another process of a distributed job."""
    for name in ("RANK", "LOCAL_RANK"):
        value = environ.get(name, "").strip()
        if value:
            return value == "0"
    return True


def checked_plan(plan: Mapping[str, Any] | None) -> dict[str, Any]:
    """The plan with its values checked, so a typo fails at the start of training, not in the report.

    Raises:
        UsageError: an unknown key, a non-positive epoch count or a metric that is not a name.
    """
    plan = dict(plan or {})
    problems = [f"plan: unknown key '{key}' (use {', '.join(PLAN_KEYS)})" for key in plan if key not in PLAN_KEYS]
    epochs = plan.get("epochs")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, (int, float))
                               or not float(epochs).is_integer() or epochs <= 0):
        problems.append(f"plan: epochs must be a positive whole number, got {epochs!r}")
    if plan.get("metric") is not None and not isinstance(plan["metric"], str):
        problems.append(f"plan: metric must be a metric's name, got {plan['metric']!r}")
    if problems:
        raise UsageError("; ".join(problems))
    return {key: int(value) if key == "epochs" else value for key, value in plan.items() if value is not None}


class Recorder:
    """Records one training run into `dir`; a context manager that marks the run finished or crashed.

    params: hyperparameters (params.yaml). plan: {"epochs": N, "metric": name}, the planned length and
    the metric the report is about. clock: the wall clock (injectable for tests).

    Raises:
        UsageError: a bad plan. OutputError: the folder cannot be written, or holds another kind of history.jsonl.
    """

    def __init__(self, dir: str | os.PathLike[str], params: Mapping[str, Any] | None = None,
                 plan: Mapping[str, Any] | None = None, *, flush_seconds: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.dir = Path(dir)
        self.active = is_rank_zero()
        self.status = "running"
        self._plan = checked_plan(plan)
        self._params: dict[str, Any] = dict(params or {})
        self._clock, self._flush_seconds = clock, flush_seconds
        self._buffer: list[str] = []
        self._good_size = 0
        self._flushed_epoch: int | None = None
        self._last_flush = clock()
        self._position: dict[str, float] = {}
        self._error: str | None = None
        if self.active:
            self._start()

    @property
    def history_path(self) -> Path:
        return self.dir / HISTORY

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self.finish("crashed", "".join(traceback.format_exception(kind, exc, tb)))
        elif self.status == "running":
            self.finish("finished")

    def log(self, metrics: Mapping[str, Any], step: int | None = None, epoch: float | None = None) -> None:
        """Buffer one record: every value that is a number (tensors and numpy scalars included).

        It reaches the file when a new epoch begins, after `flush_seconds`, on `flush()` or `finish()`.
        """
        if not self.active:
            return
        values = {str(key): number for key, value in metrics.items() if (number := _number(value)) is not None}
        record: dict[str, Any] = {"time": round(self._clock(), 3)}
        for name, x in (("epoch", epoch), ("step", step)):
            if x is not None and (number := _number(x)) is not None:
                record[name] = self._position[name] = number
        record["metrics"] = values
        self._buffer.append(json.dumps(record, allow_nan=True) + "\n")
        whole = math.floor(epoch) if epoch is not None and math.isfinite(float(epoch)) else None
        if (whole is not None and whole != self._flushed_epoch) or \
                self._clock() - self._last_flush >= self._flush_seconds:
            self.flush()
            self._flushed_epoch = whole if whole is not None else self._flushed_epoch

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Add hyperparameters (later values win) and rewrite params.yaml."""
        self._params.update(params)
        if self.active:
            self._quietly(self._write_params)

    def set_plan(self, plan: Mapping[str, Any]) -> None:
        """Add to the plan once it is known (a framework tells the epochs when training begins).

        Raises:
            UsageError: a bad plan.
        """
        self._plan.update(checked_plan(plan))
        if self.active:
            self._quietly(self._write_status)

    def flush(self) -> None:
        """Append the buffered records in one write; on failure keep them, log it and retry next time."""
        self._last_flush = self._clock()
        if not self.active or not self._buffer:
            return
        data = "".join(self._buffer).encode("utf-8")
        try:
            _append(self.history_path, data, self._good_size)
        except OSError as exc:
            log.warning("%s: could not write %d records (%s); training goes on, retrying at the next flush",
                        self.history_path, len(self._buffer), exc.strerror or exc)
            return
        self._good_size += len(data)
        self._buffer.clear()

    def finish(self, status: str = "finished", error: str | None = None) -> None:
        """Flush and record how the run ended; `error` is a crash's traceback.

        Raises:
            UsageError: a status other than finished, crashed or stopped_early.
        """
        if status not in STATUSES[1:]:
            raise UsageError(f"finish: unknown status {status!r} (use {', '.join(STATUSES[1:])})")
        self.status, self._error = status, error
        self.flush()
        if self.active:
            self._quietly(self._write_status)

    def _start(self) -> None:
        """Create the folder, cut a torn last line left by a killed run, and write the three files."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._good_size = _whole_lines_size(self.history_path)
            if self._good_size == 0:
                header = {"format": FORMAT, "version": VERSION, "started": round(self._clock(), 3)}
                _append(self.history_path, (json.dumps(header) + "\n").encode(), 0)
                self._good_size = self.history_path.stat().st_size
            elif not _is_recorded_history(self.history_path):
                raise OutputError(f"{self.history_path}: not a history written by reporter.Recorder; "
                                  "record into another folder")
            self._write_params()
            self._write_status()
        except OSError as exc:
            raise OutputError(f"{self.dir}: cannot record the run here ({exc.strerror or exc}); "
                              "check the path and its permissions") from None

    def _write_params(self) -> None:
        import yaml

        data = {str(key): _plain(value) for key, value in self._params.items()}
        _replace(self.dir / PARAMS, yaml.safe_dump(data, sort_keys=True, allow_unicode=True).encode("utf-8"))

    def _write_status(self) -> None:
        data: dict[str, Any] = {"format": STATUS_FORMAT, "version": VERSION, "status": self.status,
                                "updated": round(self._clock(), 3), **self._position, "plan": self._plan}
        if self._error is not None:
            data["error"] = self._error
        _replace(self.dir / STATUS, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))

    def _quietly(self, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            log.warning("%s: could not update the run's files (%s); training goes on", self.dir, exc.strerror or exc)


def _number(value: Any) -> float | None:
    """A float from an int, float, numpy scalar or one-element tensor; None for anything else (text, bools)."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):
        return None
    return int(number) if number.is_integer() and isinstance(value, int) else number


def _plain(value: Any) -> Any:
    """A value YAML can write safely: numbers, text, booleans, None, lists and mappings of them; else its text.

    Subclasses (numpy floats, str enums such as HF's SchedulerType) become the plain type: safe_dump refuses them.
    """
    if isinstance(value, Enum):
        value = value.value
    if value is None or isinstance(value, bool):
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _append(path: Path, data: bytes, good_size: int) -> None:
    """Append data after the first good_size bytes, first cutting a torn tail left by a failed write."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        if os.fstat(fd).st_size != good_size:
            os.ftruncate(fd, good_size)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _whole_lines_size(path: Path) -> int:
    """The size of the file up to its last newline (0 when missing): what a killed writer left whole."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    return data.rfind(b"\n") + 1


def _is_recorded_history(path: Path) -> bool:
    with path.open("rb") as file:
        first = file.readline(4096)
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def _replace(path: Path, data: bytes) -> None:
    """Write a whole file beside the target, then rename it over the target: readers never see half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
