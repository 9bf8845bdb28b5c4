"""A UMC run still in pre-training (issue #12 item 10): a report saying so, not "no metric 'nmi'" nor a
healthy verdict on the pre-training loss."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reporter.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "umc-pretraining"


@pytest.mark.parametrize("with_run_toml", [True, False], ids=["run.toml names nmi", "log only"])
def test_pretraining_run_is_running_with_no_metric_yet(tmp_path: Path, with_run_toml: bool) -> None:
    run = tmp_path / "umc-pretraining"
    shutil.copytree(FIXTURE, run, ignore=None if with_run_toml else shutil.ignore_patterns("run.toml"))
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out), "--format", "md", "--now", "2025-03-15T09:00:00", "--jobs", "1",
                 "-q"]) == 0
    summary = json.loads((out / run.name / "summary.json").read_text())
    findings = {f["code"]: f["params"] for f in summary["findings"]}
    assert summary["run"]["status"] == "running" and summary["primary_metric"] is None
    assert findings["run.pretraining"] == {"epoch": 55.0, "planned_epochs": 150, "metric": "nmi" if with_run_toml else None}
    assert "metric.missing" not in findings
    assert summary["run"]["dataset"] == "IEMOCAP-DA" and summary["reference"]  # from the log's params
    en = (out / run.name / "report.en.md").read_text()
    assert "epoch 55 of 150 planned pre-training epochs" in en and "| UMC | 24.16 | test |" in en
    assert "第 55 个 epoch，计划预训练 150 个 epoch" in (out / run.name / "report.zh.md").read_text()
