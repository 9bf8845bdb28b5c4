"""Typed values that cross stage boundaries.

Everything here is a frozen dataclass or an enum, so a stage cannot quietly change what an earlier
stage produced. The one exception is `Run.history`, a pandas DataFrame: stages treat it as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence, overload

import numpy as np

if TYPE_CHECKING:
    import pandas as pd  # only the annotation of Run.history: importing the model must not load pandas

HISTORY_COLUMNS = ("source", "key", "x_kind", "x", "value", "wall_time")


def frozen_mapping(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a copy of `values`, so params cannot change after a stage returns."""
    return MappingProxyType(dict(values or {}))


class Mode(StrEnum):
    MAX = "max"
    MIN = "min"


class Scale(StrEnum):
    """How a metric's numbers are written in its source: kept, never rescaled in storage."""

    FRACTION = "fraction"
    PERCENT = "percent"
    RAW = "raw"


class Trend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    DECLINING = "declining"
    OSCILLATING = "oscillating"
    INSUFFICIENT = "insufficient_data"


class Status(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED_EARLY = "stopped_early"
    CRASHED = "crashed"
    STALLED = "stalled"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    INFO = "info"
    OK = "ok"
    WARN = "warn"
    ERROR = "error"


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"  # the data cannot tell yet
    NOT_APPLICABLE = "n/a"  # nothing to check: no loss, no metric, no plan, no label file, no published results


@dataclass(frozen=True)
class Source:
    """One input file, with the checksum printed in the appendix so a report can be traced."""

    path: str
    format: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Event:
    """Something the history says happened: an early stop, a traceback, the end of training."""

    kind: str  # early_stop | crash | finished
    x: float | None
    detail: str = ""


@dataclass(frozen=True)
class LoggedStats:
    """A training monitor's own summary as the log printed it (e.g. the UMC fork's dict)."""

    x: float
    best_value: float | None
    best_epoch: float | None
    improvements: int | None
    degradations: int | None
    trend: str | None
    stability: float | None


@dataclass(frozen=True)
class Plan:
    """The planned length of a run and where that number came from."""

    epochs: float  # HF num_train_epochs may be fractional (3.4); the other sources give whole epochs
    basis: str  # umc_thres_delta | config | run_toml
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class LabelTable:
    """A dataset label file read verbatim: header artefacts are kept so analysis can flag them."""

    path: str
    columns: tuple[str, ...]
    label_column: str
    text_column: str | None
    labels: tuple[str, ...]
    texts: tuple[str, ...]
    sha256: str
    size: int


@dataclass(frozen=True)
class Predictions:
    """Cluster assignments of one epoch (or of the final model when epoch is None)."""

    epoch: float | None
    labels: tuple[str, ...]  # true classes, as strings so any label type reads the same
    preds: tuple[int, ...]  # cluster ids
    embeddings: Any = None  # numpy array [n, d] or None; kept out of equality and hashing
    path: str = ""


@dataclass(frozen=True)
class RunConfig:
    """What `run.toml` (or the command line) says about a run; None means 'not given'."""

    name: str | None = None
    dataset: str | None = None
    metric: str | None = None
    mode: Mode | None = None
    planned_epochs: int | None = None
    split: str | None = None
    history: str | None = None
    labels_file: str | None = None
    label_column: str | None = None
    text_column: str | None = None


@dataclass(frozen=True)
class Run:
    """A training run as ingest found it: the long history table plus what the sources say."""

    id: str
    name: str
    dataset: str | None
    sources: tuple[Source, ...]
    history: pd.DataFrame
    hyperparameters: Mapping[str, Any]
    plan: Plan | None
    events: tuple[Event, ...]
    splits: Mapping[str, str]
    best_so_far_keys: frozenset[str]
    logged_stats: tuple[LoggedStats, ...]
    labels: LabelTable | None
    config: RunConfig
    last_write: datetime | None
    family: str  # the history's dialect, e.g. umc-fork, umc, csv
    epoch_base: int  # 0 when the source counts epochs from 0, else 1
    restarts: int  # times the x axis went backwards (resumed or appended sessions)
    predictions: tuple[Predictions, ...] = ()  # per-epoch cluster assignments, sorted by epoch
    location: Path | None = None  # the run folder or file, resolved: out/<id> records whose report it holds
    metric_hint: str | None = None  # the framework's own primary metric, when its files say which
    last_write_recorded: bool = False  # last_write is the history's own last wall time, not the file's mtime
    skipped_lines: tuple[int, ...] = ()  # garbled lines of the history left out (more cells than the header)


class Floats(Sequence[float]):
    """Read-only floats that read as a tuple of Python floats (indexing, slicing, iterating, `==`, truth) but are
    held as one float array, which np.asarray gives back without a copy.

    A series of a million points used to be made as two tuples of a million Python floats and turned back into
    arrays by each rule that reads it (0.13 s for each tuple, and as much again for each array, on the
    1,000,000-row report); made from an array, it now costs one read-only copy of it.
    """

    __slots__ = ("_array",)

    def __init__(self, values: Iterable[float] | np.ndarray = ()) -> None:
        array = np.array(values, dtype=float)
        array.setflags(write=False)
        self._array = array

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> Floats: ...

    def __getitem__(self, index: int | slice) -> float | Floats:
        if isinstance(index, slice):
            return Floats(self._array[index])
        return float(self._array[index])

    def __len__(self) -> int:
        return len(self._array)

    def __iter__(self) -> Iterator[float]:
        return iter(self._array.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Floats, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if (dtype is None or np.dtype(dtype) == self._array.dtype) and not copy:
            return self._array
        return np.array(self._array, dtype=dtype)


@dataclass(frozen=True)
class Series:
    """One key of the history, sorted by x, with restarts already resolved; x and values are Floats, whatever
    sequence of numbers they are given as."""

    key: str
    x: Floats
    values: Floats

    def __post_init__(self) -> None:
        for name in ("x", "values"):
            if not isinstance(getattr(self, name), Floats):
                object.__setattr__(self, name, Floats(getattr(self, name)))

    def __len__(self) -> int:
        return len(self.x)

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """x and values as read-only float arrays (no copy)."""
        return np.asarray(self.x), np.asarray(self.values)


@dataclass(frozen=True)
class Point:
    x: float
    value: float


@dataclass(frozen=True)
class TrendResult:
    kind: Trend
    window: int
    slope: float | None  # per epoch, in the metric's own unit
    p_value: float | None


@dataclass(frozen=True)
class Stability:
    """Noise around the trend, scored like the UMC fork's formula so the two can be compared."""

    score: float | None  # 1 - 10 * noise / |mean| of the detrended window, clipped to 0..1
    raw_score: float | None  # the same formula on the raw window (what the fork logs)
    noise: float | None  # std of residuals around the Theil-Sen line


@dataclass(frozen=True)
class MetricSummary:
    name: str
    mode: Mode
    scale: Scale
    split: str | None
    best_so_far: bool
    n_points: int
    current: Point | None
    best: Point | None
    improvements: int
    degradations: int
    epochs_since_best: float | None
    trend: TrendResult
    stability: Stability
    basis: str | None = None  # why it is the primary metric: configured, framework, validation, test, other, loss


@dataclass(frozen=True)
class LossSummary:
    key: str
    current: Point | None
    relative_change: float | None
    n_points: int


@dataclass(frozen=True)
class ProjectionPoint:
    epoch: float
    low: float
    median: float
    high: float


@dataclass(frozen=True)
class Projection:
    method: str
    interval: float
    points: tuple[ProjectionPoint, ...]
    asymptote: ProjectionPoint | None
    backtest_error: float | None  # median |error| / range on the run's own history
    capped: tuple[float, ...]  # requested epochs dropped because they lie past the end
    limit: float | None  # the last epoch projections may reach
    reason: str | None  # why there are no points (code), e.g. insufficient_data
    flatten_epoch: float | None  # where the median forecast stops gaining (see projection.FLAT_GAIN)
    p_beat_best: float | None  # P(beating the best so far by the limit)
    p_reach_target: float | None  # P(reaching the published reference by the limit)
    chance_at: float | None = None  # where both probabilities are taken: the limit, or as far ahead as observed


@dataclass(frozen=True)
class ClassCount:
    label: str
    count: int
    artefact: bool


@dataclass(frozen=True)
class DatasetProfile:
    path: str
    n_rows: int
    n_samples: int  # rows minus header artefacts
    classes: tuple[ClassCount, ...]  # sorted by count, largest first
    imbalance_ratio: float | None
    raw_imbalance_ratio: float | None  # what a naive count (artefacts included) would say
    largest: str | None
    smallest: str | None
    text_words: Mapping[str, float] | None  # mean, median, p95, max
    segments: tuple[int, ...]  # data rows between repeated headers, e.g. (train, dev)


@dataclass(frozen=True)
class ReferenceRow:
    dataset: str
    method: str
    split: str
    metrics: Mapping[str, float]  # in percent, as published
    citation: str


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class CheckItem:
    code: str
    status: CheckStatus
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class SettingChange:
    """The config key a recommendation changes: its current value when the run's config has it (present),
    else the setting to add."""

    key: str
    current: Any
    suggested: Any
    present: bool


@dataclass(frozen=True)
class Recommendation:
    code: str
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)
    evidence: tuple[str, ...] = ()  # the finding codes that support it; a recommendation without one is a bug
    change: SettingChange | None = None


@dataclass(frozen=True)
class TrainValPair:
    """A training series and its validation twin; several keys are summed (a loss logged in components)."""

    train: tuple[str, ...]
    val: tuple[str, ...]

    @property
    def label(self) -> tuple[str, str]:
        """How the report names the two sides: the key, or the keys joined with ' + '."""
        return " + ".join(self.train), " + ".join(self.val)


@dataclass(frozen=True)
class PairedLosses:
    """The training and validation losses the fit rules read (one key each, or Ultralytics' components summed), as
    logged per epoch: what the key-metrics table shows first and where the loss chart marks the validation minimum."""

    train_key: str  # the key, or the keys joined with ' + '
    val_key: str
    train: Point | None  # the last finite training value
    val: Point | None  # the last finite validation value
    val_best: Point | None  # the lowest validation value: the best epoch the appendix defines


@dataclass(frozen=True)
class SeedSummary:
    """Final results over seeds of one configuration, as papers report them (unit of the source)."""

    n: int
    metrics: Mapping[str, Mapping[str, float]]  # metric -> mean, std, min, max


@dataclass(frozen=True)
class ReferenceTarget:
    """The published result a run is measured against: `value` in the metric's own unit (a fraction when the
    metric is one), from `row`'s `column` (percent, as published)."""

    value: float
    row: ReferenceRow
    column: str

    @property
    def published(self) -> float:
        """The value as the paper prints it, in percent."""
        return self.row.metrics[self.column]


@dataclass(frozen=True)
class RunInfo:
    """What the later stages (present, render, summary, compare) need of a run, without its history."""

    id: str
    name: str
    dataset: str | None
    family: str
    sources: tuple[Source, ...]
    hyperparameters: Mapping[str, Any]
    plan: Plan | None
    configured_metric: str | None  # the metric run.toml or --metric names, even when the history lacks it
    location: Path | None = None


@dataclass(frozen=True, eq=False)
class Curve:
    """One key of the history as float arrays sorted by x, non-finite values kept: 16 bytes a point where a
    `Series` holds a Python float, since an analysis keeps several curves of runs logged at every step."""

    key: str
    x: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def finite(self) -> Curve:
        """The points with a finite value."""
        keep = np.isfinite(self.values)
        return self if keep.all() else Curve(self.key, self.x[keep], self.values[keep])


@dataclass(frozen=True)
class Curves:
    """The series the charts draw and comparisons line up, cut from the history once, by analysis."""

    metric: Curve | None  # the primary metric as logged
    loss: Curve | None  # the training loss the analysis judged (LossSummary.key)
    losses: tuple[Curve, ...] = ()  # the main phase's loss curves the loss chart draws, in history order
    losses_not_drawn: tuple[str, ...] = ()  # the main phase's other losses, beyond what one chart can show
    wall_seconds: float | None = None  # first to last logged wall-clock time; None with fewer than two


@dataclass(frozen=True)
class Analysis:
    run: RunInfo
    curves: Curves
    status: Status
    last_epoch: float | None
    metric: MetricSummary | None
    loss: LossSummary | None
    projection: Projection
    dataset: DatasetProfile | None
    reference: tuple[ReferenceRow, ...]
    findings: tuple[Finding, ...]
    checklist: tuple[CheckItem, ...]
    recommendations: tuple[Recommendation, ...]
    thresholds: Mapping[str, Any]
    generated_at: datetime
    seeds: SeedSummary | None = None
    clustering: Any = None  # analysis.clustering.ClusteringResult when predictions exist
    x_unit: str = "epoch"  # what x counts: "epoch", or "step" for histories indexed by optimiser steps only
    verdict: str = "healthy"  # healthy | needs_attention | action_needed (analysis.diagnosis.verdict)
    pairs: tuple[TrainValPair, ...] = ()  # the train/validation pairs the diagnosis read
    paired_losses: PairedLosses | None = None  # the loss pair the fit rules read, when the run has one


def scalar(value: Any) -> Any:
    """The single value of a one-element grid-search list, as the UMC code itself unwraps it."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


SECTION = "."
"""Joins a nested config's sections into one key: Lightning's `optimizer: {weight_decay: ..}` reads as
`optimizer.weight_decay`, the key the user edits."""


def config_keys(hyperparameters: Mapping[str, Any], names: tuple[str, ...]) -> Iterator[str]:
    """The run's config keys that hold a setting known by any of the names, in the order to trust them: each name
    as a top-level key, then the same name inside any section (`trainer.max_epochs`), in the file's order.

    Nested configs are read flattened (ingest.sidecar), so a setting can sit under any section; callers take the
    first key whose value they can use and report that key, so that the advice names what to edit.
    """
    yield from (name for name in names if name in hyperparameters)
    yield from (key for name in names for key in hyperparameters if key.endswith(SECTION + name))
