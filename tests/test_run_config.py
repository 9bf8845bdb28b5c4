"""The run's own config, read from the files its framework writes beside the history: nested Lightning
hparams.yaml sections and YOLOv5's opt.yaml + hyp.yaml (issue 15, brief S6-D). The plan, the early-stopping
replay and the advice all use the settings the user actually set, under the key the user edits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import ROOT

from reporter.cli import main

REAL_RUNS = ROOT / "tests" / "fixtures" / "real-runs"
NOW = "2026-12-05T12:00:00"


def _overfitting_lightning_csv(folder: Path, epochs: int = 30, best: int = 8) -> None:
    """A Lightning CSVLogger metrics.csv whose validation loss is lowest at `best` and rises after it."""
    rows = ["epoch,step,train_loss,val_loss"]
    for epoch in range(epochs):
        val = 1.0 - 0.05 * epoch if epoch <= best else 0.6 + 0.03 * (epoch - best)
        rows.append(f"{epoch},{10 * (epoch + 1)},{1.2 - 0.035 * epoch:.4f},{val:.4f}")
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")


def _summary(folder: Path, out: Path) -> dict:
    assert main(["report", str(folder), "--out", str(out), "--format", "md", "--lang", "en", "--now", NOW, "-q"]) == 0
    return json.loads(next(out.glob("*/summary.json")).read_text())


def test_nested_hparams_sections_drive_the_plan_the_replay_and_the_advice(tmp_path: Path) -> None:
    """The hparams.yaml of DarkStarStrix/Auto_Api lightning_logs/version_5 (commit bd22cb9, MIT; the
    lightning-autoapi-v5 fixture) nests `optimization: {weight_decay: 0.001}` and `training: {epochs: 100,
    patience: 10}`. Its sections were dropped: the replay used the default patience 5, the advice said to add a
    weight decay the config already has, and the run had no planned length."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(REAL_RUNS / "lightning-autoapi-v5" / "hparams.yaml", run / "hparams.yaml")
    _overfitting_lightning_csv(run)
    data = _summary(run, tmp_path / "out")
    assert data["run"]["hyperparameters"]["optimization.weight_decay"] == 0.001
    stop = next(f for f in data["findings"] if f["code"] == "stop.counterfactual")["params"]
    assert (stop["patience"], stop["basis"], stop["stop_epoch"]) == (10, "config", 18)
    changes = [r["change"] for r in data["recommendations"] if r.get("change")]
    assert {"key": "optimization.weight_decay", "current": 0.001, "suggested": 0.002, "present": True} in changes
    assert {"key": "training.patience", "current": 10, "suggested": 10, "present": True} in changes
    assert data["run"]["planned_epochs"] == 100


def test_an_early_stopping_callback_in_a_lightning_cli_config_is_the_patience_to_edit(tmp_path: Path) -> None:
    """LightningCLI writes callbacks as a list of class_path/init_args mappings under trainer (the shape its docs
    show); a ReduceLROnPlateau's patience under lr_scheduler is not the early stopping's."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "hparams.yaml").write_text(
        "model:\n  dropout: 0.2\n"
        "lr_scheduler:\n  class_path: torch.optim.lr_scheduler.ReduceLROnPlateau\n  init_args:\n    patience: 2\n"
        "trainer:\n  max_epochs: 40\n  callbacks:\n"
        "  - class_path: lightning.pytorch.callbacks.ModelCheckpoint\n    init_args:\n      monitor: val_loss\n"
        "  - class_path: lightning.pytorch.callbacks.EarlyStopping\n    init_args:\n      monitor: val_loss\n"
        "      patience: 3\n")
    _overfitting_lightning_csv(run)
    data = _summary(run, tmp_path / "out")
    stop = next(f for f in data["findings"] if f["code"] == "stop.counterfactual")["params"]
    assert (stop["patience"], stop["basis"], stop["stop_epoch"]) == (3, "config", 11)
    changes = [r["change"] for r in data["recommendations"] if r.get("change")]
    assert {"key": "model.dropout", "current": 0.2, "suggested": 0.3, "present": True} in changes
    assert data["run"]["planned_epochs"] == 40
