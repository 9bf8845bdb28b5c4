"""Hugging Face `Trainer`: `Trainer(..., callbacks=[ReporterCallback("runs/exp1", report_every=1)])`.

on_log records every log (losses, learning rate, eval_* metrics) at the Trainer's fractional epoch and
global step; on_evaluate closes an epoch (and may render); on_train_end records the end and renders the
final report. `metric_for_best_model` (as the eval_ key the Trainer logs) and `num_train_epochs` become
the plan, a few training arguments the params. The Trainer has no hook for a crash: an exception that
ends the script marks the run crashed.
"""

from __future__ import annotations

import os
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from reporter.integrations.training import TrainingReports

ARGUMENTS = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
             "max_steps", "weight_decay", "warmup_steps", "lr_scheduler_type", "optim", "seed",
             "metric_for_best_model", "greater_is_better")
"""The training arguments recorded as params: the ones a reader of the report asks about."""
SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos",
                          "train_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"})
"""Throughput figures and the whole-run average loss the Trainer logs: not learning curves."""


class ReporterCallback(TrainerCallback):
    """Records the Trainer's logs into `dir` and renders the report there while training runs.

    Options: report_every (epochs), report_at_end, out, languages, formats, templates, params (see
    reporter.integrations.training.TrainingReports).
    """

    def __init__(self, dir: str | os.PathLike[str], **options: Any) -> None:
        self.reports = TrainingReports(dir, **options)
        self.reports.watch_uncaught()

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kwargs: Any) -> None:
        self.reports.recorder.log_params({name: getattr(args, name) for name in ARGUMENTS if hasattr(args, name)})
        metric = args.metric_for_best_model
        epochs = args.num_train_epochs if args.max_steps <= 0 else None
        self.reports.recorder.set_plan({
            "epochs": int(epochs) if epochs and float(epochs).is_integer() else None,
            "metric": metric if metric is None or metric.startswith("eval_") else f"eval_{metric}"})

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        metrics = {key: value for key, value in (logs or {}).items() if key != "epoch" and key not in SUMMARY_KEYS}
        if metrics:
            self.reports.log(metrics, step=state.global_step, epoch=state.epoch)

    def on_evaluate(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                    **kwargs: Any) -> None:
        self.reports.epoch_end(round(state.epoch or 0))

    def on_epoch_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        if args.eval_strategy == "no":  # else on_evaluate closes the epoch, with its metrics
            self.reports.epoch_end(round(state.epoch or 0))

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        stopped = state.max_steps > 0 and state.global_step < state.max_steps
        self.reports.end("stopped_early" if stopped else "finished")
