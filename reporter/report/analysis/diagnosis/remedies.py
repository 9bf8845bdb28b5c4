"""Recommendations for the diagnosis findings, each citing its evidence and the setting it changes.

A recommendation names the finding codes behind it, and the config key it changes with the current and
the suggested value when the run's config has the key (otherwise the setting to add). The suggested
values are starting points stated as such: twice the weight decay, dropout up by 0.1 (at most 0.5), half
as many epochs again, the counterfactual's patience.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping

from reporter.codes import recommendation
from reporter.model import Finding, MetricSummary, Mode, Recommendation, Run, SettingChange, config_keys
from reporter.report.analysis.diagnosis import SCHEDULER, framework, mosaic_closed
from reporter.report.series import finite_part, series

EPOCH_KEYS = ("epochs", "max_epochs", "num_train_epochs")
EPOCH_KEY = {"keras": "epochs", "lightning": "max_epochs", "hf": "num_train_epochs", "ultralytics": "epochs",
             "yolov5": "epochs", "mmengine": "max_epochs"}
"""The setting each framework reads its number of epochs from, named when the config holds none of EPOCH_KEYS:
Lightning's Trainer(max_epochs), HF's TrainingArguments(num_train_epochs), Keras' fit(epochs), Ultralytics'
epochs, mmengine's train_cfg max_epochs."""
PATIENCE_KEY = {"keras": "patience", "lightning": "patience", "hf": "early_stopping_patience", "ultralytics": "patience",
                "yolov5": "patience", "mmengine": "patience"}
"""The setting each framework's early stopping reads; it is looked for in any section of the config but a
learning-rate scheduler's, and the key found (`trainer.callbacks.0.init_args.patience`) is the one to edit."""
ULTRALYTICS = ("ultralytics", "yolov5")
"""Frameworks whose config has Ultralytics' augmentation settings (mosaic, hsv_*, fliplr)."""
DEFAULT_WEIGHT_DECAY = 1e-4
"""Suggested when the config has no weight decay at all: a common AdamW/SGD starting value."""
MORE_EPOCHS = 1.5
DROPOUT_STEP, DROPOUT_MAX = 0.1, 0.5


def _number(run: Run, names: tuple[str, ...], skip: str | None = None) -> tuple[str, float] | None:
    """The config key that holds a setting (by any of the names) as a number, top level first, then in any
    section (not one whose name holds `skip`), and its value."""
    for key in config_keys(run.hyperparameters, names):
        value = run.hyperparameters[key]
        value = value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not (skip and skip in key.lower()):
            return key, value
    return None


def _change(found: tuple[str, float] | None, name: str, suggested: Any) -> SettingChange:
    """The change of a setting at the key the config holds it under, else the setting to add by its name."""
    return SettingChange(found[0], found[1], suggested, True) if found else SettingChange(name, None, suggested, False)


def _regularisation(run: Run, dropout_applies: bool) -> SettingChange:
    """Dropout the config has switched off (0.0) turned on, else twice the weight decay, else dropout up by 0.1,
    else a weight decay to add. Ultralytics reads dropout only when it trains a classifier."""
    dropout = _number(run, ("dropout",)) if dropout_applies else None
    if dropout is not None and dropout[1] == 0:
        return _change(dropout, "dropout", DROPOUT_STEP)
    decay = _number(run, ("weight_decay",))
    if decay is not None:
        return _change(decay, "weight_decay", decay[1] * 2 if decay[1] > 0 else DEFAULT_WEIGHT_DECAY)
    if dropout is not None and dropout[1] < DROPOUT_MAX:
        return _change(dropout, "dropout", round(min(dropout[1] + DROPOUT_STEP, DROPOUT_MAX), 4))
    return _change(None, "weight_decay", DEFAULT_WEIGHT_DECAY)


def _more_epochs(run: Run, last_epoch: float) -> SettingChange:
    found = _number(run, EPOCH_KEYS)
    current = found[1] if found else (run.plan.epochs if run.plan else None)
    base = current if current is not None else last_epoch + 1 - run.epoch_base
    return _change(found, EPOCH_KEY[framework(run)], int(math.ceil(base * MORE_EPOCHS)))


def recommendations(run: Run, findings: tuple[Finding, ...], metric: MetricSummary | None = None) -> tuple[Recommendation, ...]:
    """The diagnosis' recommendations, in the order to act on them."""
    return tuple(_recommendations(run, {f.code: f for f in findings}, metric))


def _later_metric_best(metric: MetricSummary | None, loss_best: float) -> tuple[str | None, float | None]:
    """The validation metric and its best epoch when it peaked after the loss minimum: a model that overfits in its
    loss (growing over-confident) may still gain in accuracy, and the checkpoint to keep depends on which counts."""
    if metric is None or metric.best is None or metric.mode is not Mode.MAX or metric.split != "val" \
            or metric.best.x <= loss_best:
        return None, None
    return metric.name, metric.best.x


def _recommendations(run: Run, found: Mapping[str, Finding], metric: MetricSummary | None) -> Iterator[Recommendation]:
    fitted = tuple(code for code in ("fit.overfitting", "fit.generalization_gap") if code in found)
    stop = found.get("stop.counterfactual")
    if "eval.constant" in found:
        p = found["eval.constant"].params
        yield recommendation("rec.check_validation_split", ("eval.constant",), key=p["key"], value=p["value"],
                             keys=p["keys"], values=p["values"], metric=p["metric"])
    if "fit.overfitting" in found:
        p = found["fit.overfitting"].params
        name, later = _later_metric_best(metric, p["best_epoch"])
        yield recommendation("rec.restore_best_checkpoint", ("fit.overfitting",), epoch=p["best_epoch"], key=p["key"],
                   metric=name, metric_epoch=later)
    if fitted:
        ultralytics = stop is not None and stop.params["framework"] in ULTRALYTICS
        classify = run.hyperparameters.get("task") == "classify"
        yield recommendation("rec.regularise", fitted, _regularisation(run, classify or not ultralytics),
                   key=found[fitted[0]].params["key"], ultralytics=ultralytics, classify=classify,
                   rising="fit.overfitting" in found)
    if stop is not None and stop.params["too_early"]:  # the run's own patience ended it at its best
        yield _raise_patience(run, stop)
    elif stop is not None and stop.severity.value == "warn":  # stopping there would have lost nothing
        yield _early_stopping(run, stop, fitted)
    unjudged = found.get("fit.not_judged")
    if unjudged is not None and unjudged.params["reason"] in ("no_validation_loss", "too_few_points"):
        yield recommendation("rec.log_validation_loss", ("fit.not_judged",), **unjudged.params)
    elif unjudged is not None and unjudged.params["reason"] == "no_conclusion":  # unstable: stabilising is advised
        yield recommendation("rec.compare_best_and_last", ("fit.not_judged",), key=unjudged.params["key"])
    improving = next((found[c] for c in ("fit.underfitting", "fit.still_improving") if c in found
                      and found[c].severity.value == "warn"), None)
    if improving is not None:
        last = float(run.history["x"].max())
        yield recommendation("rec.more_epochs", (improving.code,), _more_epochs(run, last), last_epoch=last,
                   val_change=improving.params["val_change"], window=improving.params["window"], metric=None)
    elif metric is not None and not fitted and _metric_rising(run, found, metric):
        last = float(run.history["x"].max())
        values = finite_part(series(run.history, metric.name)).values[-metric.trend.window:]
        yield recommendation("rec.more_epochs", ("metric.improving",), _more_epochs(run, last), last_epoch=last,
                             val_change=(values[-1] - values[0]) / abs(values[0]) if values[0] else 0.0,
                             window=metric.trend.window, metric=metric.name)


ENDED = ("run.finished", "run.past_plan")


def _metric_rising(run: Run, found: Mapping[str, Finding], metric: MetricSummary) -> bool:
    """A run that ran its course while its primary metric still rose significantly (metric.improving) to a new best
    at its last evaluation: it was cut off while gaining, even when the validation loss has settled
    (yolo-cls-mood-overfitted: top-1 accuracy's best at epoch 30 of 30). Not when the losses say the metric has
    settled (fit.still_improving's own gate decided), nor when Ultralytics closed mosaic during the run: the step
    up after it is a change of the training data, not learning."""
    settled = any(c in found for c in ("fit.still_improving", "fit.underfitting"))
    at_end = metric.best is not None and metric.current is not None and metric.best.x == metric.current.x
    return "metric.improving" in found and bool(set(ENDED) & found.keys()) and at_end and not settled \
        and mosaic_closed(run) is None


def _raise_patience(run: Run, stop: Finding) -> Recommendation:
    """The framework's default patience, or twice the run's when that is already above it."""
    p: Mapping[str, Any] = stop.params
    key = PATIENCE_KEY[p["framework"]]
    suggested = max(p["default_patience"], 2 * p["patience"])
    return recommendation("rec.raise_patience", ("stop.counterfactual",),
                          _change(_number(run, (key,), skip=SCHEDULER), key, suggested),
                          stop_epoch=p["stop_epoch"], patience=p["patience"],
                          default=p["default_patience"], framework=p["framework"])


def _early_stopping(run: Run, stop: Finding, fitted: tuple[str, ...]) -> Recommendation:
    p: Mapping[str, Any] = stop.params
    key = PATIENCE_KEY[p["framework"]]
    found = _number(run, (key,), skip=SCHEDULER)
    same = found is not None and found[1] == p["patience"]  # the config has it, but no callback acted on it
    change = None if same else _change(found, key, p["patience"])
    return recommendation("rec.early_stopping", ("stop.counterfactual",) + fitted, change, monitor=p["monitor"],
                mode=p["mode"], patience=p["patience"], min_delta=p["min_delta"], stop_epoch=p["stop_epoch"], framework=p["framework"])
