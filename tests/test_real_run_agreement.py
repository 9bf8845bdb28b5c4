"""The diagnosis agrees with the labelled real runs (issue 15, "Evidence that it works").

Every run labelled overfitting raises fit.overfitting; no run whose validation loss is still at its minimum
does; and each code's precision and recall on the set stay at or above what was measured when the rules were
last changed (tools/measure_diagnosis.py prints the table). Analysis only, no rendering: the whole set takes
a few seconds.
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT

from reporter.config import Thresholds
from reporter.errors import ReporterError
from reporter.model import Analysis, Mode, Series, Severity, Trend
from reporter.report.analysis import analyse
from reporter.report.analysis.diagnosis import curves, fit, run_pairs
from reporter.report.analysis.diagnosis.pairing import loss_pair
from reporter.report.analysis.metrics import trend
from reporter.report.ingest import load_run
from reporter.report.render.environment import environment

RUNS = ROOT / "tests" / "fixtures" / "real-runs"
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
_spec = importlib.util.spec_from_file_location("measure_diagnosis", ROOT / "tools" / "measure_diagnosis.py")
measure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure)

CANNOT_RAISE_OVERFITTING: dict[str, str] = {}
"""Runs labelled overfitting that cannot raise fit.overfitting, with the reason."""
FLOORS = {  # row of measure.MEASURED: (precision, recall) measured on the set; a change to the rules may raise them,
    # never lower them (tools/measure_diagnosis.py prints the table)
    "fit.overfitting": (1.00, 0.76),
    "fit.generalization_gap": (0.90, 0.62),  # 61 runs; no gap on a validation loss still improving or above training;
    # 0.87/0.43 before the count started where a flat loss first came within its noise of its minimum (QA-3 #7):
    # hf-whisper-flemish, yolo-tti-seg-0809 and other-tdem (labelled gap) raise it now
    "fit.still_improving": (1.00, 0.38),  # 7/18: lightning-finance-v3 (also still_improving) raises fit.underfitting
    "fit.still_improving or fit.underfitting": (1.00, 0.61),  # yolo-dl3-train2 also labelled still_improving on review
    "eval.constant": (1.00, 1.00),
    "loss.spikes": (0.40, 0.15),
    "loss.diverging": (1.00, 0.07),  # 1/13: finance-v3's 'divergence' was the last mini-batch of an epoch (QA-2 #7)
    "metric.unstable": (0.75, 0.46),
    "any instability code": (0.58, 0.53),
    "verdict healthy": (0.66, 0.40),  # the verdict the report prints (summary.json), not "no diagnosis code"; 0.77/0.50
    # before more epochs needed a gaining metric: other-videomae-video (still_improving; val_accuracy flat since 68) is
    # healthy now, its falling losses said as information; recall 0.55 -> 0.40 when healthy came to need a judged fit
    # (fit.not_judged: deit-mae-finetune, lightning-dlops-v14/v6, labelled healthy, cannot be judged from their logs)
}


def _labels() -> dict[str, dict[str, str]]:
    with (RUNS / "labels.csv").open(newline="", encoding="utf-8") as handle:
        return {row["run_id"]: row for row in csv.DictReader(handle)}


LABELS = _labels()


@pytest.fixture(scope="module")
def analyses() -> dict[str, Analysis]:
    """Every run the reporter reads, analysed once."""
    done = {}
    for run_id in LABELS:
        try:
            done[run_id] = analyse(load_run(RUNS / run_id), NOW)
        except ReporterError:
            continue
    return done


def _codes(analysis: Analysis) -> set[str]:
    return {f.code for f in analysis.findings}


def _at_minimum(run_id: str) -> bool:
    """The validation loss ends within one noise scale of its lowest value (see fit.noise)."""
    run = load_run(RUNS / run_id)
    pair = loss_pair(run_pairs(run))
    c = curves(run, pair) if pair is not None else None
    return c is not None and float(c.val[-1] - np.min(c.val)) <= fit.noise(c.val)


def test_every_run_labelled_overfitting_raises_it(analyses: dict[str, Analysis]) -> None:
    overfit = [run_id for run_id, row in LABELS.items() if row["label"] == "overfitting"]
    for run_id in overfit:
        if run_id in CANNOT_RAISE_OVERFITTING:
            assert run_id not in analyses, f"{run_id} is read now: drop it from CANNOT_RAISE_OVERFITTING"
            continue
        assert "fit.overfitting" in _codes(analyses[run_id]), run_id
    assert len(overfit) - len(CANNOT_RAISE_OVERFITTING) >= 8


def test_no_run_still_at_its_minimum_raises_overfitting(analyses: dict[str, Analysis]) -> None:
    at_minimum = {run_id for run_id, a in analyses.items()
                  if _at_minimum(run_id) or LABELS[run_id]["label"] in ("healthy", "still_improving")}
    assert len(at_minimum) >= 20
    assert not {run_id for run_id in at_minimum if "fit.overfitting" in _codes(analyses[run_id])}


def test_no_run_labelled_overfitting_is_called_at_its_best(analyses: dict[str, Analysis]) -> None:
    """fit.at_best is why a healthy verdict is healthy: it must never speak for a run that overfits."""
    overfit = {run_id for run_id, row in LABELS.items() if "overfitting" in {row["label"], *row["also"].split(";")}}
    assert not {run_id for run_id in overfit & analyses.keys() if "fit.at_best" in _codes(analyses[run_id])}


def test_precision_and_recall_stay_at_their_measured_floors(analyses: dict[str, Analysis]) -> None:
    truth = {run_id: measure.truth_of(LABELS[run_id]) for run_id in analyses}
    said = {run_id: measure.predicted(a) for run_id, a in analyses.items()}
    assert set(FLOORS) == set(measure.MEASURED)
    for row, (precision, recall) in FLOORS.items():
        tp, fp, fn = measure.counts(truth, said, row)
        assert tp + fp and tp / (tp + fp) >= precision and tp / (tp + fn) >= recall, (row, tp, fp, fn)


def test_the_healthy_row_measures_the_printed_verdict(analyses: dict[str, Analysis]) -> None:
    """QA #16: 'healthy' was measured as 'no diagnosis code', never the verdict the report prints: keras-tvn-video has
    no diagnosis warning but its verdict is needs_attention (a stop.counterfactual warning)."""
    a = analyses["keras-tvn-video"]
    assert a.verdict != "healthy" and "verdict" not in measure.predicted(a)


# --- regressions found while checking the agreement ---------------------------------------------------

def test_a_validation_loss_constant_but_for_its_last_digits_is_broken_evaluation(analyses: dict[str, Analysis]) -> None:
    """lightning-autoapi-v5 logs val_loss 1.25329e12 ... 1.25320e12 for 100 epochs: it was reported as an
    improving metric, with the verdict healthy."""
    a = analyses["lightning-autoapi-v5"]
    assert "eval.constant" in _codes(a) and "metric.improving" not in _codes(a)
    assert "stop.counterfactual" not in _codes(a)  # a stopping rule replayed on a broken evaluation says nothing
    assert a.verdict == "action_needed"


def test_a_drift_in_the_last_digits_is_no_trend() -> None:
    values = tuple(1.25329e12 - 1e6 * i for i in range(20))
    data = Series("val_loss", tuple(float(i) for i in range(20)), values)
    assert trend(data, Mode.MIN, Thresholds()).kind is Trend.STABLE


def test_a_constant_evaluation_series_is_not_called_configuration(analyses: dict[str, Analysis]) -> None:
    """yolo-cls-acne-train: eval.constant said accuracy_top1 = 1 is broken evaluation while fact.constant called
    accuracy_top5 = 1 'configuration, not evidence'."""
    a = analyses["yolo-cls-acne-train"]
    assert "eval.constant" in _codes(a)
    assert not [f for f in a.findings if f.code == "fact.constant" and str(f.params["key"]).startswith("metrics/")]


def test_a_healthy_run_says_why(analyses: dict[str, Analysis]) -> None:
    """lightning-mnist20k-v10 (labelled healthy) had the verdict healthy with nothing saying why: its only
    positive signal was the metric's trend, and 'keep the configuration' cited no evidence."""
    a = analyses["lightning-mnist20k-v10"]
    assert a.verdict == "healthy"
    at_best = next(f for f in a.findings if f.code == "fit.at_best")
    assert at_best.params["key"] == "val_loss" and at_best.params["rise"] <= Thresholds().overfit_rise
    assert [(r.code, r.evidence) for r in a.recommendations] == [("rec.keep_going", ("fit.at_best",))]


def test_a_training_loss_on_augmented_images_is_no_sign_of_underfitting(analyses: dict[str, Analysis]) -> None:
    """yolo-dl3-train2 (mAP50-95 0.99, labelled healthy) was told 'the model has not yet fit even its training
    data ... too small for the data' because its training loss, measured on mosaic images (mosaic: 1.0 in
    args.yaml), ends above the validation loss."""
    codes = _codes(analyses["yolo-dl3-train2"])
    assert "fit.underfitting" not in codes and "fit.still_improving" in codes


def test_an_ultralytics_overfit_in_loss_names_both_checkpoints(analyses: dict[str, Analysis]) -> None:
    """yolo-cls-emotion-train: val/loss is lowest at epoch 9 but top-1 accuracy (a validation metric, not an
    'unknown split') is best at epoch 36; 'use the checkpoint of epoch 9' alone would throw away accuracy."""
    a = analyses["yolo-cls-emotion-train"]
    assert a.metric is not None and a.metric.split == "val"
    restore = next(r for r in a.recommendations if r.code == "rec.restore_best_checkpoint")
    assert (restore.params["epoch"], restore.params["metric"], restore.params["metric_epoch"]) == \
        (9.0, "metrics/accuracy_top1", 36.0)


def test_a_training_loss_logged_four_times_is_no_curve_to_judge(analyses: dict[str, Analysis]) -> None:
    """hf-whisper-braj logs its training loss 4 times beside 20 evaluations: interpolated, those 4 points made a
    straight line the rank test found 'falling significantly', and the run was called still improving. The report
    says the fit was not judged, and why."""
    assert {c for c in _codes(analyses["hf-whisper-braj"]) if c.startswith("fit.")} == {"fit.not_judged"}
    judged = next(f for f in analyses["hf-whisper-braj"].findings if f.code == "fit.not_judged")
    assert judged.params["reason"] == "too_few_points"


def test_a_finished_run_on_a_plateau_is_not_a_watch_item(analyses: dict[str, Analysis]) -> None:
    """keras-plantasia (labelled healthy: val_accuracy flat since epoch 12 of a finished run) was 'needs attention'
    for its plateau alone; 12 of the 20 healthy runs were. A plateau matters while the run goes on."""
    a = analyses["keras-plantasia"]
    plateau = next(f for f in a.findings if f.code == "metric.plateau")
    assert plateau.severity is Severity.INFO and plateau.params["ended"]
    assert "rec.lower_lr" not in {r.code for r in a.recommendations}


def test_a_gap_that_ends_higher_within_its_noise_is_not_worded_as_flat(analyses: dict[str, Analysis]) -> None:
    """other-wheeze (QA-2 #15): val_loss ends 35% above one low evaluation on a curve with ±20% spikes; overfitting
    rightly does not fire (the rise is not significant, p 0.31, and within its noise), but the gap's advice said
    'instead of staying flat' and its text did not say why a 35% rise is no overfitting."""
    a = analyses["other-wheeze"]
    gap = next(f for f in a.findings if f.code == "fit.generalization_gap")
    assert 0 < gap.params["val_change"] <= gap.params["noise"]
    messages = environment("en", "md").get_template("partials/messages.j2").make_module()
    text = str(messages.finding(gap, SimpleNamespace(x_unit="epoch", metric=None)))
    assert "35.3% above its best" in text and "noise spans" in text
    regularise = next(r for r in a.recommendations if r.code == "rec.regularise")
    assert "flat" not in str(messages.rec_body(regularise))


def test_more_epochs_need_the_metric_still_gaining_and_no_close_mosaic_step(analyses: dict[str, Analysis]) -> None:
    """yolo-dl3-train2 (QA-2 #9; mAP50-95 0.985 to 0.989 over its last 100 epochs) was told 'More training is likely
    to help' and 'epochs from 300 to 450' from a 31% training-loss drop, half of it the close_mosaic step at 291."""
    a = analyses["yolo-dl3-train2"]
    improving = next(f for f in a.findings if f.code == "fit.still_improving")
    assert improving.severity is Severity.INFO and improving.params["settled"]
    assert improving.params["metric"] == "metrics/mAP50-95(B)" and improving.params["metric_change"] is None
    assert abs(improving.params["train_change"]) < 0.2  # read over epochs 191-290, before mosaic closes
    assert "rec.more_epochs" not in {r.code for r in a.recommendations}
    gaining = next(f for f in analyses["yolo-mouse-keyboard"].findings if f.code == "fit.still_improving")
    assert gaining.severity is Severity.WARN and gaining.params["metric_change"] > 0


def test_a_lightning_loss_logged_every_few_steps_is_read_as_its_epoch_mean(analyses: dict[str, Analysis]) -> None:
    """lightning-mnist20k-v10 logs train_loss every 50 steps under its epoch number: the fit rules, the spike rule
    and the key-metrics table read the last mini-batch of each epoch (0.166 at epoch 19; the epoch's mean 0.028),
    where Lightning's own on_epoch logging reports the mean."""
    loss = analyses["lightning-mnist20k-v10"].paired_losses
    assert loss is not None and loss.train is not None and loss.train.value < 0.05


def test_no_validation_loss_is_both_at_its_best_and_unstable(analyses: dict[str, Analysis]) -> None:
    """QA-2 #14: 'ends at its best within its own noise' and 'swings instead of converging' contradict each other."""
    for run_id, analysis in analyses.items():
        keys = {f.code: f.params.get("key") for f in analysis.findings}
        assert not ("fit.at_best" in keys and keys.get("metric.unstable") == keys["fit.at_best"]), run_id
