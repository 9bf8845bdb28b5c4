"""The early-stopping counterfactual on real runs (QA-2 of issue 15): the right framework's rule, the run's own
settings, what a stop would cost on the primary metric, a later best within the noise, the run's own rule
disagreeing with its replay, a patience that ended a run at its best, and HF runs bounded by max_steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NOW, ROOT

from reporter.cli import main
from reporter.model import Analysis, Finding, Severity
from reporter.report.analysis import analyse
from reporter.report.analysis.diagnosis import framework
from reporter.report.ingest import load_run

RUNS = ROOT / "tests" / "fixtures" / "real-runs"


def analysed(run_id: str | Path) -> Analysis:
    return analyse(load_run(RUNS / run_id if isinstance(run_id, str) else run_id), NOW)


def counterfactual(a: Analysis) -> Finding:
    return next(f for f in a.findings if f.code == "stop.counterfactual")


def rec_codes(a: Analysis) -> set[str]:
    return {r.code for r in a.recommendations}


def report_en(run: Path, tmp_path: Path) -> str:
    assert main(["report", str(run), "--out", str(tmp_path), "--format", "md", "-q", "--jobs", "1",
                 "--now", "2026-12-05T12:00:00"]) == 0
    return next(tmp_path.glob("*/report.en.md")).read_text()


@pytest.mark.parametrize("run_id,expected", [
    ("lightning-exoplanet-v10", "lightning"),  # metrics.csv without hparams.yaml: Lightning's CSVLogger
    ("lightning-mlip-v19", "lightning"),
    ("lightning-neuralretail-v10", "lightning"),
    ("keras-tvn-video", "keras"),  # a time_per_epoch column is not Lightning's x_epoch/x_step pair
])
def test_the_framework_is_the_one_that_wrote_the_run(run_id: str, expected: str) -> None:
    """QA-2 #3: a Lightning metrics.csv was replayed with Keras' rule, a Keras CSV with Lightning's."""
    assert framework(load_run(RUNS / run_id)) == expected


@pytest.mark.parametrize("run_id,metric,at_stop,best,best_epoch", [
    ("lightning-milipoint-v15", "val_acc", 0.161, 0.188, 54.0),
    ("keras-fruit-freshness", "val_accuracy", 0.584, 0.687, 7.0),
])
def test_a_stop_that_costs_the_primary_metric_says_so_and_is_not_advised(
        run_id: str, metric: str, at_stop: float, best: float, best_epoch: float) -> None:
    """QA-2 #2: "would have stopped at epoch 20 and lost nothing" while val_acc peaked at epoch 54."""
    a = analysed(run_id)
    stop = counterfactual(a)
    p = stop.params
    assert (p["metric"], round(p["metric_at_stop"], 3), round(p["metric_best"], 3), p["metric_best_epoch"]) == \
        (metric, at_stop, best, best_epoch)
    assert stop.severity is Severity.INFO and "rec.early_stopping" not in rec_codes(a)


def test_the_runs_own_hf_early_stopping_settings_are_replayed(tmp_path: Path) -> None:
    """QA-2 #4: transformers >= 4.38 saves EarlyStoppingCallback's args in stateful_callbacks; the report said
    "The run's config states no patience" and advised adding the callback with the defaults."""
    state = json.loads((RUNS / "hf-whisper-braj" / "trainer_state.json").read_text())
    state.setdefault("stateful_callbacks", {})["EarlyStoppingCallback"] = {
        "args": {"early_stopping_patience": 3, "early_stopping_threshold": 0.5}, "attributes": {}}
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    p = counterfactual(analysed(tmp_path)).params
    assert (p["patience"], p["min_delta"], p["basis"]) == (3, 0.5, "config")


def test_the_runs_own_rule_disagreeing_with_its_replay_is_said_not_advised(tmp_path: Path) -> None:
    """QA-2 #6: patience 50 replayed stops at 180 but the run went on to 199; the report advised "patience from
    50 to 50"."""
    a = analysed("yolo-anpr-weights")
    stop = counterfactual(a)
    assert stop.params["mismatch"] and stop.params["stop_epoch"] == 180 and stop.severity is Severity.INFO
    assert "rec.early_stopping" not in rec_codes(a)
    text = report_en(RUNS / "yolo-anpr-weights", tmp_path)
    assert "did not stop it at epoch 180" in text and "from 50 to 50" not in text


def test_an_hf_run_bounded_by_max_steps(tmp_path: Path) -> None:
    """QA-2 #10: "finished normally at epoch 0.23 of 1 planned" and "the 0 epochs after it" (0.08 epochs, seven
    evaluations of 500 steps)."""
    a = analysed("hf-whisper-bashkir")
    finished = next(f for f in a.findings if f.code == "run.finished")
    assert (finished.params["max_steps"], finished.params["planned_epochs"]) == (10000, None)
    assert counterfactual(a).params["evaluations_after_best"] == 7
    text = report_en(RUNS / "hf-whisper-bashkir", tmp_path)
    assert "reached max_steps 10000" in text and "7 evaluations after it" in text
    assert "the 0 epochs" not in text and "of 1 planned" not in text


def test_a_patience_that_stopped_the_run_at_its_best_is_called_too_short() -> None:
    """QA-2 #18: yolo-suhora-train12's own patience 5 stopped it at epoch 53 of 100 with the validation loss at
    its lowest; the report said "Healthy" and "keep the configuration"."""
    a = analysed("yolo-suhora-train12")
    stop = counterfactual(a)
    assert stop.params["too_early"] and stop.severity is Severity.WARN
    rec = next(r for r in a.recommendations if r.code == "rec.raise_patience")
    assert (rec.change.key, rec.change.current, rec.change.suggested) == ("patience", 5, 100)
    assert a.verdict != "healthy"


@pytest.mark.parametrize("run_id", ["yolo-microalgae-seg", "yolo-tti-seg-0809"])
def test_a_patience_that_stopped_a_plateau_or_a_decline_is_not_called_too_short(run_id: str) -> None:
    """The rule doing its job: microalgae's mask mAP fell well below its best at epoch 35; tti-seg's validation loss
    was lowest at epoch 26, before patience 8 started counting."""
    a = analysed(run_id)
    assert not counterfactual(a).params["too_early"] and "rec.raise_patience" not in rec_codes(a)


def test_a_later_best_within_the_noise_is_no_premature_stop() -> None:
    """QA-2 #19: lightning-autoapi-v42's best at epoch 96 (6.073) is 2.5% below the one at epoch 6 (6.226) on a curve
    that swings by 15%: stopping at epoch 11 lost nothing."""
    p = counterfactual(analysed("lightning-autoapi-v42")).params
    assert (p["premature"], p["best_epoch"], p["later_best_epoch"], p["stop_epoch"]) == (False, 6.0, 96.0, 11.0)
