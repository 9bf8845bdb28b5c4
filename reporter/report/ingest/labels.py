"""Dataset label files (TSV, CSV or JSONL), read verbatim for the dataset profile.

The first row is the header; every later row is data, even one that repeats the header. Hiding such
rows here would hide the artefact that misled the hand-written report (a header counted as a class),
so analysis.dataset flags them instead.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from reporter.errors import DatasetError
from reporter.model import LabelTable
from reporter.report.ingest.files import TextFile, checked_lines, read_text

LABEL_NAMES = ("label", "labels", "da", "intent", "class", "category", "target", "y", "dialogue act")
TEXT_NAMES = ("text", "utterance", "sentence", "content", "transcript")
csv.field_size_limit(1_000_000)


def _pick(columns: tuple[str, ...], wanted: str | None, candidates: tuple[str, ...], path: Path, what: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise DatasetError(f"{path}:1: no column '{wanted}' for the {what} (columns: {', '.join(columns)}); fix run.toml [labels]")
        return wanted
    lowered = {column.strip().lower(): column for column in columns}
    return next((lowered[name] for name in candidates if name in lowered), None)


def _rows(file: TextFile) -> list[list[str]]:
    lines = checked_lines(file, DatasetError)
    if file.path.suffix.lower() == ".jsonl":
        return _json_rows(file, lines)
    delimiter = "\t" if file.path.suffix.lower() == ".tsv" or "\t" in lines[0] else ","
    return [row for row in csv.reader(io.StringIO(file.text), delimiter=delimiter) if row]


def _json_rows(file: TextFile, lines: list[str]) -> list[list[str]]:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise DatasetError(f"{file.path}:{number}: invalid JSON line") from None
        if not isinstance(item, dict):
            raise DatasetError(f"{file.path}:{number}: expected a JSON object per line")
        records.append(item)
    columns = list(dict.fromkeys(key for record in records for key in record))
    return [columns] + [[str(record.get(column, "")) for column in columns] for record in records]


def read_labels(path: Path, label_column: str | None = None, text_column: str | None = None) -> LabelTable:
    """The label (and text) column of a dataset file, header artefacts included.

    Raises:
        DatasetError: missing/empty/unreadable file, no label column, or no data rows.
    """
    file = read_text(path, DatasetError)
    rows = _rows(file)
    if len(rows) < 2:
        raise DatasetError(f"{path}: no data rows under the header; is this the right file?")
    columns = tuple(cell.strip() for cell in rows[0])
    label = _pick(columns, label_column, LABEL_NAMES, path, "labels")
    if label is None:
        raise DatasetError(
            f"{path}:1: cannot tell which column holds the labels (columns: {', '.join(columns)}); "
            "set labels.label_column in run.toml"
        )
    text = _pick(columns, text_column, TEXT_NAMES, path, "text")
    label_index = columns.index(label)
    text_index = columns.index(text) if text is not None else None
    labels, texts = [], []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) <= label_index:
            raise DatasetError(f"{path}:{number}: row has {len(row)} fields, the label column is field {label_index + 1}")
        labels.append(row[label_index].strip())
        texts.append(row[text_index] if text_index is not None and len(row) > text_index else "")
    return LabelTable(path=str(path), columns=columns, label_column=label, text_column=text,
                      labels=tuple(labels), texts=tuple(texts), sha256=file.sha256, size=file.size)
