"""Keras 3 (any backend): `model.fit(..., callbacks=[ReporterCallback("runs/exp1", report_every=5)])`.

on_epoch_end records the epoch's logs (loss, metrics, val_*) at Keras's epoch index (from 0, as its
CSVLogger writes it); the `epochs` of fit become the plan; on_train_end records the end (stopped early
when a callback stopped training before `epochs`) and renders the final report. Keras has no hook for a
crash: an exception that ends the script marks the run crashed.
"""

from __future__ import annotations

import os
from typing import Any

import keras

from reporter.integrations.training import TrainingReports


class ReporterCallback(keras.callbacks.Callback):
    """Records fit's epochs into `dir` and renders the report there while training runs.

    Options: report_every (epochs), report_at_end, out, languages, formats, templates, params, plan
    (see reporter.integrations.training.TrainingReports).
    """

    def __init__(self, dir: str | os.PathLike[str], **options: Any) -> None:
        super().__init__()
        self.reports = TrainingReports(dir, **options)
        self.reports.watch_uncaught()
        self._epochs_done = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        epochs = self.params.get("epochs")
        if isinstance(epochs, int) and epochs > 0:
            self.reports.recorder.set_plan({"epochs": epochs})
            self.reports.recorder.log_params({"epochs": epochs, "steps_per_epoch": self.params.get("steps")})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.reports.log(logs or {}, epoch=epoch)
        self._epochs_done = epoch + 1
        self.reports.epoch_end(self._epochs_done)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        epochs = self.params.get("epochs")
        stopped = bool(getattr(self.model, "stop_training", False)) and isinstance(epochs, int) \
            and self._epochs_done < epochs
        self.reports.end("stopped_early" if stopped else "finished")
