"""Hugging Face Trainer `trainer_state.json` (also inside `checkpoint-*/`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reporter.errors import HistoryError
from reporter.model import Event, Plan
from reporter.report.ingest.files import TextFile
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.reader import text_reader
from reporter.report.ingest.tabular import finish_parsed, long_from_wide, records_table

SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos",
                "eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
"""Throughput and size figures: kept out of the metric table, they are not learning signals."""
UNSET_EPOCHS = sys.maxsize
"""The num_train_epochs the Trainer writes when max_steps governs: no plan in epochs, and no number to show."""
LAYOUTS = ("checkpoint-*/trainer_state.json",)
"""Where the Trainer saves its state while training; the output folder gets its own copy only at the end."""


def looks_like_trainer_state(text: str) -> bool:
    return '"log_history"' in text[:200_000] and text.lstrip().startswith("{")


def parse_trainer_state(file: TextFile) -> ParsedHistory:
    """log_history entries on a fractional-epoch axis; the plan from num_train_epochs.

    Raises:
        HistoryError: invalid JSON, or no log_history entries.
    """
    try:
        state = json.loads(file.text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise HistoryError(f"{file.path}: invalid JSON ({getattr(exc, 'msg', exc)}); is the file truncated?") from None
    entries = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(entries, list) or not entries:
        raise HistoryError(f"{file.path}: trainer_state.json has no log_history entries yet")
    table = records_table([e for e in entries if isinstance(e, dict)])
    x_name = "epoch" if "epoch" in table.columns else "step"
    parsed = ParsedHistory(format="hf-trainer-state")
    for key in ("num_train_epochs", "max_steps", "train_batch_size", "eval_steps", "logging_steps"):
        if isinstance(state.get(key), (int, float)) and not (key == "num_train_epochs" and (
                state[key] == UNSET_EPOCHS or _bounded_by_max_steps(state))):
            parsed.hyperparameters[key] = state[key]
    parsed.hyperparameters.update(_early_stopping_args(state))
    runtime = next((e["train_runtime"] for e in reversed(entries) if isinstance(e, dict)
                    and isinstance(e.get("train_runtime"), (int, float))), None)
    if runtime is not None:  # seconds of the whole training, written when it ends: the hours spent
        parsed.hyperparameters["train_runtime"] = runtime
    if _reached_its_end(state):
        parsed.events.append(Event("finished", None))
    epochs = state.get("num_train_epochs")
    if isinstance(epochs, (int, float)) and 0 < epochs < UNSET_EPOCHS and "num_train_epochs" in parsed.hyperparameters:
        parsed.plan = Plan(epochs=epochs, basis="config", params={"key": "num_train_epochs"})
    parsed.metric_hint = _best_model_metric(state, entries)
    if parsed.metric_hint is not None:  # what EarlyStoppingCallback watched, though the state does not say it
        parsed.hyperparameters["metric_for_best_model"] = parsed.metric_hint
        greater = _greater_is_better(parsed.metric_hint, state["best_metric"], entries)
        if greater is not None:
            parsed.hyperparameters["greater_is_better"] = greater
    skip = ("step",) + SUMMARY_KEYS if x_name == "epoch" else SUMMARY_KEYS
    return finish_parsed(parsed, long_from_wide(table, x_name, "epoch" if x_name == "epoch" else "step", skip=skip),
                   file, x_name)


def _reached_its_end(state: dict) -> bool:
    """Whether the Trainer stopped where its own loop ends: global_step at max_steps, or the epoch at
    num_train_epochs; a state without an end marker would otherwise read as a run gone quiet."""
    def number(key: str) -> float | None:
        value = state.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    step, max_steps = number("global_step"), number("max_steps")
    epoch, epochs = number("epoch"), number("num_train_epochs")
    return (step is not None and max_steps is not None and 0 < max_steps <= step) or \
        (epoch is not None and epochs is not None and 0 < epochs <= epoch)


EARLY_STOPPING_ARGS = ("early_stopping_patience", "early_stopping_threshold")


def _early_stopping_args(state: dict) -> dict[str, float]:
    """EarlyStoppingCallback's settings as transformers >= 4.38 saves them in `stateful_callbacks`: the run's own
    patience and threshold, which the early-stopping counterfactual replays instead of the defaults."""
    callbacks = state.get("stateful_callbacks")
    callback = callbacks.get("EarlyStoppingCallback") if isinstance(callbacks, dict) else None
    args = callback.get("args") if isinstance(callback, dict) else None
    if not isinstance(args, dict):
        return {}
    return {key: args[key] for key in EARLY_STOPPING_ARGS
            if isinstance(args.get(key), (int, float)) and not isinstance(args.get(key), bool)}


def _bounded_by_max_steps(state: dict) -> bool:
    """Whether max_steps, not num_train_epochs, ends the run: the Trainer then writes num_train_epochs rounded up
    from max_steps, and the epoch it reaches at max_steps (extrapolated from the last step) falls short of it."""
    given = [state.get(k) for k in ("max_steps", "global_step", "epoch", "num_train_epochs")]
    numbers = [float(v) for v in given if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0]
    if len(numbers) < len(given):
        return False
    max_steps, step, epoch, epochs = numbers
    return epoch * max_steps / step < epochs


def _best_model_metric(state: dict, entries: list) -> str | None:
    """The eval key holding `best_metric` at the best step: the run's metric_for_best_model.

    trainer_state.json does not name that metric, and training_args.bin, which does, is a pickle that is
    never loaded; the value the Trainer kept as best identifies it when exactly one key matches. The best step is
    `best_global_step`, or (older Trainers) the number of `best_model_checkpoint`'s folder.
    """
    best, step = state.get("best_metric"), state.get("best_global_step")
    if not isinstance(best, (int, float)) or isinstance(best, bool):
        return None
    step = step if isinstance(step, int) else _checkpoint_step(Path(str(state.get("best_model_checkpoint") or "")))
    matches = {key for entry in entries if isinstance(entry, dict) and (step < 0 or entry.get("step") == step)
               for key, value in entry.items()
               if key.startswith("eval_") and key not in SUMMARY_KEYS and value == best}
    return matches.pop() if len(matches) == 1 else None


def _greater_is_better(key: str, best: float, entries: list) -> bool | None:
    """Whether the Trainer kept the highest value of `key` as best (its greater_is_better): best_metric is the
    highest or the lowest value logged; None when both or neither."""
    values = [e[key] for e in entries if isinstance(e, dict) and isinstance(e.get(key), (int, float))]
    highest, lowest = best >= max(values, default=best), best <= min(values, default=best)
    return highest if highest != lowest else None


def latest_checkpoint(folder: Path) -> list[Path]:
    """The newest checkpoint's trainer_state.json, while the output folder has none of its own."""
    if (folder / "trainer_state.json").exists():
        return []
    states = sorted(folder.glob(LAYOUTS[0]), key=lambda p: _checkpoint_step(p.parent))
    return states[-1:]


def _checkpoint_step(folder: Path) -> int:
    digits = folder.name.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else -1


READER = text_reader("hf-trainer-state", lambda target: looks_like_trainer_state(target.file.text),
                     parse_trainer_state, layouts=LAYOUTS, locate=latest_checkpoint)
