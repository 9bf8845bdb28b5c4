"""`reporter backtest`: read curves, run reporter.backtest.backtest, print the table, write CSV and plot."""

from __future__ import annotations

import argparse
import csv
import io

import numpy as np

from reporter.backtest.backtest import (
    METHODS,
    MIN_CURVE_POINTS,
    Breakdown,
    Score,
    Summary,
    backtest,
    breakdown,
    by_kind,
    by_points,
    leave_one_source_out,
    summarise,
)
from reporter.errors import UsageError
from reporter.outstore import write_atomic


def _prefixes(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < v < 1 for v in values):
        raise UsageError(f"--prefixes: expected fractions between 0 and 1 such as 0.2,0.4,0.6, got {text!r}")
    return values


def table(rows: list[Summary]) -> str:
    lines = [f"{'method':<12} {'prefix':>6} {'curves':>6} {'median err':>10} {'mean err':>9} {'rest err':>9} "
             f"{'vs last value (90% CI)':>23} {'cover80':>8} {'rest':>5} {'width80':>8} {'ms':>7}"]
    for r in rows:
        coverage = "-" if r.coverage is None else f"{r.coverage:.0%}"
        width = "-" if r.median_width is None else f"{r.median_width:.3f}"
        rest = "-" if r.rest_coverage is None else f"{r.rest_coverage:.0%}"
        gain = "-" if r.gain is None else f"{-r.gain[0]:+.0%} ({-r.gain[2]:+.0%}…{-r.gain[1]:+.0%})"
        lines.append(f"{r.method:<12} {r.prefix:>6.0%} {r.curves:>6} {r.median_error:>10.3f} {r.mean_error:>9.3f} "
                     f"{r.median_rest_error:>9.3f} {gain:>23} {coverage:>8} {rest:>5} {width:>8} {r.median_ms:>7.2f}")
    lines.append("err: |forecast - value| / the curve's range, for the final value (median, mean over curves) and "
                 "for every point after the prefix (rest: median per curve, then over curves). vs last value: change "
                 "in the median final error; the interval resamples whole sources. cover80: final values inside the 80% "
                 "interval; rest: later points inside theirs. width80: median width of the final value's interval / "
                 "range.")
    return "\n".join(lines)


def breakdown_table(title: str, rows: list[Breakdown]) -> str:
    """Ours against the last value per group: median final error, the change, and 80% coverage."""
    lines = [f"{title:<26} {'curves':>6} {'ours err':>8} {'last err':>8} {'vs last':>8} {'cover80':>8} {'rest':>5}"]
    lines.extend(f"{r.group:<26} {r.curves:>6} {r.median_error:>8.3f} {r.last_value_error:>8.3f} {-r.gain:>+8.0%} "
                 f"{r.coverage:>8.0%} {r.rest_coverage:>5.0%}" for r in rows)
    return "\n".join(lines)


def _table_csv(rows: list[Summary]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", "prefix", "curves", "median_error", "mean_error", "median_rest_error",
                     "gain_over_last_value", "gain_low_90", "gain_high_90", "coverage_80", "rest_coverage_80",
                     "median_width_80",
                     "median_ms"])
    for r in rows:
        gain = r.gain or (None, None, None)
        writer.writerow([r.method, r.prefix, r.curves, f"{r.median_error:.6f}", f"{r.mean_error:.6f}",
                         f"{r.median_rest_error:.6f}", *("" if g is None else f"{g:.4f}" for g in gain),
                         "" if r.coverage is None else f"{r.coverage:.4f}",
                         "" if r.rest_coverage is None else f"{r.rest_coverage:.4f}",
                         "" if r.median_width is None else f"{r.median_width:.4f}", f"{r.median_ms:.3f}"])
    return buffer.getvalue().encode("utf-8")


def _scores_csv(scores: list[Score]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["curve", "source", "prefix", "method", "error", "rest_error", "covered", "rest_covered", "width",
                     "milliseconds"])
    for s in scores:
        writer.writerow([s.curve, s.source, s.prefix, s.method, f"{s.error:.6f}", f"{s.rest_error:.6f}", s.covered,
                         "" if s.rest_covered is None else f"{s.rest_covered:.4f}",
                         "" if s.width is None else f"{s.width:.6f}", f"{s.milliseconds:.3f}"])
    return buffer.getvalue().encode("utf-8")


def _plot(rows: list[Summary]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2), layout="constrained")
    axes = figure.add_subplot()
    prefixes = sorted({r.prefix for r in rows})
    for method in METHODS:
        values = [next((r.median_error for r in rows if r.method == method and r.prefix == p), None) for p in prefixes]
        axes.plot([f"{p:.0%}" for p in prefixes], np.array(values, dtype=float), marker="o", label=method)
    axes.set_xlabel("prefix of the curve observed")
    axes.set_ylabel("median |final error| / range")
    axes.legend(frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def run_backtest(args: argparse.Namespace) -> int:
    from reporter.backtest.curves import load_curves
    from reporter.report.reference import projection_calibration

    prefixes = _prefixes(args.prefixes)
    curves = load_curves(args.curves)
    if not curves:
        raise UsageError(f"no curve with at least {MIN_CURVE_POINTS} finite points in the input (the lines above say "
                         "why each input was skipped)")
    sources = {c.source for c in curves}
    choice = args.calibration or ("held-out" if len(sources) > 1 else "shipped")
    if choice == "held-out" and len(sources) < 2:
        raise UsageError("--calibration held-out needs curves from at least two sources; use --calibration shipped")
    calibrations = (leave_one_source_out(curves) if choice == "held-out"
                    else dict.fromkeys(sources, projection_calibration()))
    scores = backtest(curves, prefixes, calibrations)
    rows = summarise(scores)
    if not args.quiet:
        note = ("leave-one-repository-out calibration (each curve's repository is left out)" if choice == "held-out"
                else "the calibration reports use (built from shared/curves-large)")
        print(f"{len(curves)} curves from {len(sources)} sources; intervals: {note}")
        print(table(rows))
        print(breakdown_table("kind, prefix", breakdown(scores, by_kind)))
        print(breakdown_table("prefix length", breakdown(scores, by_points)))
    if args.csv:
        write_atomic(args.csv, _table_csv(rows))
    if args.scores:
        write_atomic(args.scores, _scores_csv(scores))
    if args.plot:
        write_atomic(args.plot, _plot(rows))
    return 0
