"""Second QA pass of the diagnosis (issue 15): TensorBoard/W&B/HF pair names, a fit that is not judged, the
learning-rate floor, instability on a loss already near 0, and how numbers read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NOW, ROOT, make_run

from reporter.cli import main
from reporter.model import Finding, Severity
from reporter.report.analysis import analyse
from reporter.report.analysis.diagnosis import verdict
from reporter.report.analysis.diagnosis.pairing import pairs
from reporter.report.ingest import load_run
from reporter.report.render.environment import Numbers

REAL = ROOT / "tests" / "fixtures" / "real-runs"


def _report(tmp_path: Path, name: str, header: list[str], rows: list[list[float]]) -> dict:
    """summary.json of the report on a CSV history written from the rows."""
    folder = tmp_path / name
    folder.mkdir()
    lines = [",".join(header)] + [",".join(f"{v:g}" for v in row) for row in rows]
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(["report", str(folder), "--out", str(out), "--format", "md", "--lang", "en",
                 "--now", "2026-12-05T12:00:00", "-q"]) == 0
    return json.loads((out / name / "summary.json").read_text())


@pytest.mark.parametrize("keys,expected", [
    (["train/epoch_loss", "validation/epoch_loss"], ("train/epoch_loss", "validation/epoch_loss")),  # Keras TB
    (["epoch/loss", "epoch/val_loss", "epoch/epoch"], ("epoch/loss", "epoch/val_loss")),  # W&B Keras
    (["train/loss", "eval/loss", "eval/runtime"], ("train/loss", "eval/loss")),  # HF through TB or W&B
])
def test_tensorboard_wandb_and_hf_names_are_paired(keys: list[str], expected: tuple[str, str]) -> None:
    assert [p.label for p in pairs(keys) if "loss" in p.label[1]] == [expected]



def test_yolov10_loss_components_are_summed_and_judged() -> None:
    """YOLOv10 names its one-to-many and one-to-one loss components train/box_om ... val/dfl_oo, without the word
    'loss': yolo-signature-v10 read 'fit not judged: no validation loss' though it logs six of them."""
    analysis = analyse(load_run(REAL / "yolo-signature-v10"), NOW)
    total = analysis.pairs[0]
    assert len(total.train) == len(total.val) == 6 and "val/cls_oo" in total.val
    codes = {f.code for f in analysis.findings}
    assert "fit.not_judged" not in codes and codes & {"fit.still_improving", "fit.at_best", "fit.overfitting"}


def _overfit_rows() -> list[list[float]]:
    """The validation loss falls to epoch 9, then rises 180% while the training loss keeps falling."""
    rows = []
    for epoch in range(30):
        val = 1.75 * 0.88 ** epoch if epoch <= 9 else 0.6 + 0.0037 * (epoch - 9) ** 2 * 10
        rows.append([epoch, 1.55 * 0.88 ** epoch, val, 0.70 + 0.001 * epoch])
    return rows


def test_a_keras_tensorboard_run_that_overfits_is_not_healthy(tmp_path: Path) -> None:
    """QA-2 #1: `validation/epoch_loss` was never paired with `train/epoch_loss`, so this run read Healthy."""
    data = _report(tmp_path, "tb-keras", ["epoch", "train/epoch_loss", "validation/epoch_loss",
                                          "validation/epoch_accuracy"], _overfit_rows())
    assert {"train": ["train/epoch_loss"], "val": ["validation/epoch_loss"]} in data["pairs"]
    assert data["findings"][0]["code"] == "fit.overfitting" and data["verdict"] == "needs_attention"


def test_the_tensorboard_example_pairs_its_losses() -> None:
    analysis = analyse(load_run(ROOT / "examples" / "tensorboard"), NOW)
    assert ("train/epoch_loss", "validation/epoch_loss") in [p.label for p in analysis.pairs]


def test_a_run_without_validation_is_not_called_healthy(tmp_path: Path) -> None:
    """QA-2 #13: a run that logs only a training loss and accuracy read Healthy, though nothing judged its fit."""
    rows = [[e, 0.5 + 0.01 * e, 1.7 * 0.9 ** e] for e in range(20)]
    data = _report(tmp_path, "train-only", ["epoch", "accuracy", "loss"], rows)
    judged = next(f for f in data["findings"] if f["code"] == "fit.not_judged")
    assert judged["severity"] == "info" and judged["params"]["reason"] == "no_validation_loss"
    assert data["verdict"] == "needs_attention"
    text = (tmp_path / "out" / "train-only" / "report.en.md").read_text()
    assert "The fit was not judged: no validation loss is logged" in text


def test_a_training_loss_logged_four_times_is_not_judged() -> None:
    """lightning-dlops-v14 logs its training loss 4 times: no fit rule can read it, and the report says so."""
    found = {f.code: f for f in analyse(load_run(REAL / "lightning-dlops-v14"), NOW).findings}
    assert found["fit.not_judged"].params["reason"] == "too_few_points"
    assert found["fit.not_judged"].params["count"] < found["fit.not_judged"].params["needed"]


def test_healthy_needs_a_judged_fit() -> None:
    at_best, ok = Finding("fit.at_best", Severity.OK), Finding("metric.improving", Severity.OK)
    assert [verdict((ok,)), verdict((ok, at_best))] == ["needs_attention", "healthy"]


def test_the_floor_starts_after_the_peak_not_at_a_warmup() -> None:
    """QA-2 #5: a warmup from 5% of the peak put the floor 'since epoch 0'; it starts where the rate last fell
    to 10% of its peak (epoch 20) and stays there."""
    lr = [0.0005, 0.004, 0.01] + [0.01] * 17 + [0.0001] * 20
    metric = [0.5 + 0.01 * i for i in range(23)] + [0.72] * 17
    run = make_run(metric, [1.0 - 0.01 * i for i in range(40)], extra={"lr": lr})
    floor = next(f for f in analyse(run, NOW).findings if f.code == "lr.at_floor")
    assert floor.params["since"] == 20.0


@pytest.mark.parametrize("run_id", ["hf-whisper-bashkir", "deit-mae-finetune"])
def test_a_schedule_decaying_to_zero_at_its_planned_end_is_not_a_floor(run_id: str) -> None:
    """QA-2 #5: HF's linear decay to 0 at max_steps and DeiT's cosine are the plan, not a schedule spent early."""
    assert "lr.at_floor" not in {f.code for f in analyse(load_run(REAL / run_id), NOW).findings}


def test_a_training_loss_already_near_zero_is_not_diverging() -> None:
    """QA-2 #7: lightning-finance-v3's training loss starts at 5.8e-5 and moves from 8e-7 to 4.9e-6 at the end:
    noise at convergence (7% of its range), yet it was told to halve its learning rate."""
    analysis = analyse(load_run(REAL / "lightning-finance-v3"), NOW)
    assert "loss.diverging" not in {f.code for f in analysis.findings}
    assert all("loss.diverging" not in r.evidence for r in analysis.recommendations)


def test_noise_on_a_loss_converged_near_zero_is_not_instability() -> None:
    """QA-2 #14: a validation loss that fell from 1 to ~1e-3 and then wobbles by 1e-3 swings by half its level,
    but by 0.1% of how far it fell: that is a saturated loss, not an evaluation that swings."""
    wobble = [0.0005, 0.0015] * 8
    val = [1.0, 0.5, 0.2, 0.05, 0.01, 0.004] + wobble
    found = {f.code for f in analyse(make_run(val, None, metric_key="val_loss"), NOW).findings}
    assert "metric.unstable" not in found


def test_a_saturated_classifier_is_not_both_at_its_best_and_swinging() -> None:
    """QA-2 #14: yolo-cls-v11-train3 (top-1 = 1.0, val/loss ~1e-3) read 'ends at its best within its own noise'
    beside 'the evaluation swings instead of converging', and the verdict fell to needs_attention."""
    analysis = analyse(load_run(REAL / "yolo-cls-v11-train3"), NOW)
    codes = {f.code for f in analysis.findings}
    assert "fit.at_best" in codes and "metric.unstable" not in codes and analysis.verdict == "healthy"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_numbers_read_as_a_researcher_writes_them(lang: str) -> None:
    """QA-2 #22: '7.9528E-7', '4.8074E-17', '8.5811E7' parameters, '3.22E-2%' and 'fell 100%' for 99.99%."""
    numbers = Numbers(lang)
    assert [numbers.number(7.9528e-7, 4), numbers.number(4.8074e-17, 4)] == ["7.95×10⁻⁷", "4.81×10⁻¹⁷"]
    assert numbers.number(8.5811e7, 4) == ("85.8M" if lang == "en" else "8581.1万")
    assert [numbers.percent(0.000322), numbers.percent(0.9999), numbers.percent(1.0)] == ["0.0322%", ">99.9%", "100.0%"]


def test_a_validation_loss_of_exactly_zero_says_so(tmp_path: Path) -> None:
    """QA-2 #22: 'val/box_loss stays at 0.0000 to 4 significant digits' is 'is exactly 0'; and summary.json
    writes whole epochs as ints ("stop_epoch": 7, not 7.0)."""
    out = tmp_path / "out"
    assert main(["report", str(REAL / "yolo-anpr-train-model"), "--out", str(out), "--format", "md", "--lang", "en",
                 "--now", "2026-12-05T12:00:00", "-q"]) == 0
    text = (out / "yolo-anpr-train-model" / "report.en.md").read_text()
    assert "val/box\\_loss = 0, " in text and "0.0000" not in text  # QA-3 #1: worded as losses not recorded
    data = json.loads((out / "yolo-anpr-train-model" / "summary.json").read_text())
    epochs = [v for f in data["findings"] for k, v in f["params"].items() if k.endswith("epoch") and v is not None]
    assert epochs and all(isinstance(v, int) for v in epochs)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_subnormal_value_is_written_as_a_power_of_ten(lang: str) -> None:
    """Hypothesis (test_render_matrix) found a loss of 5e-324 ended the report in ZeroDivisionError: the mantissa
    was value / 10 ** -324, and 10 ** -324 is 0.0."""
    numbers = Numbers(lang)
    assert [numbers.number(5e-324, 4), numbers.number(9.9996e-8, 4)] == ["4.94×10⁻³²⁴", "1.00×10⁻⁷"]
