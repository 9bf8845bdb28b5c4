"""OpenMMLab logs: mmengine `vis_data/*.json` (MMDet 3.x, MMPretrain, ...) and MMDetection 2.x `*.log.json`.

The trap: in mmengine files `step` is the global iteration in train records but the epoch in
validation records, so validation rows are placed by their step and train rows by their epoch.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reporter.errors import HistoryError
from reporter.report.ingest.files import TextFile
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.reader import text_reader
from reporter.report.ingest.tabular import (
    finish_parsed,
    json_records,
    long_from_wide,
    records_table,
)

NOT_METRICS = ("data_time", "time", "memory", "iter", "step", "epoch", "mode")
VIS_DATA = "vis_data"
LAYOUTS = (f"{VIS_DATA}/*.json", f"*/{VIS_DATA}/*.json")
"""mmengine writes work_dir/<timestamp>/vis_data/; a copied run may hold vis_data/ directly."""


def looks_like_openmmlab(text: str) -> bool:
    head = text[:20_000]
    return head.lstrip().startswith("{") and ('"data_time"' in head or '"mode": "train"' in head)


def parse_openmmlab(file: TextFile) -> ParsedHistory:
    """Train and validation records on one epoch axis.

    Raises:
        HistoryError: invalid JSON lines or no records with an epoch.
    """
    records = json_records(file)
    if any("mode" in r for r in records):
        return _mmdet2(file, records)
    table = records_table(records)
    if "step" not in table.columns:
        raise HistoryError(f"{file.path}: OpenMMLab log without 'step' fields; is this a vis_data json?")
    is_train = table["epoch"].notna() if "epoch" in table.columns else table.get("lr", pd.Series(dtype=float)).notna()
    train = table[is_train].drop(columns=["step"])
    val = table[~is_train].drop(columns=["epoch"], errors="ignore").rename(columns={"step": "epoch"})
    parts = []
    if len(train) and "epoch" in train.columns:
        parts.append(long_from_wide(train, "epoch", "epoch", skip=NOT_METRICS))
    if len(val):
        parts.append(long_from_wide(val, "epoch", "epoch", skip=NOT_METRICS))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    parsed = finish_parsed(ParsedHistory(format="mmengine"), frame, file, "epoch")
    for key in frame["key"].unique():
        if not (train.columns == key).any():
            parsed.splits.setdefault(key, "val")
    return parsed


def _mmdet2(file: TextFile, records: list[dict]) -> ParsedHistory:
    table = records_table([r for r in records if r.get("mode") in ("train", "val")])
    if "epoch" not in table.columns:
        raise HistoryError(f"{file.path}: MMDetection log records have no 'epoch'")
    parsed = ParsedHistory(format="mmdet2")
    frames = []
    for mode in ("train", "val"):
        rows = table[table["mode"] == mode]
        if len(rows):
            frame = long_from_wide(rows, "epoch", "epoch", skip=NOT_METRICS)
            if mode == "val":
                parsed.splits.update({key: "val" for key in frame["key"].unique()})
                frame["key"] = frame["key"].astype(str).where(frame["key"] != "loss", "val_loss")  # a new category
            frames.append(frame)
    return finish_parsed(parsed, pd.concat(frames, ignore_index=True), file, "epoch")


def vis_data(folder: Path) -> list[Path]:
    """The one vis_data file to read: folder/vis_data/, else the latest timestamp folder's."""
    found = sorted(folder.glob(LAYOUTS[0])) or _latest_vis_data(folder)
    return [next((p for p in found if p.name != "scalars.json"), found[0])] if found else []  # both hold the same


def _latest_vis_data(folder: Path) -> list[Path]:
    folders = sorted(p for p in folder.glob(f"*/{VIS_DATA}") if p.is_dir())
    return sorted(folders[-1].glob("*.json")) if folders else []


READER = text_reader("openmmlab", lambda target: looks_like_openmmlab(target.file.text), parse_openmmlab,
                     layouts=LAYOUTS, locate=vis_data)
