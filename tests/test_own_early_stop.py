"""A run its own framework stopped early is reported as stopped early by that rule (QA of issue 15, item 2).

Ultralytics writes no end marker when its EarlyStopping ends a run, and a Hugging Face trainer_state.json only
says it ended through global_step reaching max_steps: read with a late --now, such runs were called running,
stalled or unknown, with an ETA, epochs to go and a projection past their end.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.model import Status
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run

RUNS = ROOT / "tests" / "fixtures" / "real-runs"
LATE = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(("run_id", "epoch", "patience"), [
    ("yolo-microalgae-seg", 55, 20), ("yolo-suhora-train12", 53, 5), ("yolo-tti-seg-0809", 36, 8)])
def test_a_run_its_own_early_stopping_ended_is_stopped_early(run_id: str, epoch: int, patience: int) -> None:
    analysis = analyse(load_run(RUNS / run_id), LATE)
    codes = {f.code: f for f in analysis.findings}
    assert analysis.status is Status.STOPPED_EARLY
    assert codes["run.stopped_early"].params["framework"] == "ultralytics"
    assert codes["run.stopped_early"].params["patience"] == patience
    assert codes["run.stopped_early"].params["epoch"] == epoch
    assert not {"time.eta", "run.stalled", "run.running", "run.stopped_logging"} & codes.keys()
    assert analysis.projection.limit is None or analysis.projection.limit <= epoch


def test_a_trainer_at_max_steps_has_finished() -> None:
    analysis = analyse(load_run(RUNS / "hf-whisper-flemish"), LATE)
    assert analysis.status is Status.FINISHED


def test_the_report_names_the_rule_and_gives_no_eta(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["report", str(RUNS / "yolo-microalgae-seg"), "--out", str(out), "--format", "md", "--lang", "en",
                 "--now", "2030-01-01T00:00:00", "--jobs", "1", "-q"]) == 0
    text = next(out.rglob("report.en.md")).read_text(encoding="utf-8")
    assert "by its own early stopping (Ultralytics EarlyStopping, patience 20)" in text
    assert "finishes around" not in text and "still alive" not in text
