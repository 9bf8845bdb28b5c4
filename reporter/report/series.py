"""Series cut from the long history table: pure helpers that analysis and the charts both use."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reporter.model import Series

PHASE_PREFIXES = ("pretrain",)
"""Keys of an earlier training phase with its own epoch counter (UMC pre-training)."""


def main_phase(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of the main training phase, with their own epoch axis (the history itself when it has no other).

    Decided once per run of equal keys, not per row: a million-step history holds a few keys in long runs.
    """
    starts, ends = key_runs(history)
    earlier = np.array([str(history["key"].iat[start]).startswith(PHASE_PREFIXES) for start in starts], dtype=bool)
    if not earlier.any():
        return history
    return history[np.repeat(~earlier, ends - starts)]


def key_runs(history: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First and past-the-last row of each run of rows with the same key (the history sorts by key)."""
    keys = history["key"].to_numpy()
    if not len(keys):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return starts, np.append(starts[1:], len(keys))


def history_keys(history: pd.DataFrame) -> list[str]:
    """The history's keys in order of first appearance, as Series.unique() gives them, from its key runs."""
    return list(pd.unique(history["key"].to_numpy()[key_runs(history)[0]]))


def series(history: pd.DataFrame, key: str) -> Series:
    """One key of the long history table, sorted by x."""
    rows = history[history["key"].to_numpy() == key].sort_values("x")  # numpy's == on the objects: 5x pandas' str ==
    return Series(key=key, x=tuple(rows["x"].to_numpy(dtype=float).tolist()),
                  values=tuple(rows["value"].to_numpy(dtype=float).tolist()))


def finite_part(data: Series) -> Series:
    """The points with a finite value (vectorised: a run logged every step has a million of them)."""
    values = np.asarray(data.values, dtype=float)
    if values.size == 0 or np.isfinite(values).all():
        return data
    keep = np.isfinite(values)
    return Series(data.key, tuple(np.asarray(data.x, dtype=float)[keep].tolist()), tuple(values[keep].tolist()))


def non_finite_tail(data: Series) -> float | None:
    """Where a series turns NaN or infinite for good (no finite value after it), or None.

    Such a tail is a divergence or a crash; NaN rows with finite values after them are gaps the run recovered
    from (one component of a summed loss overflowing at a few epochs), which the rules leave out instead."""
    values = np.asarray(data.values, dtype=float)
    finite = np.isfinite(values)
    if values.size == 0 or finite[-1]:
        return None
    start = int(np.nonzero(finite)[0][-1]) + 1 if finite.any() else 0
    return float(data.x[start])


def non_finite_gaps(data: Series) -> tuple[float, ...]:
    """The x values of NaN or infinite rows that finite values follow (see non_finite_tail)."""
    tail = non_finite_tail(data)
    return tuple(x for x, value in zip(data.x, data.values)
                 if not math.isfinite(value) and (tail is None or x < tail))
