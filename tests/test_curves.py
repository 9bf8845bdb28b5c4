"""Learning-curve families and the ensemble: recovery, calibrated coverage, and the backtest."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reporter.backtest.backtest import (
    Curve,
    backtest,
    calibration_errors,
    gain_over_last_value,
    summarise,
)
from reporter.backtest.curves import load_curves
from reporter.cli import main
from reporter.report.analysis.curves import FAMILIES, fit_family, fit_members
from reporter.report.analysis.projection import CurveEnsemble, calibration_from_errors
from reporter.report.reference import projection_calibration

U = np.arange(1.0, 41.0)
SHIPPED = projection_calibration()
TRUTH = {
    "pow3": lambda u: 0.9 - 0.6 * u ** -0.7,
    "pow4": lambda u: 0.9 - 0.6 * (u + 2.0) ** -0.9 * 2,
    "janoschek": lambda u: 0.85 - 0.5 * np.exp(-0.2 * u ** 0.75),
    "mmf": lambda u: 0.2 + 0.6 / (1 + (u / 5.0) ** -1.5),
    "ilog2": lambda u: 0.9 - 0.4 / np.log(u + 1),
    "log_linear": lambda u: 0.1 + 0.15 * np.log(u),
}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_each_family_recovers_a_curve_of_its_own_shape(family) -> None:
    truth = TRUTH[family.name]
    fit = fit_family(family, U[:25], truth(U[:25]))
    # The grid of nonlinear parameters is coarse on purpose (speed): within 7% of the curve's range,
    # including 15 points of extrapolation.
    assert np.max(np.abs(fit.predict(U) - truth(U))) < 0.07 * np.ptp(truth(U))


def test_members_handle_decreasing_and_constant_curves() -> None:
    for z in (-TRUTH["pow3"](U[:12]), np.full(12, 0.3)):
        for member in fit_members(U[:12], z):
            assert np.all(np.isfinite(member.predict(U)))


def synthetic_curves(seed: int, count: int) -> list[Curve]:
    rng = np.random.default_rng(seed)
    curves = []
    for i in range(count):
        name = list(TRUTH)[i % len(TRUTH)]
        n = int(rng.integers(15, 60))
        u = np.arange(1.0, n + 1)
        y = TRUTH[name](u) + rng.normal(0, 0.01, n)
        curves.append(Curve(f"{name}-{i}", f"source-{i % 4}", tuple(u), tuple(y), True))
    return curves


def test_intervals_cover_at_the_nominal_rate_on_fresh_curves() -> None:
    """Calibrated on one sample of noisy family curves, scored on another (fixed seeds)."""
    calibration = calibration_from_errors(calibration_errors(synthetic_curves(1, 60)))
    scores = backtest(synthetic_curves(2, 60), prefixes=(0.4, 0.6), calibrations={f"source-{i}": calibration
                                                                                  for i in range(4)})
    coverage = np.mean([s.covered for s in scores if s.method == "ours"])
    assert 0.7 <= coverage <= 0.95
    rest = np.mean([s.rest_covered for s in scores if s.method == "ours"])  # every later point, not only the last
    assert 0.7 <= rest <= 0.95


def test_ensemble_beats_last_value_on_rising_curves() -> None:
    rows = {(r.method, r.prefix): r for r in summarise(backtest(synthetic_curves(3, 30), prefixes=(0.4,)))}
    assert rows[("ours", 0.4)].median_error < rows[("last_value", 0.4)].median_error


def test_remaining_points_are_scored_and_a_constant_forecast_scores_its_drift() -> None:
    curve = Curve("line", "s", tuple(float(i) for i in range(1, 11)), tuple(float(i) for i in range(1, 11)), True)
    scores = {s.method: s for s in backtest([curve], prefixes=(0.5,))}
    # last value 5 against the later values 6..10 of a range of 9: median |error| 3/9, final 5/9
    assert scores["last_value"].rest_error == pytest.approx(3 / 9)
    assert scores["last_value"].error == pytest.approx(5 / 9)
    assert scores["ours"].rest_error < scores["last_value"].rest_error


def test_gain_interval_resamples_sources_and_contains_the_point_estimate() -> None:
    rng = np.random.default_rng(4)
    baseline = {f"s{i}": rng.uniform(0.05, 0.2, 3) for i in range(12)}
    better = {source: errors * 0.6 for source, errors in baseline.items()}
    point, low, high = gain_over_last_value(better, baseline)
    assert point == pytest.approx(0.4) and low == pytest.approx(0.4) and high == pytest.approx(0.4)
    noisy = {source: errors * rng.uniform(0.2, 1.4, 3) for source, errors in baseline.items()}
    point, low, high = gain_over_last_value(noisy, baseline)
    assert low < point < high and high - low > 0.1


def test_decreasing_metric_forecast_goes_down() -> None:
    y = 1.0 + 2.0 * U[:20] ** -0.8
    model = CurveEnsemble().fit(U[:20], y, higher_is_better=False)
    assert model.predict([40.0])[0] < y[-1]
    low, high = model.predict_interval([40.0])
    assert low[0] <= model.predict([40.0])[0] <= high[0]


def test_probability_of_beating_best_is_low_for_a_flat_curve_and_high_for_a_rising_one() -> None:
    flat = CurveEnsemble().fit(U[:20], 0.5 + 0.001 * np.sin(U[:20]))
    rising = CurveEnsemble().fit(U[:20], 0.1 + 0.02 * U[:20])
    assert flat.probability_beyond(40.0, 0.6) < 0.1
    assert rising.probability_beyond(40.0, 0.5) > 0.5


def test_backtest_command_prints_a_table_and_writes_csv(tmp_path, capsys) -> None:
    path = tmp_path / "curves.jsonl"
    lines = [json.dumps({"id": c.id, "source_repo": c.source, "higher_is_better": True,
                         "x": [float(v) for v in c.x], "y": [float(v) for v in c.y]}) for c in synthetic_curves(4, 8)]
    path.write_text("\n".join(lines) + "\n")
    assert main(["backtest", str(path), "--csv", str(tmp_path / "table.csv"), "--scores", str(tmp_path / "scores.csv")]) == 0
    out = capsys.readouterr().out
    for method in ("ours", "last_value", "best_so_far", "pow3"):
        assert method in out
    assert (tmp_path / "scores.csv").read_text().count("\n") == 1 + 8 * 3 * 4
    table = (tmp_path / "table.csv").read_text().splitlines()
    assert len(table) == 1 + 4 * 3 and table[0].startswith("method,prefix,curves,median_error")


def test_a_settled_curve_gets_a_narrower_band_than_one_still_climbing() -> None:
    u = U
    settled = np.minimum(u, 20.0) / 20.0  # rose to 1, flat for the last half
    climbing = u / 40.0  # the same range, still rising at the end
    widths = []
    for y in (settled, climbing):
        low, high = CurveEnsemble(calibration=SHIPPED).fit(u, y).predict_interval([60.0])
        widths.append(float(high[0] - low[0]))
    assert widths[0] < widths[1] / 3


def test_curves_carry_their_metric_range_and_forecasts_stay_inside_it(tmp_path) -> None:
    path = tmp_path / "curves.jsonl"
    falling = [0.33, 0.29, 0.11, 0.13, 0.10, 0.22, 0.07, 0.12, 0.06, 0.067, 0.063, 0.061, 0.062, 0.06, 0.061]
    path.write_text(json.dumps({"id": "asr", "metric": "eval_cer", "higher_is_better": False,
                                "x": list(range(len(falling))), "y": falling}) + "\n")
    [curve] = load_curves([str(path)])
    assert curve.bounds == (0.0, math.inf)
    model = CurveEnsemble(calibration=SHIPPED, bounds=curve.bounds).fit(curve.x[:8], curve.y[:8], False)
    low, high = model.predict_interval([14.0, 100.0])
    assert (low >= 0).all() and (model.predict([14.0, 100.0]) >= 0).all() and (high >= low).all()


def test_backtest_of_one_run_uses_the_shipped_calibration(tmp_path, capsys) -> None:
    history = tmp_path / "run" / "history.csv"
    history.parent.mkdir()
    history.write_text("epoch,val_acc\n" + "".join(f"{e},{0.9 - 0.5 * (e + 1) ** -0.7:.4f}\n" for e in range(20)))
    assert main(["backtest", str(history.parent)]) == 0
    assert "the calibration reports use" in capsys.readouterr().out
    assert main(["backtest", str(history.parent), "--calibration", "held-out"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--calibration shipped" in err[0]


def test_a_run_too_short_to_backtest_is_skipped_with_its_name_not_a_crash(tmp_path, capsys, caplog) -> None:
    short = tmp_path / "short" / "history.csv"
    short.parent.mkdir()
    short.write_text("epoch,val_acc\n0,0.5\n")
    assert main(["backtest", str(short.parent)]) == 2  # was an IndexError
    assert "no curve with at least 6" in capsys.readouterr().err
    assert "val_acc has 1 finite points" in caplog.text


def test_the_held_out_corpus_is_whole_and_each_curve_points_the_way_its_metric_does() -> None:
    from pathlib import Path

    from reporter.report.analysis.metrics import Mode, direction

    path = Path(__file__).parent.parent / "bench" / "holdout" / "curves.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    curves = load_curves([str(path)])
    assert len(curves) == len(records) == 40 and len({c.source for c in curves}) == 24
    assert len({c.id for c in curves}) == 40
    for record, curve in zip(records, curves):
        assert len(curve.y) >= 15 and len(curve.x) == len(record["y"]) and curve.x == tuple(sorted(curve.x))
        assert {"source_repo", "source_path", "source_commit", "metric"} <= record.keys()
        known = direction(record["metric"])
        assert known is None or (known is Mode.MAX) == curve.higher_is_better, record["id"]
