"""Statistics of one metric series: direction, scale, best, counts, trend and stability.

Definitions follow DESIGN.md and are repeated in the report's appendix: Keras-style absolute
min_delta, a Theil-Sen slope with a Mann-Kendall test for the trend, and stability as the noise
around that trend, so a steady rise is not mistaken for instability.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import pandas as pd

from reporter.config import Thresholds
from reporter.model import (
    Mode,
    Point,
    Run,
    Scale,
    Series,
    Stability,
    Trend,
    TrendResult,
)
from reporter.report.analysis.rank_tests import mann_kendall_p, theil_sen
from reporter.report.series import finite_part, history_keys, key_counts

_MIN_TOKENS = {"loss", "error", "err", "perplexity", "ppl", "wer", "cer", "mae", "mse", "rmse", "nll"}
_MAX_TOKENS = {"acc", "accuracy", "f1", "nmi", "ari", "ami", "fmi", "map", "map50", "auc", "dice", "iou", "miou",
               "precision", "recall", "bleu", "rouge", "top1", "top5", "acc1", "acc5", "r2", "performance"}
_RATIO_TOKENS = _MAX_TOKENS - {"bleu", "r2"}
_CJK_MIN_WORDS = ("损失", "错误率", "误差", "困惑度")
_CJK_MAX_WORDS = ("准确率", "正确率", "精度", "精确率", "召回率")
_CJK_RATIO_WORDS = ("准确率", "正确率", "精度", "精确率", "召回率", "错误率")
"""Chinese metric words (as in `验证准确率`, `训练损失`), matched as substrings: Chinese has no spaces to split on."""
MIN_TREND_POINTS = 4
STABILITY_SCALE = 10
"""Stability is 1 - STABILITY_SCALE * noise / |mean|, clipped to 0..1, as the UMC fork scores it."""
LOSS_EDGE = 3
"""The loss's relative change compares the medians of this many first and last values."""
OSCILLATING_BELOW = 0.5
"""A curve without a significant trend whose stability score is below this oscillates."""
CONSTANT_SPREAD = 1e-4
"""A series whose values all lie within less than this fraction of their largest magnitude is constant: they
agree to the four significant digits a report prints. A model at a standstill still moves the last digits of a
float32 value (a validation loss from 1.25329e12 to 1.25320e12 over 100 epochs), which a rank test finds
significant, yet nothing changed."""


def tokens(name: str) -> list[str]:
    """Lower-case word tokens of a key: `val/acc_top1` -> ['val', 'acc', 'top1']."""
    return [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]


def direction(name: str) -> Mode | None:
    """max or min from the metric's name, by whole tokens (never Keras's `'acc' in name` trap)."""
    words = tokens(name)
    if any(word in _MIN_TOKENS for word in words) or any(word in name for word in _CJK_MIN_WORDS):
        return Mode.MIN
    if any(word in _MAX_TOKENS for word in words) or any(word in name for word in _CJK_MAX_WORDS):
        return Mode.MAX
    return None


YOLOV10_LOSS = re.compile(r"^(train|val)/(box|cls|dfl)_(om|oo)$")
"""YOLOv10 writes its loss components without the word: one-to-many (om) and one-to-one (oo) heads."""


def is_loss(name: str) -> bool:
    return "loss" in tokens(name) or "损失" in name or YOLOV10_LOSS.match(name) is not None


def is_ratio(name: str) -> bool:
    """Whether the name says the metric is a share (accuracy, F1, NMI, 准确率, 错误率): it lies in [0, 1] or [0, 100]."""
    return any(word in _RATIO_TOKENS for word in tokens(name)) or any(word in name for word in _CJK_RATIO_WORDS)


def scale_of(name: str, values: Sequence[float] | np.ndarray) -> Scale:
    """Whether a ratio metric is written as a fraction (0.243) or a percent (24.3)."""
    data = np.asarray(values, dtype=float)
    finite = data[np.isfinite(data)]
    if not finite.size or not is_ratio(name):
        return Scale.RAW
    return Scale.FRACTION if float(np.max(np.abs(finite))) <= 1.0 else Scale.PERCENT


_SPLIT_TIERS = {"val": 0, "train+dev": 0, "test": 1}
"""Validation metrics first; a test metric (often logged once, at the end) only when none exists."""


def primary_choice(run: Run) -> tuple[str | None, str]:
    """The metric the report is about and why it was chosen (the report states the basis).

    run.toml / --metric ("configured"); else the metric the framework itself treats as primary, such as
    HF's metric_for_best_model ("framework"); else accuracy-like metrics before losses, a validation split
    before test and others, NMI (clustering papers' headline) first, then the one with the most points.
    """
    keys = [str(key) for key in history_keys(run.history)]
    if run.config.metric is not None:
        return (run.config.metric if run.config.metric in keys else None), "configured"
    if run.metric_hint in keys:
        return run.metric_hint, "framework"
    points = key_counts(run.history)
    ranked = [k for k in keys if direction(k) is Mode.MAX]
    ranked.sort(key=lambda k: (_SPLIT_TIERS.get(run.splits.get(k) or "", 2), "nmi" not in tokens(k), -points[k],
                               keys.index(k)))
    if ranked:
        return ranked[0], _basis(run.splits.get(ranked[0]))
    losses = [k for k in keys if is_loss(k)]
    return next((k for k in losses if run.splits.get(k) == "val"), losses[0] if losses else None), "loss"


def _basis(split: str | None) -> str:
    return {"val": "validation", "train+dev": "validation", "test": "test"}.get(split or "", "other")


def natural_range(name: str, scale: Scale) -> tuple[float, float]:
    """The values the metric can take: [0, 1] or [0, 100] for ratios (`scale_of`), [0, inf) for losses
    and error rates, unbounded otherwise. Forecasts are kept inside it."""
    if scale is Scale.FRACTION:
        return 0.0, 1.0
    if scale is Scale.PERCENT:
        return 0.0, 100.0
    if direction(name) is Mode.MIN:
        return 0.0, math.inf
    return -math.inf, math.inf


STEPS_PER_SLOPE = 1000
"""Slopes of step-indexed metrics are reported per this many steps; per single step they round to 0."""


def x_unit(history: pd.DataFrame, planned_epochs: float | None = None) -> str:
    """'step' when the history counts optimiser steps only (W&B, MLflow, TensorBoard without epochs), else 'epoch'.

    Reports name the x axis with it, so 4,760 steps are never called 4,760 epochs. A "step" that never
    passes the planned number of epochs is an epoch logged as a step (MLflow's step is whatever the
    script passed, often the epoch).
    """
    kinds = set(history["x_kind"].unique()) - {"seed"}
    if kinds != {"step"}:
        return "epoch"
    if planned_epochs is not None and float(history["x"].max()) <= planned_epochs:
        return "epoch"
    return "step"



def better(a: float, b: float, mode: Mode, min_delta: float = 0.0) -> bool:
    """True when a beats b by more than min_delta in the metric's direction."""
    return a - b > min_delta if mode is Mode.MAX else b - a > min_delta


def best_point(data: Series, mode: Mode) -> Point | None:
    """The first evaluation reaching the best finite value."""
    clean = finite_part(data)
    if not clean.values:
        return None
    values = np.asarray(clean.values)
    index = int(np.argmax(values) if mode is Mode.MAX else np.argmin(values))
    return Point(clean.x[index], clean.values[index])


def improvements_and_degradations(data: Series, mode: Mode, min_delta: float) -> tuple[int, int]:
    """New bests by more than min_delta (the first evaluation not counted) and drops of more than
    min_delta from the previous evaluation."""
    values = np.asarray(finite_part(data).values, dtype=float)
    if not len(values):
        return 0, 0
    drop = values[:-1] - values[1:] if mode is Mode.MAX else values[1:] - values[:-1]  # better(previous, value)
    return _improvements(values, mode, min_delta), int((drop > min_delta).sum())


def _improvements(values: np.ndarray, mode: Mode, min_delta: float) -> int:
    """New bests after the first value. With min_delta 0 (the default) a new best is a strict running record, so
    vectorised (a - b > 0 exactly when a > b for finite floats); otherwise replayed in order, as the bar moves."""
    if min_delta == 0:
        record = np.maximum.accumulate(values) if mode is Mode.MAX else np.minimum.accumulate(values)
        ahead = values[1:] > record[:-1] if mode is Mode.MAX else values[1:] < record[:-1]
        return int(ahead.sum())
    best, improved = float(values[0]), 0
    for value in values[1:].tolist():
        if better(value, best, mode, min_delta):
            best, improved = value, improved + 1
    return improved


def constant(values: np.ndarray) -> bool:
    """Whether the finite values never change by CONSTANT_SPREAD of their magnitude (all zeros included)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return False
    spread = float(np.ptp(finite))
    return spread == 0 or spread < CONSTANT_SPREAD * float(np.max(np.abs(finite)))


def _window(data: Series, size: int) -> tuple[np.ndarray, np.ndarray]:
    clean = finite_part(data)
    return np.asarray(clean.x[-size:], dtype=float), np.asarray(clean.values[-size:], dtype=float)


def stability(data: Series, window: int) -> Stability:
    """Noise around the Theil-Sen line of the recent window, scored 1 - STABILITY_SCALE * noise / |mean| in 0..1.

    The raw score applies the same formula to the raw window, as the UMC fork does; comparing the
    two separates "moves steadily" from "is noisy".
    """
    x, y = _window(data, window)
    if len(y) < MIN_TREND_POINTS or np.ptp(x) == 0:
        return Stability(None, None, None)
    mean = float(np.mean(y))
    slope, intercept = theil_sen(y, x)
    noise = float(np.std(y - (intercept + slope * x)))
    if mean == 0:
        return Stability(None, None, noise)
    score = float(np.clip(1 - STABILITY_SCALE * noise / abs(mean), 0, 1))
    raw = float(np.clip(1 - STABILITY_SCALE * float(np.std(y)) / abs(mean), 0, 1))
    return Stability(score, raw, noise)


def trend(data: Series, mode: Mode, limits: Thresholds) -> TrendResult:
    """Trend of the recent window: Theil-Sen slope, Mann-Kendall significance, noise for oscillation."""
    x, y = _window(data, limits.window)
    if len(y) < MIN_TREND_POINTS or np.ptp(x) == 0:
        return TrendResult(Trend.INSUFFICIENT, len(y), None, None)
    if constant(y):  # a drift in the last digits is significant to Mann–Kendall, yet no change at all
        return TrendResult(Trend.STABLE, len(y), 0.0, 1.0)
    slope = theil_sen(y, x)[0]
    p_value = mann_kendall_p(x, y)
    signed = slope if mode is Mode.MAX else -slope
    if p_value < limits.significance and signed != 0:
        kind = Trend.IMPROVING if signed > 0 else Trend.DECLINING
    else:
        score = stability(data, limits.window).score
        kind = Trend.OSCILLATING if score is not None and score < OSCILLATING_BELOW else Trend.STABLE
    return TrendResult(kind, len(y), slope, p_value)


def relative_change(data: Series, edge: int = LOSS_EDGE) -> float | None:
    """|median of the last points - median of the first points| / |median of the first points|."""
    values = finite_part(data).values
    if len(values) < 2:
        return None
    edge = max(1, min(edge, len(values) // 2))
    first, last = float(np.median(values[:edge])), float(np.median(values[-edge:]))
    if first == 0:
        return None
    return abs(last - first) / abs(first)
