"""The run's own config, read from the files its framework writes beside the history: nested Lightning
hparams.yaml sections, YOLOv5's opt.yaml + hyp.yaml and mmengine's config.py (issue 15, brief S6-D). The plan,
the early-stopping replay and the advice use the settings the user actually set, under the key the user edits;
YOLOv5 and mmengine runs are replayed with their own early-stopping rules."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.model import Mode
from reporter.report.analysis import analyse
from reporter.report.analysis.diagnosis import framework, stopping
from reporter.report.ingest import load_run

REAL_RUNS = ROOT / "tests" / "fixtures" / "real-runs"
NOW = "2026-12-05T12:00:00"
NOW_DT = datetime(2026, 12, 5, 12, tzinfo=timezone.utc)


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
    weight decay the config already has, and the run had no planned length. A patience the config already holds
    is no setting to change ("training.patience from 10 to 10")."""
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
    stop_rec = next(r for r in data["recommendations"] if r["code"] == "rec.early_stopping")
    assert stop_rec["change"] is None  # training.patience is 10 already: the advice is to add the callback
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


# --- YOLOv5: opt.yaml and hyp.yaml ------------------------------------------------------------------------------

def test_a_yolov5_run_is_read_with_its_opt_and_hyp_files() -> None:
    """yolov5-oral-exp holds results.csv, opt.yaml (epochs 500, patience 100) and hyp.yaml (lr0, weight_decay,
    mosaic, ...), as DeekshithaDPrakash/oral-disease-detection runs/train/exp (commit a3fd9a2) has them. The two
    files were not read: no planned length, the replay used Keras' rule on the validation loss with patience 5."""
    run = load_run(REAL_RUNS / "yolov5-oral-exp")
    assert (run.plan.epochs, run.plan.params["file"]) == (500, "opt.yaml") if run.plan else False
    assert (run.hyperparameters["weight_decay"], run.hyperparameters["mosaic"]) == (0.0005, 1.0)
    assert framework(run) == "yolov5"
    stop = next(f for f in analyse(run, NOW_DT).findings if f.code == "stop.counterfactual").params
    assert (stop["monitor"], stop["mode"], stop["patience"], stop["basis"]) == ("fitness", "max", 100, "config")


def test_yolov5_rule_counts_a_tie_as_a_new_best() -> None:
    """utils/torch_utils.py EarlyStopping (2021-08 to 2026-07): `if fitness >= self.best_fitness`, best_fitness
    from 0, stop when `epoch - best_epoch >= patience`, epochs from 0; patience 0 never stops. Ultralytics'
    strict rule would keep epoch 1 as the best and stop one epoch earlier."""
    epochs, fitness = [0, 1, 2, 3, 4, 5, 6], [0.0, 0.1, 0.1, 0.05, 0.05, 0.05, 0.2]
    assert stopping.yolov5(epochs, fitness, patience=3) == stopping.Stop(5, 2)
    assert stopping.ultralytics(epochs, fitness, patience=3) == stopping.Stop(4, 1)
    assert stopping.yolov5(epochs, fitness, patience=0) == stopping.Stop(None, 6)


# --- mmengine: EarlyStoppingHook ---------------------------------------------------------------------------------

@pytest.mark.parametrize("values,greater,patience,min_delta,expected", [
    ([0.5, 0.55, 0.61, 0.65, 0.68, 0.70], True, 3, 0.1, (5, 2)),  # 0.55 < 0.5 + 0.1 waits; 0.61 is a new best
    ([1.0, 1.0, 1.0, 1.0], False, 2, 0.0, (None, 3)),  # an equal value is a new best: the count never grows
    ([1.0, 1.5, 1.9, 1.9], True, 2, 0.5, (3, 1)),  # reaching best + min_delta exactly counts
    ([1.0, 0.8, float("nan"), 0.5], False, 5, 0.0, (2, 1)),  # check_finite stops at once
])
def test_mmengine_rule(values: list[float], greater: bool, patience: int, min_delta: float,
                       expected: tuple) -> None:
    """mmengine/hooks/early_stopping_hook.py _check_stop_condition: no improvement while
    `compare(best_score + min_delta, current)` (min_delta negated for rule 'less'), the count reaching patience
    stops; anything else becomes the best."""
    assert stopping.mmengine(values, greater, patience, min_delta) == stopping.Stop(*expected)


@pytest.mark.parametrize("monitor,mode", [("coco/bbox_mAP", Mode.MAX), ("mIoU", Mode.MAX), ("accuracy/top1", Mode.MAX),
                                          ("loss", Mode.MIN), ("val/loss_cls", Mode.MIN), ("val/ce", None)])
def test_mmengine_infers_the_rule_from_the_monitors_name(monitor: str, mode: Mode | None) -> None:
    assert stopping.mmengine_rule(monitor) is mode


MAP = [0.10, 0.20, 0.30, 0.35, 0.40, 0.42, 0.425, 0.428, 0.429, 0.431, 0.433, 0.434, 0.436, 0.437, 0.438, 0.44]
HOOK_CONFIG = """train_cfg = dict(max_epochs=16, type='EpochBasedTrainLoop', val_interval=1)
custom_hooks = [
    dict(
        check_finite=True,
        min_delta=0.01,
        monitor='coco/bbox_mAP',
        patience=3,
        rule='greater',
        type='EarlyStoppingHook'),
]
"""
"""The shape mmengine's Config.dump writes (keys sorted, `type` last), as public MMSeg/MMDet configs hold it."""


def test_an_mmengine_run_is_replayed_with_its_early_stopping_hook(tmp_path: Path) -> None:
    """The hook's monitor, rule, patience and min_delta come from vis_data/config.py beside the vis_data json."""
    vis = tmp_path / "run" / "20240101_000000" / "vis_data"
    vis.mkdir(parents=True)
    lines = []
    for epoch, value in enumerate(MAP, start=1):
        lines.append(json.dumps({"lr": 0.01, "data_time": 0.1, "loss": 2.0 / epoch, "time": 0.5, "epoch": epoch,
                                 "iter": 10, "memory": 900, "step": 10 * epoch}))
        lines.append(json.dumps({"coco/bbox_mAP": value, "data_time": 0.1, "time": 0.2, "step": epoch}))
    (vis / "20240101_000000.json").write_text("\n".join(lines) + "\n")
    (vis / "config.py").write_text(HOOK_CONFIG)
    run = load_run(tmp_path / "run")
    assert framework(run) == "mmengine" and run.plan is not None and run.plan.epochs == 16
    stop = next(f for f in analyse(run, NOW_DT).findings if f.code == "stop.counterfactual").params
    assert (stop["monitor"], stop["mode"], stop["patience"], stop["min_delta"], stop["basis"]) == \
        ("coco/bbox_mAP", "max", 3, 0.01, "config")
    assert stop["stop_epoch"] == 9  # 0.425, 0.428, 0.429 each fall short of 0.42 + 0.01
    assert stop["best_epoch"] == 10  # the last value to reach its best + 0.01 over the whole run (0.431)
