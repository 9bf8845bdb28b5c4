"""Golden files for the demo report and two labelled real runs (a Keras run and an Ultralytics run with args.yaml,
both overfitting) in both languages.

After an intended change: `make golden` (REPORTER_REGENERATE_GOLDEN=1) rewrites them; review the diff.
Embedded SVG figures are replaced by their length, so a matplotlib upgrade does not break the text comparison.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from reporter.cli import main

GOLDEN = Path(__file__).parent / "golden" / "iemocap-da"
REGENERATE = os.environ.get("REPORTER_REGENERATE_GOLDEN") == "1"
DATA_URI = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+")


def normalised(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return DATA_URI.sub("data:image/svg+xml;base64,…", text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden")
    assert main(["report", "examples/iemocap-da", "--out", str(out), "--format", "md,html",
                 "--now", "2025-03-15T09:00:00", "-q"]) == 0
    return out / "iemocap-da"


@pytest.mark.parametrize("name", ["report.zh.md", "report.en.md", "report.zh.html", "report.en.html", "summary.json"])
def test_demo_report_matches_golden(rendered: Path, name: str) -> None:
    assert_matches_golden(rendered / name, GOLDEN / name)


REAL_RUNS = Path(__file__).parent / "fixtures" / "real-runs"
GOLDEN_RUNS = ("keras-dm2024-log1", "yolo-cls-emotion-train")
"""Overfitting runs from the labelled set: the report must say so first, with the epoch to go back to."""


@pytest.fixture(scope="module")
def rendered_runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("golden-runs")
    for run in GOLDEN_RUNS:
        assert main(["report", str(REAL_RUNS / run), "--out", str(out), "--format", "md,html",
                     "--now", "2025-03-15T09:00:00", "-q"]) == 0
    return out


@pytest.mark.parametrize("run", GOLDEN_RUNS)
@pytest.mark.parametrize("name", ["report.zh.md", "report.en.md", "report.zh.html", "report.en.html", "summary.json"])
def test_real_run_report_matches_golden(rendered_runs: Path, run: str, name: str) -> None:
    assert_matches_golden(rendered_runs / run / name, GOLDEN.parent / run / name)


def assert_matches_golden(rendered: Path, golden: Path) -> None:
    """The rendered file, normalised, equals its golden file; with REPORTER_REGENERATE_GOLDEN=1 it becomes it."""
    actual = normalised(rendered)
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), "no golden file yet: run `make golden`"
    assert actual == golden.read_text(encoding="utf-8"), f"{golden.name} changed; if intended, run `make golden`"


def test_same_input_gives_byte_identical_documents(rendered: Path, tmp_path: Path) -> None:
    assert main(["report", "examples/iemocap-da", "--out", str(tmp_path), "--format", "md,html",
                 "--now", "2025-03-15T09:00:00", "-q"]) == 0
    for name in ("report.zh.md", "report.en.md", "report.zh.html", "report.en.html", "summary.json",
                 "figures/metric.zh.svg", "figures/classes.en.png"):
        assert (tmp_path / "iemocap-da" / name).read_bytes() == (rendered / name).read_bytes(), name


def test_summary_follows_the_contract(rendered: Path) -> None:
    data = json.loads((rendered / "summary.json").read_text())
    assert data["schema"] == 1
    assert data["run"]["status"] == "stopped_early" and data["run"]["planned_epochs"] == 97
    assert data["run"]["last_epoch"] == 9
    assert data["primary_metric"] == {"name": "nmi", "mode": "max", "split": "train+dev", "scale": "fraction",
                                      "best_so_far": True}
    assert data["best"] == {"value": 0.24302, "epoch": 5.0}
    assert data["current"]["loss"] == 5.1842
    assert data["trend"] == "insufficient_data"
    assert data["projection"]["interval"] == 0.8 and data["projection"]["points"] == []
    assert data["dataset"]["imbalance_ratio"] == pytest.approx(38.62, abs=0.01)
    codes = {f["code"] for f in data["findings"]}
    assert {"run.stopped_early", "run.planned_from_thres_delta", "loss.flat", "fact.constant",
            "dataset.header_as_class", "dataset.imbalance", "stability.trend_driven", "reference.compare",
            "reference.split_mismatch"} <= codes
    assert all(set(c) == {"code", "status", "params"} for c in data["checklist"])


FULL_WIDTH_THEN_SPACE = re.compile(r"[。，：；！？）] (?!\|)")  # a Markdown table cell's padding is no sentence join


def test_zh_reports_put_no_space_after_full_width_punctuation(rendered: Path, rendered_runs: Path) -> None:
    """Sentences joined with an ASCII space read "最佳值在第 36 轮。 patience 与…" in ~180 places (QA of #15)."""
    reports = [rendered / "report.zh.md", rendered / "report.zh.html"] + \
        [rendered_runs / run / name for run in GOLDEN_RUNS for name in ("report.zh.md", "report.zh.html")]
    found = {path.parent.name + "/" + path.name: FULL_WIDTH_THEN_SPACE.findall(path.read_text(encoding="utf-8"))
             for path in reports}
    assert not any(found.values()), found
