"""Generic CSV / JSON Lines histories."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_umc import text_file

from reporter.errors import HistoryError
from reporter.report.ingest import history_frame
from reporter.report.ingest.tabular import number, parse_csv, parse_json, split_of


def triples(parsed) -> list[tuple[str, float, float]]:
    table = parsed.long_table()
    return list(zip(table["key"], table["x"], table["value"]))


@pytest.mark.parametrize("raw, expected", [
    ("nan", math.nan), ("NaN", math.nan), ("NA", math.nan), ("inf", math.inf), ("Infinity", math.inf),
    ("-inf", -math.inf), ("0.5", 0.5), ("", None), ("abc", None), (3, 3.0),
])
def test_number_reads_every_spelling(raw, expected) -> None:
    result = number(raw)
    if expected is None:
        assert result is None
    elif math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected


def test_appended_sessions_continue_after_the_previous_one() -> None:
    """Keras CSVLogger(append=True) over two fit() calls: epoch restarts at 0."""
    parsed = parse_csv(text_file("epoch,accuracy\n0,0.5\n1,0.6\n2,0.62\n0,0.64\n1,0.7\n", "h.csv"))
    frame, restarts = history_frame(parsed, "h.csv")
    assert restarts == 1
    assert list(zip(frame["x"], frame["value"])) == [(0.0, 0.5), (1.0, 0.6), (2.0, 0.62), (3.0, 0.64), (4.0, 0.7)]


def test_resumed_run_keeps_the_last_value_at_each_epoch() -> None:
    """Resumed from a checkpoint at epoch 1: the rerun epochs replace the first attempt."""
    parsed = parse_csv(text_file("epoch,accuracy\n0,0.5\n1,0.6\n2,0.62\n1,0.61\n2,0.66\n3,0.7\n", "h.csv"))
    frame, restarts = history_frame(parsed, "h.csv")
    assert restarts == 1
    assert list(zip(frame["x"], frame["value"])) == [(0.0, 0.5), (1.0, 0.61), (2.0, 0.66), (3.0, 0.7)]


def test_sparse_rows_without_x_are_skipped() -> None:
    parsed = parse_csv(text_file("epoch,lr-Adam,val_loss\n,0.001,\n0,,0.5\n", "m.csv"))
    assert triples(parsed) == [("val_loss", 0.0, 0.5)]
    assert parsed.splits["val_loss"] == "val"


def test_missing_x_column_says_what_was_looked_for() -> None:
    with pytest.raises(HistoryError, match=r"h.csv:1: no epoch/step column .*epoch, step"):
        parse_csv(text_file("a,b\n1,2\n", "h.csv"))


def test_jsonl_and_truncated_json() -> None:
    parsed = parse_json(text_file('{"step": 1, "eval_f1": 0.5}\n{"step": 2, "eval_f1": 0.6}\n', "h.jsonl"))
    assert [(x, v) for _, x, v in triples(parsed)] == [(1.0, 0.5), (2.0, 0.6)]
    with pytest.raises(HistoryError, match="truncated"):
        parse_json(text_file('[{"epoch": 1, "acc": 0.5}, {"epo', "h.json"))


def test_jsonl_being_written_keeps_the_complete_lines() -> None:
    done = '{"epoch": 1, "acc": 0.5}\n{"epoch": 2, "acc": 0.6}\n'
    parsed = parse_json(text_file(done + '{"epoch": 3, "ac', "h.jsonl"))  # the logger is mid-line
    assert [(x, v) for _, x, v in triples(parsed)] == [(1.0, 0.5), (2.0, 0.6)]
    with pytest.raises(HistoryError, match=r"h.jsonl:3: invalid JSON line"):  # a finished, broken line
        parse_json(text_file(done + '{"epoch": 3, "ac\n', "h.jsonl"))
    with pytest.raises(HistoryError, match=r"h.jsonl:2: invalid JSON line"):  # damage before the end
        parse_json(text_file('{"epoch": 1, "acc": 0.5}\n{"epoch": 2,\n{"epoch": 3, "acc": 0.7}', "h.jsonl"))


@pytest.mark.parametrize("key, split", [("eval_loss", "val"), ("val/acc", "val"), ("test_nmi", "test"), ("loss", None)])
def test_split_from_prefix(key: str, split: str | None) -> None:
    assert split_of(key) == split


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_csv_text_parses_or_raises_history_error(text: str) -> None:
    for parser in (parse_csv, parse_json):
        try:
            parser(text_file("epoch,acc\n" + text, "h.csv"))
        except HistoryError:
            pass


@pytest.mark.parametrize("tail, last_epoch", [
    ("2,0.6", 1.0),  # fewer cells than the header: the logger is mid-line
    ("2,0.6,1e", 1.0),  # the last cell is cut inside a number
    ("2,0.6,", 1.0),  # the last cell is not written yet
    ("2,0.6,0.3", 2.0),  # a complete row that only lacks its newline is kept
    ("2,0.6,0.3\n", 2.0),
])
def test_a_half_written_last_csv_row_is_ignored(tail: str, last_epoch: float) -> None:
    """Issue #12 item 16: '31,0.6' of a CSV being appended was read as data ('best 0.6000 at epoch 31')."""
    parsed = parse_csv(text_file("epoch,val_acc,loss\n0,0.4,0.9\n1,0.5,0.7\n" + tail))
    assert max(x for _, x, _ in triples(parsed)) == last_epoch
