"""What one history parser returns before the run is assembled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from reporter.model import Event, LoggedStats, Plan

if TYPE_CHECKING:
    from pandas._typing import ArrayLike

LONG_COLUMNS = ["key", "x_kind", "x", "value", "wall_time"]
LONG_TYPES: dict[str, Any] = {"key": "category", "x_kind": "category", "x": float, "value": float}


@dataclass
class ParsedHistory:
    """Mutable while a parser fills it; frozen into a `Run` by ingest.load_run.

    Line-oriented parsers append rows; vectorised parsers (CSV, JSON, event files) append long
    frames with the columns LONG_COLUMNS, which avoids a Python tuple per value on large files.
    """

    format: str
    rows: list[tuple[str, str, float, float, float | None]] = field(default_factory=list)
    """(key, x_kind, x, value, wall_time) in file order; restarts are resolved later."""
    frames: list[pd.DataFrame] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    splits: dict[str, str] = field(default_factory=dict)
    best_so_far_keys: set[str] = field(default_factory=set)
    logged_stats: list[LoggedStats] = field(default_factory=list)
    plan: Plan | None = None
    name: str | None = None
    metric_hint: str | None = None
    """The metric the framework itself treats as primary (HF metric_for_best_model), when the files say it."""
    skipped_lines: list[int] = field(default_factory=list)
    """Lines of the history left out as garbled (more cells than the header); the report says which."""

    def add(self, key: str, x: float, value: float, x_kind: str = "epoch", wall_time: float | None = None) -> None:
        self.rows.append((key, x_kind, float(x), float(value), wall_time))

    def long_table(self) -> pd.DataFrame:
        """Every value in file order, rows and frames together; `key` and `x_kind` as categoricals, whatever the
        parser wrote (one integer per row, so selecting a key's rows never compares a million strings)."""
        parts = [pd.DataFrame(self.rows, columns=LONG_COLUMNS)] if self.rows else []
        parts += [frame[LONG_COLUMNS] for frame in self.frames if len(frame)]
        if not parts:
            return pd.DataFrame(columns=LONG_COLUMNS).astype(LONG_TYPES)
        table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        if not isinstance(table["key"].dtype, pd.CategoricalDtype):
            table = table.astype({"key": str})
        return table.astype(LONG_TYPES)


def distinct_keys(keys: ArrayLike) -> list[str]:
    """The keys in order of first appearance, hashing only the rows where the key changes: a long table
    holds each key's values together, so a million rows are a few runs."""
    if not len(keys):
        return []
    return list(pd.unique(keys[np.concatenate(([True], keys[1:] != keys[:-1]))]))
