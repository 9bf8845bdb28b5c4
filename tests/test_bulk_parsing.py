"""Issue 16: the bulk readers give exactly what reading line by line gives (UMC logs, CSV tables), and the
analysis stays bounded on a million-point history."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_umc import text_file

from reporter.errors import ReporterError
from reporter.report.ingest import history_frame, umc
from reporter.report.ingest.tabular import parse_csv

STAMP = "2024-06-20 10:00:{:02d},{:03d} - "
NUMBERS = st.sampled_from(["5.2", "-0.5", "1e-3", ".5", "nan", "inf", "-Infinity", "3", "0.6123"])
LINES = st.one_of(
    st.builds("***** Epoch: {} *****".format, st.integers(0, 40)),
    st.builds("Supervised Training Loss: {}".format, NUMBERS),
    st.builds("Unsupervised Training Loss: {}".format, NUMBERS),
    st.builds("Training Loss: {}".format, NUMBERS),
    st.builds("Epoch {}: Loss = {}, Recent losses: [1.0]".format, st.integers(0, 40), NUMBERS),
    st.builds("Minimum samples per class: {}".format, st.integers(0, 99)),
    st.builds("{} = {}".format, st.sampled_from(["NMI", "ACC", "x"]), NUMBERS),
    st.builds("***** Epoch: {}: Eval results *****".format, st.integers(0, 9)),
    st.builds("train_loss = {}".format, NUMBERS),
    st.builds("Training Statistics: {{'best_performance': {}, 'best_epoch': 1}}".format, NUMBERS),
    st.sampled_from(["============================== Params ==============================", "lr: [0.0002]",
                     "thres: [0.03]", "delta: [0.01]", "============================== End Params ==============================",
                     "***** Test results *****", "Traceback (most recent call last):", "  File \"x.py\", line 1",
                     "RuntimeError: CUDA out of memory", "K-means used 1.05 s", "Cluster 3 done", "Cluster ", "",
                     "# a comment", "Early stopping at epoch 7", "Reached tolerance threshold", "Training is finished",
                     "Training begins...", "   ", "Epoch 99999999999999999: Loss = 1.0"]),
)


@st.composite
def umc_logs(draw) -> str:
    lines = draw(st.lists(st.tuples(LINES, st.booleans(), st.integers(0, 59), st.integers(0, 999)), max_size=60))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    text = ending.join((STAMP.format(s, ms) if stamped else "") + line for line, stamped, s, ms in lines)
    return text + draw(st.sampled_from(["", ending, " "]))


def outcome(parse, text: str) -> tuple:
    """What a parser gives, comparably: the history frame and the rest, or the error's message."""
    try:
        parsed = parse(text_file(text))
        frame, restarts = history_frame(parsed, "train.log")
    except (ReporterError, TypeError) as exc:
        return ("error", type(exc).__name__, str(exc))
    rest = (parsed.format, parsed.hyperparameters, parsed.events, sorted(parsed.splits.items()),
            parsed.best_so_far_keys, parsed.logged_stats, parsed.plan, restarts)
    return ("ok", frame, list(frame.dtypes), frame["wall_time"].map(type).tolist(), rest)


def assert_same(bulk: tuple, lines: tuple) -> None:
    assert bulk[0] == lines[0], (bulk, lines)
    if bulk[0] == "error":
        assert bulk == lines
        return
    pd.testing.assert_frame_equal(bulk[1], lines[1], check_exact=True)
    assert bulk[2:] == lines[2:]


@settings(max_examples=300, deadline=None)
@given(umc_logs())
def test_umc_bulk_reading_equals_reading_line_by_line(text: str) -> None:
    with mock.patch.object(umc, "_BULK_CHUNK", 64):  # chunks of a few lines: their seams are exercised too
        bulk = outcome(umc.parse_umc, text)
    with mock.patch.object(umc, "_bulk_readable", lambda text: False):
        lines = outcome(umc.parse_umc, text)
    assert_same(bulk, lines)


def reference_csv(text: str) -> list[tuple[str, float, float]]:
    """The CSV's (key, x, value) rows as the reader promises them, read with the csv module cell by cell."""
    header, *rows = [line.split(",") for line in text.splitlines()]
    out = {}
    for row in rows:
        x = float(row[0]) if row[0].strip() else math.nan
        for key, cell in zip(header[1:], row[1:]):
            if cell.strip() and math.isfinite(x):
                out[(key, x)] = float(cell)
    return sorted((k, x, v) for (k, x), v in out.items())


CELLS = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr), st.just(""),
                  st.sampled_from(["nan", "inf", "-inf", "1e5", "7"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "1", "2", "nan"]), CELLS, CELLS), min_size=1, max_size=40))
def test_csv_long_table_equals_reading_cell_by_cell(rows: list[tuple[str, str, str]]) -> None:
    # x rises (restarts are test_tabular's); a step of "" or nan leaves the row without an x
    text = "epoch,loss,val_acc\n" + "".join(f"{n * 3 + int(step) if step.isdigit() else step},{a},{b}\n"
                                            for n, (step, a, b) in enumerate(rows))
    expected = reference_csv(text)
    try:
        frame, _ = history_frame(parse_csv(text_file(text, "h.csv")), "h.csv")
    except ReporterError:
        assert not expected
        return
    got = sorted(zip(frame["key"], frame["x"], frame["value"]))
    assert [(k, x) for k, x, _ in got] == [(k, x) for k, x, _ in expected]
    assert np.allclose([v for *_, v in got], [v for *_, v in expected], rtol=0, atol=0, equal_nan=True)


def test_rank_tests_on_a_million_points_are_bounded_and_still_see_the_trend() -> None:
    # before issue 16 both built every pair of points: a 1M-step loss asked numpy for 783 GiB and the report
    # ended in an internal error
    from reporter.report.analysis.rank_tests import mann_kendall_p, theil_sen

    x = np.arange(1_000_000, dtype=float)
    y = 0.001 * x + np.random.default_rng(0).normal(0, 5, len(x))
    assert mann_kendall_p(x, y) < 1e-6
    assert theil_sen(y, x)[0] == pytest.approx(0.001, rel=0.05)


@given(st.lists(st.floats(-10, 10) | st.just(math.nan), max_size=30), st.integers(1, 9))
def test_running_median_is_the_median_of_each_shrinking_window(values: list[float], width: int) -> None:
    from reporter.report.analysis.diagnosis.fit import smoothed

    half = width // 2
    expected = [np.median(values[max(0, i - half): i + half + 1]) for i in range(len(values))]
    assert np.array_equal(smoothed(np.array(values), width), np.array(expected, dtype=float), equal_nan=True)
