"""UMC log parsing: the traps documented in shared/reference/umc-formats.md."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEMO, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.errors import HistoryError
from reporter.report.ingest.files import TextFile
from reporter.report.ingest.umc import parse_umc, planned_epochs


def text_file(text: str, name: str = "train.log") -> TextFile:
    return TextFile(Path(name), text, hashlib.sha256(text.encode()).hexdigest(), len(text))


def rows(parsed, key: str) -> list[tuple[float, float]]:
    return [(x, v) for k, _, x, v, _ in parsed.rows if k == key]


def test_original_log_losses_belong_to_the_previous_epoch() -> None:
    parsed = parse_umc(text_file((ROOT / "tests/fixtures/umc-original.log").read_text()))
    sup = rows(parsed, "sup_loss")
    assert sup[0] == (0.0, 5.93412) and sup[-1][0] == 16.0  # printed under 'Epoch: 1' .. 'Epoch: 17'
    assert parsed.format == "umc"
    assert parsed.plan is not None and parsed.plan.epochs == 18  # int((1 - 0.1) / 0.05), not num_train_epochs 100
    assert dict((k, v) for k, _, _, v, _ in parsed.rows if k.startswith("test_")) == {
        "test_acc": 33.87, "test_ari": 20.31, "test_nmi": 24.16, "test_fmi": 32.49}
    assert parsed.splits["test_nmi"] == "test"
    assert [e.kind for e in parsed.events] == ["finished"]


def test_fork_log_yields_monitor_constant_and_early_stop() -> None:
    parsed = parse_umc(text_file((DEMO / "train.log").read_text()))
    assert parsed.format == "umc-fork"
    assert rows(parsed, "nmi") == [(0.0, 0.17227), (5.0, 0.24302)]
    assert parsed.splits["nmi"] == "train+dev" and "nmi" in parsed.best_so_far_keys
    assert rows(parsed, "loss")[-1] == (8.0, 5.1842)
    assert {v for _, v in rows(parsed, "min_samples_per_class")} == {62.0}
    assert [(e.kind, e.x) for e in parsed.events] == [("early_stop", 9.0)]
    assert parsed.plan.epochs == 97
    assert parsed.logged_stats[-1].stability == 0.068 and parsed.logged_stats[-1].trend == "improving"


def test_numpy_scalars_in_the_statistics_dict_are_read() -> None:
    log = ("Training begins...\nEpoch 0: Loss = 5.2000, Recent losses: [5.2]\n"
           "Training Statistics: {'best_performance': np.float64(0.25), 'best_epoch': 1, 'total_improvements': 2, "
           "'total_degradations': 0, 'performance_trend': 'improving', 'stability_score': np.float64(0.1)}\n")
    parsed = parse_umc(text_file(log))
    assert parsed.logged_stats[0].best_value == 0.25 and parsed.logged_stats[0].stability == 0.1


def test_traceback_is_a_crash_event_with_its_reason() -> None:
    log = ("Epoch 0: Loss = 5.2000, Recent losses: [5.2]\nTraceback (most recent call last):\n"
           '  File "run.py", line 1, in <module>\nRuntimeError: CUDA out of memory\n')
    parsed = parse_umc(text_file(log))
    assert [(e.kind, e.detail) for e in parsed.events] == [("crash", "RuntimeError: CUDA out of memory")]


def test_nan_loss_is_kept_as_a_value() -> None:
    parsed = parse_umc(text_file("Epoch 0: Loss = 5.2000, Recent losses: []\nEpoch 1: Loss = nan, Recent losses: []\n"))
    assert str(rows(parsed, "loss")[1][1]) == "nan"


def test_truncated_statistics_line_names_the_line() -> None:
    log = "Epoch 0: Loss = 5.2000, Recent losses: []\nTraining Statistics: {'best_performance': 0.2, 'best_\n"
    with pytest.raises(HistoryError, match=r"train.log:2: "):
        parse_umc(text_file(log))


def test_a_log_without_epochs_is_refused() -> None:
    with pytest.raises(HistoryError, match="no epoch entries"):
        parse_umc(text_file("==============================  Params ==============================\nlr: 0.1\n"))


@pytest.mark.parametrize("params, expected", [
    ({"thres": [0.1], "delta": [0.05]}, 18), ({"thres": 0.03, "delta": 0.01}, 97), ({"thres": 0.1}, None),
    ({"thres": 0.1, "delta": 0}, None),
])
def test_planned_epochs(params, expected) -> None:
    plan = planned_epochs(params)
    assert (plan.epochs if plan else None) == expected


UMC_LINES = st.sampled_from([
    "***** Epoch: 3 *****", "Supervised Training Loss: 5.1", "Epoch 2: Loss = 5.1, Recent losses: [1]",
    "Training Statistics: {'best_performance': 0.2}", "Training Statistics: {", "Early stopping at epoch 9",
    "Minimum samples per class: 62", "  ACC = 33.1", "***** Test results *****", "Traceback (most recent call last):",
    "ValueError: x", "lr: [0.1]", "============================== Params ==============================",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(UMC_LINES, st.text(max_size=80)), max_size=40))
def test_any_input_parses_or_raises_history_error(lines: list[str]) -> None:
    try:
        parse_umc(text_file("\n".join(lines)))
    except HistoryError:
        pass


def test_an_impossible_date_in_the_logging_prefix_gives_no_wall_time_not_a_traceback() -> None:
    """strptime refused month 13 with a ValueError, which ended the report in a traceback (found by the
    property test of a faster reader, not merged)."""
    parsed = parse_umc(text_file("2024-13-01 10:00:00,000 - Epoch 0: Loss = 5.2, Recent losses: []\n"
                                 "2024-06-01 10:00:00,500 - Epoch 1: Loss = 5.1, Recent losses: []\n"))
    table = parsed.long_table()
    assert list(table["value"]) == [5.2, 5.1]
    assert pd.isna(table["wall_time"][0]) and table["wall_time"][1] == pytest.approx(1717236000.5)
