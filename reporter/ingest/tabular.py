"""Generic histories: CSV, JSON Lines or a JSON list, one row per evaluation, with an epoch/step column.

This also reads Keras CSVLogger files (epoch column, `append=True` restarts resolved later) and
per-epoch CSVs written by custom loops.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any, Iterable, Mapping

from reporter.errors import HistoryError
from reporter.ingest.files import TextFile, checked_lines
from reporter.ingest.parsed import ParsedHistory

X_COLUMNS = ("epoch", "step", "global_step", "iter", "iteration")
"""Accepted names of the x column, in order of preference (case-insensitive)."""
_NON_FINITE = {"nan": math.nan, "-nan": math.nan, "na": math.nan, "n/a": math.nan, "null": math.nan, "none": math.nan,
               "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
               "-inf": -math.inf, "-infinity": -math.inf}
_SPLIT_PREFIXES = (("eval_", "val"), ("eval/", "val"), ("val_", "val"), ("val/", "val"), ("valid_", "val"),
                   ("validation_", "val"), ("validation/", "val"), ("test_", "test"), ("test/", "test"),
                   ("train_", "train"), ("train/", "train"))
MAX_COLUMNS = 10_000


def split_of(key: str) -> str | None:
    """The split a key's prefix names (`eval_loss` -> val), or None when it says nothing."""
    lowered = key.lower()
    for prefix, split in _SPLIT_PREFIXES:
        if lowered.startswith(prefix):
            return split
    return None


def number(raw: Any) -> float | None:
    """A float from a cell, NaN/inf in every common spelling included; None for empty or text."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    text = str(raw).strip()
    if not text:
        return None
    if text.lower() in _NON_FINITE:
        return _NON_FINITE[text.lower()]
    try:
        return float(text)
    except ValueError:
        return None


def _x_column(columns: Iterable[str]) -> str | None:
    lowered = {column.strip().lower(): column for column in columns}
    for name in X_COLUMNS:
        if name in lowered:
            return lowered[name]
    return None


def _add_records(parsed: ParsedHistory, records: Iterable[Mapping[str, Any]], file: TextFile, x_name: str,
                 first_line: int) -> None:
    x_kind = "epoch" if x_name.strip().lower() == "epoch" else "step"
    for offset, record in enumerate(records):
        x = number(record.get(x_name))
        if x is None or not math.isfinite(x):
            continue  # sparse rows (e.g. a learning-rate logger row with no epoch) carry no x
        for key, raw in record.items():
            if key == x_name or key is None:
                continue
            value = number(raw)
            if value is not None:
                parsed.add(str(key).strip(), x, value, x_kind=x_kind)
    for key in {row[0] for row in parsed.rows}:
        if split := split_of(key):
            parsed.splits[key] = split
    if not parsed.rows:
        raise HistoryError(f"{file.path}: no numeric values next to the '{x_name}' column; is this a history?")


def parse_csv(file: TextFile) -> ParsedHistory:
    """Rows of a CSV/TSV history with a header naming an epoch or step column.

    Raises:
        HistoryError: no header, no x column, too many columns or no numbers.
    """
    lines = checked_lines(file, HistoryError)
    sample = "\n".join(lines[:20])
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(file.text), dialect=dialect)
    columns = reader.fieldnames or []
    if len(columns) > MAX_COLUMNS:
        raise HistoryError(f"{file.path}:1: {len(columns):,} columns (limit {MAX_COLUMNS:,}); this is not a history")
    x_name = _x_column(columns)
    if x_name is None:
        raise HistoryError(
            f"{file.path}:1: no epoch/step column in the header (looked for {', '.join(X_COLUMNS)}); "
            "rename the column or pass the right file"
        )
    parsed = ParsedHistory(format="csv")
    try:
        _add_records(parsed, reader, file, x_name, first_line=2)
    except csv.Error as exc:
        raise HistoryError(f"{file.path}:{reader.line_num}: malformed CSV ({exc})") from None
    return parsed


def _json_records(file: TextFile) -> tuple[list[Mapping[str, Any]], str]:
    stripped = file.text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(file.text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise HistoryError(f"{file.path}: invalid JSON ({getattr(exc, 'msg', exc)}); is the file truncated?") from None
        return [item for item in data if isinstance(item, dict)], "json"
    records = []
    for number_, line in enumerate(checked_lines(file, HistoryError), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise HistoryError(f"{file.path}:{number_}: invalid JSON line ({getattr(exc, 'msg', exc)})") from None
        if isinstance(item, dict):
            records.append(item)
    return records, "jsonl"


def parse_json(file: TextFile) -> ParsedHistory:
    """Records of a JSON list or JSON Lines history with an epoch or step field.

    Raises:
        HistoryError: invalid JSON, no x field or no numbers.
    """
    records, fmt = _json_records(file)
    columns = {key for record in records for key in record}
    x_name = _x_column(columns)
    if x_name is None:
        raise HistoryError(
            f"{file.path}: no epoch/step field in the records (looked for {', '.join(X_COLUMNS)})"
        )
    parsed = ParsedHistory(format=fmt)
    _add_records(parsed, records, file, x_name, first_line=1)
    return parsed


def looks_tabular(text: str) -> bool:
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    return bool(re.search(r"(^|[,\t;\"])\s*(epoch|step|global_step|iter|iteration)\s*($|[,\t;\"])", first))
