"""Configuration: the lab-wide settings file (`--config`) and each run's `run.toml`.

Both are TOML, typed, and validated all at once, so a user fixes every mistake in one pass:
`config.toml: analysis.patience: expected a positive integer, got -5; unknown key 'langs'
(did you mean 'languages'?)`. Parsing text is ingest's job; these functions take parsed dicts.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

from reporter.errors import ConfigError
from reporter.model import Mode, RunConfig

if TYPE_CHECKING:
    from reporter.lab.delivery.settings import DeliverySettings

MAX_PLANNED_EPOCHS = 10_000_000
"""No training run plans more epochs than this; a larger planned length is a typo or a placeholder for
"forever", and projecting to it would exhaust memory."""

LANGUAGES = ("zh", "en")
FORMATS = ("md", "html", "pdf")


@dataclass(frozen=True)
class Thresholds:
    """Every threshold the analysis uses; all of them are printed in the report's appendix."""

    min_delta: float = 0.0
    """A new best must beat the old one by more than this (Keras-style, absolute, metric units)."""
    patience: int = 5
    """Evaluations without a new best before the metric counts as on a plateau."""
    window: int = 8
    """Most recent evaluations used for trend and stability."""
    significance: float = 0.05
    """Mann-Kendall p-value below which a trend counts as real."""
    flat_loss: float = 0.01
    """A loss whose relative change over the run is below this carries no signal."""
    tiny_class: int = 10
    """A class with fewer samples than this is flagged."""
    imbalance_warn: float = 10.0
    """Max/min class ratio from which imbalance is a watch item."""
    stall_factor: float = 5.0
    """A run is stalled when its last entry is older than this many typical epoch durations."""
    stall_min_hours: float = 6.0
    """...and older than this many hours: a short silence (or a pinned --now before the last write) is normal."""
    own_stop_epochs: float = 2.0
    """A run its own early-stopping rule stops at its last logged epoch has stopped early once nothing was
    written for more than this many usual epoch durations."""
    interval: float = 0.8
    """Coverage of the projection interval."""
    overfit_noise: float = 3.0
    """Overfitting: the validation loss must end more than this many noise scales above its smoothed minimum."""
    overfit_rise: float = 0.05
    """Overfitting: ...and at least this fraction above it (0.05 = 5%)."""
    gap_patience: int = 10
    """Generalisation gap: evaluations without a new validation best while the training loss keeps falling."""
    gap_train_drop: float = 0.1
    """Generalisation gap: ...by at least this fraction of its value at the validation best."""
    improving_min_drop: float = 0.02
    """Still improving: the validation loss fell by at least this fraction over the last third of the run."""
    stop_patience: int = 5
    """Early-stopping counterfactual: the patience used when the run's config states none (Keras-style)."""
    stop_min_delta: float = 0.0
    """Early-stopping counterfactual: the min_delta used when the run's config states none."""
    stop_noise: float = 1.0
    """Early-stopping counterfactual: a best after the stop (of the monitored value, or of the primary metric) counts
    as lost only when it beats the best up to the stop by more than this many noise scales of its curve."""
    spike_window: int = 10
    """Lightning SpikeDetection's window: a training loss is compared with the mean of its last this many values."""
    spike_rtol: float = 2.0
    """...and is a spike when it rose and exceeds that mean by more than this times the mean (Lightning's rtol)."""
    spike_noise: float = 0.5
    """Spikes are a watch item only on a training loss whose ordinary movement (the median relative change between
    consecutive values) is below this; on a noisier one (a single mini-batch's loss logged per epoch) they are within
    its noise and reported as information."""
    diverging_share: float = 0.5
    """The training loss diverges when it rose significantly over the last `window` values and gave back more than
    this share of everything it had gained (from its first value down to its minimum)..."""
    diverging_ratio: float = 2.0
    """...or ended at least this many times above its (positive) minimum..."""
    diverging_floor: float = 0.1
    """...and in either case rose from its minimum by at least this share of its own range (largest minus smallest
    value): lightning-finance-v3's loss, 5.8e-5 at its first epoch, moves from 8e-7 to 4.9e-6 (7% of its range), which
    is numerical noise at convergence, not divergence; other-volatility's real divergence rises 19% of its range."""
    unstable_change: float = 0.05
    """The validation loss is unstable when, over the second half of the run, its moves against its own net
    direction (the rises of a falling curve) add up to at least this share of its median level per evaluation: a
    monotone curve, however steep, has none; measured on tests/fixtures/real-runs (0.05 keeps the labelled
    unstable runs and precision of the former relative-change rule)."""
    unstable_range: float = 0.005
    """...and to at least this share of the curve's whole range (largest minus smallest value) per evaluation: noise
    on a loss that converged near 0 is large against its level but small against how far it fell (yolo-cls-v11-train3:
    0.0044; the labelled unstable runs: 0.0075 and more)."""
    coarse_split: int = 200
    """A ratio metric whose every value is a whole number of 1/n for some n up to this counts the right answers of a
    split of at most this many samples; when it also keeps returning to the same values (`coarse_levels`), it moves
    in steps a learning curve cannot forecast between, and no projection is made (lightning-convlstm-v11: steps of
    1/16, a far-ahead level of 100% and an 80% chance of beating a best it had not beaten in 33 epochs)."""
    coarse_levels: float = 0.5
    """...and it took at most this share of distinct values over its evaluations."""
    lr_drop: float = 0.5
    """The learning rate dropped when one logged value is at most this share of the one before."""
    lr_window: int = 5
    """Evaluations after a learning-rate drop in which the metric must beat its best before the drop by min_delta."""
    lr_floor: float = 0.1
    """A learning rate at its minimum and at most this share of its peak is at its floor."""
    eta_window: int = 10
    """Most recent epoch durations the time to finish is estimated from."""
    slowdown: float = 1.5
    """Epochs got slower when the median of the last `eta_window` durations exceeds the first ones' by this factor."""


@dataclass(frozen=True)
class Experiment:
    """A declared comparison (`[[experiments]]`): variants set against a baseline, for `reporter compare`
    and the digest's ablations. Each group is a run, a folder of seeds or a glob, below the runs root."""

    name: str
    baseline: str
    runs: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """Lab-wide settings: where runs live, what to render, and the analysis thresholds."""

    runs_root: str = "runs"
    languages: tuple[str, ...] = LANGUAGES
    formats: tuple[str, ...] = FORMATS
    project_to: tuple[float, ...] = ()
    thresholds: Thresholds = Thresholds()
    delivery: DeliverySettings | None = None
    """Where the nightly reports are sent ([delivery]); None sends nothing."""
    experiments: tuple[Experiment, ...] = ()


class _Problems:
    """Collects validation problems so they can be reported together."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key}: {message}")

    def unknown(self, prefix: str, data: Mapping[str, Any], known: list[str]) -> None:
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
                self.add(prefix + key, f"unknown key{hint}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(f"{self.origin}: " + "; ".join(self.items))


def _check(problems: _Problems, key: str, value: Any, valid: Callable[[Any], bool], expected: str) -> Any:
    if not valid(value):
        problems.add(key, f"expected {expected}, got {value!r}")
        return None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _choice_list(problems: _Problems, key: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items or any(not str(item).strip() for item in items):
        problems.add(key, f"expected a list drawn from {', '.join(allowed)}, got {value!r}")
        return None
    cleaned = tuple(dict.fromkeys(str(item).strip() for item in items))
    bad = [item for item in cleaned if item not in allowed]
    if bad:
        problems.add(key, f"unknown value {', '.join(bad)}; choose from {', '.join(allowed)}")
        return None
    return cleaned


def parse_epoch_list(problems: _Problems, key: str, value: Any) -> tuple[float, ...] | None:
    """Positive epochs, fractional ones included (a Hugging Face run evaluates at epoch 0.4, 0.8, ...), or
    steps for a run indexed by optimiser steps: the x values of the run's own axis."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        problems.add(key, f"expected a list of positive numbers (epochs such as 20 or 3.4, or steps), got {value!r}")
        return None
    epochs: list[float] = []
    for item in items:
        try:
            number = float(str(item).strip())
        except ValueError:
            number = -1.0
        if not 0 < number < math.inf:
            problems.add(key, f"expected positive numbers (epochs such as 20 or 3.4, or steps), got {item!r}")
            return None
        epochs.append(number)
    return tuple(sorted(set(epochs)))


_THRESHOLD_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "min_delta": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "patience": (_is_positive_int, "a positive integer"),
    "window": (lambda v: _is_positive_int(v) and v >= 3, "an integer >= 3"),
    "significance": (lambda v: _is_number(v) and 0 < v < 1, "a number between 0 and 1"),
    "flat_loss": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "tiny_class": (_is_positive_int, "a positive integer"),
    "imbalance_warn": (lambda v: _is_number(v) and v > 1, "a number > 1"),
    "stall_factor": (lambda v: _is_number(v) and v > 1, "a number > 1"),
    "stall_min_hours": (lambda v: _is_number(v) and v > 0, "a positive number of hours"),
    "own_stop_epochs": (lambda v: _is_number(v) and v > 0, "a positive number of epoch durations"),
    "interval": (lambda v: _is_number(v) and 0.5 <= v < 1, "a number in [0.5, 1)"),
    "overfit_noise": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "overfit_rise": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "gap_patience": (_is_positive_int, "a positive integer"),
    "gap_train_drop": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "improving_min_drop": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "stop_patience": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    "stop_min_delta": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "stop_noise": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "spike_window": (_is_positive_int, "a positive integer"),
    "spike_rtol": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "spike_noise": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "diverging_share": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "diverging_ratio": (lambda v: _is_number(v) and v > 1, "a number > 1"),
    "diverging_floor": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "unstable_change": (lambda v: _is_number(v) and v > 0, "a positive number"),
    "unstable_range": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "coarse_split": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer >= 0"),
    "coarse_levels": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "lr_drop": (lambda v: _is_number(v) and 0 < v < 1, "a number between 0 and 1"),
    "lr_window": (_is_positive_int, "a positive integer"),
    "lr_floor": (lambda v: _is_number(v) and 0 < v < 1, "a number between 0 and 1"),
    "eta_window": (lambda v: _is_positive_int(v) and v >= 2, "an integer >= 2"),
    "slowdown": (lambda v: _is_number(v) and v > 1, "a number > 1"),
}


def settings_from_dict(data: Mapping[str, Any], origin: str = "config") -> Settings:
    """Validate a parsed settings file; raises ConfigError listing every problem.

    Raises:
        ConfigError: unknown keys, wrong types or out-of-range values.
    """
    problems = _Problems(origin)
    top = ["runs_root", "languages", "formats", "project_to", "analysis", "delivery", "experiments"]
    problems.unknown("", data, top)
    settings = Settings()
    if "runs_root" in data and _check(problems, "runs_root", data["runs_root"], _is_text, "a path"):
        settings = replace(settings, runs_root=data["runs_root"])
    if "languages" in data and (langs := _choice_list(problems, "languages", data["languages"], LANGUAGES)):
        settings = replace(settings, languages=langs)
    if "formats" in data and (formats := _choice_list(problems, "formats", data["formats"], FORMATS)):
        settings = replace(settings, formats=formats)
    if "project_to" in data and (epochs := parse_epoch_list(problems, "project_to", data["project_to"])):
        settings = replace(settings, project_to=epochs)
    analysis = data.get("analysis", {})
    if not isinstance(analysis, Mapping):
        problems.add("analysis", "expected a table")
        analysis = {}
    problems.unknown("analysis.", analysis, [f.name for f in fields(Thresholds)])
    values = {}
    for name, (valid, expected) in _THRESHOLD_CHECKS.items():
        if name in analysis and _check(problems, f"analysis.{name}", analysis[name], valid, expected) is not None:
            values[name] = analysis[name]
    if "delivery" in data:
        from reporter.lab.delivery.settings import delivery_from_dict

        settings = replace(settings, delivery=delivery_from_dict(problems, data["delivery"], settings.languages))
    experiments = _experiments(problems, data.get("experiments", []))
    problems.raise_if_any()
    return replace(settings, thresholds=replace(settings.thresholds, **values), experiments=experiments)


def _experiments(problems: _Problems, data: Any) -> tuple[Experiment, ...]:
    """`[[experiments]]` tables: name, baseline and runs (a non-empty list), names unique."""
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        problems.add("experiments", "expected [[experiments]] tables with name, baseline and runs")
        return ()
    found: list[Experiment] = []
    for index, item in enumerate(data):
        key = f"experiments[{index}]."
        problems.unknown(key, item, ["name", "baseline", "runs"])
        name = _check(problems, key + "name", item.get("name"), _is_text, "a non-empty name")
        baseline = _check(problems, key + "baseline", item.get("baseline"), _is_text, "a run, folder or glob")
        runs = _check(problems, key + "runs", item.get("runs"),
                      lambda v: isinstance(v, list) and bool(v) and all(_is_text(r) for r in v),
                      "a non-empty list of runs, folders or globs")
        if name and name in {e.name for e in found}:
            problems.add(key + "name", f"'{name}' is declared twice; give each experiment its own name")
        elif name and baseline and runs:
            found.append(Experiment(name.strip(), baseline.strip(), tuple(r.strip() for r in runs)))
    return tuple(found)


def run_config_from_dict(data: Mapping[str, Any], origin: str = "run.toml") -> RunConfig:
    """Validate a parsed run.toml; raises ConfigError listing every problem.

    Raises:
        ConfigError: unknown keys, wrong types or out-of-range values.
    """
    problems = _Problems(origin)
    problems.unknown("", data, ["name", "dataset", "history", "planned_epochs", "metric", "labels"])
    values: dict[str, Any] = {}
    for key in ("name", "dataset", "history"):
        if key in data and _check(problems, key, data[key], _is_text, "a non-empty string"):
            values[key] = data[key].strip()
    if "planned_epochs" in data and _check(problems, "planned_epochs", data["planned_epochs"],
                                           lambda v: _is_positive_int(v) and v <= MAX_PLANNED_EPOCHS,
                                           f"a positive integer up to {MAX_PLANNED_EPOCHS:,}"):
        values["planned_epochs"] = data["planned_epochs"]
    metric = data.get("metric", {})
    if isinstance(metric, str):
        metric = {"name": metric}
    if not isinstance(metric, Mapping):
        problems.add("metric", "expected a table with name, mode and split")
        metric = {}
    problems.unknown("metric.", metric, ["name", "mode", "split"])
    if "name" in metric and _check(problems, "metric.name", metric["name"], _is_text, "a metric name"):
        values["metric"] = metric["name"].strip()
    if "mode" in metric and _check(problems, "metric.mode", metric["mode"], lambda v: v in ("max", "min"), "'max' or 'min'"):
        values["mode"] = Mode(metric["mode"])
    if "split" in metric and _check(problems, "metric.split", metric["split"], _is_text, "a split name such as 'test'"):
        values["split"] = metric["split"].strip()
    labels = data.get("labels", {})
    if not isinstance(labels, Mapping):
        problems.add("labels", "expected a table with file, label_column and text_column")
        labels = {}
    problems.unknown("labels.", labels, ["file", "label_column", "text_column"])
    for key, target in (("file", "labels_file"), ("label_column", "label_column"), ("text_column", "text_column")):
        if key in labels and _check(problems, f"labels.{key}", labels[key], _is_text, "a non-empty string"):
            values[target] = labels[key]
    problems.raise_if_any()
    return RunConfig(**values)
