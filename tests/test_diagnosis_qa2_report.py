"""Second QA pass of issue 15 (items 8, 11, 12, 20, 21; test_diagnosis_qa2.py has items 1, 5, 7, 14, 22): which
checkpoint Ultralytics keeps, errors that say what they are and what to do, a broken evaluation named once under
its own heading, run status that does not depend on the checkout time, and zh wording that stays consistent."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main

REAL = ROOT / "tests" / "fixtures" / "real-runs"


def _report(run: Path, out: Path, lang: str = "en") -> dict:
    assert main(["report", str(run), "--out", str(out), "--format", "md", "--lang", lang, "--jobs", "1",
                 "--now", "2026-12-05T12:00:00", "-q"]) == 0
    return json.loads((out / run.name / "summary.json").read_text())


def _found(data: dict) -> dict[str, dict]:
    return {f["code"]: f for f in data["findings"]}


def test_an_ultralytics_report_says_best_pt_follows_the_fitness_and_which_epoch_is_which(tmp_path: Path) -> None:
    """yolo-microalgae-seg: mAP50-95(B) peaks at 39, the fitness (box + mask terms) at 35, where best.pt is."""
    data = _report(REAL / "yolo-microalgae-seg", tmp_path)
    found = _found(data)
    chosen = found["metric.chosen"]["params"]
    assert chosen["basis"] == "fitness" and chosen["heads"] == 2
    assert chosen["fitness_epoch"] == found["stop.counterfactual"]["params"]["best_epoch"] == 35
    assert chosen["best_epoch"] == 39
    text = (tmp_path / "yolo-microalgae-seg" / "report.en.md").read_text()
    assert "the metric the training framework itself keeps its best model by" not in text
    assert "best.pt is from epoch 35, where the fitness peaks" in text
    assert "alone peaks at epoch 39" in text


def _keras_nan_val(folder: Path) -> Path:
    """/tmp/qa6in/nan-val: 20 Keras epochs, val_loss NaN from epoch 12 to the end, the other columns finite."""
    folder.mkdir()
    rows = ["epoch,accuracy,loss,val_accuracy,val_loss"]
    for e in range(20):
        val = "nan" if e >= 12 else f"{2.2 * math.exp(-e / 8) + 0.15 + 0.01 * (e * 7 % 3):.5f}"
        rows.append(f"{e},{0.9 - 0.5 * math.exp(-e / 5):.4f},{2 * math.exp(-e / 8) + 0.1:.5f},"
                    f"{0.85 - 0.5 * math.exp(-e / 5) + 0.003 * (e * 5 % 3):.4f},{val}")
    (folder / "training_log.csv").write_text("\n".join(rows) + "\n")
    return folder


def _every_error_has_a_recommendation(data: dict) -> None:
    errors = {f["code"] for f in data["findings"] if f["severity"] == "error"}
    cited = {code for r in data["recommendations"] for code in r["evidence"]}
    assert errors <= cited, errors - cited
    assert "rec.keep_going" not in {r["code"] for r in data["recommendations"]}


def test_a_validation_loss_nan_to_the_end_says_so_and_gets_a_recommendation(tmp_path: Path) -> None:
    data = _report(_keras_nan_val(tmp_path / "nan-val"), tmp_path / "out")
    assert data["verdict"] == "action_needed"
    _every_error_has_a_recommendation(data)
    assert "rec.check_evaluation" in {r["code"] for r in data["recommendations"]}
    text = (tmp_path / "out" / "nan-val" / "report.en.md").read_text()
    assert "val\\_loss is NaN from epoch 12 to the end." in text
    assert "NaN, infinity or an explosive jump" not in text


def test_validation_losses_never_recorded_are_one_watch_item_beside_a_usable_metric(tmp_path: Path) -> None:
    """yolo-anpr-train-model: val/box_loss and val/dfl_loss are 0 and val/cls_loss is inf at every epoch, while
    mAP50-95 moves: one watch item (QA-3 #1 turned the QA-2 error into it), and 'stay finite' fails beside the inf."""
    data = _report(REAL / "yolo-anpr-train-model", tmp_path)
    found = _found(data)
    assert "metric.diverged" not in found
    params = found["eval.constant"]["params"]
    assert params["keys"] == ["val/box_loss", "val/cls_loss", "val/dfl_loss"] and params["values"] == [0, None, 0]
    checks = {c["code"]: c["status"] for c in data["checklist"]}
    assert checks["check.no_crash"] == "pass" and checks["check.loss_finite"] == "fail"
    text = (tmp_path / "yolo-anpr-train-model" / "report.en.md").read_text()
    assert "### Errors" not in text
    watch = text.split("### Watch items\n", 1)[1].split("###", 1)[0]
    assert watch.count("never change") == 1 and "val/cls\\_loss = ∞" in watch


def _status_finding(data: dict) -> dict:
    return next(f for f in data["findings"] if f["code"] in ("run.stopped_logging", "run.stalled", "run.running"))


def test_run_status_counts_from_the_recorded_wall_times_whatever_the_file_mtime(tmp_path: Path) -> None:
    """A TensorBoard CSV export records when each value was written: the silence counts from its last wall time,
    so a checkout (which sets the file's mtime) changes nothing."""
    last = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc).timestamp()
    rows = ["Wall time,Step,Value"] + [f"{last - (29 - s) * 600},{s},{1.0 / (s + 1):.5f}" for s in range(30)]
    seen = []
    for offset in (0, 5 * 3600):
        run = tmp_path / f"tb-{offset}" / "run"
        run.mkdir(parents=True)
        (run / "run-train-tag-loss.csv").write_text("\n".join(rows) + "\n")
        os.utime(run / "run-train-tag-loss.csv", (last + offset, last + offset))
        params = _status_finding(_report(run, tmp_path / f"out-{offset}"))["params"]
        assert params["recorded"] is True
        seen.append(params["hours_since_last"])
    assert seen == [18.0, 18.0]
    assert "the last one the history records, at 2026-12-04 18:00 UTC" in \
        (tmp_path / "out-0" / "run" / "report.en.md").read_text()


def test_a_status_from_the_file_mtime_says_file_last_modified(tmp_path: Path) -> None:
    """A Keras CSV records no time: the silence counts from the mtime, set here as a checkout would not."""
    run = _keras_nan_val(tmp_path / "run")
    (run / "training_log.csv").write_text((run / "training_log.csv").read_text().replace("nan", "0.5"))
    written = datetime(2026, 12, 5, 1, 30, tzinfo=timezone.utc).timestamp()
    os.utime(run / "training_log.csv", (written, written))
    params = _status_finding(_report(run, tmp_path / "out", "zh,en"))["params"]
    assert params["recorded"] is False and params["hours_since_last"] == 10.5
    english = (tmp_path / "out" / "run" / "report.en.md").read_text()
    assert "the history file was last modified, at 2026-12-05 01:30 UTC (10.5 hours before" in english
    assert "历史文件最后修改于 2026-12-05 01:30 UTC" in (tmp_path / "out" / "run" / "report.zh.md").read_text()


ZH_SLIPS = (": ", "。 ", "; ", "最优", "在那里", "其后的 0 个", "| Epoch |", "回测误差：")
"""ASCII punctuation inside zh text, the second term for 'best value' (最佳值 is the one), and phrases QA found."""


@pytest.mark.parametrize("run", ["yolo-microalgae-seg", "hf-whisper-bashkir", "lightning-milipoint-v15",
                                 "yolo-anpr-weights", "keras-dm2024-log1"])
def test_rendered_zh_reports_keep_full_width_punctuation_and_one_term(tmp_path: Path, run: str) -> None:
    _report(REAL / run, tmp_path, "zh")
    text = (tmp_path / run / "report.zh.md").read_text()
    assert "训练状态报告：" in text
    found = {slip for slip in ZH_SLIPS if slip in text}
    assert not found, [line for line in text.splitlines() if any(s in line for s in found)][:5]
    assert not re.search(r"第 [0-9.E-]*\.[0-9E-]+ 个 epoch", text), "a fractional epoch read as an ordinal"


def test_a_dataset_name_mismatch_gets_a_recommendation(tmp_path: Path) -> None:
    """dataset.mismatch is an error: it too says what to do, not 'keep the configuration'."""
    run = tmp_path / "umc-results"
    shutil.copytree(ROOT / "examples" / "umc-results", run)
    toml = run / "run.toml"
    toml.write_text('dataset = "MELD-DA"\n' + (toml.read_text() if toml.exists() else ""))
    data = _report(run, tmp_path / "out")
    assert "dataset.mismatch" in _found(data)
    _every_error_has_a_recommendation(data)
