"""What a report shows first (QA #15 items 8, 11, 15, 18): the key-metrics table, the loss chart's validation
minimum, the planned-length check of a run its own early stopping ended, the projection method's name in each
language, and durations in the unit their size calls for."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.model import Analysis
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run
from reporter.report.render import chart_labels
from reporter.report.render.charts import loss_chart
from reporter.report.render.environment import environment

RUNS = ROOT / "tests" / "fixtures" / "real-runs"
NOW = datetime(2026, 12, 5, 12, tzinfo=timezone.utc)


SILENT = NOW - timedelta(days=7)
"""When the copies' files were last written. Their results.csv holds no wall times, so the run's last write is the
file's mtime: the checkout's time, which came after NOW on a later day (these tests failed from then on)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real runs as a copy whose files were all last written at SILENT, a week before NOW."""
    copy = tmp_path_factory.mktemp("real-runs") / "runs"
    shutil.copytree(RUNS, copy)
    for path in copy.rglob("*"):
        os.utime(path, (SILENT.timestamp(), SILENT.timestamp()))
    return copy


def _analysis(runs: Path, run_id: str) -> Analysis:
    return analyse(load_run(runs / run_id), NOW)


def _report(runs: Path, run_id: str, out: Path, lang: str = "en") -> str:
    assert main(["report", str(runs / run_id), "--out", str(out), "--format", "md", "--lang", lang, "--now",
                 NOW.strftime("%Y-%m-%dT%H:%M:%S"), "-q"]) == 0
    return (out / run_id / f"report.{lang}.md").read_text(encoding="utf-8")


def _rows(text: str) -> dict[str, tuple[str, str]]:
    """The key-metrics table: label -> (value, note)."""
    table = text.split("| Metric | Value | Note |", 1)[1].split("\n\n", 1)[0]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table.strip().splitlines()[1:]]
    return {c[0]: (c[1], c[2]) for c in cells}


def test_the_key_metrics_show_the_metric_now_and_the_validation_loss_now_and_at_its_minimum(runs: Path,
                                                                                           tmp_path: Path) -> None:
    """lightning-mnist20k-v10: the table had no current metric value and no validation loss, only 'Current loss'."""
    rows = _rows(_report(runs, "lightning-mnist20k-v10", tmp_path))
    assert rows["Current value"] == ("0.9979 (99.8%)", "epoch 20")
    assert rows["Current validation loss"] == ("0.0092", r"key val\_loss, epoch 20")
    assert rows["Lowest validation loss"] == ("0.0092", r"key val\_loss, lowest at epoch 20")
    assert rows["Training loss"][1].startswith(r"key train\_loss, the series the fit rules read")


def test_the_yolo_training_loss_is_the_sum_the_fit_rules_read(runs: Path, tmp_path: Path) -> None:
    """yolo-suhora-train12: 'Current loss 0.9301, key train/box_loss' while the fit rules read box + cls + dfl."""
    rows = _rows(_report(runs, "yolo-suhora-train12", tmp_path))
    value, note = rows["Training loss"]
    assert note == r"sum of train/box\_loss + train/cls\_loss + train/dfl\_loss, the series the fit rules read; epoch 53"
    run = load_run(RUNS / "yolo-suhora-train12")
    h = run.history
    last = h[(h["x"] == 53) & h["key"].isin(["train/box_loss", "train/cls_loss", "train/dfl_loss"])]["value"].sum()
    assert value == f"{last:.4f}" and "Current loss" not in rows
    assert rows["Lowest validation loss"][1].endswith("lowest at epoch 48")


def _loss_axes(a: Analysis, lang: str) -> Any:
    chart = loss_chart(a)
    assert chart is not None
    chart.label(chart_labels(lang, None, a.projection.interval))
    return chart.figure.axes[0]


@pytest.mark.parametrize("lang, label", [("en", "lowest validation loss"), ("zh", "最低验证损失")])
def test_the_loss_chart_marks_the_validation_minimum(runs: Path, lang: str, label: str) -> None:
    """QA 18: the metric chart marks its best, the loss chart marked no validation-loss minimum."""
    a = _analysis(runs, "keras-dm2024-log1")
    assert a.paired_losses is not None and a.paired_losses.val_best is not None
    axes = _loss_axes(a, lang)
    assert label in [t.get_text() for t in axes.get_legend().get_texts()]
    marker = next(c for c in axes.collections if c.get_label() == label)
    assert marker.get_offsets().tolist() == [[a.paired_losses.val_best.x, a.paired_losses.val_best.value]]


def test_a_summed_validation_loss_is_marked_at_the_epoch_of_its_minimum(runs: Path) -> None:
    """Ultralytics' summed validation loss is not drawn (its components are): a line at the epoch of its minimum."""
    a = _analysis(runs, "yolo-suhora-train12")
    line = next(x for x in _loss_axes(a, "en").lines if x.get_label() == "lowest validation loss")
    assert list(line.get_xdata()) == [48.0, 48.0]


@pytest.mark.parametrize("run_id", ["yolo-suhora-train12", "yolo-microalgae-seg"])
def test_a_run_its_own_early_stopping_ended_does_not_fail_the_planned_length(runs: Path, run_id: str) -> None:
    """'The run reached its planned length — fail' on runs their own Ultralytics EarlyStopping stopped."""
    items = {c.code: c for c in _analysis(runs, run_id).checklist}
    assert "check.reached_plan" not in items
    stopped = items["check.stopped_by_own_rule"]
    assert stopped.status.value == "pass" and stopped.params["epoch"] == _analysis(runs, run_id).last_epoch


def test_the_checklist_says_which_epoch_the_own_rule_stopped_at(runs: Path, tmp_path: Path) -> None:
    text = _report(runs, "yolo-suhora-train12", tmp_path)
    assert "- [x] The run was stopped by its own early-stopping rule at epoch 53 — pass" in text
    assert "The run reached its planned length — fail" not in text


def test_the_projection_method_is_named_in_the_report_language(runs: Path, tmp_path: Path) -> None:
    """The method was an English Python constant shown as is in the zh appendix."""
    zh = _report(runs, "lightning-mnist20k-v10", tmp_path, "zh")
    assert "ensemble of learning-curve families" not in zh and "学习曲线族集成" in zh
    summary = json.loads((tmp_path / "lightning-mnist20k-v10" / "summary.json").read_text())
    assert summary["projection"]["method"] == "curve_ensemble"


def _finding(code: str, params: dict[str, Any], lang: str = "en") -> str:
    module = environment(lang, "md").get_template(f"findings/{code}.j2").make_module()
    return str(module.text(params, {"x_unit": "epoch"}))


COUNTERFACTUAL = {"monitor": "val_loss", "mode": "min", "patience": 5, "min_delta": 0.0, "stop_epoch": 12.0,
                  "best_epoch": 7.0, "epochs_after_best": 8.0, "premature": False, "framework": "keras",
                  "basis": "default", "evaluations_after_best": 8, "later_best_epoch": None, "mismatch": False,
                  "too_early": False, "default_patience": 0, "noise_scales": 1.0, "metric": None,
                  "metric_at_stop": None, "metric_best": None, "metric_best_epoch": None}


@pytest.mark.parametrize("hours, shown", [(8 * 1.6 / 3600, "(12.8 seconds)"), (0.2, "(12.0 minutes)"),
                                          (3.25, "(3.2 hours)")])
def test_the_time_after_the_best_epoch_takes_the_unit_its_size_calls_for(hours: float, shown: str) -> None:
    """yolo-mouse-keyboard epochs last 1.6 s: '(0.0 hours) after it brought no improvement'."""
    text = _finding("stop.counterfactual", {**COUNTERFACTUAL, "hours_after_best": hours})
    assert shown in text and "0.0 hours" not in text


def test_a_slowdown_of_short_epochs_is_said_in_seconds() -> None:
    text = _finding("time.slowdown", {"since": 40.0, "after": 3.2 / 3600, "before": 1.5 / 3600, "ratio": 2.1,
                                      "factor": 1.5})
    assert "take 3.2 seconds each (median)" in text and "the 1.5 seconds of the early epochs" in text
    zh = _finding("time.slowdown", {"since": 40.0, "after": 3.2 / 3600, "before": 1.5 / 3600, "ratio": 2.1,
                                    "factor": 1.5}, "zh")
    assert "3.2 秒" in zh and "小时" not in zh


def test_a_short_time_to_finish_is_not_a_range_of_equal_hours() -> None:
    """'about 0.2 hours left (0.2–0.2)': the range takes the unit of its middle."""
    text = _finding("time.eta", {"hours_left": 0.2, "low": 0.19, "high": 0.215, "hours_per_epoch": 0.008,
                                 "epochs_left": 25.0, "finish_at": None, "spread": 0.0125})
    assert "about 12.0 minutes left from the report's time (11.4–12.9)" in text


@pytest.mark.parametrize("form", ["md", "html"])
def test_the_watch_items_come_before_the_key_metrics(runs: Path, tmp_path: Path, form: str) -> None:
    """The report says first what matters most: keras-dm2024-log1's overfitting stood under the key-metrics table,
    the changes and the positive signals, on page 2 of the PDF."""
    out = tmp_path / "out"
    assert main(["report", str(runs / "keras-dm2024-log1"), "--out", str(out), "--format", form, "--lang", "en",
                 "--now", NOW.strftime("%Y-%m-%dT%H:%M:%S"), "-q"]) == 0
    text = (out / "keras-dm2024-log1" / f"report.en.{form}").read_text()
    first = text.index("overfit")
    assert first < text.index("Key metrics") < text.index("Positive signals")


def test_a_validation_loss_is_drawn_in_its_training_twins_colour_dashed(runs: Path) -> None:
    """QA: train (the house teal) and val (matplotlib's default blue) were nearly the same hue; a pair now reads as
    one colour, the validation loss dashed, and each pair of Ultralytics components has its own colour."""
    lines = {line.get_label(): line for line in _loss_axes(_analysis(runs, "keras-dm2024-log1"), "en").get_lines()}
    assert lines["val_loss"].get_color() == lines["loss"].get_color()
    assert (lines["loss"].get_linestyle(), lines["val_loss"].get_linestyle()) == ("-", "--")
    yolo = {line.get_label(): line for line in _loss_axes(_analysis(runs, "yolo-dl3-train2"), "en").get_lines()}
    colours = {key: yolo[key].get_color() for key in ("train/box_loss", "train/cls_loss", "train/dfl_loss")}
    assert len(set(colours.values())) == 3 and yolo["val/cls_loss"].get_color() == colours["train/cls_loss"]
