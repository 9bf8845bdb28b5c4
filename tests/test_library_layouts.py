"""Issue 13: folders laid out as today's libraries write them, rebuilt in miniature from what they wrote.

The real libraries run in tests/clients (make test-clients); these are the fast regressions for each row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reporter.cli import main
from reporter.report.ingest import load_run
from reporter.report.ingest.tabular import split_of

NOW = "2026-12-04T12:00:00"


def _report(folder: Path, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "out"
    assert main(["report", str(folder), "--out", str(out), "--format", "md", "--lang", "en", "--now", NOW, "-q",
                 *extra]) == 0
    return json.loads((out / folder.name / "summary.json").read_text())


def _hf_output_folder(folder: Path) -> None:
    """What run_glue.py leaves: trainer_state.json, *_results.json, config.json, training_args.bin, checkpoints."""
    history = []
    for epoch, (accuracy, f1) in enumerate([(0.70, 0.60), (0.75, 0.72), (0.74, 0.71)], start=1):
        history += [{"epoch": float(epoch), "loss": 0.7 - 0.1 * epoch, "step": 8 * epoch},
                    {"epoch": float(epoch), "eval_accuracy": accuracy, "eval_f1": f1, "eval_loss": 0.6,
                     "eval_runtime": 0.1, "step": 8 * epoch}]
    state = {"best_global_step": 16, "best_metric": 0.72, "epoch": 3.0, "global_step": 24, "log_history": history,
             "num_train_epochs": 3, "train_batch_size": 16}
    folder.mkdir()
    (folder / "trainer_state.json").write_text(json.dumps(state, indent=2))
    for name in ("all_results.json", "eval_results.json", "train_results.json"):
        (folder / name).write_text(json.dumps({"epoch": 3.0, "eval_accuracy": 0.74}, indent=4))
    (folder / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}, indent=2))
    (folder / "training_args.bin").write_bytes(b"\x80\x04cos\nsystem\n")  # a pickle: must never be loaded
    (folder / "checkpoint-16").mkdir()
    (folder / "checkpoint-16" / "trainer_state.json").write_text(json.dumps(state))


def test_hf_output_folder_is_one_run_reported_on_metric_for_best_model(tmp_path: Path) -> None:
    _hf_output_folder(tmp_path / "hf")
    summary = _report(tmp_path / "hf", tmp_path)
    assert summary["primary_metric"]["name"] == "eval_f1"  # the value the Trainer kept as best_metric
    assert summary["best"] == {"value": 0.72, "epoch": 2.0}
    chosen = [f for f in summary["findings"] if f["code"] == "metric.chosen"]
    assert chosen and chosen[0]["params"]["basis"] == "framework"


def test_pretty_printed_json_beside_a_history_is_not_read_as_json_lines(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "history.csv").write_text("epoch,val_acc\n" + "".join(f"{e},{0.5 + e / 100}\n" for e in range(6)))
    (folder / "summary.json").write_text(json.dumps({"best_val_acc": 0.55, "epochs": 6}, indent=2))
    assert _report(folder, tmp_path)["primary_metric"]["name"] == "val_acc"


def _mlflow_filestore(root: Path) -> Path:
    run = root / "mlruns" / "1" / "abc123"
    (run / "metrics").mkdir(parents=True)
    (run / "params").mkdir()
    (run / "meta.yaml").write_text("run_id: abc123\nrun_name: client-run\nstatus: 3\nexperiment_id: '1'\n")
    (run / "metrics" / "val_accuracy").write_text("".join(f"{1000 + e} {0.5 + e / 100} {e}\n" for e in range(25)))
    (run / "metrics" / "test_accuracy").write_text("2000 0.97 0\n")
    for key, value in {"batch_size": "64", "lr": "0.01", "epochs": "25", "optimizer": "sgd"}.items():
        (run / "params" / key).write_text(value)
    return root


def test_mlflow_validation_metric_beats_a_test_metric_logged_once_and_int_params_stay_ints(tmp_path: Path) -> None:
    summary = _report(_mlflow_filestore(tmp_path / "mlflow"), tmp_path)
    assert summary["primary_metric"]["name"] == "val_accuracy"
    assert summary["run"]["hyperparameters"] == {"batch_size": 64, "lr": 0.01, "epochs": 25, "optimizer": "sgd"}
    assert isinstance(summary["run"]["hyperparameters"]["batch_size"], int)



@pytest.mark.parametrize("status", ["[3]", "{code: 3}"])
def test_an_mlflow_status_that_is_no_number_is_ignored_not_an_internal_error(tmp_path: Path, status: str) -> None:
    root = _mlflow_filestore(tmp_path / "mlflow")
    meta = root / "mlruns" / "1" / "abc123" / "meta.yaml"
    meta.write_text(meta.read_text().replace("status: 3", f"status: {status}"))
    assert _report(root, tmp_path)["primary_metric"]["name"] == "val_accuracy"

@pytest.mark.parametrize(("key", "split"), [("Accuracy/val", "val"), ("Loss/train", "train"),
                                            ("validation/epoch_accuracy", "val"), ("val_loss", "val"),
                                            ("eval_f1", "val"), ("test_acc", "test"), ("accuracy", None),
                                            ("metrics/mAP50(B)", None)])
def test_split_is_named_by_prefix_or_by_a_path_component(key: str, split: str | None) -> None:
    assert split_of(key) == split


def _events(folder: Path, scalars: dict[str, list[float]], hparams: dict[str, float | str] | None = None) -> None:
    """Event files as torch's SummaryWriter writes them; with hparams, the plugin data of add_hparams."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for tag, values in scalars.items():
        for step, value in enumerate(values):
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
            writer.add_event(event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary))
    if hparams is not None:
        info = plugin_data_pb2.SessionStartInfo()
        for name, value in hparams.items():
            if isinstance(value, str):
                info.hparams[name].string_value = value
            else:
                info.hparams[name].number_value = value
        content = plugin_data_pb2.HParamsPluginData(session_start_info=info, version=0).SerializeToString()
        metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name="hparams", content=content))
        value = summary_pb2.Summary.Value(tag="_hparams_/session_start_info", metadata=metadata)
        writer.add_event(event_pb2.Event(wall_time=1.7e9, summary=summary_pb2.Summary(value=[value])))
    writer.close()


def test_torch_add_hparams_sub_run_gives_hyperparameters_not_the_primary_metric(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    accuracy = [0.5, 0.6, 0.7, 0.75, 0.74, 0.76, 0.77, 0.76, 0.78, 0.77]
    _events(folder, {"Accuracy/val": accuracy, "Loss/train": [1.0 - a for a in accuracy]})
    _events(folder / "1796418238.0046868", {"hparam/best_val_accuracy": [0.78]},
            {"lr": 0.01, "batch_size": 64, "epochs": 10, "optimizer": "sgd"})
    summary = _report(folder, tmp_path)
    assert summary["primary_metric"] == {**summary["primary_metric"], "name": "Accuracy/val", "split": "val"}
    assert summary["run"]["hyperparameters"] == {"lr": 0.01, "batch_size": 64, "epochs": 10, "optimizer": "sgd"}
    assert (summary["run"]["planned_epochs"], summary["run"]["status"]) == (10, "finished")


def test_keras_tensorboard_parent_folder_reports_the_validation_metric(tmp_path: Path) -> None:
    logs = tmp_path / "keras" / "logs"
    _events(logs / "train", {"epoch_accuracy": [0.5, 0.7, 0.8, 0.9, 0.95]})
    _events(logs / "validation", {"epoch_accuracy": [0.5, 0.6, 0.65, 0.64, 0.66]})
    summary = _report(tmp_path / "keras", tmp_path)
    assert summary["primary_metric"]["name"] == "validation/epoch_accuracy"
    assert summary["best"] == {"value": pytest.approx(0.66), "epoch": 4.0}


def test_tensorboard_folder_with_several_runs_asks_for_a_choice(tmp_path: Path, capsys) -> None:
    for name in ("lr0.1", "lr0.01"):
        _events(tmp_path / "runs" / name, {"Accuracy/val": [0.5, 0.6]})
    assert main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "-q"]) == 2
    error = capsys.readouterr().err
    assert "2 TensorBoard runs (lr0.01, lr0.1)" in error and "--source" in error


def test_lightning_lr_monitor_column_is_kept_and_step_is_not_a_metric(tmp_path: Path) -> None:
    folder = tmp_path / "version_0"
    folder.mkdir()
    rows = ["epoch,lr-SGD,step,train_loss,val_acc,val_loss"]
    for epoch in range(3):
        rows += [f",0.05,{epoch * 3},,,", f"{epoch},,{epoch * 3 + 2},,{0.5 + epoch / 10},0.6",
                 f"{epoch},,{epoch * 3 + 2},{0.7 - epoch / 10},,"]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    history = load_run(str(folder)).history
    assert "step" not in set(history["key"])
    assert history[history["key"] == "lr-SGD"]["x"].tolist() == [0.0, 1.0, 2.0]


def test_keras_csv_logger_resume_is_mentioned_and_a_0_based_finish_is_stated(tmp_path: Path) -> None:
    folder = tmp_path / "keras"
    folder.mkdir()
    epochs = list(range(13)) + list(range(10, 20))  # crashed after epoch 12, resumed from the epoch-10 checkpoint
    (folder / "training.log").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n" + "".join(
        f"{e},{0.5 + e / 50},{1 - e / 50},{0.5 + e / 60},{1 - e / 60}\n" for e in epochs))
    (folder / "run.toml").write_text("planned_epochs = 20\n")
    summary = _report(folder, tmp_path)
    assert "run.resumed" in {f["code"] for f in summary["findings"]}
    report = (tmp_path / "out" / "keras" / "report.en.md").read_text()
    assert "Training was resumed 1 time" in report
    assert "after all 20 planned epochs (this history counts epochs from 0, so the last is epoch 19)" in report


def _wandb_log(pieces: list[bytes]) -> bytes:
    """A W&B run file holding each piece as one logical record, split across 32 KiB blocks as W&B does."""
    import struct
    import zlib

    from reporter.report.ingest.wandb_offline import BLOCK, HEADER

    out = bytearray(HEADER)
    for piece in pieces:
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\x00" * left
                continue
            chunk, piece = piece[:left - 7], piece[left - 7:]
            kind = (1 if first else 4) if not piece else (2 if first else 3)
            out += struct.pack("<IHB", zlib.crc32(bytes([kind]) + chunk), len(chunk), kind) + chunk
            first = False
            if not piece:
                break
    return bytes(out)


def test_wandb_record_log_joins_pieces_across_blocks_and_stops_at_a_record_cut_off(tmp_path: Path) -> None:
    from reporter.report.ingest.wandb_offline import records

    pieces = [b"a" * 100, b"b" * 70_000, b"c" * 10]  # the second spans three blocks: FIRST, MIDDLE, LAST
    path = tmp_path / "run-x.wandb"
    data = _wandb_log(pieces)
    path.write_bytes(data)
    assert records(path) == pieces
    path.write_bytes(data[:-4])  # a run still writing: the last record is incomplete
    assert records(path) == pieces[:2]


def test_wandb_damaged_record_and_missing_extra_are_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    import sys

    from reporter.errors import HistoryError, InputError
    from reporter.report.ingest.wandb_offline import records

    data = bytearray(_wandb_log([b"a" * 100, b"b" * 100]))
    data[20] ^= 0xFF
    path = tmp_path / "wandb" / "offline-run-1-x" / "run-x.wandb"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match=r"byte 7: a record fails its checksum"):
        records(path)
    path.write_bytes(_wandb_log([b"a"]))
    monkeypatch.setitem(sys.modules, "wandb.proto", None)
    with pytest.raises(InputError, match=r"pip install 'reporter\[wandb\]'"):
        load_run(str(tmp_path))


def test_folder_with_several_wandb_offline_runs_asks_for_a_choice(tmp_path: Path) -> None:
    from reporter.errors import HistoryError

    for run in ("offline-run-20261204_100000-aaa", "offline-run-20261204_110000-bbb"):
        path = tmp_path / "wandb" / run / f"run-{run[-3:]}.wandb"
        path.parent.mkdir(parents=True)
        path.write_bytes(_wandb_log([b"x"]))
    with pytest.raises(HistoryError, match=r"several histories \(wandb/offline-run-20261204_100000-aaa/run-aaa\.wandb, "
                                           r"wandb/offline-run-20261204_110000-bbb/run-bbb\.wandb\); choose one"):
        load_run(str(tmp_path))


def test_mlflow3_store_names_runs_by_workspace_and_skips_deleted_experiments(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    from conftest import ROOT

    from reporter.errors import HistoryError

    db = tmp_path / "mlflow.db"
    shutil.copy(ROOT / "examples" / "mlflow-sqlite" / "mlflow.db", db)
    with sqlite3.connect(db) as connection:  # the MLflow 3 additions: workspaces, experiments.workspace
        connection.execute("CREATE TABLE workspaces (name VARCHAR(63) PRIMARY KEY, description TEXT)")
        connection.execute("ALTER TABLE experiments ADD COLUMN workspace VARCHAR(63) DEFAULT 'default' NOT NULL")
        connection.execute("INSERT INTO experiments (experiment_id, name, lifecycle_stage, workspace) "
                           "VALUES (7, 'sweep', 'active', 'team-b'), (8, 'old', 'deleted', 'default')")
        for run, experiment in (("b1", 7), ("d1", 8)):
            connection.execute("INSERT INTO runs (run_uuid, name, status, lifecycle_stage, experiment_id, start_time) "
                               f"VALUES ('{run}', 'run-{run}', 'FINISHED', 'active', {experiment}, 1800000000000)")
    with pytest.raises(HistoryError, match=r"2 runs \(.*\(run-b1, experiment team-b/sweep\)\); choose one") as error:
        load_run(str(db))
    assert "d1" not in str(error.value)
