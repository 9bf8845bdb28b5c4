"""Every text parser either parses or raises our error type, on random and mutated input."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_umc import text_file

from reporter.errors import ReporterError
from reporter.report.ingest.hf import parse_trainer_state
from reporter.report.ingest.openmmlab import parse_openmmlab
from reporter.report.ingest.tabular import parse_csv, parse_json
from reporter.report.ingest.umc import parse_umc

SEEDS = {
    parse_trainer_state: (ROOT / "examples/hf-trainer/checkpoint-375/trainer_state.json").read_text(),
    parse_openmmlab: (ROOT / "examples/mmengine/20230619_171252/vis_data/20230619_171252.json").read_text(),
    parse_csv: (ROOT / "examples/ultralytics/results.csv").read_text(),
    parse_json: '{"epoch": 0, "train_loss": 1.0, "test_acc1": 10.0}\n{"epoch": 1, "train_loss": 0.8, "test_acc1": 20}\n',
    parse_umc: (ROOT / "examples/umc-original/train.log").read_text(),
}


@st.composite
def mutated(draw, seed: str) -> str:
    """The seed with a random slice cut, duplicated or replaced by random text."""
    start = draw(st.integers(0, len(seed)))
    end = draw(st.integers(start, min(len(seed), start + 200)))
    action = draw(st.sampled_from(["cut", "insert", "truncate"]))
    if action == "truncate":
        return seed[:start]
    filler = draw(st.text(max_size=50)) if action == "insert" else ""
    return seed[:start] + filler + seed[end:]


@pytest.mark.parametrize("parser", list(SEEDS), ids=lambda p: p.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_parsers_parse_or_raise_our_error(parser, data) -> None:
    text = data.draw(mutated(SEEDS[parser]))
    try:
        parser(text_file(text, "history" + Path(parser.__name__).suffix))
    except ReporterError:
        pass
