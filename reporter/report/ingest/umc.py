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
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np

from reporter.errors import HistoryError
from reporter.model import Event, LoggedStats, Plan, scalar
from reporter.report.ingest.files import TextFile, check_line_lengths, checked_lines
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.reader import text_reader

if TYPE_CHECKING:
    import pandas as pd

_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ")
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
def _seconds(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


def _wall_time(line: str) -> float | None:
    """Seconds since the epoch from the logging prefix (cached per second: timestamps repeat)."""
    if not line[:1].isdigit():
        return None
    match = _TIMESTAMP.match(line)
    return _seconds(match.group(1)) + int(match.group(2)) / 1000 if match else None


def parse_umc(file: TextFile) -> ParsedHistory:
    """The history, hyperparameters, events and plan of one UMC log.

    Raises:
        HistoryError: a malformed statistics line, or a log with no training entries.
    """
    parsed = ParsedHistory(format="umc")
    state = _State()
    if _bulk_readable(file.text):
        check_line_lengths(file, HistoryError)
        _parse_in_bulk(parsed, state, file)
    else:
        for number, raw_line in enumerate(checked_lines(file, HistoryError), start=1):
            _parse_raw_line(parsed, state, file, number, raw_line)
    if state.fork:
        parsed.format = "umc-fork"
    if not parsed.rows and not parsed.frames:
        raise HistoryError(
            f"{file.path}: UMC log has no epoch entries (no 'Epoch' loss lines or statistics); "
            "is training still starting, or is this the console copy without them?"
        )
    parsed.plan = planned_epochs(parsed.hyperparameters)
    return parsed


def _parse_raw_line(parsed: ParsedHistory, state: _State, file: TextFile, number: int, raw_line: str) -> None:
    if raw_line.startswith("#"):
        return
    line = _PREFIX.sub("", raw_line, count=1).rstrip()
    if line.startswith(_IGNORED):
        return
    _parse_line(parsed, state, file, number, line, _wall_time(raw_line))


_BULK = (r"(?:\*+ Epoch: (\d{1,15}) \*+[^\S\n]*$|Supervised Training Loss: " + _NUMBER
         + r"|Unsupervised Training Loss: " + _NUMBER + r"|Training Loss: " + _NUMBER
         + r"|Epoch (\d{1,15}): Loss = " + _NUMBER + r"|Minimum samples per class: (\d+))")
"""The frequent lines (epoch headers, losses, minimum samples): read in bulk, whole chunks of log at once."""
_STAMP = r"(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) - )?"
_LINE = re.compile("^(?:" + _STAMP + _BULK + r"|(?:#|" + _PREFIX.pattern[1:] + r"?(?:K-means used|K-means\+\+ used"
                   r"|Freeze all|Initializing centroids|Cluster (?=[^\n]*\S)))[^\n]*|([^\n]*\n?))", re.MULTILINE)
"""Every line, once: a bulk line with its fields; a comment or an ignored line with none; any other line whole
(its line break kept, so a blank line is not taken for an ignored one)."""
_BULK_KEYS = np.array(["sup_loss", "unsup_loss", "loss", "loss", "min_samples_per_class"], dtype=object)
_BULK_CHUNK = 1 << 22
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _bulk_readable(text: str) -> bool:
    """Whether the regex's lines (ended by \\n, maybe \\r\\n) are str.splitlines()' lines, as line numbers need."""
    return text.count("\r") == text.count("\r\n") and not any(brk in text for brk in _OTHER_BREAKS)


class _Bulk:
    """Values of the bulk lines, as arrays in file order: the log's rows without a tuple per value."""

    def __init__(self) -> None:
        self.kinds: list[np.ndarray] = []
        self.x: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.walls: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []
        self.row_lines: list[int] = []
        """The line of each row read line by line: a rare line may add to a bulk key (an epoch too long to
        be a bulk line's), and the last value at an epoch wins in file order."""


def _parse_in_bulk(parsed: ParsedHistory, state: _State, file: TextFile) -> None:
    """The log in chunks of whole lines, each read with one regex: bulk lines as arrays, the others in order by
    _parse_line, with the epoch and blocks the bulk lines before them leave (as reading line by line would)."""
    text, bulk, start, number = file.text, _Bulk(), 0, 1
    while start < len(text):
        stop = text.find("\n", start + _BULK_CHUNK) + 1 or len(text)
        _read_chunk(parsed, state, file, _LINE.findall(text, start, stop), number, bulk)
        number += text.count("\n", start, stop)
        start = stop
    if bulk.kinds:
        _merge_rows(parsed, bulk)


def _read_chunk(parsed: ParsedHistory, state: _State, file: TextFile, found: list[tuple[str, ...]], number: int,
                bulk: _Bulk) -> None:
    """One chunk's lines (number: the first one's): the other lines in order, between them the state the bulk
    lines leave; then the bulk lines' rows, each at the epoch it was read at, all at once."""
    columns = list(zip(*found)) or [()] * _LINE.groups
    has = [np.fromiter(map(bool, column), dtype=bool, count=len(found)) for column in columns]
    setter = np.full(len(found), -1, dtype=np.int64)
    setter[has[2]] = [int(v) for v in compress(columns[2], has[2])]
    setter[has[6]] = [int(v) + 1 for v in compress(columns[6], has[6])]
    is_bulk = np.logical_or.reduce(has[2:9]) if found else np.zeros(0, dtype=bool)
    last_set = np.maximum.accumulate(np.where(setter >= 0, np.arange(len(found)), -1))
    bulk_seen = np.cumsum(is_bulk)
    epoch_at, read = np.zeros(len(found), dtype=np.int64), np.zeros(len(found), dtype=bool)
    segment = 0
    for line in [int(i) for i in np.flatnonzero(has[9])] + [len(found)]:
        read[segment:line] = not (state.in_params or state.in_traceback)
        epoch_at[segment:line] = state.epoch
        if read[segment:line].any():
            _advance(state, setter, last_set, bulk_seen, segment, line)
        if line < len(found):
            raw, rows = columns[9][line].removesuffix("\n").removesuffix("\r"), len(parsed.rows)
            _parse_raw_line(parsed, state, file, number + line, raw)
            bulk.row_lines += [number + line] * (len(parsed.rows) - rows)
        segment = line + 1
    before = np.concatenate(([-1], last_set[:-1]))
    starts = np.maximum.accumulate(np.where(has[9], np.arange(len(found)) + 1, 0))
    epoch = np.where(before >= starts, setter[np.maximum(before, 0)], epoch_at)
    _bulk_rows(read & is_bulk, epoch, setter, columns, has, bulk, number)
    state.fork = state.fork or bool((read & (has[6] | has[8])).any())


def _advance(state: _State, setter: np.ndarray, last_set: np.ndarray, bulk_seen: np.ndarray, start: int,
             stop: int) -> None:
    """The state after the bulk lines start..stop-1 are read: the last epoch they name; a test block ended."""
    if stop <= start:
        return
    if last_set[stop - 1] >= start:
        state.epoch = int(setter[last_set[stop - 1]])
    if bulk_seen[stop - 1] - (bulk_seen[start - 1] if start else 0):
        state.in_test = False


def _bulk_rows(read: np.ndarray, epoch: np.ndarray, setter: np.ndarray, columns: list[tuple[str, ...]],
               has: list[np.ndarray], bulk: _Bulk, number: int) -> None:
    """Rows of the bulk lines read, each at the epoch _parse_training_line gives it (fields 3..8 hold values)."""
    xs = {3: epoch - 1, 4: epoch - 1, 5: epoch, 7: setter - 1, 8: epoch}
    present = [has[field] & read for field in xs]
    kind = np.select(present, range(len(xs)), -1)
    rows = kind >= 0
    if not rows.any():
        return
    values = np.zeros(len(rows))
    for field, mask in zip(xs, present):
        values[mask] = [float(v) for v in compress(columns[field], mask)]
    bulk.kinds.append(kind[rows])
    bulk.lines.append(number + np.flatnonzero(rows))
    bulk.x.append(np.select(present, list(xs.values()))[rows].astype(float))
    bulk.values.append(values[rows])
    bulk.walls.append(_bulk_walls(np.array(list(compress(columns[0], rows & has[0])), dtype=object),
                                  np.array([int(v) for v in compress(columns[1], rows & has[0])], dtype=np.int64),
                                  has[0][rows]))


def _bulk_walls(stamps: np.ndarray, millis: np.ndarray, timed: np.ndarray) -> np.ndarray:
    """_wall_time of each bulk row (NaN without a timestamp), each distinct second converted once."""
    import pandas as pd

    walls = np.full(len(timed), np.nan)
    if len(stamps):
        codes, seconds = pd.factorize(stamps)
        walls[timed] = np.array([_seconds(s) for s in seconds])[codes] + millis / 1000
    return walls


def _merge_rows(parsed: ParsedHistory, bulk: _Bulk) -> None:
    """The bulk arrays and the rows read line by line as one long frame, typed as a frame of all the rows was."""
    import pandas as pd

    rows = parsed.rows
    walls = np.concatenate([np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=float), *bulk.walls])
    timed = not np.isnan(walls).all()  # a timestamp is never NaN: all NaN means no line had one
    keys = np.concatenate([np.array([r[0] for r in rows], dtype=object), _BULK_KEYS[np.concatenate(bulk.kinds)]])
    order = np.argsort(np.concatenate([np.array(bulk.row_lines, dtype=np.int64), *bulk.lines]), kind="stable")
    frame = pd.DataFrame({
        "key": keys[order],
        "x_kind": np.repeat(np.array(["epoch"], dtype=object), len(keys)),
        "x": np.concatenate([np.array([r[2] for r in rows], dtype=float), *bulk.x])[order],
        "value": np.concatenate([np.array([r[3] for r in rows], dtype=float), *bulk.values])[order],
        "wall_time": pd.Series(walls[order] if timed else np.full(len(keys), None, dtype=object), copy=False)})
    parsed.rows = []
    parsed.frames.append(frame)


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
