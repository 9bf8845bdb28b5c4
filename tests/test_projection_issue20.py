"""Issue #20: projections measured on many repositories, short prefixes, intervals by history length,
fractional epochs and steps for --project-to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reporter.cli import main
from reporter.report.analysis.projection import (
    LENGTH_EDGES,
    MIN_KIND_CURVES,
    CurveEnsemble,
    calibration_from_errors,
    kind_calibration,
    run_kind,
)
from reporter.report.ingest import load_run
from reporter.report.reference import projection_calibration

LOSS = [0.9, 0.7, 0.6, 0.54, 0.5, 0.47, 0.45, 0.44, 0.43, 0.425]


def projected(out: Path, run: str) -> list[float]:
    return [p["epoch"] for p in json.loads((out / run / "summary.json").read_text())["projection"]["points"]]



def _hf_report(tmp_path: Path, planned: float, project_to: str) -> int:
    """The report of an HF trainer_state.json evaluated every 0.2 epochs, planned for `planned` epochs."""
    log = [{"epoch": round(0.2 * (i + 1), 1), "step": 50 * (i + 1), "eval_loss": v} for i, v in enumerate(LOSS)]
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "trainer_state.json").write_text(json.dumps({"log_history": log, "num_train_epochs": planned}))
    return main(["report", str(tmp_path / "hf"), "--out", str(tmp_path / "out"), "--lang", "en", "--format", "md",
                 "-q", "--project-to", project_to, "--now", "2026-12-05T00:30:00"])

def test_project_to_accepts_fractional_epochs_of_a_hugging_face_run(tmp_path: Path) -> None:
    """HF evaluates at epoch 0.2, 0.4, ...; asking for epoch 3.4 was refused as 'expected positive integers'."""
    assert _hf_report(tmp_path, 4, "2.5,3.4") == 0
    assert projected(tmp_path / "out", "hf") == [2.5, 3.4]
    assert "| 3.40 |" in (tmp_path / "out" / "hf" / "report.en.md").read_text()


def test_project_to_takes_steps_for_a_step_indexed_run(tmp_path: Path) -> None:
    rows = ["Step,run-1 - val_loss"] + [f"{500 * (i + 1)},{v}" for i, v in enumerate(LOSS)]
    (tmp_path / "wb").mkdir()
    (tmp_path / "wb" / "wandb_export.csv").write_text("\n".join(rows) + "\n")
    code = main(["report", str(tmp_path / "wb"), "--out", str(tmp_path / "out"), "--lang", "en", "--format", "md",
                 "-q", "--project-to", "6000,7500", "--now", "2026-12-05T00:30:00"])
    assert code == 0
    assert projected(tmp_path / "out", "wb") == [6000.0, 7500.0]
    assert "| Step |" in (tmp_path / "out" / "wb" / "report.en.md").read_text()


@pytest.mark.parametrize("value", ["0", "-2", "nan", "inf", "3.4x"])
def test_project_to_still_refuses_what_is_not_a_positive_number(value: str, tmp_path: Path, capsys) -> None:
    code = main(["report", "examples/iemocap-da", "--out", str(tmp_path), "--project-to", value])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--project-to" in err and len(err.splitlines()) == 1


def test_a_history_too_short_to_fit_carries_on_a_share_of_its_net_change() -> None:
    """curves-large, 3-4 point prefixes: the final value lay a median half the observed range beyond the last
    value, and carrying 30% of the net change on beat the last value by 16-28% (bench/README.md)."""
    model = CurveEnsemble().fit([1, 2, 3, 4], [0.2, 0.4, 0.5, 0.6])
    assert 0.6 + 0.1 < model.predict([10.0])[0] < 0.6 + 0.15
    assert model.predict([4.5])[0] < model.predict([10.0])[0]


def test_the_forecast_moves_only_part_of_the_way_from_the_last_value() -> None:
    x, y = np.arange(1.0, 21.0), 0.9 - 0.6 * np.arange(1.0, 21.0) ** -0.7
    trusted = CurveEnsemble(shrink=1.0).fit(x, y).predict([60.0])[0]
    shrunk = CurveEnsemble().fit(x, y).predict([60.0])[0]
    assert y[-1] < shrunk < trusted


def test_intervals_come_from_histories_of_a_similar_length() -> None:
    """Short histories miss by more (in units of their recent movement) than long ones; one table for all
    lengths over-covered long histories and under-covered short ones."""
    rng = np.random.default_rng(0)
    errors = [(float(h), float(e), 1.0, 6) for h, e in zip(rng.uniform(0, 6, 2000), rng.normal(0, 3.0, 2000))]
    errors += [(float(h), float(e), 1.0, 40) for h, e in zip(rng.uniform(0, 6, 2000), rng.normal(0, 0.5, 2000))]
    calibration = calibration_from_errors(errors)
    short, long = calibration.for_length(6), calibration.for_length(40)
    assert short.quantile(0.75, 0.9) > 3 * long.quantile(0.75, 0.9)
    assert [fewest for fewest, _ in calibration.by_length] == list(LENGTH_EDGES)


def test_the_shipped_calibration_is_built_from_curves_large_per_length() -> None:
    calibration = projection_calibration()
    assert calibration is not None and (calibration.curves, calibration.repositories) == (324, 94)
    assert [(kind, table.curves) for kind, table in calibration.by_kind] == [
        ("lightning-csv", 56), ("other-csv", 34), ("ultralytics-classify", 34), ("ultralytics-detect", 127),
        ("ultralytics-segment", 46)]
    assert [fewest for fewest, _ in calibration.by_length] == list(LENGTH_EDGES)


def test_backtest_prints_the_tables_by_kind_and_by_prefix_length(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(1)
    lines = []
    for i in range(4):
        x = np.arange(1.0, 21.0)
        y = 0.9 - 0.5 * x ** -0.8 + rng.normal(0, 0.01, 20)
        lines.append(json.dumps({"id": f"c{i}", "source_repo": f"o/r{i % 2}", "kind": "keras-csv", "x": x.tolist(),
                                 "y": y.tolist(), "higher_is_better": True, "metric": "val_accuracy"}))
    (tmp_path / "curves.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["backtest", str(tmp_path / "curves.jsonl"), "--prefixes", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "leave-one-repository-out" in out
    assert "keras-csv 20%" in out and "4 points" in out


def test_a_fractional_planned_length_of_a_hugging_face_run_is_kept(tmp_path: Path) -> None:
    """num_train_epochs 3.4 was stored as a plan of 3 epochs, so --project-to 3.4 of a running run was refused
    as past its planned end."""
    assert _hf_report(tmp_path, 3.4, "3.4") == 0
    assert projected(tmp_path / "out", "hf") == [3.4]
    assert json.loads((tmp_path / "out" / "hf" / "summary.json").read_text())["run"]["planned_epochs"] == 3.4


@pytest.mark.parametrize(("run", "kind"), [
    ("tests/fixtures/real-runs/yolo-cls-acne-train", "ultralytics-classify"),
    ("tests/fixtures/real-runs/yolo-microalgae-seg", "ultralytics-segment"),
    ("tests/fixtures/real-runs/yolov5-oral-exp", "ultralytics-detect"),
    ("tests/fixtures/real-runs/lightning-dlops-v6", "lightning-csv"),
    ("tests/fixtures/real-runs/keras-plantasia", "keras-csv"),
    ("tests/fixtures/real-runs/other-wheeze", "other-csv"),
    ("tests/fixtures/real-runs/hf-whisper-braj", "hf-trainer"),
    ("examples/iemocap-da", ""),
])
def test_a_run_is_named_by_the_kind_of_log_the_calibration_was_measured_on(run: str, kind: str) -> None:
    assert run_kind(load_run(run)) == kind


def test_kinds_with_enough_curves_get_their_own_interval_table() -> None:
    """A pooled table covered 61-91% of final values across kinds; a detection curve misses by other multiples of
    its recent movement than a Lightning loss."""
    rng = np.random.default_rng(1)

    def rows(spread: float) -> list[tuple[float, float, float, int]]:
        return [(float(h), float(e), 1.0, 30) for h, e in zip(rng.uniform(0, 6, 200), rng.normal(0, spread, 200))]

    curves = ([("wide", rows(4.0)) for _ in range(MIN_KIND_CURVES)] + [("narrow", rows(0.5)) for _ in range(40)]
              + [("rare", rows(9.0)) for _ in range(MIN_KIND_CURVES - 1)])
    calibration = kind_calibration(curves, 3)
    assert [kind for kind, _ in calibration.by_kind] == ["narrow", "wide"]
    assert calibration.for_kind("wide").quantile(1.0, 0.9) > 4 * calibration.for_kind("narrow").quantile(1.0, 0.9)
    assert calibration.for_kind("rare") is calibration and calibration.for_kind("") is calibration


def test_a_backtest_where_the_last_value_is_exact_reports_instead_of_crashing(tmp_path: Path, capsys) -> None:
    """Curves that have settled before their 20% cut give the last value a median error of 0; the gain over it
    divided by that and `reporter backtest` ended in an internal error."""
    settled = [0.1, 0.6, 0.9] + [0.9] * 17
    lines = [json.dumps({"id": f"c{i}", "source_repo": f"o/r{i}", "x": list(range(20)), "y": settled}) for i in (1, 2)]
    (tmp_path / "curves.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["backtest", str(tmp_path / "curves.jsonl"), "--quiet"]) == 0
