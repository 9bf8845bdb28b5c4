"""Issue 14: the formats live in one registry of readers that load_run and batch discovery both ask.

tests/fixtures/readers/<reader name>/ holds one small sample per reader (tests/fixtures/readers/SOURCE.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

from reporter.errors import InputError
from reporter.lab.discover import discover
from reporter.report.ingest import load_run, registry
from reporter.report.ingest.files import TextFile
from reporter.report.ingest.parsed import ParsedHistory
from reporter.report.ingest.reader import Target, text_reader

SAMPLES = ROOT / "tests" / "fixtures" / "readers"
HEADER_ONLY = {"wandb"}
"""Samples that only open like their format: W&B records need wandb's protobuf classes to write."""


def _sample(name: str) -> Target:
    folder = SAMPLES / name
    (entry,) = folder.iterdir()
    return Target(entry, folder)


def test_every_reader_has_a_sample() -> None:
    assert {r.name for r in registry.READERS} == {p.name for p in SAMPLES.iterdir() if p.is_dir()}


@pytest.mark.parametrize("reader", registry.READERS, ids=lambda r: r.name)
def test_each_reader_is_reachable_its_sample_is_recognised_by_it_and_by_no_earlier_reader(reader) -> None:
    assert registry.reader_for(_sample(reader.name)) is reader


@pytest.mark.parametrize("reader", [r for r in registry.READERS if r.name not in HEADER_ONLY], ids=lambda r: r.name)
def test_each_sample_reads_as_a_history(reader) -> None:
    try:
        parsed, sources = reader.load(_sample(reader.name))
    except InputError as exc:
        pytest.skip(str(exc))  # an optional extra (tensorboard) is not installed here
    assert len(parsed.long_table()) and sources


def _read_hist(file: TextFile) -> ParsedHistory:
    parsed = ParsedHistory(format="hist")
    for line in file.text.splitlines()[1:]:
        epoch, accuracy = line.split()
        parsed.add("accuracy", float(epoch), float(accuracy))
    return parsed


HIST = text_reader("hist", lambda target: target.file.text.startswith("#hist"), _read_hist, layouts=("logs/*.hist",),
                   locate=lambda folder: sorted(folder.glob("logs/*.hist")))
"""A format reporter does not know: a header line, then `<epoch> <accuracy>` lines, written under logs/."""


def test_a_new_format_is_one_reader_and_one_registry_line(tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "lab" / "exp1"
    (run / "logs").mkdir(parents=True)
    (run / "logs" / "train.hist").write_text("#hist\n1 0.5\n2 0.6\n3 0.65\n")
    assert discover(tmp_path / "lab") == []
    monkeypatch.setattr(registry, "READERS", [*registry.READERS, HIST])
    assert discover(tmp_path / "lab") == [run]
    loaded = load_run(str(run))
    assert loaded.family == "hist" and list(loaded.history["value"]) == [0.5, 0.6, 0.65]
    assert load_run(str(run / "logs" / "train.hist")).family == "hist"


def test_batch_finds_a_project_folder_holding_wandb_offline_runs(tmp_path: Path) -> None:
    """Discovery used to keep its own list of names and missed W&B run files, which load_run reads."""
    run = tmp_path / "lab" / "project"
    (run / "wandb" / "offline-run-20261204_100000-abc").mkdir(parents=True)
    (run / "wandb" / "offline-run-20261204_100000-abc" / "run-abc.wandb").write_bytes(
        (SAMPLES / "wandb" / "run-sample.wandb").read_bytes())
    assert discover(tmp_path / "lab") == [run]


def test_a_parser_tripping_on_odd_content_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "train.hist"
    path.write_text("#hist\n1 0.5 extra\n")
    with pytest.raises(InputError, match=rf"^{path}: cannot read it as hist \(ValueError: .*\); check the file"):
        HIST.load(Target(path, tmp_path))
