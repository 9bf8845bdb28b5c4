"""Issue 18: the HF, Lightning and Keras callbacks, each driving its real framework on a tiny model (CPU, no downloads).

Each training runs as its own process (tests/clients/trainers.py), as a training script would: a crash
is an exception that ends that process, and the final report is rendered while it exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reporter.report.ingest.recorded import records

TRAINERS = Path(__file__).with_name("trainers.py")
ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("hf", "lightning", "keras")
METRIC = {"hf": "eval_accuracy", "lightning": "val_acc", "keras": "val_accuracy"}


def _train(framework: str, scenario: str, folder: Path, templates: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(TRAINERS), framework, scenario, str(folder)] + ([str(templates)] if templates else [])
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)


def _summary(folder: Path) -> dict:
    return json.loads((folder / "out" / folder.name / "summary.json").read_text())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_training_writes_the_history_and_reports_during_and_after_it(framework: str, tmp_path: Path) -> None:
    folder = tmp_path / f"{framework}-run"
    done = _train(framework, "train", folder)
    assert done.returncode == 0, done.stderr[-3000:]
    logged = json.loads(done.stdout.strip().splitlines()[-1])
    assert logged["epochs"] == 4
    assert len(records((folder / "history.jsonl").read_text(), "history.jsonl")) >= 4
    assert logged["mid_training"] is not None and logged["mid_training"]["status"] == "running", logged
    summary = _summary(folder)
    assert summary["run"]["status"] == "finished" and summary["run"]["planned_epochs"] == 4
    assert summary["primary_metric"]["name"] == METRIC[framework]
    assert summary["best"] == {"value": pytest.approx(logged["best_value"]), "epoch": logged["best_epoch"]}
    assert (folder / "out" / folder.name / "report.en.md").exists()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_crash_inside_training_is_recorded_and_reported_as_crashed(framework: str, tmp_path: Path) -> None:
    folder = tmp_path / f"{framework}-run"
    done = _train(framework, "crash", folder)
    assert done.returncode != 0 and "injected crash in epoch 3" in done.stderr
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "crashed" and "injected crash in epoch 3" in status["error"]
    assert _summary(folder)["run"]["status"] == "crashed"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_rendering_failure_is_logged_and_training_goes_on(framework: str, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.md.j2").write_text("{% if %}broken{% endif %}\n")
    folder = tmp_path / f"{framework}-run"
    done = _train(framework, "unrendered", folder, templates)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["epochs"] == 4
    assert "the report could not be rendered" in done.stderr
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"
    assert not (folder / "out" / folder.name).exists()
