"""Write one small run with a real library, the way a user's training script would.

Run as `python writers.py NAME FOLDER`: it writes the run under FOLDER and prints, as one JSON line,
what the library itself recorded (best value and epoch of the validation metric, in the library's own
epoch numbering), so the tests compare reporter with the library, not with a guess. Each library runs
in its own process: TensorFlow, torch and the W&B service then never share one interpreter.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable

from tiny_models import classification_data, lightning_classifier, tiny_bert

EPOCHS = 30
PARAMS = {"lr": 0.01, "batch_size": 64, "epochs": EPOCHS, "optimizer": "sgd"}


def curve(epoch: int) -> dict[str, float]:
    """A plausible, known history: validation accuracy rises, peaks at epoch 20 (0-based), then dips a little."""
    wiggle = 0.004 * math.sin(epoch * 1.7)
    accuracy = 0.55 + 0.35 * (1 - math.exp(-epoch / 6)) + wiggle - (0.02 if epoch > 21 else 0.0)
    return {"train_loss": 1.2 * math.exp(-epoch / 8) + 0.1, "val_loss": 1.1 * math.exp(-epoch / 9) + 0.2 + wiggle,
            "val_accuracy": round(accuracy, 6)}


def best_of(values: list[float], start: int = 0) -> dict[str, float]:
    index = max(range(len(values)), key=lambda i: (values[i], -i))
    return {"best_value": values[index], "best_epoch": index + start}


def synthetic_best() -> dict[str, float]:
    return best_of([curve(e)["val_accuracy"] for e in range(EPOCHS)])


def mlflow_sqlite(folder: Path) -> dict[str, Any]:
    """A script logging per-epoch metrics and a test metric once at the end (step 0), as MLflow's docs do."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    _mlflow_run(mlflow, folder)
    return synthetic_best()


def mlflow_filestore(folder: Path) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri((folder / "mlruns").as_uri())
    _mlflow_run(mlflow, folder)
    return synthetic_best()


def _mlflow_run(mlflow: Any, folder: Path) -> None:
    experiment = mlflow.create_experiment("clients", artifact_location=(folder / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment, run_name="client-run"):
        mlflow.log_params(PARAMS)
        for epoch in range(EPOCHS):
            mlflow.log_metrics(curve(epoch), step=epoch)
        mlflow.log_metric("test_accuracy", 0.97, step=0)


def torch_tensorboard(folder: Path, hparams: bool) -> dict[str, Any]:
    """torch's SummaryWriter with the tags of the PyTorch tutorial (`Loss/train`, `Accuracy/val`)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(folder))
    for epoch in range(EPOCHS):
        values = curve(epoch)
        writer.add_scalar("Loss/train", values["train_loss"], epoch)
        writer.add_scalar("Loss/val", values["val_loss"], epoch)
        writer.add_scalar("Accuracy/val", values["val_accuracy"], epoch)
    best = synthetic_best()
    if hparams:
        writer.add_hparams(PARAMS, {"hparam/best_val_accuracy": best["best_value"]})
    writer.close()
    return best


def tensorboardx(folder: Path) -> dict[str, Any]:
    from tensorboardX import SummaryWriter

    with SummaryWriter(logdir=str(folder)) as writer:
        for epoch in range(EPOCHS):
            values = curve(epoch)
            writer.add_scalar("train/loss", values["train_loss"], epoch)
            writer.add_scalar("val/loss", values["val_loss"], epoch)
            writer.add_scalar("val/accuracy", values["val_accuracy"], epoch)
    return synthetic_best()


def wandb_offline(folder: Path) -> dict[str, Any]:
    import wandb

    run = wandb.init(project="clients", dir=str(folder), mode="offline", config=PARAMS)
    for epoch in range(EPOCHS):
        run.log({"epoch": epoch, **curve(epoch)})
    run.finish()
    return synthetic_best()


def lightning_csv(folder: Path) -> dict[str, Any]:
    """Lightning's CSVLogger with a LearningRateMonitor, hyperparameters saved by save_hyperparameters()."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader, TensorDataset

    L.seed_everything(0, verbose=False)
    x, y = classification_data()
    train = DataLoader(TensorDataset(torch.from_numpy(x[:192]), torch.from_numpy(y[:192])), batch_size=64)
    val = DataLoader(TensorDataset(torch.from_numpy(x[192:]), torch.from_numpy(y[192:])), batch_size=64)
    seen: list[float] = []

    class Classifier(lightning_classifier(x.shape[1])):
        def __init__(self, lr: float = 0.05, batch_size: int = 64, max_epochs: int = EPOCHS) -> None:
            super().__init__()
            self.save_hyperparameters()

        def validated(self, accuracy: float) -> None:
            seen.append(accuracy)

        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
            return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 10, 0.5)}

    trainer = L.Trainer(max_epochs=EPOCHS, logger=CSVLogger(str(folder), name="lightning_logs"),
                        callbacks=[LearningRateMonitor(logging_interval="epoch")], enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", log_every_n_steps=1)
    trainer.fit(Classifier(), train, val)
    return {**best_of(seen), "run_folder": "lightning_logs/version_0"}


def hf_trainer(folder: Path) -> dict[str, Any]:
    """An HF example script's output folder: Trainer on a tiny random BERT, then save_model/metrics/state."""
    from transformers import Trainer, TrainingArguments

    model, rows, accuracy = tiny_bert()
    args = TrainingArguments(output_dir=str(folder), num_train_epochs=4, eval_strategy="epoch",
                             save_strategy="epoch", logging_strategy="epoch", metric_for_best_model="accuracy",
                             load_best_model_at_end=True, per_device_train_batch_size=16, learning_rate=1e-3,
                             report_to="none", use_cpu=True, seed=0, disable_tqdm=True, save_total_limit=2)
    trainer = Trainer(model=model, args=args, train_dataset=rows(128),
                      eval_dataset=rows(64), compute_metrics=accuracy)
    result = trainer.train()
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    metrics = trainer.evaluate()
    trainer.save_metrics("eval", metrics)
    trainer.save_state()
    evaluations = [(e["epoch"], e["eval_accuracy"]) for e in trainer.state.log_history if "eval_accuracy" in e]
    index = max(range(len(evaluations)), key=lambda i: (evaluations[i][1], -i))
    return {"best_value": evaluations[index][1], "best_epoch": evaluations[index][0]}


def keras_csv_resume(folder: Path) -> dict[str, Any]:
    """CSVLogger(append=True): training crashes after epoch 12, resumes from the epoch-10 checkpoint."""
    import keras

    keras.utils.set_random_seed(0)
    x, y = classification_data()
    model = _keras_model(keras, x.shape[1])
    log = folder / "training.log"

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if epoch == 12:
                raise RuntimeError("simulated crash")

    try:
        model.fit(x, y, validation_split=0.25, epochs=EPOCHS, batch_size=64, verbose=0,
                  callbacks=[keras.callbacks.CSVLogger(str(log), append=True), Crash()])
    except RuntimeError:
        pass
    with log.open() as handle:
        first = {int(row["epoch"]): float(row["val_accuracy"]) for row in csv.DictReader(handle)}
    history = model.fit(x, y, validation_split=0.25, epochs=EPOCHS, initial_epoch=10, batch_size=64, verbose=0,
                        callbacks=[keras.callbacks.CSVLogger(str(log), append=True)])
    final = {**{e: v for e, v in first.items() if e < 10},
             **dict(zip(range(10, EPOCHS), history.history["val_accuracy"]))}
    (folder / "run.toml").write_text(f"planned_epochs = {EPOCHS}\n")
    return best_of([final[e] for e in range(EPOCHS)])


def keras_tensorboard(folder: Path) -> dict[str, Any]:
    """Keras's TensorBoard callback: logs/train and logs/validation, TF2 tensor summaries, .v2 files."""
    import keras

    keras.utils.set_random_seed(0)
    x, y = classification_data()
    model = _keras_model(keras, x.shape[1])
    history = model.fit(x, y, validation_split=0.25, epochs=EPOCHS, batch_size=64, verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(log_dir=str(folder / "logs"))])
    return best_of(history.history["val_accuracy"])


def _keras_model(keras: Any, features: int) -> Any:
    model = keras.Sequential([keras.Input((features,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    return model


WRITERS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "mlflow-sqlite": mlflow_sqlite,
    "mlflow-filestore": mlflow_filestore,
    "torch-tensorboard": lambda folder: torch_tensorboard(folder, hparams=False),
    "torch-tensorboard-hparams": lambda folder: torch_tensorboard(folder, hparams=True),
    "tensorboardx": tensorboardx,
    "lightning-csv": lightning_csv,
    "hf-trainer": hf_trainer,
    "keras-csv-resume": keras_csv_resume,
    "keras-tensorboard": keras_tensorboard,
    "wandb-offline": wandb_offline,
}


def main(name: str, folder: str) -> None:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    print(json.dumps(WRITERS[name](path)))


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    main(sys.argv[1], sys.argv[2])
