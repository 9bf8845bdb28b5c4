"""Tiny trainings with reporter's callbacks, one per framework, each run as its own process by test_integrations.py.

    python trainers.py FRAMEWORK SCENARIO FOLDER [TEMPLATES]

SCENARIO: train (4 epochs, report_every=2), crash (an exception in epoch 3 ends the script), unrendered
(train with TEMPLATES that cannot render). In `train` a probe callback waits, at the start of the last
epoch, for the report rendered after epoch 2, so the test can check that a report appeared while
training ran. Prints one JSON line: what the framework itself logged
(best value and epoch of the validation metric), the epochs it ran, and the report seen mid-training.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tiny_models import classification_data, lightning_classifier, tiny_bert

EPOCHS = 4
CRASH_EPOCH = 2  # 0-based: the third epoch
OPTIONS: dict[str, Any] = {"report_every": 2, "languages": ("en",), "formats": ("md",)}
_WAIT_SECONDS = 240


def seen_mid_training(folder: Path) -> dict[str, Any] | None:
    """The summary of the report rendered during training (waited for: rendering runs in the background)."""
    summary = folder / "out" / folder.name / "summary.json"
    deadline = time.monotonic() + _WAIT_SECONDS
    while not summary.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if not summary.exists():
        return None
    data = json.loads(summary.read_text())
    return {"status": data["run"]["status"], "last_epoch": data["run"]["last_epoch"]}


def _best(pairs: list[tuple[float, float]]) -> dict[str, float]:
    epoch, value = max(pairs, key=lambda p: (p[1], -p[0]))
    return {"best_value": value, "best_epoch": epoch}


def hf(folder: Path, scenario: str, options: dict[str, Any]) -> dict[str, Any]:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from reporter.integrations.hf import ReporterCallback

    model, rows, accuracy = tiny_bert()
    result: dict[str, Any] = {}

    class Probe(TrainerCallback):
        def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if scenario == "crash" and round(state.epoch) == CRASH_EPOCH:
                raise RuntimeError("injected crash in epoch 3")
            if scenario == "train" and round(state.epoch) == EPOCHS - 1:
                result["mid_training"] = seen_mid_training(folder)

    args = TrainingArguments(output_dir=str(folder / "checkpoints"), num_train_epochs=EPOCHS, eval_strategy="epoch",
                             save_strategy="no", logging_strategy="epoch", metric_for_best_model="accuracy",
                             per_device_train_batch_size=16, learning_rate=1e-3, report_to="none", use_cpu=True,
                             seed=0, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=rows(128),
                      eval_dataset=rows(64), compute_metrics=accuracy,
                      callbacks=[ReporterCallback(folder, **options), Probe()])
    trainer.train()
    evaluations = [(e["epoch"], e["eval_accuracy"]) for e in trainer.state.log_history if "eval_accuracy" in e]
    return {**result, **_best(evaluations), "epochs": len(evaluations)}


def lightning(folder: Path, scenario: str, options: dict[str, Any]) -> dict[str, Any]:
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from reporter.integrations.lightning import ReporterLogger

    L.seed_everything(0, verbose=False)
    x, y = classification_data()
    train = DataLoader(TensorDataset(torch.from_numpy(x[:192]), torch.from_numpy(y[:192])), batch_size=64)
    val = DataLoader(TensorDataset(torch.from_numpy(x[192:]), torch.from_numpy(y[192:])), batch_size=64)
    seen: list[tuple[float, float]] = []
    result: dict[str, Any] = {}

    class Classifier(lightning_classifier(x.shape[1])):
        def __init__(self, lr: float = 0.05) -> None:
            super().__init__()
            self.save_hyperparameters()

        def training_step(self, batch: Any, index: int) -> Any:
            if scenario == "crash" and self.current_epoch == CRASH_EPOCH:
                raise RuntimeError("injected crash in epoch 3")
            return super().training_step(batch, index)

        def validated(self, accuracy: float) -> None:
            seen.append((self.current_epoch, accuracy))

        def on_train_epoch_start(self) -> None:
            if scenario == "train" and self.current_epoch == EPOCHS - 1:
                result["mid_training"] = seen_mid_training(folder)

    logger = ReporterLogger(folder, **options)
    trainer = L.Trainer(max_epochs=EPOCHS, logger=logger, callbacks=[logger.callback], enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", log_every_n_steps=1)
    trainer.fit(Classifier(), train, val)
    return {**result, **_best(seen), "epochs": len(seen)}


def keras(folder: Path, scenario: str, options: dict[str, Any]) -> dict[str, Any]:
    import keras as K

    from reporter.integrations.keras import ReporterCallback

    K.utils.set_random_seed(0)
    x, y = classification_data()
    model = K.Sequential([K.Input((x.shape[1],)), K.layers.Dense(8, activation="relu"),
                          K.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=K.optimizers.SGD(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    result: dict[str, Any] = {}

    class Probe(K.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if scenario == "crash" and epoch == CRASH_EPOCH:
                raise RuntimeError("injected crash in epoch 3")
            if scenario == "train" and epoch == EPOCHS - 1:
                result["mid_training"] = seen_mid_training(folder)

    history = model.fit(x[:192], y[:192], validation_data=(x[192:], y[192:]), epochs=EPOCHS, batch_size=32,
                        verbose=0, callbacks=[ReporterCallback(folder, **options), Probe()])
    accuracies = history.history["val_accuracy"]
    return {**result, **_best([(float(i), float(v)) for i, v in enumerate(accuracies)]), "epochs": len(accuracies)}


FRAMEWORKS = {"hf": hf, "lightning": lightning, "keras": keras}


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "torch")
    framework, scenario, target = sys.argv[1:4]
    options = {**OPTIONS, "templates": sys.argv[4]} if len(sys.argv) > 4 else dict(OPTIONS)
    print(json.dumps(FRAMEWORKS[framework](Path(target), scenario, options)))
