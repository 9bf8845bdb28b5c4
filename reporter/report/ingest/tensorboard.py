"""TensorBoard event files (optional extra: pip install 'reporter[tensorboard]').

All scalars are read in full (size_guidance 0: the default keeps 10,000 per tag by reservoir
sampling), both encodings: TF1/torch `simple_value` and TF2 0-d `tensor` scalars. Event files in
sub-folders (Keras writes train/ and validation/) become keys prefixed with the folder below the
folder all of them share. torch's `add_hparams` writes a sub-run `<unix time>/` holding the
hyperparameters and one-point `hparam/...` summaries: its hyperparameters are read, its scalars are
not history. Folders that are runs of their own ask for a choice.
"""

from __future__ import annotations

import hashlib
import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pandas as pd

from reporter.errors import HistoryError, InputError
from reporter.model import Source
from reporter.report.ingest.parsed import LONG_COLUMNS, ParsedHistory
from reporter.report.ingest.reader import Reader, Target
from reporter.report.ingest.tabular import split_of

PATTERN = "events.out.tfevents.*"
LAYOUTS = (PATTERN, f"*/{PATTERN}")
"""Event files in the run folder, or in its train/ and validation/ (Keras); deeper ones are read too."""
SPLIT_FOLDERS = frozenset({"train", "validation", "val", "eval", "test"})
"""Sub-folders that hold one split of their parent's run (Keras's TensorBoard callback)."""
HPARAMS_TAG = "_hparams_/session_start_info"


def event_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(PATTERN) if p.is_file()) if root.is_dir() else [root]


def _accumulator(path: Path):
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError:
        raise InputError(f"{path}: reading TensorBoard event files needs the extra: pip install 'reporter[tensorboard]' "
                         "(or make setup)") from None
    return event_accumulator.EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})


def _scalars(path: Path) -> tuple[list[tuple[str, float, float, float]], dict[str, Any]]:
    """The file's scalars, and the hyperparameters its hparams plugin data hold."""
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
    return rows, _hparams(accumulator)


def _hparams(accumulator: Any) -> dict[str, Any]:
    """Hyperparameters from the hparams plugin's session start (torch add_hparams, tf hparams api)."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        content = accumulator.PluginTagToContent("hparams").get(HPARAMS_TAG)
    except KeyError:
        return {}
    if content is None:
        return {}
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {str(name): _hparam_value(value) for name, value in info.hparams.items()}


def _hparam_value(value: Any) -> Any:
    """A protobuf Value: numbers are doubles there, so a whole number is read as the int it was."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return int(value.number_value) if float(value.number_value).is_integer() else value.number_value
    return value.bool_value if kind == "bool_value" else value.string_value


def _x_kind(tag: str) -> str:
    """Keras' TensorBoard callback writes per-epoch scalars as `epoch_<name>` with the epoch as the step;
    every other tag counts steps."""
    return "epoch" if tag.rsplit("/", 1)[-1].startswith("epoch_") else "step"


def _run_folder(folder: Path) -> Path:
    """The run a folder of event files belongs to: a split folder belongs to its parent."""
    return folder.parent if folder.name.lower() in SPLIT_FOLDERS else folder


def parse_event_files(root: Path) -> tuple[ParsedHistory, list[Source]]:
    """Every scalar of every event file of the one run under root, keys prefixed by their sub-folder.

    Raises:
        HistoryError: no scalars, or several runs; InputError: the tensorboard extra is missing.
    """
    base = root if root.is_dir() else root.parent
    paths = event_files(root)
    read = {path: _scalars(path) for path in paths}
    runs = {_run_folder(path.parent) for path in paths}
    sub_runs = {path for path in paths if read[path][1] and path.parent.parent in runs
                and path.parent.name.lower() not in SPLIT_FOLDERS}
    runs -= {path.parent for path in sub_runs}
    if len(runs) > 1:
        names = ", ".join(sorted(str(run.relative_to(base)) or "." for run in runs)[:10])
        raise HistoryError(f"{root}: {len(runs)} TensorBoard runs ({names}); choose one with --source FOLDER or "
                           "history = \"FOLDER\" in run.toml")
    kept = [path.parent for path in paths if path not in sub_runs]
    common = Path(os.path.commonpath(kept)) if kept else base
    parsed, sources, frames = ParsedHistory(format="tensorboard"), [], []
    for path in paths:
        data = path.read_bytes()
        sources.append(Source(str(path.relative_to(base)), "tensorboard", hashlib.sha256(data).hexdigest(), len(data)))
        rows, hparams = read[path]
        parsed.hyperparameters.update(hparams)
        if path in sub_runs:
            continue
        prefix = "/".join(path.relative_to(common).parts[:-1])
        long_rows = [(f"{prefix}/{tag}" if prefix else tag, _x_kind(tag), float(step), float(value), wall)
                     for tag, step, value, wall in rows]
        frames.append(pd.DataFrame(long_rows, columns=LONG_COLUMNS))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LONG_COLUMNS)
    if not len(table):
        raise HistoryError(f"{root}: event files hold no scalars")
    parsed.frames.append(table.sort_values("wall_time", kind="stable"))
    for key in table["key"].unique():
        if split := split_of(key):
            parsed.splits[key] = split
    return parsed, sources


def _is_event_file(target: Target) -> bool:
    return not target.path.is_dir() and fnmatchcase(target.path.name, PATTERN)


def _whole_folder(folder: Path) -> list[Path]:
    """The folder is one history when it holds event files anywhere below it."""
    return [folder] if event_files(folder) else []


READER = Reader("tensorboard", _is_event_file, lambda target: parse_event_files(target.path), layouts=LAYOUTS,
                locate=_whole_folder)
