"""Regressions for claims a report got wrong (issue #12): crashes, wrong statuses, unchecked checks."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NOW as CLOCK
from conftest import ROOT, make_run

from reporter.cli import main
from reporter.config import Thresholds, settings_from_dict
from reporter.model import CheckStatus, Event, Finding, Predictions, Severity, Status, frozen_mapping
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run
from reporter.report.ingest.predictions import read_predictions
from reporter.report.present import present
from reporter.report.reference import published_results
from reporter.report.render.environment import environment
from reporter.report.summary import summary

NOW = "2025-03-15T09:00:00"
RISING = [0.10 + 0.02 * i for i in range(10)]
LOSS = [2.0 - 0.1 * i for i in range(10)]


def _copy_example(tmp_path: Path, name: str, toml_extra: str = "") -> Path:
    run = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, run)
    if toml_extra:
        toml = run / "run.toml"
        toml.write_text(toml_extra + "\n" + (toml.read_text() if toml.exists() else ""))
    return run


def _report(run: Path, out: Path, *extra: str) -> tuple[int, Path]:
    code = main(["report", str(run), "--out", str(out), "--now", NOW, "--format", "md,html", "-q", *extra])
    return code, out / run.name


def test_predictions_with_published_results_render_the_comparison(tmp_path: Path) -> None:
    run = _copy_example(tmp_path, "digits-kmeans", 'dataset = "IEMOCAP-DA"')
    code, folder = _report(run, tmp_path / "out")
    assert code == 0
    md = (folder / "report.en.md").read_text()
    assert "| NMI | 73.92 | 24.16 (UMC) |" in md
    assert "24.16 (UMC)" in (folder / "report.zh.html").read_text()


def codes(run, **kwargs) -> dict:
    return {f.code: f for f in analyse(run, CLOCK, published_results(), **kwargs).findings}


def test_a_finished_run_without_end_marker_is_unknown_not_stalled() -> None:
    # TensorBoard/W&B/CSV: wall times, no plan, nothing written for two days.
    run = make_run(RISING, LOSS, wall_hours=0.5, last_write=CLOCK - timedelta(days=2))
    analysis = analyse(run, CLOCK, ())
    found = {f.code: f for f in analysis.findings}
    assert analysis.status is Status.UNKNOWN and "run.stalled" not in found
    assert found["run.stopped_logging"].severity is Severity.INFO
    assert present(analysis).verdict != "verdict.action_needed"


def test_a_short_silence_is_not_a_stall_even_for_a_fast_run() -> None:
    # One epoch per second and a file written three minutes ago: "no entry for 0.0 hours" was a stall.
    run = make_run(RISING, LOSS, wall_hours=1 / 3600, last_write=CLOCK - timedelta(minutes=3), planned=50)
    found = codes(run)
    assert "run.running" in found and "run.stalled" not in found


def test_without_wall_times_a_quiet_run_may_have_finished() -> None:
    run = make_run(RISING, LOSS, last_write=CLOCK - timedelta(days=3), planned=50)
    found = codes(run)
    assert "run.stalled" not in found
    assert found["run.stopped_logging"].severity is Severity.WARN  # short of its plan: a watch item, not an alarm
    assert found["run.stopped_logging"].params["planned_epochs"] == 50


def test_stall_min_hours_is_a_setting() -> None:
    run = make_run(RISING, LOSS, wall_hours=0.1, last_write=CLOCK - timedelta(hours=3), planned=50)
    assert "run.running" in codes(run)
    assert "run.stalled" in codes(run, limits=Thresholds(stall_min_hours=2.0))
    assert settings_from_dict({"analysis": {"stall_min_hours": 12}}).thresholds.stall_min_hours == 12


def test_dataset_mismatch_is_found_and_not_compared(tmp_path: Path) -> None:
    run = _copy_example(tmp_path, "umc-results", 'dataset = "MELD-DA"')
    found = codes(load_run(str(run)))
    assert found["dataset.mismatch"].params == {"declared": "MELD-DA", "found": "IEMOCAP-DA"}
    assert found["dataset.mismatch"].severity is Severity.ERROR
    assert "reference.compare" not in found


def test_interval_width_is_the_configured_one(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text("[analysis]\ninterval = 0.9\n")
    code, folder = _report(ROOT / "examples" / "fer-running", tmp_path / "out", "--lang", "en", "--config",
                           str(config))
    assert code == 0
    md = (folder / "report.en.md").read_text()
    assert "90% interval" in md and "The 90% interval adds quantiles" in md
    held_out = re.sub(r"the 80% interval covered [^.]*\.", "", md)  # the held-out figures are for the 80% band
    assert "80%" not in held_out
    assert "projection, 90% interval" in (folder / "figures" / "metric.en.svg").read_text()


def test_checklist_says_not_applicable_for_what_it_cannot_check() -> None:
    analysis = analyse(make_run(RISING), CLOCK, ())  # no loss, no plan, no labels, no published results
    status = {c.code: c.status for c in analysis.checklist}
    for code in ("check.loss_informative", "check.reached_plan", "check.dataset_clean",
                 "check.same_split_as_reference"):
        assert status[code] is CheckStatus.NOT_APPLICABLE, code
    assert {c.code: c.status for c in summary(analysis).checklist}["check.reached_plan"] == "n/a"
    messages = environment("zh", "md").get_template("partials/messages.j2").make_module()
    assert str(messages.check_status(analysis.checklist[2])) == "不适用"


def test_merged_classes_are_a_watch_item() -> None:
    labels = ["a"] * 50 + ["b"] * 40 + ["c"] * 40
    preds = [0] * 50 + [1] * 40 + [1] * 39 + [2]  # b and c land in one cluster: c's recall is 1/40
    run = replace(make_run(RISING, LOSS, planned=10),
                  predictions=(Predictions(10.0, tuple(labels), tuple(preds)),))
    analysis = analyse(run, CLOCK, ())
    merged = {f.code: f for f in analysis.findings}["clusters.merged"]
    assert merged.severity is Severity.WARN and merged.params["groups"] == [[1, ["b", "c"]]]
    assert merged.params["recall"] == pytest.approx(1 / 40)
    assert present(analysis).verdict == "verdict.attention"


def test_a_history_longer_than_its_plan_is_flagged() -> None:
    run = make_run(RISING[:8], LOSS[:8], start=1, planned=5, events=(Event("finished", 8.0),))
    found = codes(run)
    assert found["run.past_plan"].params == {"last_epoch": 8.0, "planned_epochs": 5}
    assert found["run.finished"].params["planned_epochs"] is None
    messages = environment("en", "md").get_template("partials/messages.j2").make_module()
    text = str(messages.finding(found["run.finished"], ContextStub()))
    assert text == "The run finished at epoch 8."


class ContextStub:
    metric = None
    x_unit = "epoch"
    counts = {"error": 0, "warn": 1, "ok": 1}


def test_plurals_follow_the_count() -> None:
    messages = environment("en", "md").get_template("partials/messages.j2").make_module()
    assert str(messages.counts(ContextStub())) == "0 errors, 1 watch item, 1 positive signal."
    one = Finding("metric.insufficient_data", Severity.WARN, frozen_mapping({"n_points": 1, "needed": 4}))
    assert str(messages.finding(one, ContextStub())).startswith("With 1 metric value no trend")


def test_dataset_profile_sentences_are_separated(tmp_path: Path) -> None:
    code, folder = _report(ROOT / "examples" / "iemocap-da", tmp_path / "out", "--lang", "en", "--format", "md")
    assert code == 0
    assert "(s / a). Text length" in (folder / "report.en.md").read_text()


def test_prediction_files_in_epoch_order() -> None:
    _, sources = read_predictions(ROOT / "examples" / "digits-kmeans")
    assert [s.path for s in sources][:3] == ["predictions/epoch_1.npz", "predictions/epoch_2.npz",
                                             "predictions/epoch_3.npz"]
    assert sources[-1].path == "predictions/epoch_10.npz"


def test_a_nan_loss_is_shown_as_nan_not_as_a_python_float() -> None:
    analysis = analyse(make_run(RISING, LOSS[:9] + [float("nan")]), CLOCK, ())
    row = next(r for r in present(analysis).key_metrics if r.code == "key.current_loss")
    messages = environment("en", "md").get_template("partials/messages.j2").make_module()
    assert str(messages.key_value(row, "raw")) == "NaN"
    assert str(messages.key_value(replace(row, value=float("-inf")), "raw")) == "−∞"


def test_a_flat_loss_outside_umc_gets_no_umc_advice() -> None:
    """Issue 15: 'judge progress by the metric, not the loss' is the UMC lesson of a loss pinned at its ceiling;
    any other run with a flat loss only gets the finding, not that advice."""
    analysis = analyse(make_run(RISING, [5.20 - 0.001 * i for i in range(10)]), CLOCK, ())
    assert "loss.flat" in {f.code for f in analysis.findings}
    assert "rec.watch_metric_not_loss" not in {r.code for r in analysis.recommendations}
