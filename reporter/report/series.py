"""Series cut from the long history table: pure helpers that analysis and the charts both use."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reporter.model import Floats, Series

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


@dataclass
class _Cuts:
    """What key_runs() and series() cut from one history table, kept while the table lives: the analysis asks
    for the same key of a million-row history a dozen times, and every ask used to scan all its rows."""

    table: weakref.ref[pd.DataFrame]
    runs: tuple[np.ndarray, np.ndarray] | None = None
    series: dict[str, Series] = field(default_factory=dict)


_CUTS: dict[int, _Cuts] = {}
"""By id() of a live table (a DataFrame cannot be a dict key); its entry leaves when the table is freed."""


def _cuts(history: pd.DataFrame) -> _Cuts:
    cuts = _CUTS.get(id(history))
    if cuts is None or cuts.table() is not history:
        number = id(history)
        cuts = _CUTS[number] = _Cuts(weakref.ref(history, lambda _: _CUTS.pop(number, None)))
    return cuts


def key_runs(history: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First and past-the-last row of each run of rows with the same key (the history sorts by key); found
    once per table (read-only arrays)."""
    cuts = _cuts(history)
    if cuts.runs is None:
        cuts.runs = _key_runs(history)
        for bounds in cuts.runs:
            bounds.setflags(write=False)
    return cuts.runs


def _key_runs(history: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    column = history["key"]
    keys = column.cat.codes.to_numpy() if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy()
    if not len(keys):
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return starts, np.append(starts[1:], len(keys))


def _run_keys(history: pd.DataFrame) -> np.ndarray:
    """The key of each key run, as objects: only these rows' keys are made strings, never the whole column."""
    return history["key"].iloc[key_runs(history)[0]].to_numpy(dtype=object)


def history_keys(history: pd.DataFrame) -> list[str]:
    """The history's keys in order of first appearance, as Series.unique() gives them, from its key runs."""
    return list(pd.unique(_run_keys(history)))


def key_counts(history: pd.DataFrame) -> dict[str, int]:
    """How many rows each key has, from its key runs (value_counts() would hash every row's key)."""
    starts, ends = key_runs(history)
    counts: dict[str, int] = {}
    for key, size in zip(_run_keys(history).tolist(), (ends - starts).tolist()):
        counts[key] = counts.get(key, 0) + size
    return counts


def values_by_key(history: pd.DataFrame, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Each key's values at the marked rows, in table order, the keys sorted, as groupby("key")["value"] gives
    them (keys without a marked row left out) but cut from the key runs: grouping a million rows took 0.4 s."""
    starts, ends = key_runs(history)
    values = history["value"].to_numpy(dtype=float)
    parts: dict[str, list[np.ndarray]] = {}
    for key, start, end in zip(_run_keys(history).tolist(), starts.tolist(), ends.tolist()):
        parts.setdefault(key, []).append(values[start:end][rows[start:end]])
    joined = {key: np.concatenate(chunks) for key, chunks in parts.items()}
    return {key: joined[key] for key in sorted(joined) if len(joined[key])}


def series(history: pd.DataFrame, key: str) -> Series:
    """One key of the long history table, sorted by x; cut once per table and key (see _Cuts)."""
    cuts = _cuts(history)
    if key not in cuts.series:
        cuts.series[key] = _series(history, key)
    return cuts.series[key]


def _series(history: pd.DataFrame, key: str) -> Series:
    """The key's rows from its key runs, in table order; sorted by x as pandas sorts them unless already sorted."""
    starts, ends = key_runs(history)
    hits = np.flatnonzero(_run_keys(history) == key)
    rows: slice | np.ndarray = slice(starts[hits[0]], ends[hits[0]]) if len(hits) == 1 else \
        np.concatenate([np.arange(starts[i], ends[i]) for i in hits]) if len(hits) else np.zeros(0, dtype=np.intp)
    x, values = history["x"].to_numpy(dtype=float)[rows], history["value"].to_numpy(dtype=float)[rows]
    if not (np.diff(x) > 0).all():  # ties or disorder: pandas' own (unstable) sort, as before
        ordered = history.iloc[rows].sort_values("x")
        x, values = ordered["x"].to_numpy(dtype=float), ordered["value"].to_numpy(dtype=float)
    return Series(key=key, x=Floats(x), values=Floats(values))


def finite_part(data: Series) -> Series:
    """The points with a finite value (vectorised: a run logged every step has a million of them)."""
    x, values = data.arrays
    if values.size == 0 or np.isfinite(values).all():
        return data
    keep = np.isfinite(values)
    return Series(data.key, Floats(x[keep]), Floats(values[keep]))


def non_finite_tail(data: Series) -> float | None:
    """Where a series turns NaN or infinite for good (no finite value after it), or None.

    Such a tail is a divergence or a crash; NaN rows with finite values after them are gaps the run recovered
    from (one component of a summed loss overflowing at a few epochs), which the rules leave out instead."""
    finite = np.isfinite(data.arrays[1])
    if finite.size == 0 or finite[-1]:
        return None
    start = int(np.nonzero(finite)[0][-1]) + 1 if finite.any() else 0
    return float(data.x[start])


def non_finite_gaps(data: Series) -> tuple[float, ...]:
    """The x values of NaN or infinite rows that finite values follow (see non_finite_tail)."""
    tail = non_finite_tail(data)
    x, values = data.arrays
    gaps = ~np.isfinite(values) & (x < tail if tail is not None else True)
    return tuple(x[gaps].tolist())
