"""reporter.Recorder and the reader of its history (issue 18): what a training script writes, reporter reads best."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reporter
from reporter.cli import main
from reporter.errors import OutputError, UsageError
from reporter.recorder import Recorder
from reporter.report.ingest import load_run
from reporter.report.ingest.recorded import records


class Clock:
    """A wall clock that moves one minute per reading, so epochs have a cadence and no test waits."""

    def __init__(self) -> None:
        self.now = 1_764_921_600.0

    def __call__(self) -> float:
        self.now += 60
        return self.now


def _train(rec: Recorder, accuracies: list[float], steps_per_epoch: int = 3) -> None:
    for epoch, accuracy in enumerate(accuracies):
        for step in range(steps_per_epoch):
            rec.log({"loss": 1.0 / (epoch * steps_per_epoch + step + 1)}, step=epoch * steps_per_epoch + step,
                    epoch=epoch + step / steps_per_epoch)
        rec.log({"val_acc": accuracy, "val_loss": 1 - accuracy}, epoch=epoch)


def _summary(capsys, run: Path, out: Path) -> dict:
    assert main(["report", str(run), "--out", str(out), "--lang", "en", "--format", "md", "-q"]) == 0, \
        capsys.readouterr().err
    return json.loads((out / run.name / "summary.json").read_text())


def test_a_finished_run_reports_its_best_plan_params_and_status(tmp_path: Path, capsys) -> None:
    run = tmp_path / "exp1"
    with Recorder(run, params={"lr": 3e-4, "model": "bert-tiny"}, plan={"epochs": 6, "metric": "val_acc"},
                  clock=Clock()) as rec:
        _train(rec, [0.50, 0.61, 0.66, 0.64, 0.70])
    assert sorted(p.name for p in run.iterdir()) == ["history.jsonl", "params.yaml", "status.json"]
    summary = _summary(capsys, run, tmp_path / "out")
    assert summary["run"]["status"] == "finished" and summary["run"]["planned_epochs"] == 6
    assert summary["primary_metric"]["name"] == "val_acc"
    assert summary["best"] == {"value": 0.70, "epoch": 4}
    assert load_run(str(run)).hyperparameters["model"] == "bert-tiny"


def test_an_exception_inside_the_with_records_a_crash_with_its_traceback(tmp_path: Path, capsys) -> None:
    run = tmp_path / "exp1"
    with pytest.raises(ZeroDivisionError):
        with Recorder(run, plan={"epochs": 10}, clock=Clock()) as rec:
            _train(rec, [0.5, 0.6, 0.65])
            1 / 0
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "crashed" and "ZeroDivisionError" in status["error"]
    summary = _summary(capsys, run, tmp_path / "out")
    assert summary["run"]["status"] == "crashed"
    assert any(f["code"] == "run.crashed" and f["params"]["reason"] == "traceback" for f in summary["findings"])


def test_a_run_killed_mid_training_is_not_reported_as_finished(tmp_path: Path, capsys) -> None:
    run = tmp_path / "exp1"
    rec = Recorder(run, plan={"epochs": 10}, clock=Clock())
    _train(rec, [0.5, 0.6, 0.65])
    rec.flush()  # then kill -9: no finish()
    assert _summary(capsys, run, tmp_path / "out")["run"]["status"] in ("running", "stalled")


@pytest.mark.parametrize("variable", ["RANK", "LOCAL_RANK"])
def test_only_rank_zero_writes(tmp_path: Path, monkeypatch, variable: str) -> None:
    monkeypatch.setenv(variable, "1")
    with Recorder(tmp_path / "exp1") as rec:
        _train(rec, [0.5])
    assert not (tmp_path / "exp1").exists()


def test_records_are_buffered_within_an_epoch_and_on_disk_when_the_next_begins(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "exp1", clock=Clock(), flush_seconds=1e9)
    rec.log({"loss": 0.9}, step=1, epoch=0.1)  # the first record of epoch 0 starts it: written
    rec.log({"loss": 0.8}, step=2, epoch=0.5)
    rec.log({"val_acc": 0.6}, epoch=0.9)
    on_disk = records(rec.history_path.read_text(), "history.jsonl")
    assert [r["metrics"] for r in on_disk] == [{"loss": 0.9}]
    rec.log({"loss": 0.7}, step=3, epoch=1.1)
    assert len(records(rec.history_path.read_text(), "history.jsonl")) == 4


def test_a_failed_write_is_retried_and_never_leaves_a_torn_line(tmp_path: Path, monkeypatch, caplog) -> None:
    """A full disk mid-write: half a record lands, the write fails; training goes on and nothing is lost."""
    rec = Recorder(tmp_path / "exp1", clock=Clock())
    real_write, failures = os.write, [1]

    def full_disk(fd: int, data) -> int:
        if failures:
            failures.pop()
            real_write(fd, bytes(data[:len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with caplog.at_level(logging.WARNING, logger="reporter.recorder"):
        rec.log({"val_acc": 0.5}, epoch=0)
    assert "No space left on device" in caplog.text
    rec.log({"val_acc": 0.6}, epoch=1)
    rec.finish()
    text = rec.history_path.read_text()
    assert text.endswith("\n") and [r["metrics"]["val_acc"] for r in records(text, "h")] == [0.5, 0.6]


def test_a_new_recorder_cuts_the_line_a_killed_one_tore_and_appends(tmp_path: Path) -> None:
    with Recorder(tmp_path / "exp1", clock=Clock()) as rec:
        rec.log({"val_acc": 0.5}, epoch=0)
    with rec.history_path.open("a") as file:
        file.write('{"time": 1, "epoch": 1, "metr')  # kill -9 in the middle of a write
    with Recorder(tmp_path / "exp1", clock=Clock()) as again:
        again.log({"val_acc": 0.6}, epoch=1)
    lines = rec.history_path.read_text().splitlines()
    assert len(lines) == 3 and [r["metrics"]["val_acc"] for r in records("\n".join(lines), "h")] == [0.5, 0.6]


RECORD = st.fixed_dictionaries({"time": st.floats(0, 2e9), "epoch": st.integers(0, 500),
                                "metrics": st.dictionaries(st.sampled_from(["loss", "val_acc", "精度"]),
                                                           st.floats(allow_nan=True, allow_infinity=True))})


@settings(max_examples=60, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=8), st.data())
def test_a_history_cut_anywhere_reads_as_its_whole_lines(found: list[dict], data) -> None:
    """A reader racing the writer (or reading after a crash) sees some prefix of the file: never an error."""
    lines = [json.dumps({"format": "reporter.history", "version": 1})] + [json.dumps(r, ensure_ascii=False)
                                                                          for r in found]
    text = "\n".join(lines) + "\n"
    cut = data.draw(st.integers(len(lines[0]) + 1, len(text)))
    prefix = text[:cut]
    whole = prefix.count("\n") - 1
    got = records(prefix, "history.jsonl")
    assert json.dumps(got) == json.dumps(found[:len(got)]) and len(got) in (whole, whole + 1)


@pytest.mark.parametrize("plan, message", [
    ({"epoch": 10}, "unknown key 'epoch'"),
    ({"epochs": 0}, "positive whole number"),
    ({"epochs": 2.5}, "positive whole number"),
    ({"metric": 3}, "metric's name"),
])
def test_a_bad_plan_fails_before_training_starts(tmp_path: Path, plan: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Recorder(tmp_path / "exp1", plan=plan)


def test_a_folder_holding_another_history_jsonl_is_refused(tmp_path: Path) -> None:
    (tmp_path / "history.jsonl").write_text('{"epoch": 1, "acc": 0.5}\n')
    with pytest.raises(OutputError, match="not a history written by reporter.Recorder"):
        Recorder(tmp_path)
    assert (tmp_path / "history.jsonl").read_text() == '{"epoch": 1, "acc": 0.5}\n'


def test_the_recorder_is_exported_and_a_plan_can_come_later(tmp_path: Path) -> None:
    with reporter.Recorder(tmp_path / "exp1", clock=Clock()) as rec:
        rec.set_plan({"epochs": 4})
        rec.log_params({"batch_size": 32})
        rec.log({"val_acc": 0.5}, epoch=0)
    run = load_run(str(tmp_path / "exp1"))
    assert run.plan is not None and run.plan.epochs == 4 and run.hyperparameters["batch_size"] == 32


def test_params_of_library_types_are_written_as_plain_yaml(tmp_path: Path) -> None:
    """HF's training arguments hold str enums (SchedulerType): safe_dump refused them and the callback crashed."""
    import enum

    import numpy as np

    class Scheduler(str, enum.Enum):
        LINEAR = "linear"

    with Recorder(tmp_path / "exp1", params={"scheduler": Scheduler.LINEAR, "lr": np.float64(0.1),
                                             "layers": (np.int64(2), 3), "device": Path("/dev/cpu")}) as rec:
        rec.log({"val_acc": 0.5}, epoch=0)
    hyperparameters = load_run(str(tmp_path / "exp1")).hyperparameters
    assert hyperparameters["scheduler"] == "linear" and hyperparameters["lr"] == 0.1


def test_the_nightly_batch_finds_a_recorded_run_beside_its_in_training_reports(tmp_path: Path, capsys) -> None:
    """A run folder holding history.jsonl (and the out/ its callbacks render into) is one run to the batch."""
    from reporter.lab.discover import discover

    run = tmp_path / "runs" / "exp1"
    with Recorder(run, plan={"epochs": 3}, clock=Clock()) as rec:
        _train(rec, [0.5, 0.6, 0.7])
    _summary(capsys, run, run / "out")  # the report the callbacks render in the run folder
    assert discover(tmp_path / "runs") == [run]
    assert _summary(capsys, run, tmp_path / "nightly")["run"]["status"] == "finished"
