"""Diagnosis of fit and stopping (issue 15): the rules on constructed and real curves, the early-stopping
counterfactual against each framework's published rule, and the report end to end on a real Keras run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import NOW, ROOT, make_run
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.cli import main
from reporter.codes import RECOMMENDATIONS
from reporter.config import Thresholds, settings_from_dict
from reporter.errors import ConfigError
from reporter.model import Finding, Mode, Recommendation, Severity, frozen_mapping
from reporter.report.analysis import analyse
from reporter.report.analysis.diagnosis import fit, framework, stopping, verdict
from reporter.report.analysis.diagnosis.pairing import pairs
from reporter.report.ingest import load_run
from reporter.report.render.environment import environment

KERAS_OVERFIT = ROOT / "tests" / "fixtures" / "keras-overfit"
LIMITS = Thresholds()
NAN, INF = math.nan, math.inf


def curves(val: list[float], train: list[float] | None = None) -> fit.Curves:
    train = train if train is not None else [2.0 - 0.05 * i for i in range(len(val))]
    return fit.Curves(np.arange(len(val), dtype=float), np.array(train, dtype=float), np.array(val, dtype=float))


def codes(run) -> dict[str, Finding]:
    return {f.code: f for f in analyse(run, NOW).findings}


# --- pairing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("keys,expected", [
    (["loss", "val_loss"], [(("loss",), ("val_loss",))]),
    (["train_loss_epoch", "train_loss_step", "val_loss"], [(("train_loss_epoch",), ("val_loss",))]),
    (["loss", "eval_loss"], [(("loss",), ("eval_loss",))]),
    (["train/loss", "val/loss"], [(("train/loss",), ("val/loss",))]),
    (["Loss/train", "Loss/val"], [(("Loss/train",), ("Loss/val",))]),
    (["accuracy", "val_accuracy"], [(("accuracy",), ("val_accuracy",))]),
    (["train/box_loss", "train/cls_loss", "val/box_loss", "val/cls_loss"],
     [(("train/box_loss", "train/cls_loss"), ("val/box_loss", "val/cls_loss")),
      (("train/box_loss",), ("val/box_loss",)), (("train/cls_loss",), ("val/cls_loss",))]),
    (["val_acc", "loss"], []),
])
def test_pairs_by_name(keys: list[str], expected: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> None:
    assert [(p.train, p.val) for p in pairs(keys)] == expected


# --- fit rules -----------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 10.0), min_size=fit.MIN_POINTS, max_size=40))
def test_a_validation_loss_that_never_rises_never_overfits(values: list[float]) -> None:
    assert fit.overfitting(curves(sorted(values, reverse=True)), LIMITS) is None


@settings(max_examples=60, deadline=None)
@given(down=st.integers(4, 20), up=st.integers(8, 25), minimum=st.floats(0.1, 5.0), rise=st.floats(0.2, 1.0),
       jitter=st.lists(st.floats(-1, 1), min_size=45, max_size=45))
def test_a_rise_beyond_noise_after_the_minimum_with_a_falling_train_loss_overfits(
        down: int, up: int, minimum: float, rise: float, jitter: list[float]) -> None:
    falling = [minimum * (2 - i / down) for i in range(down)]
    step = rise * minimum / up
    rising = [minimum + step * i for i in range(up + 1)]
    val = [v + 0.2 * step * j for v, j in zip(falling + rising, jitter)]
    train = [3.0 * 0.95 ** i for i in range(len(val))]
    found = fit.overfitting(curves(val, train), LIMITS)
    assert found is not None
    assert found.best_epoch == pytest.approx(int(np.argmin(val)))
    assert found.train_change < 0


def test_no_overfitting_while_the_validation_loss_sits_at_its_minimum() -> None:
    """Noise around a reached minimum, and an early spike, are not overfitting."""
    rng = np.random.default_rng(7)
    settled = [2.0 * 0.8 ** i for i in range(10)] + list(0.21 + 0.01 * rng.standard_normal(15))
    assert fit.overfitting(curves(settled), LIMITS) is None
    spike = [2.0, 3.5, 1.6, 1.4, 1.2, 1.1, 1.0, 0.95, 0.9, 0.88, 0.86, 0.85]
    assert fit.overfitting(curves(spike), LIMITS) is None


def test_no_overfitting_when_the_training_loss_rises_too() -> None:
    val = [1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    assert fit.overfitting(curves(val, train=[1.0 + 0.1 * i for i in range(10)]), LIMITS) is None
    assert fit.overfitting(curves(val), LIMITS) is not None


def test_a_flat_validation_loss_with_a_falling_training_loss_is_a_generalization_gap() -> None:
    rng = np.random.default_rng(3)
    val = [1.0, 0.8, 0.7, 0.65] + list(0.62 + 0.005 * rng.standard_normal(20))
    train = [1.0 * 0.9 ** i for i in range(len(val))]
    run = make_run([0.5 + 0.01 * i for i in range(len(val))], train, extra={"val_loss": val})
    found = codes(run)
    assert "fit.overfitting" not in found
    gap = found["fit.generalization_gap"].params
    assert gap["since_epoch"] == int(np.argmin(val)) and gap["train_change"] < -LIMITS.gap_train_drop


def test_both_losses_still_falling_at_the_end_of_a_finished_run() -> None:
    loss, val = [2.0 * 0.9 ** i for i in range(15)], [2.2 * 0.92 ** i for i in range(15)]
    run = make_run([0.5 + 0.01 * i for i in range(15)], loss, extra={"val_loss": val}, planned=15,
                   hyperparameters={"epochs": 15})
    analysis = analyse(run, NOW)
    found = {f.code: f for f in analysis.findings}
    assert found["fit.still_improving"].severity is Severity.WARN
    more = next(r for r in analysis.recommendations if r.code == "rec.more_epochs")
    assert more.evidence == ("fit.still_improving",)
    assert (more.change.key, more.change.current, more.change.suggested, more.change.present) == ("epochs", 15, 23, True)


def test_an_empty_yolo_validation_split_is_broken_evaluation() -> None:
    falling = [1.5 - 0.05 * i for i in range(12)]
    zeros = [0.0] * 12
    run = make_run([0.0] * 12, falling, metric_key="metrics/mAP50-95(B)",
                   extra={"train/box_loss": falling, "train/cls_loss": falling, "val/box_loss": zeros,
                          "val/cls_loss": zeros})
    analysis = analyse(run, NOW)
    found = {f.code: f for f in analysis.findings}
    assert found["eval.constant"].severity is Severity.ERROR
    assert set(found["eval.constant"].params["keys"]) == {"metrics/mAP50-95(B)", "val/box_loss", "val/cls_loss"}
    assert analysis.verdict == "action_needed"
    check = next(r for r in analysis.recommendations if r.code == "rec.check_validation_split")
    assert check.evidence == ("eval.constant",)


# --- early-stopping counterfactual: each case follows the framework's published rule ----------------------

@pytest.mark.parametrize("values,kwargs,expected", [
    # keras/src/callbacks/early_stopping.py: wait += 1 first; a tie with best is no improvement.
    ([1.0, 0.9, 0.9, 0.95, 0.8], {"patience": 2}, (3, 1)),
    # _is_improvement: monitor_op(current - min_delta, best), min_delta negated in min mode.
    ([1.0, 0.96, 0.94, 0.93], {"patience": 2, "min_delta": 0.05}, (None, 2)),
    # stop only when `wait >= patience and epoch > 0`: a NaN first epoch never stops, NaN is no improvement.
    ([NAN, 1.0], {"patience": 0}, (None, 1)),
    ([1.0, NAN, NAN, NAN], {"patience": 2}, (2, 0)),
    # with a baseline, wait resets only when the value also beats the baseline.
    ([1.0, 0.9, 0.95], {"patience": 2, "baseline": 0.5}, (2, 1)),
    # epochs before start_from_epoch are not looked at.
    ([1.0, 2.0, 3.0, 2.5, 2.6], {"patience": 1, "start_from_epoch": 2}, (4, 3)),
])
def test_keras_rule(values: list[float], kwargs: dict, expected: tuple) -> None:
    result = stopping.keras(values, Mode.MIN, **kwargs)
    assert (result.stop, result.best) == expected


def test_keras_rule_mode_max() -> None:
    result = stopping.keras([0.5, 0.6, 0.55, 0.58, 0.6], Mode.MAX, patience=3)
    assert (result.stop, result.best) == (4, 1)


@pytest.mark.parametrize("values,kwargs,expected", [
    # _evaluate_stopping_criteria: monitor_op(current - min_delta, best_score), min_delta *= -1 in min mode.
    ([1.0, 0.96, 0.94, 0.93], {"patience": 2, "min_delta": 0.05}, (None, 2)),
    # a tie is no improvement; wait_count >= patience stops.
    ([1.0, 1.0, 1.0], {"patience": 2}, (2, 0)),
    # check_finite: a non-finite value stops at once, even at the first check.
    ([1.0, INF, 0.5], {"patience": 5}, (1, 0)),
    ([NAN, 1.0], {"patience": 0}, (0, None)),
    ([NAN, 1.0, 1.0], {"patience": 2, "check_finite": False}, (None, 1)),  # NaN only counts up
])
def test_lightning_rule(values: list[float], kwargs: dict, expected: tuple) -> None:
    result = stopping.lightning(values, Mode.MIN, **kwargs)
    assert (result.stop, result.best) == expected


def test_lightning_rule_mode_max_signs_min_delta() -> None:
    assert stopping.lightning([0.5, 0.52, 0.6], Mode.MAX, patience=1, min_delta=0.05) == stopping.Stop(1, 0)


@pytest.mark.parametrize("values,greater,threshold,expected", [
    # check_metric_value compares with the Trainer's best_metric, which moves on any strict improvement:
    # steps under the threshold count up even while the metric keeps improving.
    ([1.0, 0.97, 0.9, 0.89, 0.88], False, 0.05, (4, 4)),
    ([1.0, 0.9, 0.8, 0.7], False, 0.0, (None, 3)),
    ([1.0, NAN, NAN], False, 0.0, (2, 0)),  # np.less(nan, best) is False
    ([0.5, 0.6, 0.6, 0.6], True, 0.0, (3, 1)),  # greater_is_better: np.greater, a tie counts up
])
def test_huggingface_rule(values: list[float], greater: bool, threshold: float, expected: tuple) -> None:
    result = stopping.huggingface(values, greater, patience=2, threshold=threshold)
    assert (result.stop, result.best) == expected


def test_ultralytics_rule() -> None:
    """torch_utils.EarlyStopping: best when `fitness > best_fitness or best_fitness == 0`; stop when
    `epoch - best_epoch >= patience`, with epochs as results.csv counts them (from 1); patience 0 never stops."""
    epochs, fitness = [1, 2, 3, 4, 5, 6, 7], [0.0, 0.0, 0.1, 0.2, 0.15, 0.15, 0.2]
    assert stopping.ultralytics(epochs, fitness, patience=3) == stopping.Stop(6, 3)
    assert stopping.ultralytics(epochs, fitness, patience=0) == stopping.Stop(None, 3)


def test_the_framework_comes_from_the_source() -> None:
    assert framework(load_run(ROOT / "examples" / "ultralytics")) == "ultralytics"
    assert framework(load_run(ROOT / "examples" / "hf-trainer")) == "hf"
    assert framework(load_run(KERAS_OVERFIT)) == "keras"


def test_the_runs_own_patience_is_used() -> None:
    val = [1.0, 0.8, 0.7, 0.72, 0.74, 0.73, 0.75, 0.76, 0.77, 0.78]
    run = make_run([0.5] * 10, [1.0 - 0.05 * i for i in range(10)], extra={"val_loss": val},
                   hyperparameters={"patience": 3})
    p = codes(run)["stop.counterfactual"].params
    assert (p["monitor"], p["patience"], p["basis"], p["stop_epoch"], p["best_epoch"]) == ("val_loss", 3, "config", 5, 2)



@pytest.mark.parametrize("run_id,best_epoch", [("hf-whisper-flemish", 18.03), ("hf-whisper-braj", 2.0)])
def test_hf_replay_watches_the_metric_the_trainer_kept_as_best(run_id: str, best_epoch: float) -> None:
    """QA #15 item 6: EarlyStoppingCallback watches metric_for_best_model; trainer_state.json does not name it,
    but best_metric is eval_wer's value at best_model_checkpoint's step (lowest is best). The replay watched
    eval_loss, whose best epoch (14.05, 1.0) is not the checkpoint the Trainer kept."""
    p = codes(load_run(ROOT / "tests" / "fixtures" / "real-runs" / run_id))["stop.counterfactual"].params
    assert (p["monitor"], p["mode"], p["best_epoch"]) == ("eval_wer", "min", best_epoch)



def test_hf_direction_of_an_unnamed_metric_comes_from_the_trainers_best(tmp_path: Path) -> None:
    """best_metric is the highest eval_combined logged: the Trainer ran with greater_is_better."""
    combined = [0.2, 0.5, 0.4, 0.6, 0.55, 0.5, 0.45, 0.4, 0.42, 0.41, 0.4, 0.39]
    log = [{"epoch": i + 1.0, "step": 10 * (i + 1), "eval_loss": 1.0 - 0.01 * i, "eval_combined": v}
           for i, v in enumerate(combined)] + [{"epoch": i + 1.0, "step": 10 * (i + 1), "loss": 1.0 - 0.02 * i}
                                               for i in range(12)]
    state = {"best_metric": 0.6, "best_model_checkpoint": "out/checkpoint-40", "log_history": log}
    (tmp_path / "trainer_state.json").write_text(json.dumps(state))
    p = codes(load_run(tmp_path))["stop.counterfactual"].params
    assert (p["monitor"], p["mode"], p["best_epoch"]) == ("eval_combined", "max", 4.0)


def test_one_best_epoch_per_report() -> None:
    """QA #15 item 12: lightning-mnist20k-v10 logs a last validation (epoch 20, its lowest value) with no training
    value beside it; fit.at_best named epoch 19 (the paired, smoothed curve) while the replay named epoch 20."""
    found = codes(load_run(ROOT / "tests" / "fixtures" / "real-runs" / "lightning-mnist20k-v10"))
    assert found["fit.at_best"].params["best_epoch"] == found["stop.counterfactual"].params["best_epoch"] == 20.0


# --- verdict, recommendations, report -----------------------------------------------------------------------

def test_verdict_rule() -> None:
    warn, error, ok = (Finding("x", s) for s in (Severity.WARN, Severity.ERROR, Severity.OK))
    fit_ok = Finding("fit.at_best", Severity.OK)
    assert [verdict((fit_ok,)), verdict((ok, fit_ok)), verdict((fit_ok, warn)), verdict((warn, error))] == \
        ["healthy", "healthy", "needs_attention", "action_needed"]


@pytest.mark.parametrize("example", ["keras-append", "ultralytics", "hf-trainer", "iemocap-da", "umc-original"])
def test_every_recommendation_cites_a_finding_of_the_run(example: str) -> None:
    folder = KERAS_OVERFIT if example == "keras-overfit" else ROOT / "examples" / example
    analysis = analyse(load_run(folder), NOW)
    found = {f.code for f in analysis.findings}
    for rec in analysis.recommendations:
        if rec.code != "rec.keep_going":
            assert rec.evidence and set(rec.evidence) <= found, (rec.code, rec.evidence)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_diagnosis_recommendation_renders_in_words(lang: str) -> None:
    from reporter.codes import EXAMPLES

    messages = environment(lang, "md").get_template("partials/messages.j2").make_module()
    for code in RECOMMENDATIONS.values():
        for choice in code.params.get("framework", None) and code.params["framework"].choices or ("keras",):
            params = {name: EXAMPLES[p.kind] for name, p in code.params.items()} | {"mode": "min", "framework": choice}
            rec = Recommendation(code.name, frozen_mapping({k: v for k, v in params.items() if k in code.params}),
                                 ("fit.overfitting",))
            text = str(messages.rec_title(rec)) + str(messages.rec_body(rec)) + str(messages.rec_evidence(rec))
            assert code.name not in text and "%(" not in text and "fit.overfitting" not in text


def test_thresholds_are_validated() -> None:
    with pytest.raises(ConfigError, match="analysis.overfit_noise"):
        settings_from_dict({"analysis": {"overfit_noise": -1}})
    assert settings_from_dict({"analysis": {"stop_patience": 10}}).thresholds.stop_patience == 10


def test_a_real_keras_run_that_overfits_says_so_first(tmp_path: Path) -> None:
    """Issue 15: training loss falls all run, validation loss lowest at epoch 2 and 95% higher by epoch 24."""
    out = tmp_path / "out"
    assert main(["report", str(KERAS_OVERFIT), "--out", str(out), "--format", "md", "--lang", "zh,en",
                 "--now", "2026-12-04T12:00:00", "-q"]) == 0
    data = json.loads((out / "keras-overfit" / "summary.json").read_text())
    assert data["verdict"] == "needs_attention"
    first = data["findings"][0]
    assert first["code"] == "fit.overfitting" and first["params"]["best_epoch"] == 2
    assert first["params"]["key"] == "val_loss" and first["params"]["rise"] > 0.5
    stop = next(f for f in data["findings"] if f["code"] == "stop.counterfactual")["params"]
    assert (stop["stop_epoch"], stop["best_epoch"], stop["epochs_after_best"]) == (7, 2, 22)
    recs = data["recommendations"]
    assert recs[0]["code"] == "rec.restore_best_checkpoint" and recs[0]["evidence"] == ["fit.overfitting"]
    assert {"key": "weight_decay", "current": None, "suggested": 0.0001, "present": False} in [r["change"] for r in recs]
    assert data["thresholds"]["overfit_noise"] == LIMITS.overfit_noise
    english = (out / "keras-overfit" / "report.en.md").read_text()
    watch = english.split("### Watch items")[1]
    assert watch.lstrip().startswith("- ⚠ The model has been overfitting since epoch 2")
    assert "Verdict: **Needs attention**" in english and "Evidence: overfitting" in english
    assert "模型自第 2 个 epoch 起已经过拟合" in (out / "keras-overfit" / "report.zh.md").read_text()


def test_a_saturated_top5_accuracy_is_not_broken_evaluation() -> None:
    """Top-5 accuracy is 1 by construction with at most five classes; a constant top-1 accuracy is suspicious."""
    falling = [1.5 - 0.05 * i for i in range(12)]
    run = make_run([0.5 + 0.01 * i for i in range(12)], falling, metric_key="metrics/accuracy_top1",
                   extra={"metrics/accuracy_top5": [1.0] * 12, "train/loss": falling, "val/loss": falling})
    assert "eval.constant" not in codes(run)
    stuck = make_run([1.0] * 12, falling, metric_key="metrics/accuracy_top1",
                     extra={"train/loss": falling, "val/loss": falling})
    assert codes(stuck)["eval.constant"].params["key"] == "metrics/accuracy_top1"


def test_more_epochs_stay_advised_when_the_metric_has_too_few_values_to_judge() -> None:
    """The metric gate of rec.more_epochs (QA-2 #9) needs a metric trend to read: a metric logged only a few times
    over the stretch cannot show that it settled, so the falling losses still advise more epochs."""
    loss, val = [2.0 * 0.9 ** i for i in range(15)], [2.2 * 0.92 ** i for i in range(15)]
    acc = [0.5 + 0.01 * i if i % 5 == 0 else float("nan") for i in range(15)]
    run = make_run(acc, loss, extra={"val_loss": val}, planned=15, hyperparameters={"epochs": 15}, split="val")
    found = {f.code: f for f in analyse(run, NOW).findings}
    assert found["fit.still_improving"].severity is Severity.WARN and not found["fit.still_improving"].params["settled"]
    settled = make_run([0.9 + 1e-4 * (i % 2) for i in range(15)], loss, extra={"val_loss": val}, planned=15,
                       hyperparameters={"epochs": 15}, split="val")
    flat = {f.code: f for f in analyse(settled, NOW).findings}["fit.still_improving"]
    assert flat.severity is Severity.INFO and flat.params["settled"]
