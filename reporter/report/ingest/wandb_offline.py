"""W&B run files (`wandb/offline-run-*/run-*.wandb`), read with the protobuf classes wandb ships
(optional extra: pip install 'reporter[wandb]'). W&B itself cannot render an offline run.

The file is a LevelDB-style log: a 7-byte header (`:W&B`, magic 0xBEE1, version 0), then 32 KiB
blocks of records, each `crc32 (4) | length (2) | type (1) | data`, the CRC (zlib's) over the type
byte and the data. A record too long for its block is split into FIRST, MIDDLE... and LAST pieces;
fewer than 7 bytes left in a block are padding. Each record's data is a `wandb_internal_pb2.Record`.
A run still writing may end mid-record: the file is read up to the last complete record.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from reporter.errors import HistoryError, InputError
from reporter.model import Event, Source
from reporter.report.ingest.files import read_bytes
from reporter.report.ingest.parsed import LONG_COLUMNS, ParsedHistory
from reporter.report.ingest.reader import Reader
from reporter.report.ingest.tabular import split_of

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32 * 1024
RECORD_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
X_KEYS = ("epoch", "_step")
"""The x axis: the epoch the script logged, else W&B's own step counter."""
LAYOUTS = ("run-*.wandb", "wandb/*run-*/run-*.wandb")
"""A run's own folder, or a project folder holding wandb/offline-run-*/ (and wandb/run-*/ once synced)."""


def wandb_runs(directory: Path) -> list[Path]:
    """The run files in a folder: its own `run-*.wandb`, or those of the runs in its `wandb/` folder."""
    return sorted({p.resolve() for pattern in LAYOUTS for p in directory.glob(pattern) if p.is_file()})


def records(path: Path) -> list[bytes]:
    """The data of every complete record, in order.

    Raises:
        HistoryError: not a W&B run file, or a record whose checksum fails before the end of the file.
    """
    data = read_bytes(path, HistoryError)
    if not data.startswith(HEADER):
        raise HistoryError(f"{path}: not a W&B run file (no ':W&B' header); point at a run-*.wandb file")
    out, pieces, position = [], None, len(HEADER)
    while position + RECORD_HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < RECORD_HEADER:
            position += left
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, position)
        end = position + RECORD_HEADER + length
        if kind == 0 or end > len(data):
            break  # preallocated zeros or a record still being written
        body = data[position + RECORD_HEADER:end]
        if zlib.crc32(bytes([kind]) + body) != crc:
            if end == len(data):
                break
            raise HistoryError(f"{path}: byte {position}: a record fails its checksum; the file is damaged")
        position = end
        if kind == FULL:
            out.append(body)
        elif kind == FIRST:
            pieces = [body]
        elif kind in (MIDDLE, LAST) and pieces is not None:
            pieces.append(body)
            if kind == LAST:
                out.append(b"".join(pieces))
                pieces = None
    return out


def _record_class(path: Path) -> Any:
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise InputError(f"{path}: reading W&B run files needs the extra: pip install 'reporter[wandb]'") from None
    return wandb_internal_pb2.Record


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def _value(value_json: str) -> Any:
    try:
        return json.loads(value_json)
    except ValueError:
        return value_json


def _number(value: Any) -> float | None:
    """A logged number (json reads NaN and Infinity too); images, tables and text are not history."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_wandb_run(path: Path) -> tuple[ParsedHistory, list[Source]]:
    """History rows (x = the logged epoch, else `_step`; wall time = `_timestamp`), config and exit status.

    Raises:
        HistoryError: not a W&B run file, damaged, or no history rows; InputError: the wandb extra is missing.
    """
    record_class = _record_class(path)
    parsed, rows = ParsedHistory(format="wandb"), []
    for data in records(path):
        record = record_class.FromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            rows.append({_key(item): _value(item.value_json) for item in record.history.item})
        elif kind == "run":
            parsed.name = record.run.display_name or record.run.run_id or None
            _config(parsed, record.run.config.update)
        elif kind == "config":
            _config(parsed, record.config.update)
        elif kind == "exit":
            parsed.events.append(Event("finished", None) if record.exit.exit_code == 0 else
                                 Event("crash", None, f"W&B exit code {record.exit.exit_code}"))
    parsed.frames.append(_long_table(path, rows))
    for key in parsed.frames[0]["key"].unique():
        if split := split_of(key):
            parsed.splits[key] = split
    data = path.read_bytes()
    return parsed, [Source(path.name, "wandb", hashlib.sha256(data).hexdigest(), len(data))]


def _config(parsed: ParsedHistory, updates: Any) -> None:
    for item in updates:
        key, value = _key(item), _value(item.value_json)
        if isinstance(value, dict) and "value" in value:  # the config.yaml form {"value": ..., "desc": ...}
            value = value["value"]
        if not key.startswith("_") and isinstance(value, (int, float, str, bool)):
            parsed.hyperparameters[key] = value


def _long_table(path: Path, rows: list[dict[str, Any]]) -> pd.DataFrame:
    x_key = next((k for k in X_KEYS if any(_number(row.get(k)) is not None for row in rows)), None)
    if x_key is None:
        raise HistoryError(f"{path}: the W&B run has no history rows yet (nothing logged with wandb.log)")
    x_kind = "epoch" if x_key == "epoch" else "step"
    table = []
    for row in rows:
        x, wall = _number(row.get(x_key)), _number(row.get("_timestamp"))
        if x is None or not math.isfinite(x):
            continue
        for key, raw in row.items():
            value = _number(raw)
            if value is not None and not key.startswith("_") and key != x_key:
                table.append((key, x_kind, x, value, wall))
    if not table:
        raise HistoryError(f"{path}: the W&B run's history holds no numbers")
    return pd.DataFrame(table, columns=LONG_COLUMNS)


READER = Reader("wandb", lambda target: target.path.suffix == ".wandb" and not target.path.is_dir(),
                lambda target: parse_wandb_run(target.path), layouts=LAYOUTS, locate=wandb_runs)
