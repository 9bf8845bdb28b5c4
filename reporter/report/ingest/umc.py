"""UMC text logs (thuiar/UMC and its monitoring fork); see shared/reference/umc-formats.md.

Traps handled here, each from the UMC code itself:
- the losses printed under `***** Epoch: N *****` belong to epoch N-1;
- `num_train_epochs` is ignored: the code runs int((1 - thres) / delta) epochs;
- the fork's `Training Statistics` dict reports a best-so-far train+dev NMI, not a per-epoch value,
  and may print numpy scalars as `np.float64(0.24)`;
- test metrics are percent (x100), the fork's monitor is a fraction.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from reporter.errors import HistoryError
from reporter.model import Event, LoggedStats, Plan, scalar
from reporter.report.ingest.files import TextFile, checked_lines
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.reader import text_reader

if TYPE_CHECKING:
    import pandas as pd

_NUMBER = r"([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|nan|NaN|inf|-inf|Infinity|-Infinity)"
_PARAMS_OPEN = re.compile(r"^=+ Params =+$")
_PARAMS_CLOSE = re.compile(r"^=+ End Params =+$")
_PARAM = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")
_PRETRAIN_EPOCH = re.compile(r"^\*+ Epoch: (\d+): (?:Eval|train) results \*+$")
_TRAIN_LOSS = re.compile(r"^\s*train_loss = " + _NUMBER + r"\s*$")
_EPOCH_HEADER = re.compile(r"^\*+ Epoch: (\d+) \*+$")
_SUP_LOSS = re.compile(r"^Supervised Training Loss: " + _NUMBER)
_UNSUP_LOSS = re.compile(r"^Unsupervised Training Loss: " + _NUMBER)
_PLAIN_LOSS = re.compile(r"^Training Loss: " + _NUMBER)
_FORK_LOSS = re.compile(r"^Epoch (\d+): Loss = " + _NUMBER)
_MIN_SAMPLES = re.compile(r"^Minimum samples per class: (\d+)")
_STATS = re.compile(r"^Training Statistics: (.*)$")
_EARLY_STOP = re.compile(r"[Ee]arly stopping at epoch (\d+)")
_TOLERANCE = re.compile(r"^Reached tolerance threshold")
_FINISHED = re.compile(r"^Training is finished")
_TEST_HEADER = re.compile(r"^\*+ Test results \*+$")
_TEST_VALUE = re.compile(r"^\s*(\w+) = " + _NUMBER + r"\s*$")
_NUMPY_SCALAR = re.compile(r"np\.(?:float|int)\d*\(([^()]*)\)")
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):")
_ERROR_LINE = re.compile(r"^(?:[\w.]+(?:Error|Exception)|KeyboardInterrupt)\b.*")
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) - ")

_IGNORED = ("K-means used", "K-means++ used", "Cluster ", "Freeze all", "Initializing centroids")
"""Frequent lines that carry no history value, skipped before any regex."""
MARKERS = ("==============================  Params", "============================== Params", "***** Epoch:",
           "Training Statistics:", "Minimum samples per class:", "Multimodal Intent Recognition begins")
"""Strings whose presence identifies a UMC log during format detection."""


def looks_like_umc(text: str) -> bool:
    head = text[:200_000]
    return any(marker in head for marker in MARKERS)


def _value(raw: str) -> Any:
    """A parameter value as Python data: lists, numbers and booleans, else the string."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return raw.strip()


def planned_epochs(hyperparameters: dict[str, Any]) -> Plan | None:
    """int((1 - thres) / delta), the number of epochs the UMC code really runs."""
    thres, delta = scalar(hyperparameters.get("thres")), scalar(hyperparameters.get("delta"))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (thres, delta)):
        return None
    if delta <= 0 or not 0 <= thres < 1 or not math.isfinite((1 - thres) / delta):  # a subnormal delta overflows
        return None
    return Plan(epochs=int((1 - thres) / delta), basis="umc_thres_delta", params={"thres": thres, "delta": delta})


def _stats(raw: str, file: TextFile, number: int, x: float) -> LoggedStats:
    try:
        data = ast.literal_eval(_NUMPY_SCALAR.sub(r"\1", raw))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise HistoryError(f"{file.path}:{number}: cannot read the Training Statistics dict; is the line cut off?") from None
    if not isinstance(data, dict):
        raise HistoryError(f"{file.path}:{number}: Training Statistics is not a dict")

    def number_or_none(key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    improvements, degradations = number_or_none("total_improvements"), number_or_none("total_degradations")
    trend = data.get("performance_trend")
    return LoggedStats(
        x=x,
        best_value=number_or_none("best_performance"),
        best_epoch=number_or_none("best_epoch"),
        improvements=None if improvements is None else int(improvements),
        degradations=None if degradations is None else int(degradations),
        trend=trend if isinstance(trend, str) else None,
        stability=number_or_none("stability_score"),
    )


class _State:
    """Where the parser is in the log: the block it is inside and the epoch in progress."""

    def __init__(self) -> None:
        self.in_params = False
        self.in_test = False
        self.in_traceback = False
        self.pretrain_epoch: int | None = None
        self.epoch = 0  # clustering epoch in progress (0-based)
        self.fork = False


@functools.lru_cache(maxsize=4096)
def _seconds(stamp: str) -> float | None:
    """Seconds since the epoch, or None for a stamp that is no date (month 13): a garbled prefix costs that
    line its wall time, not the whole report."""
    try:
        return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def _wall_time(prefix: re.Match[str] | None) -> float | None:
    """Seconds since the epoch from the logging prefix (cached per second: timestamps repeat)."""
    if prefix is None or (seconds := _seconds(prefix.group(1))) is None:
        return None
    return seconds + int(prefix.group(2)) / 1000


def parse_umc(file: TextFile) -> ParsedHistory:
    """The history, hyperparameters, events and plan of one UMC log.

    Raises:
        HistoryError: a malformed statistics line, or a log with no training entries.
    """
    parsed = ParsedHistory(format="umc")
    state = _State()
    for number, raw_line in enumerate(checked_lines(file, HistoryError), start=1):
        if raw_line.startswith("#"):
            continue
        prefix = _TIMESTAMP.match(raw_line)  # once, for the line after it and its time
        line = (raw_line[prefix.end():] if prefix else raw_line).rstrip()
        if line.startswith(_IGNORED):
            continue
        wall = _wall_time(prefix)
        _parse_line(parsed, state, file, number, line, wall)
    if state.fork:
        parsed.format = "umc-fork"
    if not parsed.rows:
        raise HistoryError(
            f"{file.path}: UMC log has no epoch entries (no 'Epoch' loss lines or statistics); "
            "is training still starting, or is this the console copy without them?"
        )
    parsed.plan = planned_epochs(parsed.hyperparameters)
    return parsed


def _parse_line(parsed: ParsedHistory, state: _State, file: TextFile, number: int, line: str,
                wall: float | None) -> None:
    if state.in_traceback:
        if _ERROR_LINE.match(line):
            parsed.events.append(Event("crash", float(state.epoch), line.strip()[:300]))
            state.in_traceback = False
        return
    if _TRACEBACK.match(line):
        state.in_traceback = True
        return
    if state.in_params:
        if _PARAMS_CLOSE.match(line):
            state.in_params = False
        elif match := _PARAM.match(line):
            parsed.hyperparameters[match.group(1)] = _value(match.group(2))
        return
    if _PARAMS_OPEN.match(line):
        state.in_params = True
        return
    if state.in_test:
        if match := _TEST_VALUE.match(line):
            key = "test_" + match.group(1).lower()
            parsed.add(key, state.epoch, float(match.group(2)), wall_time=wall)
            parsed.splits[key] = "test"
            return
        state.in_test = False
    _parse_training_line(parsed, state, file, number, line, wall)


def _parse_training_line(parsed: ParsedHistory, state: _State, file: TextFile, number: int, line: str,
                         wall: float | None) -> None:
    if match := _PRETRAIN_EPOCH.match(line):
        state.pretrain_epoch = int(match.group(1))
    elif (match := _TRAIN_LOSS.match(line)) and state.pretrain_epoch is not None:
        parsed.add("pretrain_loss", state.pretrain_epoch, float(match.group(1)), wall_time=wall)
        parsed.splits["pretrain_loss"] = "train"
    elif match := _EPOCH_HEADER.match(line):
        state.epoch = int(match.group(1))
    elif match := _SUP_LOSS.match(line):
        parsed.add("sup_loss", state.epoch - 1, float(match.group(1)), wall_time=wall)
    elif match := _UNSUP_LOSS.match(line):
        parsed.add("unsup_loss", state.epoch - 1, float(match.group(1)), wall_time=wall)
    elif match := _PLAIN_LOSS.match(line):
        parsed.add("loss", state.epoch, float(match.group(1)), wall_time=wall)
    elif match := _FORK_LOSS.match(line):
        state.fork = True
        epoch = int(match.group(1))
        parsed.add("loss", epoch, float(match.group(2)), wall_time=wall)
        state.epoch = epoch + 1
    elif match := _MIN_SAMPLES.match(line):
        state.fork = True
        parsed.add("min_samples_per_class", state.epoch, float(match.group(1)), wall_time=wall)
    elif match := _STATS.match(line):
        state.fork = True
        stats = _stats(match.group(1), file, number, state.epoch)
        parsed.logged_stats.append(stats)
        if stats.best_value is not None:
            parsed.add("nmi", state.epoch, stats.best_value, wall_time=wall)
            parsed.splits["nmi"] = "train+dev"
            parsed.best_so_far_keys.add("nmi")
    elif match := _EARLY_STOP.search(line):
        parsed.events.append(Event("early_stop", float(match.group(1))))
    elif _TOLERANCE.match(line):
        parsed.events.append(Event("early_stop", float(state.epoch)))
    elif _FINISHED.match(line):
        parsed.events.append(Event("finished", None))
    elif _TEST_HEADER.match(line):
        state.in_test = True


RESULT_METRICS = {"NMI": "test_nmi", "ARI": "test_ari", "ACC": "test_acc", "fmi": "test_fmi", "FMI": "test_fmi"}
"""Columns of UMC's results CSV (percent, test split) and the keys they become."""
_RUN_COLUMNS = ("seed", "log_id")


def looks_like_umc_results(columns: list[str]) -> bool:
    return "seed" in columns and {"NMI", "ARI", "ACC"} <= set(columns)


def parse_umc_results(file: TextFile, table: pd.DataFrame) -> ParsedHistory:
    """UMC's results CSV: one finished run per row; the rows must differ only by seed.

    Raises:
        HistoryError: rows of several configurations, or no metric values.
    """
    import pandas as pd

    config_columns = [c for c in table.columns if c not in RESULT_METRICS and c not in _RUN_COLUMNS]
    varying = [c for c in config_columns if table[c].nunique(dropna=False) > 1]
    if varying:
        raise HistoryError(f"{file.path}: results of several configurations (they differ in {', '.join(varying[:5])}); "
                           "keep the rows of one configuration (all seeds) in the file you report on")
    parsed = ParsedHistory(format="umc-results")
    parsed.hyperparameters.update({c: _value(str(table[c].iloc[0])) for c in config_columns})
    seeds = pd.to_numeric(table["seed"], errors="coerce")
    for column, key in RESULT_METRICS.items():
        if column in table.columns:
            values = pd.to_numeric(table[column], errors="coerce")
            for seed, value in zip(seeds, values):
                if pd.notna(seed) and pd.notna(value):
                    parsed.add(key, float(seed), float(value), x_kind="seed")
            parsed.splits[key] = "test"
    if not parsed.rows:
        raise HistoryError(f"{file.path}: no metric values in the results rows")
    parsed.events.append(Event("finished", None))
    return parsed


READER = text_reader("umc", lambda target: looks_like_umc(target.file.text), parse_umc)
