"""Third QA pass of issue 15, part 2 item 3: the projection must not contradict the diagnosis. A run whose training
loss diverges or whose projected validation metric swings beyond its noise gets no recovery forecast, and a ratio
metric that only takes a few steps of a tiny split gets no asymptote at its bound: the report says why instead."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT

from reporter.cli import main
from reporter.config import Thresholds
from reporter.model import Scale, Series
from reporter.report.analysis import split_size

REAL = ROOT / "tests" / "fixtures" / "real-runs"


def _report(run: Path, out: Path) -> tuple[dict, str]:
    assert main(["report", str(run), "--out", str(out), "--format", "md", "--lang", "en", "--jobs", "1",
                 "--now", "2026-12-05T12:00:00", "-q"]) == 0
    return (json.loads((out / run.name / "summary.json").read_text()),
            (out / run.name / "report.en.md").read_text(encoding="utf-8"))


def test_a_diverging_run_gets_no_recovery_forecast(tmp_path: Path) -> None:
    """other-volatility: the training loss grows ×9 and val_loss swings; the projection forecast a recovery (50%)."""
    data, text = _report(REAL / "other-volatility", tmp_path)
    codes = {f["code"] for f in data["findings"]}
    assert {"loss.diverging", "metric.unstable"} <= codes
    projection = data["projection"]
    assert projection["reason"] == "diverging"
    assert not projection["points"] and projection["p_beat_best"] is None and projection["asymptote"] is None
    assert "Far-ahead level" not in text and "Probability of beating" not in text
    assert "No projection: the training loss is diverging" in text


def test_a_metric_in_steps_of_a_tiny_split_gets_no_asymptote_at_its_bound(tmp_path: Path) -> None:
    """lightning-convlstm-v11: val_acc moves in steps of 1/16 and has had no new best for 33 epochs; the projection
    gave a far-ahead level of 100% and an 80% chance of beating the best."""
    data, text = _report(REAL / "lightning-convlstm-v11", tmp_path)
    projection = data["projection"]
    assert projection["reason"] == "coarse"
    assert projection["p_beat_best"] is None and projection["asymptote"] is None
    assert "Far-ahead level" not in text and "Probability of beating" not in text
    assert "No projection: the metric only takes a few values" in text


def test_only_a_metric_that_keeps_returning_to_a_few_steps_counts_as_coarse() -> None:
    """Accuracy logged with two decimals lies on a grid of 1/100 too, but takes a new value at almost every
    evaluation: it is projected. Steps of 1/16 revisited over and over are not."""
    limits = Thresholds()
    logged = Series("val_acc", tuple(range(30)), tuple(round(0.5 + 0.015 * i, 2) for i in range(30)))
    assert split_size(logged, Scale.FRACTION, limits) is None
    stepped = Series("val_acc", tuple(range(30)), tuple(min(15, 8 + i // 4) / 16 for i in range(30)))
    assert split_size(stepped, Scale.FRACTION, limits) == 16
    assert split_size(Series("val_acc", stepped.x, tuple(100 * v for v in stepped.values)), Scale.PERCENT, limits) == 16
    assert split_size(stepped, Scale.RAW, limits) is None
