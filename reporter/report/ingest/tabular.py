"""Tabular histories: CSV/TSV, JSON Lines and JSON lists with an epoch or step column, read vectorised.

Covers generic per-epoch CSVs, Keras CSVLogger, PyTorch Lightning metrics.csv (sparse rows),
Ultralytics results.csv (padded headers), timm summary.csv, DeiT/MAE log.txt (a JSON object per
line), W&B UI exports (`Step, <run> - <metric>, ...__MIN, ...__MAX`) and TensorBoard UI exports
(`Wall time,Step,Value`, one tag per file).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from reporter.errors import HistoryError
from reporter.report.ingest.files import MAX_LINE_CHARS, TextFile, check_line_lengths, checked_lines
from reporter.report.ingest.parsed import ParsedHistory, distinct_keys
from reporter.report.ingest.reader import Target, text_reader
from reporter.report.ingest.sidefiles import is_json_document
from reporter.report.ingest.umc import looks_like_umc_results, parse_umc_results

log = logging.getLogger(__name__)

X_COLUMNS = ("epoch", "step", "global_step", "_step", "iter", "iteration")
"""Accepted names of the x column, in order of preference (case-insensitive)."""
NON_FINITE = {"nan": math.nan, "-nan": math.nan, "na": math.nan, "n/a": math.nan, "null": math.nan,
              "none": math.nan, "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
              "-inf": -math.inf, "-infinity": -math.inf}
DBL_MAX = 1.7976931348623157e308
"""MLflow stores +/-inf as +/-DBL_MAX; read back as infinities."""
_SPLIT_PREFIXES = (("eval_", "val"), ("eval/", "val"), ("val_", "val"), ("val/", "val"), ("valid_", "val"),
                   ("validation_", "val"), ("validation/", "val"), ("test_", "test"), ("test/", "test"),
                   ("train_", "train"), ("train/", "train"), ("验证", "val"), ("测试", "test"), ("训练", "train"))
MAX_COLUMNS = 10_000
MAX_SKIPPED_FRACTION = 0.05
"""At most this share of a CSV's rows (or one row) may be garbled and skipped; more and the file is refused."""
FITNESS_KEYS = ("metrics/mAP50-95(B)", "metrics/mAP50-95(M)", "metrics/mAP50-95(P)")
"""Ultralytics keeps its best model by fitness = 0.1 mAP50 + 0.9 mAP50-95: mAP50-95 is its primary metric."""
_WANDB_COLUMN = re.compile(r"^(?P<run>.+?) - (?P<key>.+?)(?P<bound>__MIN|__MAX)?$")
_TB_EXPORT = re.compile(r"run-(?P<run>.*)-tag-(?P<tag>.+)\.csv$")
_LINE_END = re.compile(r"\r\n?|\n")


_SPLIT_PARTS = {"val": "val", "valid": "val", "validation": "val", "eval": "val", "test": "test", "train": "train"}
"""A path component naming the split: `Accuracy/val` (torch tutorial), `validation/epoch_accuracy` (Keras)."""


def split_of(key: str) -> str | None:
    """The split a key names by prefix (`eval_loss` -> val) or by a path component (`Accuracy/val`), else None."""
    lowered = key.lower()
    for prefix, split in _SPLIT_PREFIXES:
        if lowered.startswith(prefix):
            return split
    parts = lowered.split("/") if "/" in lowered else []
    return next((_SPLIT_PARTS[part] for part in parts if part in _SPLIT_PARTS), None)


def number(raw: Any) -> float | None:
    """A float from a cell, NaN/inf in every common spelling included; None for empty or text."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    text = str(raw).strip()
    if not text:
        return None
    if text.lower() in NON_FINITE:
        return NON_FINITE[text.lower()]
    try:
        return float(text)
    except ValueError:
        return None


def numeric_column(column: pd.Series) -> pd.Series:
    """Cells as floats (NaN/inf spellings included); cells that are empty or text become <NA>-free drops.

    Returns a float series with the index of the cells that hold a value; the rest are left out.
    """
    values, present = numeric_cells(column)
    return pd.Series(values[present], index=column.index[present])


def numeric_cells(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Every cell as a float (NaN where there is none) and whether it holds a value (a spelled NaN does).

    Positional arrays, so a long table is built with numpy masks rather than index look-ups.
    """
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float).to_numpy(), column.notna().to_numpy()
    text = column.astype("string").str.strip()
    lowered = text.str.lower()
    special = lowered.isin(list(NON_FINITE))
    values = pd.to_numeric(text.where(~special), errors="coerce").astype(float)
    values[special] = lowered[special].map(NON_FINITE).astype(float)
    keep = special | values.notna()
    return values.to_numpy(dtype=float, na_value=np.nan), keep.fillna(False).astype(bool).to_numpy()


def x_column(columns: Iterable[str]) -> str | None:
    lowered = {str(column).strip().lower(): column for column in columns}
    return next((lowered[name] for name in X_COLUMNS if name in lowered), None)


def long_from_wide(table: pd.DataFrame, x_name: str, x_kind: str, wall: str | None = None,
                   skip: Iterable[str] = ()) -> pd.DataFrame:
    """(key, x_kind, x, value, wall_time) rows from a wide table, rows without x dropped (sparse loggers).

    Built column by column with numpy masks: a million-row table costs a few arrays, not a frame per column.
    The keys come in sorted order (the history's order), so the history takes the table without moving it.
    `key` and `x_kind` are categoricals (a byte per row, not a string object per row, and compared as
    integers by every rule that selects rows); a table without wall times gets NaN ones, a float column.
    """
    x, has_x = numeric_cells(table[x_name])
    has_x = has_x & np.isfinite(x)
    wall_times = numeric_cells(table[wall])[0] if wall else None
    keys, columns = [], []
    for key in sorted(table.columns, key=lambda column: str(column).strip()):
        if key in (x_name, wall) or key in skip:
            continue
        cells, present = numeric_cells(table[key])
        rows = present & has_x
        if count := int(np.count_nonzero(rows)):
            keys.append(str(key).strip())
            columns.append((cells, rows, count))
    if not keys:
        return pd.DataFrame(columns=["key", "x_kind", "x", "value", "wall_time"])
    counts = [count for _, _, count in columns]
    out = {name: np.empty(sum(counts)) for name in ("x", "value", "wall_time")}
    if wall_times is None:
        out["wall_time"].fill(np.nan)
    start = 0
    for cells, rows, count in columns:  # compressed straight into the table's arrays: no copy per key to join
        at = slice(start, start + count)
        np.compress(rows, x, out=out["x"][at])
        np.compress(rows, cells, out=out["value"][at])
        if wall_times is not None:
            np.compress(rows, wall_times, out=out["wall_time"][at])
        start += count
    return pd.DataFrame({"key": repeated(keys, counts), "x_kind": repeated([x_kind], [sum(counts)]), **out},
                        copy=False)


def repeated(texts: list[str], counts: list[int]) -> pd.Series:
    """Each text repeated counts times, as a categorical whose categories are the distinct texts in sorted order
    (the order a sort or a groupby of the strings would give)."""
    categories = sorted(set(texts))
    codes = np.searchsorted(np.array(categories, dtype=object), np.array(texts, dtype=object))
    small = np.int8 if len(categories) <= np.iinfo(np.int8).max else np.int32
    return pd.Series(pd.Categorical.from_codes(np.repeat(codes.astype(small), counts), categories=pd.Index(categories)),
                     copy=False)


def epoch_means(frame: pd.DataFrame) -> pd.DataFrame:
    """A key logged at several steps of one epoch (Lightning's CSVLogger writes on_step values with their epoch) as
    the mean of those values: the epoch-level value Lightning's own on_epoch logging reports. The last mini-batch
    alone is noise that the fit rules, the spike rule and the key-metrics table would read as the epoch's loss
    (lightning-mnist20k-v10: 0.166 at epoch 19, the epoch's mean 0.028). A NaN at any of the steps keeps the
    epoch NaN; an epoch the file comes back to later (a resumed run) is a block of its own, for history_frame."""
    starts = (frame["key"] != frame["key"].shift()) | (frame["x"] != frame["x"].shift())
    if starts.all():
        return frame
    blocks = starts.cumsum()
    grouped = frame.groupby(blocks, sort=False)
    means = grouped["value"].mean().where(~frame["value"].isna().groupby(blocks, sort=False).any())
    return grouped.last().assign(value=means).reset_index(drop=True)[list(frame.columns)]


def finish_parsed(parsed: ParsedHistory, frame: pd.DataFrame, file: TextFile, x_name: str) -> ParsedHistory:
    """Add a long frame to parsed with the splits its key prefixes name; refuse a frame with no values."""
    if not len(frame):
        raise HistoryError(f"{file.path}: no numeric values next to the '{x_name}' column; is this a history?")
    parsed.frames.append(frame)
    for key in distinct_keys(frame["key"].array):
        if split := split_of(key):
            parsed.splits[key] = split
    return parsed


def _delimiter(lines: list[str]) -> str:
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",\t;").delimiter
    except csv.Error:
        return ","


def read_table(file: TextFile, skipped: list[int] | None = None) -> pd.DataFrame:
    """The file as a table, its header naming the columns.

    A row with more cells than the header (two rows joined where a newline was lost) makes the file
    malformed. When `skipped` is given and such rows are few (at most MAX_SKIPPED_FRACTION of the rows, or
    one), they are left out and their line numbers appended to it, so one bad row in a long nightly log
    does not refuse the whole run; the report then says which lines it did not read.

    Raises:
        HistoryError: malformed CSV (naming the line), or too many columns.
    """
    encoded = file.text.encode("utf-8", "surrogatepass")  # once: pandas' C parser reads bytes
    check_line_lengths(file, HistoryError, encoded)
    delimiter = _delimiter(_head_lines(file.text))
    text = _without_partial_last_row(file, delimiter)
    try:
        table = _parsed_table(encoded if text is file.text else text.encode("utf-8", "surrogatepass"), delimiter)
    except (pd.errors.ParserError, ValueError) as exc:
        garbled = _garbled_lines(text, delimiter)
        rows = len(file.text.splitlines()) - 1
        if skipped is None or not garbled or len(garbled) > max(1, MAX_SKIPPED_FRACTION * rows):
            raise HistoryError(f"{file.path}: malformed CSV ({str(exc).splitlines()[0]})") from None
        log.warning("%s: skipped line(s) %s: more cells than the header", file.path, ", ".join(map(str, garbled)))
        table = _parsed_table("\n".join(line for n, line in enumerate(text.splitlines(), start=1)
                                         if n not in garbled).encode("utf-8", "surrogatepass"), delimiter)
        skipped.extend(garbled)
    if len(table.columns) > MAX_COLUMNS:
        raise HistoryError(f"{file.path}:1: {len(table.columns):,} columns (limit {MAX_COLUMNS:,}); this is not a history")
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _head_lines(text: str) -> list[str]:
    """The first 20 lines, as text.splitlines() would give them, from a slice that surely holds them."""
    return text[:20 * (MAX_LINE_CHARS + 2)].splitlines()[:20]


def _parsed_table(data: bytes, delimiter: str) -> pd.DataFrame:
    """The table pandas' C parser reads from the text's UTF-8 bytes (a StringIO would hold 4 bytes a character).

    Empty cells become NaN ("not logged" in sparse loggers). A table of number characters only is read in
    chunks straight into floats, the values the inferred read gives them; any other table is read with its
    types inferred, which leaves a column with a spelled-out NaN/inf as text for numeric_column to read.
    """
    options: dict[str, Any] = {"sep": delimiter, "keep_default_na": False, "na_values": [""], "encoding": "utf-8",
                               "skipinitialspace": _has_space(data)}
    with _readable(data) as source:
        if _only_numbers(data):
            try:
                return pd.read_csv(source(), dtype=float, **options)
            except ValueError:
                pass  # a cell such as "1.2.3": read as below, as every table was before
        return pd.read_csv(source(), low_memory=False, **options)


@contextmanager
def _readable(data: bytes) -> Iterator[Callable[[], str | io.BytesIO]]:
    """The bytes as pandas reads them fastest, as often as asked. Given a path, its C parser splits a large file
    across a thread per core (a million rows in two thirds of the time on two cores); a file object it reads in
    one. The path is a memory file holding these very bytes, never the history read again: a run still writing may
    have grown it since it was hashed. A BytesIO where the system has no memory files."""
    if not hasattr(os, "memfd_create") or not os.path.isdir("/proc/self/fd"):
        yield lambda: io.BytesIO(data)
        return
    descriptor = os.memfd_create("history", os.MFD_CLOEXEC)
    try:
        with open(descriptor, "wb", closefd=False) as memory:
            memory.write(data)
        yield lambda: f"/proc/self/fd/{descriptor}"
    finally:
        os.close(descriptor)


def _has_space(data: bytes) -> bool:
    """Whether the file holds a space anywhere (one memchr): without one, skipinitialspace changes nothing that
    pandas reads, and the C parser reads a million rows in three quarters of the time without it."""
    return b" " in data


_NUMBER_BYTES = b"0123456789.eE+- \t\r\n,;\""


def _only_numbers(data: bytes) -> bool:
    """Whether every row below the header holds only number characters: no letter (True, nan, inf), so no
    column the inferred read would keep as bool or text. Deleting the number bytes leaves only the header's
    others then (bytes.translate: a tenth of the time of a numpy table look-up, and no copy of the file)."""
    header = data[:data.find(b"\n") + 1]  # a file of one line: none, all of it is checked
    return len(data.translate(None, _NUMBER_BYTES)) == len(header.translate(None, _NUMBER_BYTES))


def _garbled_lines(text: str, delimiter: str) -> list[int]:
    """Line numbers (from 1, the header) of rows with more cells than the header: read only once pandas failed."""
    rows = csv.reader(text.splitlines(), delimiter=delimiter)
    width = len(next(rows, []))
    return [number for number, row in enumerate(rows, start=2) if len(row) > width]


def _without_partial_last_row(file: TextFile, delimiter: str) -> str:
    """The text without a last row the logger is still writing, as JSON Lines are read.

    A last row is partial when the file does not end with a newline (every CSV writer ends its rows with
    one) and the row has fewer cells than the header, or its last cell is not a number while the row above
    has one there. A complete row that merely lacks the newline is kept; so is a row cut inside its last
    number where the cut leaves a number ("0.6" of "0.6123"): nothing in the file tells those apart.
    """
    if file.text.endswith(("\n", "\r")):
        return file.text
    lines = file.text.splitlines()
    if len(lines) < 2:
        return file.text

    def cells(line: str) -> list[str]:
        return next(csv.reader([line], delimiter=delimiter), None) or [""]

    header, above, last = cells(lines[0]), cells(lines[-2]), cells(lines[-1])
    if len(last) >= len(header) and not (number(above[-1]) is not None and number(last[-1]) is None):
        return file.text
    log.info("%s:%d: ignored the incomplete last line (the run is still writing it)", file.path, len(lines))
    return file.text[:file.text.rfind("\n") + 1]


def parse_csv(file: TextFile) -> ParsedHistory:
    """A CSV/TSV history with a header naming an epoch or step column (Keras, Lightning, Ultralytics, timm...).

    Raises:
        HistoryError: no header, no x column, too many columns or no numbers.
    """
    skipped: list[int] = []
    table = read_table(file, skipped)
    x_name = x_column(table.columns)
    if x_name is None:
        raise HistoryError(
            f"{file.path}:1: no epoch/step column in the header (looked for {', '.join(X_COLUMNS)}); "
            "rename the column or pass the right file"
        )
    x_kind = "epoch" if x_name.lower() == "epoch" else "step"
    counters = [c for c in table.columns if c.lower() in X_COLUMNS and c != x_name]
    if x_kind == "epoch" and counters:
        table = _epochs_from_steps(table, x_name, counters[0])
    parsed = ParsedHistory(format="csv", metric_hint=next((c for c in table.columns if c in FITNESS_KEYS), None),
                           skipped_lines=skipped)
    frame = long_from_wide(table, x_name, x_kind, wall=_elapsed_column(table), skip=counters)
    parsed = finish_parsed(parsed, epoch_means(frame) if counters and x_kind == "epoch" else frame, file, x_name)
    if _ultralytics_layout(list(table.columns)):
        parsed.splits.update({c: "val" for c in table.columns if c.startswith(ULTRALYTICS_METRICS)})
    return parsed


ULTRALYTICS_METRICS = "metrics/"
"""Ultralytics' results.csv computes its metrics/ columns on the validation split, beside its val/ losses."""


def _ultralytics_layout(columns: list[str]) -> bool:
    return any(c.startswith(ULTRALYTICS_METRICS) for c in columns) and any(c.startswith("val/") for c in columns)


def _elapsed_column(table: pd.DataFrame) -> str | None:
    """Ultralytics' `time`: seconds since training started, written with each epoch. It is when the epoch ended
    (what the stall rule and the time to finish need), not a metric; a `time` column that ever goes back is
    something else and stays a metric."""
    column = next((c for c in table.columns if c.lower() == "time"), None)
    if column is None:
        return None
    values = numeric_column(table[column])
    return column if len(values) >= 2 and bool((values.diff().dropna() >= 0).all()) and values.min() >= 0 else None


def _epochs_from_steps(table: pd.DataFrame, epoch: str, step: str) -> pd.DataFrame:
    """Rows logged by step only get the epoch of the next row that names one (Lightning's LearningRateMonitor
    logs `lr-SGD` at the step an epoch starts, with an empty epoch cell); a step counter is never a metric."""
    epochs = numeric_column(table[epoch]).reindex(table.index)
    steps = numeric_column(table[step]).reindex(table.index)
    if not epochs.isna().any() or steps.isna().all():
        return table
    order = steps.sort_values(kind="stable").index
    filled = epochs[order].bfill().ffill().reindex(table.index)
    return table.assign(**{epoch: epochs.fillna(filled.where(steps.notna()))})


def _is_tensorboard_export(columns: list[str]) -> bool:
    return [c.lower() for c in columns[:3]] == ["wall time", "step", "value"]


def _tensorboard_export(file: TextFile) -> ParsedHistory:
    """TensorBoard's UI export: `Wall time,Step,Value`, the tag only in the file's name."""
    table = read_table(file)
    match = _TB_EXPORT.search(file.path.name)
    tag = match.group("tag") if match else file.path.stem
    renamed = table.rename(columns={table.columns[2]: tag})
    return finish_parsed(ParsedHistory(format="tensorboard-csv"),
                   long_from_wide(renamed, table.columns[1], "step", wall=table.columns[0]), file, "Step")


def _is_wandb_export(columns: list[str]) -> bool:
    return "Step" in columns and any(_WANDB_COLUMN.match(c) for c in columns if c != "Step")


def _wandb_export(file: TextFile) -> ParsedHistory:
    """W&B's UI export: `Step, <run> - <metric>, <run> - <metric>__MIN, ...`; one run per file.

    Raises:
        HistoryError: the export holds several runs.
    """
    table = read_table(file)
    columns, runs = {}, set()
    for column in table.columns:
        match = _WANDB_COLUMN.match(column)
        if match and not match.group("bound"):
            columns[column] = match.group("key")
            runs.add(match.group("run"))
    if len(runs) > 1:
        raise HistoryError(f"{file.path}:1: this W&B export holds several runs ({', '.join(sorted(runs))}); "
                           "export one run per file")
    chosen = table[["Step", *columns]].rename(columns=columns)
    parsed = ParsedHistory(format="wandb-csv", name=next(iter(runs), None))
    return finish_parsed(parsed, long_from_wide(chosen, "Step", "step"), file, "Step")


def json_records(file: TextFile) -> list[dict[str, Any]]:
    """Records of a JSON list or of JSON Lines (blank lines skipped).

    Raises:
        HistoryError: invalid JSON, naming the line.
    """
    if file.text.lstrip().startswith("["):
        try:
            data = json.loads(file.text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise HistoryError(f"{file.path}: invalid JSON ({getattr(exc, 'msg', exc)}); is the file truncated?") from None
        return [item for item in data if isinstance(item, dict)]
    records = []
    lines = checked_lines(file, HistoryError)
    last = max((n for n, line in enumerate(lines, start=1) if line.strip()), default=0)
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            if line_number == last and not file.text.endswith("\n"):
                # a run still writing: the logger is mid-line; the next report will have it
                log.info("%s:%d: ignored the incomplete last line (the run is still writing it)", file.path, line_number)
                continue
            raise HistoryError(f"{file.path}:{line_number}: invalid JSON line ({getattr(exc, 'msg', exc)}); "
                               "is the file truncated?") from None
        if isinstance(item, dict):
            records.append(item)
    return records


def records_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as a wide table, nested dicts flattened with '/'."""
    return pd.json_normalize(records, sep="/") if records else pd.DataFrame()


def parse_json(file: TextFile) -> ParsedHistory:
    """A JSON list or JSON Lines history with an epoch or step field (DeiT/MAE log.txt included).

    Raises:
        HistoryError: invalid JSON, no x field or no numbers.
    """
    table = records_table(json_records(file))
    x_name = x_column(table.columns)
    if x_name is None:
        raise HistoryError(f"{file.path}: no epoch/step field in the records (looked for {', '.join(X_COLUMNS)})")
    x_kind = "epoch" if x_name.lower() == "epoch" else "step"
    fmt = "json" if file.text.lstrip().startswith("[") else "jsonl"
    return finish_parsed(ParsedHistory(format=fmt), long_from_wide(table, x_name, x_kind), file, x_name)


def looks_tabular(text: str) -> bool:
    first = _LINE_END.split(text[:MAX_LINE_CHARS + 2].lstrip("\ufeff"), maxsplit=1)[0].lower()  # a slice: no copy
    return bool(re.search(r"(^|[,\t;\"])\s*(epoch|step|global_step|_step|iter|iteration|wall time|seed)\s*($|[,\t;\"])",
                          first))


def header_cells(text: str) -> list[str]:
    """The first line's cells as read_table names the columns, read without parsing the file. Lines end where
    pandas' C parser ends them: at \n, \r\n or a lone \r (an old Mac export; csv.reader raises on a \r inside)."""
    lines = _LINE_END.split(text[:20 * (MAX_LINE_CHARS + 2)], maxsplit=20)[:20]
    cells = next(csv.reader(lines[:1], delimiter=_delimiter(lines), skipinitialspace=True), [])
    return [cell.strip() for cell in cells]


def _tabular(target: Target) -> bool:
    """A table's header line; text opening like JSON is the JSON reader's, even when that one declines it."""
    text = target.file.text
    return not text.lstrip().startswith(("[", "{")) and looks_tabular(text)


def _is_umc_results(columns: list[str]) -> bool:
    return x_column(columns) is None and looks_like_umc_results(columns)


def _json(target: Target) -> bool:
    """JSON Lines or a JSON list; a JSON object over several lines beside a history is a summary or config."""
    text = target.file.text
    return text.lstrip().startswith(("[", "{")) and (target.named or not is_json_document(text))


def _umc_results(file: TextFile) -> ParsedHistory:
    return parse_umc_results(file, read_table(file))


JSON_READER = text_reader("json", _json, parse_json, suffixes=(".json", ".jsonl"))
TENSORBOARD_CSV_READER = text_reader(
    "tensorboard-csv", lambda target: _tabular(target) and _is_tensorboard_export(header_cells(target.file.text)),
    _tensorboard_export)
WANDB_CSV_READER = text_reader(
    "wandb-csv", lambda target: _tabular(target) and _is_wandb_export(header_cells(target.file.text)), _wandb_export)
UMC_RESULTS_READER = text_reader(
    "umc-results", lambda target: _tabular(target) and _is_umc_results(header_cells(target.file.text)), _umc_results)
CSV_READER = text_reader("csv", _tabular, parse_csv, suffixes=(".csv", ".tsv"))
