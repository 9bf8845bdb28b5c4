"""Lightning: `logger = ReporterLogger("runs/exp1", report_every=5)`, then
`Trainer(logger=logger, callbacks=[logger.callback])`.

The Logger records what the LightningModule logs (and its hyperparameters); its Callback gives the plan
(max_epochs), closes each epoch (and may render), records a crash with its traceback, and renders the
final report at the end of fit. Lightning calls loggers on rank 0 only.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Mapping

import lightning.pytorch as pl
from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only

from reporter.integrations.training import TrainingReports


class ReporterLogger(Logger):
    """A Lightning Logger writing reporter's standard history into `dir`; pass `logger.callback` to the Trainer too.

    Options: report_every (epochs), report_at_end, out, languages, formats, templates, params, plan
    (see reporter.integrations.training.TrainingReports).
    """

    def __init__(self, dir: str | os.PathLike[str], **options: Any) -> None:
        super().__init__()
        self.reports = TrainingReports(dir, **options)
        self.callback = ReporterCallback(self)

    @property
    def name(self) -> str:
        return "reporter"

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self.reports.recorder.dir)

    @rank_zero_only
    def log_hyperparams(self, params: argparse.Namespace | Mapping[str, Any], *args: Any, **kwargs: Any) -> None:
        self.reports.recorder.log_params(vars(params) if isinstance(params, argparse.Namespace) else dict(params))

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = dict(metrics)
        epoch = values.pop("epoch", None)
        self.reports.log(values, step=step, epoch=epoch)

    @rank_zero_only
    def save(self) -> None:
        self.reports.recorder.flush()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Lightning's own end: "failed" inside its exception handler (the traceback is at hand), else finished."""
        if status == "failed" and sys.exc_info()[0] is not None:
            kind, exc, tb = sys.exc_info()
            self.reports.crashed(kind, exc, tb)  # type: ignore[arg-type]
        else:
            self.reports.end("crashed" if status == "failed" else "finished")


class ReporterCallback(pl.Callback):
    """The plan at the start of fit, an epoch's end, a crash, and the final report at the end of fit."""

    def __init__(self, logger: ReporterLogger) -> None:
        self.reports = logger.reports

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            self.reports.recorder.set_plan({"epochs": trainer.max_epochs})

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            self.reports.epoch_end(trainer.current_epoch + 1)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            stopped = trainer.should_stop and trainer.max_epochs is not None \
                and trainer.current_epoch < trainer.max_epochs
            self.reports.end("stopped_early" if stopped else "finished")

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if trainer.is_global_zero:
            self.reports.crashed(type(exception), exception, exception.__traceback__)
