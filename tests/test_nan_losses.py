"""NaN in losses (QA of issue 15, defects 1 and 9): a validation loss NaN from some epoch on is an error that fails
the NaN checks and leaves no fit claim; NaN at a few rows of one component of a summed loss is not a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main

YOLOV5 = ROOT / "tests" / "fixtures" / "real-runs" / "yolov5-pipeline-exp2"
FIT_CLAIMS = {"fit.still_improving", "fit.underfitting", "fit.overfitting", "fit.generalization_gap", "fit.at_best",
              "stop.counterfactual"}


def _report(run: Path, out: Path) -> dict:
    assert main(["report", str(run), "--out", str(out), "--format", "md", "--lang", "zh,en",
                 "--now", "2026-12-05T12:00:00", "-q"]) == 0
    return json.loads((out / run.name / "summary.json").read_text())


def _keras_log(folder: Path, nan_from: int, accuracy: bool) -> Path:
    """A Keras CSVLogger history of 20 epochs, both losses falling, val_loss NaN from `nan_from` on."""
    folder.mkdir()
    rows = ["epoch,loss,val_loss" + (",accuracy,val_accuracy" if accuracy else "")]
    for e in range(20):
        val = "nan" if e >= nan_from else f"{2.2 * math.exp(-e / 8) + 0.15 + 0.01 * (e * 7 % 3):.5f}"
        extra = f",{0.9 - 0.5 * math.exp(-e / 5):.4f},{0.85 - 0.5 * math.exp(-e / 5) + 0.003 * (e * 5 % 3):.4f}"
        rows.append(f"{e},{2 * math.exp(-e / 8) + 0.1:.5f},{val}" + (extra if accuracy else ""))
    (folder / "training_log.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.mark.parametrize("nan_from,accuracy", [(0, True), (12, True), (12, False)])
def test_a_validation_loss_nan_from_some_epoch_on_is_an_error_with_no_fit_claims(
        tmp_path: Path, nan_from: int, accuracy: bool) -> None:
    data = _report(_keras_log(tmp_path / "run", nan_from, accuracy), tmp_path / "out")
    found = {f["code"]: f for f in data["findings"]}
    diverged = found["metric.diverged"]
    assert diverged["severity"] == "error" and diverged["params"]["key"] == "val_loss"
    assert diverged["params"]["epoch"] == nan_from and diverged["params"]["cause"] == "nan"
    assert data["verdict"] == "action_needed"
    checks = {c["code"]: c["status"] for c in data["checklist"]}
    assert checks["check.no_crash"] == checks["check.loss_finite"] == "fail"
    assert not FIT_CLAIMS & found.keys()
    if not accuracy:  # val_loss is the primary metric: no trend read from the epochs before its NaN
        assert not {"metric.improving", "metric.plateau", "metric.sparse"} & found.keys()
    english = (tmp_path / "out" / "run" / "report.en.md").read_text()
    assert "still fall" not in english
    assert "stays NaN or infinite to the end, no fit rule" in english


def test_nan_at_a_few_rows_of_one_loss_component_is_not_a_crash(tmp_path: Path) -> None:
    """yolov5-pipeline-exp2: box and obj losses NaN at epochs 167-177, finite after, mAP rising to epoch 299."""
    data = _report(YOLOV5, tmp_path / "out")
    found = {f["code"]: f for f in data["findings"]}
    assert data["run"]["status"] != "crashed"
    assert not {"run.crashed", "metric.diverged"} & found.keys()
    rows = [f for f in data["findings"] if f["code"] == "loss.nan_rows"]
    assert len(rows) == 1 and rows[0]["severity"] == "info"
    assert rows[0]["params"]["epochs"] == [167, 170, 176, 177] and rows[0]["params"]["summed"] is True
    checks = {c["code"]: c["status"] for c in data["checklist"]}
    assert checks["check.no_crash"] == checks["check.loss_finite"] == "pass"
    assert "fit.underfitting" in found or "fit.still_improving" in found
    zh = (tmp_path / "out" / YOLOV5.name / "report.zh.md").read_text()
    assert "不是崩溃" in zh and "treat everything after it as a crash" not in \
        (tmp_path / "out" / YOLOV5.name / "report.en.md").read_text()
