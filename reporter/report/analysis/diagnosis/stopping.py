"""The early-stopping counterfactual: where the framework that wrote the run would have stopped it.

Each rule replays one framework's published early-stopping code on the logged values, evaluation by
evaluation, so the report agrees with what the user's own callback would have done:

- Keras `EarlyStopping.on_epoch_end`: best starts at ±inf; `wait += 1`; an improvement is
  `monitor_op(current - min_delta, best)` with min_delta negated in min mode; it sets best and resets
  wait only when it also beats `baseline`; otherwise stop when `wait >= patience and epoch > 0`. Epochs
  before `start_from_epoch` are skipped. NaN is never an improvement.
- Lightning `EarlyStopping._evaluate_stopping_criteria`: a non-finite value stops at once (check_finite);
  an improvement is `monitor_op(current - min_delta, best)` with min_delta signed by mode, resetting
  wait_count; otherwise `wait_count += 1` and stop when it reaches patience (counted in validation checks).
- Hugging Face `EarlyStoppingCallback.check_metric_value`: the counter resets when there is no best yet,
  or when `np.greater`/`np.less` (by greater_is_better) beats `state.best_metric` by more than
  `early_stopping_threshold`; otherwise it counts up, and training stops when it reaches the patience.
  The Trainer updates `best_metric` after the callback, on any strict improvement (no threshold).
- Ultralytics `EarlyStopping.__call__(epoch, fitness)`: best_fitness starts at 0; a new best when
  `fitness > best_fitness or best_fitness == 0`; stop when `epoch - best_epoch >= patience` (in epochs,
  patience 0 meaning never). Fitness is 0.1 × mAP50 + 0.9 × mAP50-95 per task head (detection boxes,
  masks, poses), or the mean of top-1 and top-5 accuracy for classification.
- YOLOv5 `utils.torch_utils.EarlyStopping.__call__(epoch, fitness)` as it stood from its introduction
  (2021-08, #4576) until 2026-07 (#13833, which made the test strict): best_fitness starts at 0; a new best
  when `fitness >= best_fitness` (a tie counts); stop when `epoch - best_epoch >= patience` (patience 0 meaning
  never), with the 0-based epoch results.csv records. Fitness is 0.1 × mAP@0.5 + 0.9 × mAP@0.5:0.95.
- mmengine `EarlyStoppingHook._check_stop_condition`, once per validation: a non-finite value stops at once
  (check_finite); with min_delta signed by the rule (negated for 'less'), `compare(best + min_delta, current)`
  counts one more validation without improvement and stops when the count reaches patience; any other value,
  an equal one included, becomes the best and resets the count. Without a `rule` it is inferred from the
  monitor's name (`mmengine_rule`). Its `stopping_threshold` is not replayed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from reporter.model import Mode

DEFAULT_PATIENCE = {"keras": 0, "lightning": 3, "hf": 1, "ultralytics": 100, "yolov5": 100, "mmengine": 5}
"""Each framework's default patience: Keras EarlyStopping(patience=0), Lightning EarlyStopping(patience=3),
transformers EarlyStoppingCallback(early_stopping_patience=1), Ultralytics' `patience: 100` in default.yaml, YOLOv5's
`--patience 100` in train.py, mmengine EarlyStoppingHook(patience=5)."""


@dataclass(frozen=True)
class Stop:
    """Where the rule stopped (an index into the evaluations, None if it never did) and its best then."""

    stop: int | None
    best: int | None


def keras(values: Sequence[float] | np.ndarray, mode: Mode, patience: int, min_delta: float = 0.0,
          baseline: float | None = None, start_from_epoch: int = 0) -> Stop:
    """keras.callbacks.EarlyStopping, evaluation i being epoch i.

    Without min_delta and baseline (Keras' defaults, and ours) an improvement is a new running minimum (maximum),
    so the replay is a few array operations (keras_running_best); a million evaluations cost 0.1 s in the loop.
    """
    if min_delta == 0 and baseline is None:
        return keras_running_best(np.asarray(values, dtype=float), mode, patience, start_from_epoch)
    return keras_loop(np.asarray(values, dtype=float).tolist(), mode, patience, min_delta, baseline, start_from_epoch)


def keras_running_best(values: np.ndarray, mode: Mode, patience: int, start_from_epoch: int = 0) -> Stop:
    """keras_loop without min_delta and baseline, vectorised: epoch i improves when it beats every value before it
    (NaN never does, nor counts), waits i - (its last improvement) epochs, else i - start_from_epoch + 1."""
    start = max(start_from_epoch, 0)
    lower = values[start:] if mode is Mode.MIN else -values[start:]  # negation is exact: the same comparisons
    epochs = np.arange(start, len(values))
    before = np.fmin.accumulate(np.concatenate(([math.inf], lower[:-1]))) if len(lower) else lower
    improved = lower < before
    last = np.maximum.accumulate(np.where(improved, epochs, start - 1)) if len(lower) else epochs
    stops = np.flatnonzero(~improved & (epochs - last >= patience) & (epochs > 0))
    at = int(stops[0]) if len(stops) else len(lower) - 1
    best = int(last[at]) if len(lower) and last[at] >= start else None
    return Stop(int(epochs[at]) if len(stops) else None, best)


def keras_loop(values: Sequence[float], mode: Mode, patience: int, min_delta: float = 0.0,
               baseline: float | None = None, start_from_epoch: int = 0) -> Stop:
    """keras.callbacks.EarlyStopping's on_epoch_end, value by value."""
    delta = -abs(min_delta) if mode is Mode.MIN else abs(min_delta)
    better: Callable[[float, float], bool] = (lambda a, b: a < b) if mode is Mode.MIN else (lambda a, b: a > b)
    best, best_at, wait = (math.inf if mode is Mode.MIN else -math.inf), None, 0
    for epoch, current in enumerate(values):
        if epoch < start_from_epoch:
            continue
        wait += 1
        if better(current - delta, best):
            best, best_at = current, epoch
            if baseline is None or better(current - delta, baseline):
                wait = 0
            continue
        if wait >= patience and epoch > 0:
            return Stop(epoch, best_at)
    return Stop(None, best_at)


def lightning(values: Sequence[float], mode: Mode, patience: int, min_delta: float = 0.0,
              check_finite: bool = True) -> Stop:
    """lightning.pytorch.callbacks.EarlyStopping, one value per validation check."""
    delta = abs(min_delta) if mode is Mode.MAX else -abs(min_delta)
    better: Callable[[float, float], bool] = (lambda a, b: a < b) if mode is Mode.MIN else (lambda a, b: a > b)
    best, best_at, wait = (math.inf if mode is Mode.MIN else -math.inf), None, 0
    for check, current in enumerate(values):
        if check_finite and not math.isfinite(current):
            return Stop(check, best_at)
        if better(current - delta, best):
            best, best_at, wait = current, check, 0
            continue
        wait += 1
        if wait >= patience:
            return Stop(check, best_at)
    return Stop(None, best_at)


def huggingface(values: Sequence[float], greater_is_better: bool, patience: int, threshold: float = 0.0) -> Stop:
    """transformers.EarlyStoppingCallback with the Trainer's own best_metric bookkeeping."""
    better: Callable[[float, float], bool] = (lambda a, b: a > b) if greater_is_better else (lambda a, b: a < b)
    best: float | None = None
    best_at, counter = None, 0
    for evaluation, current in enumerate(values):
        if best is None or (better(current, best) and abs(current - best) > threshold):
            counter = 0
        else:
            counter += 1
        if best is None:
            best = -math.inf if greater_is_better else math.inf
        if better(current, best):
            best, best_at = current, evaluation
        if counter >= patience:
            return Stop(evaluation, best_at)
    return Stop(None, best_at)


def ultralytics(epochs: Sequence[float], fitness: Sequence[float], patience: int) -> Stop:
    """ultralytics.utils.torch_utils.EarlyStopping, called with the 1-based epoch results.csv records."""
    limit = patience or math.inf
    best, best_epoch, best_at = 0.0, 0.0, None
    for index, (epoch, value) in enumerate(zip(epochs, fitness)):
        if value > best or best == 0:
            best, best_epoch, best_at = value, epoch, index
        if epoch - best_epoch >= limit:
            return Stop(index, best_at)
    return Stop(None, best_at)


def yolov5(epochs: Sequence[float], fitness: Sequence[float], patience: int) -> Stop:
    """YOLOv5's utils.torch_utils.EarlyStopping (2021-08 to 2026-07), called with results.csv's 0-based epochs."""
    limit = patience or math.inf
    best, best_epoch, best_at = 0.0, 0.0, None
    for index, (epoch, value) in enumerate(zip(epochs, fitness)):
        if value >= best:
            best, best_epoch, best_at = value, epoch, index
        if epoch - best_epoch >= limit:
            return Stop(index, best_at)
    return Stop(None, best_at)


MMENGINE_MIN_DELTA = 0.1
"""EarlyStoppingHook's default min_delta (its docstring says 0.01; the signature's 0.1 is what runs)."""


def mmengine(values: Sequence[float], greater: bool, patience: int, min_delta: float = MMENGINE_MIN_DELTA,
             check_finite: bool = True) -> Stop:
    """mmengine.hooks.EarlyStoppingHook, one value per validation."""
    delta = min_delta if greater else -min_delta
    compare: Callable[[float, float], bool] = (lambda a, b: a > b) if greater else (lambda a, b: a < b)
    best, best_at, wait = (-math.inf if greater else math.inf), None, 0
    for check, current in enumerate(values):
        if check_finite and not math.isfinite(current):
            return Stop(check, best_at)
        if compare(best + delta, current):
            wait += 1
            if wait >= patience:
                return Stop(check, best_at)
        else:
            best, best_at, wait = current, check, 0
    return Stop(None, best_at)


MMENGINE_GREATER = ("acc", "top", "ar@", "auc", "precision", "map", "mdice", "miou", "macc", "aacc")
MMENGINE_LESS = ("loss",)
"""EarlyStoppingHook's default key fragments, lower-cased as it compares them."""


def mmengine_rule(monitor: str) -> Mode | None:
    """The rule EarlyStoppingHook infers from the monitor's name: an exact fragment first, then a fragment inside
    it, greater before less; None where the hook would refuse to start without an explicit rule."""
    name = monitor.lower()
    for match in (lambda key: name == key, lambda key: key in name):
        if any(match(key) for key in MMENGINE_GREATER):
            return Mode.MAX
        if any(match(key) for key in MMENGINE_LESS):
            return Mode.MIN
    return None


FITNESS_WEIGHTS = {"metrics/mAP50({head})": 0.1, "metrics/mAP50-95({head})": 0.9}
HEADS = ("B", "M", "P")  # boxes, masks, poses: a segmentation run's fitness adds the box and mask fitness
CLASSIFY_KEYS = ("metrics/accuracy_top1", "metrics/accuracy_top5")
CLASSIFY_WEIGHT = 0.5
"""A classification run's fitness is (top1 + top5) / 2."""


YOLOV5_FITNESS = {"metrics/mAP_0.5": 0.1, "metrics/mAP_0.5:0.95": 0.9}
"""YOLOv5's utils.metrics.fitness: the weights of [P, R, mAP@0.5, mAP@0.5:0.95] are [0, 0, 0.1, 0.9]."""


def yolov5_fitness_keys(keys: frozenset[str]) -> dict[str, float]:
    """YOLOv5's fitness columns with their weights; empty when they are not logged."""
    return dict(YOLOV5_FITNESS) if all(k in keys for k in YOLOV5_FITNESS) else {}


def fitness_keys(keys: frozenset[str]) -> dict[str, float]:
    """The columns Ultralytics' fitness is made of, with their weights; empty when they are not logged."""
    weights = {key.format(head=head): w for head in HEADS for key, w in FITNESS_WEIGHTS.items()
               if all(k.format(head=head) in keys for k in FITNESS_WEIGHTS)}
    if not weights and all(k in keys for k in CLASSIFY_KEYS):
        weights = {k: CLASSIFY_WEIGHT for k in CLASSIFY_KEYS}
    return weights
