"""The history formats reporter reads, in the order they are tried, and the three questions asked of them.

Which format is this file (`reader_for`)? Which histories does this run folder hold (`histories`,
`named_history`)? Is this folder a run at all (`looks_like_run`, for batch discovery)? All three ask
READERS, so a new format is one module exporting a `Reader` plus one line here, plus its sample in
tests/fixtures/readers/<reader name>/ (tests/test_readers.py requires one per reader; README "Add a history format").

The order is most specific first. Folder layouts and binary files come before any text is read: an
MLflow store, TensorBoard event files, W&B run files and SQLite stores are known by their place or
their first bytes. Then the text formats, each recognised by what only it writes: UMC's log lines,
HF's `log_history`, OpenMMLab's `data_time`; then JSON in general, which would take the last two.
The CSV exports of TensorBoard and W&B and UMC's results table are known by their header and come
before the generic CSV reader, which accepts any header with an epoch or step column; a history pandas wrote
(an unnamed index column, or a Keras History's keys and no epoch column) comes just before it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fnmatch import translate
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

from reporter.errors import HistoryError
from reporter.report.ingest import dataframe, hf, mlflow, openmmlab, recorded, tabular, tensorboard, umc, wandb_offline
from reporter.report.ingest.reader import Read, Reader, Target

READERS: list[Reader] = [
    mlflow.FILESTORE_READER,
    tensorboard.READER,
    wandb_offline.READER,
    mlflow.SQLITE_READER,
    recorded.READER,
    umc.READER,
    hf.READER,
    openmmlab.READER,
    tabular.JSON_READER,
    tabular.TENSORBOARD_CSV_READER,
    tabular.WANDB_CSV_READER,
    tabular.UMC_RESULTS_READER,
    dataframe.READER,
    tabular.CSV_READER,
]
RUN_FILE = "run.toml"
"""A run's own settings: they make a folder a run even before its history exists."""


@dataclass(frozen=True)
class Candidate:
    """A history found in a run directory, read only once it is chosen."""

    reader: Reader
    target: Target

    @property
    def path(self) -> Path:
        return self.target.path

    def load(self) -> Read:
        return self.reader.load(self.target)


def reader_for(target: Target, readers: Sequence[Reader] | None = None) -> Reader | None:
    """The first reader (of `readers`, else all, in order) that recognises the target."""
    return next((reader for reader in (READERS if readers is None else readers) if reader.sniff(target)), None)


def named_history(path: Path, base: Path, selector: str | None = None) -> Candidate:
    """The history at a path the user named: a file, or a folder holding exactly one history in some layout.

    A named file that no reader recognises is read by the reader its suffix names, for that parser's
    more precise error.

    Raises:
        HistoryError: nothing reporter can read (or the file cannot be read at all).
    """
    if path.is_dir():
        for reader in READERS:
            found = [c for p in (reader.locate(path) if reader.locate else []) if (c := _located(reader, p, base))]
            if len(found) == 1:
                return found[0]
        raise HistoryError(f"{path}: not a history folder (looked for {_names(r for r in READERS if r.locate)})")
    target = Target(path, base, named=True, selector=selector)
    chosen = reader_for(target) or next((r for r in READERS if path.suffix.lower() in r.suffixes), None)
    if chosen is None:
        raise HistoryError(f"{path}: not a history reporter can read (looked for {_names(READERS)})")
    return Candidate(chosen, target)


def histories(folder: Path, excluded: Collection[str] = ()) -> list[Candidate]:
    """Every history in a run folder: those in the layouts readers know, then the folder's own files.

    A reader that takes the whole folder as one history (TensorBoard) is used only when no earlier
    reader found a history inside it: an MLflow store keeps event files among its artifacts.
    """
    found: list[Candidate] = []
    for reader in READERS:
        for path in reader.locate(folder) if reader.locate else []:
            if (path != folder or not found) and (candidate := _located(reader, path, folder)):
                found.append(candidate)
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name in excluded or path.name.startswith("."):
            continue
        target = Target(path, folder)
        readers = [reader for reader in READERS if reader.reads_name(path.name)]
        if readers and (recognised := reader_for(target, readers)):
            found.append(Candidate(recognised, target))
    return found


def no_history_error(folder: Path) -> HistoryError:
    """The error for a run folder in which no reader found anything, naming what was looked for."""
    return HistoryError(f"{folder}: no training history found (looked for {_names(READERS)})")


def looks_like_run(folder: Path) -> bool:
    """A folder holding run.toml, a file some reader reads, or a layout some reader knows; cheap, no parsing."""
    try:
        entries = [(p.name, p.is_file()) for p in folder.iterdir()]
    except OSError:
        return False
    readable = _matcher(tuple(pattern for reader in READERS for pattern in reader.files))
    layouts = [pattern for reader in READERS for pattern in reader.layouts]
    here = _matcher(tuple(pattern for pattern in layouts if "/" not in pattern))
    if any(is_file and (name == RUN_FILE or readable(name.lower())) or here(name) for name, is_file in entries):
        return True
    return any(next(folder.glob(pattern), None) is not None for pattern in layouts if "/" in pattern)


@functools.lru_cache(maxsize=8)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled test for many name patterns: discovery asks it of every file in every folder it visits."""
    return re.compile("|".join(translate(pattern) for pattern in patterns) or "(?!)").match


def _located(reader: Reader, path: Path, base: Path) -> Candidate | None:
    """A folder a reader's layout found is that reader's; a file found there is still recognised by content."""
    target = Target(path, base)
    if path.is_dir():
        return Candidate(reader, target)
    found = reader_for(target)
    return Candidate(found, target) if found else None


def _names(readers: Iterable[Reader]) -> str:
    return ", ".join(reader.name for reader in readers)
