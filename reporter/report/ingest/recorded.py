"""The standard history `reporter.Recorder` writes (docs/history-format.md): history.jsonl, params.yaml, status.json.

Known by its header line. The file may be growing while it is read: a last line without its newline
is a write in progress or a write a crash tore, and is left out unless it is already whole JSON.
status.json says how the run ended (finished, crashed with its traceback, stopped early) and its plan;
while it says running, the timing decides between running and stalled, as for any history.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from reporter.errors import ConfigError, HistoryError
from reporter.model import Event, Plan, Source
from reporter.report.ingest.files import read_text
from reporter.report.ingest.parsed import LONG_COLUMNS, ParsedHistory
from reporter.report.ingest.reader import Read, Reader, Target

FORMAT, STATUS_FORMAT = "reporter.history", "reporter.status"
PARAMS, STATUS = "params.yaml", "status.json"
_ENDINGS = {"finished": "finished", "crashed": "crash", "stopped_early": "early_stop"}
"""status.json's status -> the event it is; 'running' is none."""


def _header(text: str) -> dict[str, Any] | None:
    """The header line, looked at only when it names the format: any .jsonl is sniffed, and some nest deeply."""
    first = text.split("\n", 1)[0]
    if f'"{FORMAT}"' not in first[:1000]:
        return None
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        return None
    return header if isinstance(header, dict) and header.get("format") == FORMAT else None


def _sniff(target: Target) -> bool:
    return target.path.is_file() and target.file.text.startswith("{") and _header(target.file.text) is not None


def records(text: str, shown: str) -> list[dict[str, Any]]:
    """The records after the header, a torn or unfinished last line left out.

    Raises:
        HistoryError: a line before the last that is not a JSON object (the file was edited or corrupted).
    """
    lines = text.split("\n")[1:]
    found = []
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            if number - 1 == len(lines):
                break  # the last line, still being written or torn by a crash
            raise HistoryError(f"{shown}:{number}: not a JSON record ({exc}); remove or repair the line") from None
        if not isinstance(record, dict):
            raise HistoryError(f"{shown}:{number}: expected a JSON object with time, epoch, step and metrics")
        found.append(record)
    return found


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def long_table(found: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per metric value: x is the record's epoch, else its step, else its position."""
    rows = []
    for index, record in enumerate(found):
        epoch, step = _number(record.get("epoch")), _number(record.get("step"))
        x_kind, x = ("epoch", epoch) if epoch is not None and math.isfinite(epoch) else \
            ("step", step if step is not None else float(index))
        metrics = record.get("metrics")
        for key, value in (metrics.items() if isinstance(metrics, dict) else ()):
            if (number := _number(value)) is not None:
                rows.append((str(key), x_kind, x, number, _number(record.get("time"))))
    return pd.DataFrame(rows, columns=LONG_COLUMNS)


def _read(target: Target) -> Read:
    file = target.file
    table = long_table(records(file.text, target.shown))
    if table.empty:
        raise HistoryError(f"{target.path}: no metrics recorded yet; report again once training has logged some")
    parsed = ParsedHistory(format="reporter-recorder", frames=[table])
    sources = [Source(target.shown, parsed.format, file.sha256, file.size)]
    folder = target.path.parent
    if (folder / PARAMS).is_file():
        parsed.hyperparameters.update(_params(folder / PARAMS))
        sources.append(Source(PARAMS, "config", *_identity(folder / PARAMS)))
    if (folder / STATUS).is_file():
        _apply_status(parsed, _status(folder / STATUS), table)
        sources.append(Source(STATUS, "status", *_identity(folder / STATUS)))
    return parsed, sources


def _identity(path: Any) -> tuple[str, int]:
    file = read_text(path, HistoryError)
    return file.sha256, file.size


def _params(path: Any) -> dict[str, Any]:
    """params.yaml's plain values (numbers, text, booleans).

    Raises:
        ConfigError: the file is not YAML.
    """
    import yaml

    try:
        data = yaml.safe_load(read_text(path, ConfigError).text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]}); fix or delete the file") from None
    return {str(k): v for k, v in data.items() if isinstance(v, (int, float, str, bool))} \
        if isinstance(data, dict) else {}


def _status(path: Any) -> dict[str, Any]:
    """status.json as written (atomically) by the Recorder.

    Raises:
        HistoryError: not JSON, or not a status file.
    """
    try:
        data = json.loads(read_text(path, HistoryError).text)
    except ValueError as exc:
        raise HistoryError(f"{path}: invalid JSON ({exc}); fix or delete the file") from None
    if not isinstance(data, dict) or data.get("format") != STATUS_FORMAT:
        raise HistoryError(f"{path}: not a reporter status file (no \"format\": \"{STATUS_FORMAT}\"); "
                           "delete it or move it out of the run folder")
    return data


def _apply_status(parsed: ParsedHistory, status: dict[str, Any], table: pd.DataFrame) -> None:
    """The run's end as an event at the last x, its plan and its primary metric."""
    ending = _ENDINGS.get(str(status.get("status")))
    if ending is not None:
        error = str(status.get("error") or "").strip()
        last = float(table["x"].max())
        parsed.events.append(Event(ending, None if ending == "finished" else last,
                                   error.splitlines()[-1][:300] if error else ""))
    plan = status["plan"] if isinstance(status.get("plan"), dict) else {}
    epochs = _number(plan.get("epochs"))
    if epochs is not None and epochs > 0 and epochs.is_integer():
        parsed.plan = Plan(epochs=int(epochs), basis="config", params={"file": STATUS})
    if isinstance(plan.get("metric"), str):
        parsed.metric_hint = plan["metric"]


READER = Reader("reporter-recorder", _sniff, _read, files=("*.jsonl",), suffixes=(".jsonl",))
