"""TensorBoard event files (optional extra: pip install 'reporter[tensorboard]').

All scalars are read in full (size_guidance 0: the default keeps 10,000 per tag by reservoir
sampling), both encodings: TF1/torch `simple_value` and TF2 0-d `tensor` scalars. Event files in
sub-folders (Keras writes train/ and validation/) become keys prefixed with the folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from reporter.errors import HistoryError, InputError
from reporter.ingest.parsed import LONG_COLUMNS, ParsedHistory
from reporter.ingest.tabular import split_of
from reporter.model import Source

PATTERN = "events.out.tfevents.*"


def event_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(PATTERN) if p.is_file()) if root.is_dir() else [root]


def _accumulator(path: Path):
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise InputError(f"{path}: reading TensorBoard event files needs the extra: pip install 'reporter[tensorboard]' "
                         "(or make setup)") from None
    return event_accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})


def _scalars(path: Path) -> list[tuple[str, float, float, float]]:
    from tensorboard.util import tensor_util

    accumulator = _accumulator(path)
    try:
        accumulator.Reload()
    except Exception as exc:  # noqa: BLE001 - tensorboard raises many kinds on corrupt files
        raise HistoryError(f"{path}: cannot read the event file ({type(exc).__name__}); is it truncated?") from None
    tags = accumulator.Tags()
    rows = [(tag, e.step, e.value, e.wall_time) for tag in tags.get("scalars", []) for e in accumulator.Scalars(tag)]
    for tag in tags.get("tensors", []):
        for event in accumulator.Tensors(tag):
            array = tensor_util.make_ndarray(event.tensor_proto)
            if array.size == 1 and array.dtype.kind in "fiu":
                rows.append((tag, event.step, float(array.reshape(())), event.wall_time))
    return rows


def _x_kind(tag: str) -> str:
    """Keras' TensorBoard callback writes per-epoch scalars as `epoch_<name>` with the epoch as the step;
    every other tag counts steps."""
    return "epoch" if tag.rsplit("/", 1)[-1].startswith("epoch_") else "step"


def parse_event_files(root: Path) -> tuple[ParsedHistory, list[Source]]:
    """Every scalar of every event file under root, keys prefixed by their sub-folder.

    Raises:
        HistoryError: no scalars; InputError: the tensorboard extra is missing.
    """
    base = root if root.is_dir() else root.parent
    parsed, sources, frames = ParsedHistory(format="tensorboard"), [], []
    for path in event_files(root):
        data = path.read_bytes()
        sources.append(Source(str(path.relative_to(base)), "tensorboard", hashlib.sha256(data).hexdigest(), len(data)))
        prefix = "/".join(path.relative_to(base).parts[:-1])
        rows = [(f"{prefix}/{tag}" if prefix else tag, _x_kind(tag), float(step), float(value), wall)
                for tag, step, value, wall in _scalars(path)]
        frames.append(pd.DataFrame(rows, columns=LONG_COLUMNS))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LONG_COLUMNS)
    if not len(table):
        raise HistoryError(f"{root}: event files hold no scalars")
    parsed.frames.append(table.sort_values("wall_time", kind="stable"))
    for key in table["key"].unique():
        if split := split_of(key):
            parsed.splits[key] = split
    return parsed, sources
