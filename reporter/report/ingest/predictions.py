"""Per-epoch (or final) cluster assignments: `predictions/epoch_<N>.npz|.npy|.csv` or `predictions/final.*`.

An .npz holds arrays `labels` (true classes), `preds` (cluster ids) and optionally `embeddings`
([n, d]); an .npy a structured array with fields `labels` and `preds`; a .csv columns `label` and `pred`. Files are loaded without pickles (allow_pickle=False),
because a run folder is untrusted.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from reporter.errors import InputError
from reporter.model import Predictions, Source
from reporter.report.ingest.files import read_bytes

_NAME = re.compile(r"^(?:epoch_(?P<epoch>\d+(?:\.\d+)?)|final)\.(?P<ext>npz|npy|csv)$")
MAX_SAMPLES = 5_000_000


def prediction_files(directory: Path) -> list[Path]:
    folder = directory / "predictions"
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and _NAME.match(p.name)), key=_epoch_order)


def _epoch_order(path: Path) -> tuple[bool, float, str]:
    """epoch_2 before epoch_10 (the appendix lists files in this order), final last."""
    match = _NAME.match(path.name)
    epoch = match.group("epoch") if match else None
    return epoch is None, float(epoch) if epoch else 0.0, path.name


def _arrays(path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if path.suffix == ".csv":
        table = pd.read_csv(io.BytesIO(data))
        if not {"label", "pred"} <= set(table.columns):
            raise InputError(f"{path}: needs columns 'label' and 'pred' (found {', '.join(map(str, table.columns))})")
        return table["label"].to_numpy(), table["pred"].to_numpy(), None
    if path.suffix == ".npy":  # a structured array with fields labels and preds
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as exc:
            raise InputError(f"{path}: not a readable .npy without pickles ({exc})") from None
        names = array.dtype.names or ()
        if not {"labels", "preds"} <= set(names):
            raise InputError(f"{path}: a .npy needs a structured array with fields 'labels' and 'preds'")
        return array["labels"], array["preds"], None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            missing = {"labels", "preds"} - set(archive.files)
            if missing:
                raise InputError(f"{path}: missing arrays {', '.join(sorted(missing))} (found {', '.join(archive.files)})")
            embeddings = archive["embeddings"] if "embeddings" in archive.files else None
            return archive["labels"], archive["preds"], embeddings
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable .npz without pickles ({exc})") from None


def read_predictions(directory: Path) -> tuple[tuple[Predictions, ...], list[Source]]:
    """Every predictions file of a run, sorted by epoch (final last).

    Raises:
        InputError: unreadable files, mismatched lengths, non-integer cluster ids.
    """
    found, sources = [], []
    for path in prediction_files(directory):
        data = read_bytes(path)
        labels, preds, embeddings = _arrays(path, data)
        if len(labels) != len(preds) or (embeddings is not None and len(embeddings) != len(labels)):
            raise InputError(f"{path}: labels, preds and embeddings must have the same length")
        if len(labels) > MAX_SAMPLES or len(labels) < 2:
            raise InputError(f"{path}: {len(labels):,} samples; expected between 2 and {MAX_SAMPLES:,}")
        if not np.issubdtype(np.asarray(preds).dtype, np.integer):
            raise InputError(f"{path}: preds must be integer cluster ids")
        if embeddings is not None and (embeddings.ndim != 2 or not np.issubdtype(embeddings.dtype, np.number)):
            raise InputError(f"{path}: embeddings must be a numeric [samples, dims] array")
        match = _NAME.match(path.name)
        epoch = float(match.group("epoch")) if match and match.group("epoch") else None
        found.append(Predictions(epoch, tuple(str(v) for v in labels), tuple(int(v) for v in preds), embeddings,
                                 f"predictions/{path.name}"))
        sources.append(Source(f"predictions/{path.name}", "predictions", hashlib.sha256(data).hexdigest(), len(data)))
    found.sort(key=lambda p: (p.epoch is None, p.epoch or 0.0))
    return tuple(found), sources
