"""Issue 16: the vectorised CSV reader gives exactly what reading cell by cell gives, and the analysis stays
bounded on a million-point history."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_umc import text_file

from reporter.errors import ReporterError
from reporter.report.ingest import history_frame
from reporter.report.ingest.tabular import parse_csv


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


@given(st.text(alphabet=st.sampled_from("ab,\n\r\x0b\x0c\x1c\u2028\u00e9\u4e00"), max_size=60))
def test_the_line_length_bound_is_never_below_the_longest_line(text: str) -> None:
    from reporter.report.ingest.files import longest_line_bound

    longest = max(map(len, text.splitlines()), default=0)
    assert longest_line_bound(text) >= longest
    assert longest_line_bound(text.encode("utf-8", "surrogatepass")) >= longest  # the bytes read_table encodes
    if text.isascii() and "\r" not in text and not any(c in text for c in "\x0b\x0c\x1c"):
        assert longest_line_bound(text) == longest


@given(st.binary(max_size=40) | st.text(alphabet="0123456789.eE+- \t\r\n,;\"ax", max_size=40).map(str.encode))
def test_only_numbers_is_every_byte_below_the_header_a_number_byte(data: bytes) -> None:
    from reporter.report.ingest.tabular import _only_numbers

    body = data[data.find(b"\n") + 1:]
    assert _only_numbers(data) == all(byte in b"0123456789.eE+- \t\r\n,;\"" for byte in body)


KEYS = st.sampled_from(["loss", "acc", "val_loss", "lr"])


@given(st.lists(st.tuples(KEYS, st.booleans(), st.floats(allow_nan=True)), max_size=40))
def test_values_by_key_is_groupby_on_the_marked_rows(rows: list[tuple[str, bool, float]]) -> None:
    import pandas as pd

    from reporter.report.series import values_by_key

    history = pd.DataFrame({"key": pd.Categorical([k for k, _, _ in rows]), "value": [v for *_, v in rows]})
    marked = np.array([m for _, m, _ in rows], dtype=bool)
    expected = {str(k): g.to_numpy() for k, g in history["value"][marked].groupby(history["key"][marked])}
    got = values_by_key(history, marked)
    assert list(got) == list(expected)
    assert all(np.array_equal(got[k], expected[k], equal_nan=True) for k in expected)


@given(st.lists(st.floats(-3, 3) | st.sampled_from([math.nan, math.inf, -math.inf, 0.5]), max_size=30),
       st.sampled_from(["min", "max"]), st.integers(0, 6), st.integers(-1, 4))
def test_keras_replay_without_min_delta_is_the_callback_loop(values: list[float], mode: str, patience: int,
                                                             start: int) -> None:
    from reporter.model import Mode
    from reporter.report.analysis.diagnosis.stopping import keras_loop, keras_running_best

    expected = keras_loop(values, Mode(mode), patience, start_from_epoch=start)
    assert keras_running_best(np.array(values, dtype=float), Mode(mode), patience, start) == expected


@given(st.lists(st.floats(-10, 10) | st.just(math.nan), min_size=1, max_size=30), st.integers(1, 9), st.data())
def test_smoothed_at_is_one_point_of_smoothed(values: list[float], width: int, data: st.DataObject) -> None:
    from reporter.report.analysis.diagnosis.fit import smoothed, smoothed_at

    index = data.draw(st.integers(0, len(values) - 1))
    assert np.array_equal(smoothed_at(np.array(values), index, width), smoothed(np.array(values), width)[index],
                          equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["1", " 2", "3 ", " ", "", "\t4", '" 5"', "nan", "x"]), min_size=2, max_size=2),
                min_size=1, max_size=8), st.sampled_from([",", ";", "\t"]), st.sampled_from(["\n", "\r\n"]))
def test_a_table_reads_as_with_skipinitialspace(rows: list[list[str]], delimiter: str, newline: str) -> None:
    import io
    from typing import Callable

    import pandas as pd

    from reporter.report.ingest.tabular import _only_numbers, _parsed_table

    text = newline.join(delimiter.join(row) for row in [["a", "b"], *rows]) + newline

    def skipping_spaces() -> pd.DataFrame:  # _parsed_table as it read every table before
        options = {"sep": delimiter, "keep_default_na": False, "na_values": [""], "skipinitialspace": True}
        data = text.encode()
        if _only_numbers(data):
            try:
                return pd.read_csv(io.BytesIO(data), dtype=float, **options)
            except ValueError:
                pass
        return pd.read_csv(io.BytesIO(data), low_memory=False, **options)

    def outcome(read: Callable[[], pd.DataFrame]) -> pd.DataFrame | type:
        try:
            return read()
        except (ValueError, pd.errors.ParserError) as exc:
            return type(exc)

    got, expected = outcome(lambda: _parsed_table(text.encode(), delimiter)), outcome(skipping_spaces)
    if isinstance(expected, pd.DataFrame):
        assert isinstance(got, pd.DataFrame)
        pd.testing.assert_frame_equal(got, expected)
    else:
        assert got == expected


@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0]), min_size=1, max_size=12), st.data())
def test_last_at_is_the_value_a_dict_of_the_series_keeps(xs: list[float], data: st.DataObject) -> None:
    from reporter.report.analysis.diagnosis import _last_at

    wanted = sorted(set(data.draw(st.lists(st.sampled_from(sorted(set(xs))), min_size=1))))
    last = {x: i for i, x in enumerate(xs)}
    assert _last_at(np.array(xs), np.array(wanted)).tolist() == [last[x] for x in wanted]
    rising = sorted(set(xs))
    assert _last_at(np.array(rising), np.array(wanted)).tolist() == [rising.index(x) for x in wanted]


BLOCK_ROWS = st.lists(st.tuples(CELLS, CELLS, st.sampled_from(["", "0.5", "-3e-7", "12", " 4", "5 "])), min_size=1,
                    max_size=30)


@settings(max_examples=8, deadline=None)
@given(BLOCK_ROWS, st.sampled_from(["\n", "\r\n"]))
def test_a_table_large_enough_for_pandas_threads_reads_as_in_one(rows: list[tuple[str, str, str]],
                                                                  newline: str) -> None:
    """Above 5 MB pandas splits a table it reads from a path across threads (a million rows: 0.10 s instead of
    0.15 s); the table must be the one its single-threaded read of the same bytes gives."""
    import io

    import pandas as pd

    from reporter.report.ingest.tabular import _only_numbers, _parsed_table

    block = "".join(f"{a},{b},{c}{newline}" for a, b, c in rows)
    data = ("loss,val_loss,lr" + newline + block * (6_000_000 // len(block) + 1)).encode()
    options = {"sep": ",", "keep_default_na": False, "na_values": [""], "low_memory": False,
               "skipinitialspace": b" " in data}
    try:
        if not _only_numbers(data):
            raise ValueError
        expected = pd.read_csv(io.BytesIO(data), dtype=float, **options)
    except ValueError:
        expected = pd.read_csv(io.BytesIO(data), **options)
    pd.testing.assert_frame_equal(_parsed_table(data, ","), expected)


def test_a_history_that_grew_after_it_was_read_is_parsed_as_it_was_read(tmp_path) -> None:
    """pandas reads a path fastest, but the table must be the bytes that were read and hashed (the report names
    the file by that checksum), not the file again: a run still writing appends rows in between."""
    from reporter.report.ingest.files import read_text

    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n" + "".join(f"{n},{1 / (n + 1)}\n" for n in range(400_000)))
    file = read_text(path)
    with path.open("a") as still_training:
        still_training.write("".join(f"{n},0.5\n" for n in range(400_000, 400_100)))
    frame, _ = history_frame(parse_csv(file), "history.csv")
    assert frame["x"].max() == 399_999
