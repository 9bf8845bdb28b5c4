"""Dataset profile: header artefacts, imbalance, text lengths, segments."""

from __future__ import annotations

import pytest
from conftest import DEMO, make_labels

from reporter.errors import DatasetError
from reporter.report.analysis.dataset import profile
from reporter.report.ingest.labels import read_labels


def test_demo_label_file_reveals_the_header_artefact_and_the_true_imbalance() -> None:
    d = profile(read_labels(DEMO / "data/train_dev.tsv", "DA", "text"))
    artefacts = [c for c in d.classes if c.artefact]
    assert [(c.label, c.count) for c in artefacts] == [("DA", 1)]
    assert d.raw_imbalance_ratio == pytest.approx(869.0)  # what the hand-written report printed
    assert d.imbalance_ratio == pytest.approx(1738 / 45)  # about 39
    assert (d.largest, d.smallest) == ("s", "a")
    assert d.n_samples == 7536 and d.segments == (6594, 942)
    assert 10 < d.text_words["mean"] < 13


def test_profile_without_artefacts() -> None:
    d = profile(make_labels([("hi", "a"), ("ok then", "a"), ("no", "b")]))
    assert d.imbalance_ratio == 2.0 and d.raw_imbalance_ratio == 2.0 and d.segments == (3,)
    assert d.text_words["max"] == 2.0


@pytest.mark.parametrize("content, message", [
    ("", "empty"), ("text\tlabel\n", "no data rows"), ("a\tb\nx\ty\n", "cannot tell which column"),
    ("\x00\x01binary", "binary"),
])
def test_bad_label_files_name_the_file(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "labels.tsv"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as error:
        read_labels(path)
    assert str(path) in str(error.value)


def test_named_column_must_exist(tmp_path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nhi,a\n")
    with pytest.raises(DatasetError, match="no column 'DA'"):
        read_labels(path, "DA")
