"""Each finding code fires on the data that should raise it, and not otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import NOW, make_labels, make_run

from reporter.model import Event, LoggedStats, Severity, Status
from reporter.report.analysis import analyse
from reporter.report.reference import published_results

RISING = [0.10 + 0.02 * i for i in range(10)]
LOSS_FALLING = [2.0 - 0.1 * i for i in range(10)]


def codes(run, **kwargs) -> dict:
    return {f.code: f for f in analyse(run, NOW, published_results(), **kwargs).findings}


def test_healthy_improving_run() -> None:
    found = codes(make_run(RISING, LOSS_FALLING, planned=10))
    assert found["metric.improving"].severity is Severity.OK
    assert "run.finished" in found
    assert not {"loss.flat", "metric.plateau", "run.crashed"} & found.keys()


def test_plateau_after_best() -> None:
    found = codes(make_run([0.1, 0.3, 0.5, 0.6, 0.58, 0.57, 0.59, 0.58, 0.57, 0.58], LOSS_FALLING))
    assert "metric.plateau" in found and found["metric.plateau"].params["epochs_since_best"] == 6


def test_declining_metric() -> None:
    assert "metric.declining" in codes(make_run(RISING[::-1], LOSS_FALLING))


def test_crash_from_traceback_and_from_nan() -> None:
    crash = codes(make_run(RISING, LOSS_FALLING, events=(Event("crash", 4.0, "RuntimeError: x"),)))
    assert crash["run.crashed"].params == {"epoch": 4.0, "reason": "traceback"}
    nan = codes(make_run(RISING, LOSS_FALLING[:5] + [float("nan")] * 5))
    assert nan["run.crashed"].params["reason"] == "nan" and nan["metric.diverged"].params["epoch"] == 5.0


def test_stopped_early_against_plan() -> None:
    found = codes(make_run(RISING, LOSS_FALLING, events=(Event("early_stop", 9.0),), planned=97))
    assert found["run.stopped_early"].params == {"epoch": 9.0, "planned_epochs": 97, "framework": None, "patience": None}


def test_stalled_is_judged_against_now() -> None:
    run = make_run(RISING, LOSS_FALLING, wall_hours=0.5, last_write=NOW - timedelta(hours=10), planned=50)
    found = codes(run)
    assert found["run.stalled"].params["hours_since_last"] == pytest.approx(10)
    fresh = make_run(RISING, LOSS_FALLING, wall_hours=0.5, last_write=NOW - timedelta(hours=1), planned=50)
    assert "run.running" in codes(fresh)


def test_flat_loss_while_metric_moves() -> None:
    found = codes(make_run(RISING, [5.20 - 0.001 * i for i in range(10)]))
    assert found["loss.flat"].params["relative_change"] < 0.01


def test_constant_fact_is_configuration() -> None:
    found = codes(make_run(RISING, LOSS_FALLING, extra={"min_samples_per_class": [62.0] * 10},
                           hyperparameters={"num_train_examples": 7532, "num_labels": 12}))
    assert found["fact.constant"].params["expected"] == 62


def test_trend_driven_stability_from_detrended_noise() -> None:
    found = codes(make_run(RISING, LOSS_FALLING))
    assert found["stability.trend_driven"].params["basis"] == "detrended"


def test_trend_driven_stability_from_a_monitor_that_only_saw_new_bests() -> None:
    stats = (LoggedStats(5, 0.243, 5, 6, 0, "improving", 0.068),)
    found = codes(make_run([0.17, 0.243], LOSS_FALLING, logged_stats=stats, best_so_far=True, start=0))
    assert found["stability.trend_driven"].params["basis"] == "monotone"
    assert "metric.insufficient_data" in found


def test_dataset_findings() -> None:
    rows = [("t", "a")] * 40 + [("t", "b")] * 3 + [("t", "label")]
    found = codes(make_run(RISING, LOSS_FALLING, labels=make_labels(rows)))
    assert found["dataset.header_as_class"].params["label"] == "label"
    assert found["dataset.tiny_class"].params == {"label": "b", "count": 3}
    assert found["dataset.imbalance"].params["ratio"] == pytest.approx(40 / 3)


def test_reference_compare_and_split_mismatch() -> None:
    run = make_run([0.20, 0.22, 0.23, 0.24, 0.25, 0.25], LOSS_FALLING[:6], metric_key="nmi", dataset="IEMOCAP-DA",
                   split="train+dev")
    found = codes(run)
    assert found["reference.compare"].params["reference"] == 24.16
    assert found["reference.compare"].params["delta"] == pytest.approx(25.0 - 24.16)
    assert "reference.split_mismatch" in found
    same = make_run([0.20, 0.22, 0.23, 0.24], metric_key="nmi", dataset="IEMOCAP-DA", split="test")
    assert "reference.split_mismatch" not in codes(same)


def test_projection_capped_at_the_actual_end() -> None:
    run = make_run(RISING, LOSS_FALLING, events=(Event("early_stop", 9.0),), planned=97)
    found = codes(run, project_to=(20, 30, 50))
    assert found["projection.capped"].params["requested"] == [20.0, 30.0, 50.0]
    assert found["projection.capped"].params["limit"] == 9.0


def test_projection_stays_within_the_planned_end() -> None:
    run = make_run(RISING, LOSS_FALLING, planned=30, wall_hours=0.5, last_write=NOW)
    analysis = analyse(run, NOW, (), project_to=(15, 29, 40))
    assert [p.epoch for p in analysis.projection.points] == [15.0, 29.0]
    assert analysis.projection.capped == (40.0,)
    for point in analysis.projection.points:
        assert 0 <= point.low <= point.median <= point.high <= 1


def test_unlikely_target() -> None:
    flat_low = [0.10, 0.11, 0.115, 0.118, 0.12, 0.121, 0.121, 0.122, 0.122, 0.122]
    run = make_run(flat_low, LOSS_FALLING, metric_key="nmi", dataset="IEMOCAP-DA", planned=40, wall_hours=0.5,
                   last_write=NOW)
    found = codes(run)
    assert found["projection.unlikely_target"].params["probability"] < 0.2


def test_status_codes_cover_every_status() -> None:
    assert {s.value for s in Status} >= {"running", "finished", "stopped_early", "crashed", "stalled", "unknown"}
