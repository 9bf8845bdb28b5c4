"""Every supported history format, end to end on the examples and on focused fixtures."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.errors import HistoryError, InputError
from reporter.model import RunConfig
from reporter.report.ingest import load_run

EXAMPLES = ROOT / "examples"
EXPECTED = {  # example -> (format of the history, primary metric, number of its values)
    "iemocap-da": ("umc-fork", "nmi", 2),
    "umc-original": ("umc", "test_nmi", 1),
    "umc-results": ("umc-results", "test_nmi", 2),
    "fer-running": ("csv", "val_accuracy", 30),
    "hf-trainer": ("hf-trainer-state", "eval_loss", 3),
    "lightning": ("csv", "val/rmse_loss", 2),
    "keras-append": ("csv", "val_accuracy", 24),
    "mmengine": ("mmengine", "coco/bbox_mAP", 4),
    "mlflow-filestore": ("mlflow-filestore", "loss", 10),
    "mlflow-sqlite": ("mlflow-sqlite", "test_acc", 50),
    "tensorboard": ("tensorboard", "validation/epoch_categorical_accuracy", 20),
    "wandb-export": ("wandb-csv", "nmi", 35),
    "ultralytics": ("csv", "metrics/mAP50-95(B)", 50),
    "digits-kmeans": ("csv", "nmi", 10),
    "timm-summary": ("csv", "eval_top1", 50),
    "deit-log": ("jsonl", "test_acc1", 138),
    "mmdet2-log": ("mmdet2", "bbox_mAP", 4),
}


def test_every_example_folder_is_covered() -> None:
    comparisons = {"compare-mnist-lr"}  # groups of runs, rendered by tests/test_compare.py
    assert {p.name for p in EXAMPLES.iterdir() if p.is_dir()} == set(EXPECTED) | comparisons


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_is_read_and_rendered(name: str, tmp_path: Path) -> None:
    fmt, metric, count = EXPECTED[name]
    run = load_run(str(EXAMPLES / name))
    assert run.family == fmt
    assert main(["report", str(EXAMPLES / name), "--out", str(tmp_path), "--format", "md,html", "-q",
                 "--now", "2025-03-15T09:00:00"]) == 0
    summary = json.loads((tmp_path / run.id / "summary.json").read_text())
    assert summary["primary_metric"]["name"] == metric
    values = run.history[run.history["key"] == metric]
    assert len(values) == count
    for lang in ("zh", "en"):
        assert (tmp_path / run.id / f"report.{lang}.html").stat().st_size > 5000


def test_hf_checkpoint_folder_gives_fractional_epochs_and_the_plan() -> None:
    run = load_run(str(EXAMPLES / "hf-trainer"))
    assert run.plan is not None and run.plan.epochs == 3
    train = run.history[run.history["key"] == "loss"]["x"]
    assert 0 < train.min() < 1 and run.splits["eval_loss"] == "val"
    assert "train_runtime" not in set(run.history["key"])


def test_mmengine_validation_step_is_an_epoch() -> None:
    run = load_run(str(EXAMPLES / "mmengine"))
    val = run.history[run.history["key"] == "coco/bbox_mAP"]
    assert list(val["x"]) == [10.0, 20.0, 30.0, 40.0]  # not the global iteration
    assert run.history[run.history["key"] == "loss"]["x"].max() == 40.0


def test_mmdet2_validation_loss_is_val_loss(tmp_path: Path) -> None:
    # MMDetection 2 logs the validation loss as `loss` in its val records; the key became a categorical in the
    # long table (issue 16) and renaming it to val_loss raised "Cannot setitem on a Categorical with a new category"
    log = tmp_path / "20230101_000000.log.json"
    records = [{"mode": mode, "epoch": epoch, "iter": 5, "loss": 2.0 - 0.1 * epoch, **({"bbox_mAP": 0.1 * epoch}
               if mode == "val" else {})} for epoch in range(1, 6) for mode in ("train", "val")]
    log.write_text("".join(json.dumps(record) + "\n" for record in records))
    run = load_run(str(tmp_path))
    assert list(run.history[run.history["key"] == "val_loss"]["value"]) == pytest.approx([1.9, 1.8, 1.7, 1.6, 1.5])
    assert run.splits["val_loss"] == "val" and run.splits["bbox_mAP"] == "val"


def test_keras_append_sessions_are_laid_end_to_end() -> None:
    run = load_run(str(EXAMPLES / "keras-append"))
    assert run.restarts == 3
    assert sorted(run.history[run.history["key"] == "accuracy"]["x"]) == [float(i) for i in range(24)]


def test_tensorboard_reads_both_scalar_encodings_in_full() -> None:
    run = load_run(str(EXAMPLES / "tensorboard"))
    keys = set(run.history["key"])
    assert {"train/epoch_loss", "validation/epoch_loss"} <= keys  # simple_value and tensor scalars
    assert run.splits["validation/epoch_loss"] == "val"
    # Keras writes per-epoch scalars as epoch_<name> with the epoch as the step
    assert set(run.history.loc[run.history["key"] == "validation/epoch_loss", "x_kind"]) == {"epoch"}


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_mlflow_sqlite_is_read_only_and_decodes_nan_and_inf(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    shutil.copy(EXAMPLES / "mlflow-sqlite" / "mlflow.db", db)
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO metrics VALUES ('test_loss', 0, 1700009999000, '0f3c', 51, 1)")
        connection.execute("INSERT INTO metrics VALUES ('test_loss', 1.7976931348623157e308, 1700009999001, '0f3c', 52, 0)")
    before = checksum(db)
    run = load_run(str(db))
    assert checksum(db) == before and not (tmp_path / "mlflow.db-journal").exists()
    loss = run.history[run.history["key"] == "test_loss"].set_index("x")["value"]
    assert math.isnan(loss[51.0]) and loss[52.0] == math.inf
    assert run.hyperparameters["epochs"] == 50 and run.plan.epochs == 50


def test_mlflow_store_with_several_runs_asks_which(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    shutil.copy(EXAMPLES / "mlflow-sqlite" / "mlflow.db", db)
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO runs (run_uuid, name, status, lifecycle_stage, experiment_id, start_time) "
                           "VALUES ('9a9a', 'second', 'RUNNING', 'active', 1, 1800000000000)")
        connection.execute("INSERT INTO metrics VALUES ('acc', 0.5, 1800000000000, '9a9a', 0, 0)")
    with pytest.raises(HistoryError, match="2 runs .*--source 'mlflow.db#<run id or name>'"):
        load_run(str(db))
    run = load_run(str(tmp_path), overrides=RunConfig(history="mlflow.db#second"))
    assert set(run.history["key"]) == {"acc"}


def test_two_histories_in_one_folder_name_both_and_how_to_choose(tmp_path: Path, capsys) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("epoch,acc\n0,0.5\n1,0.6\n")
    with pytest.raises(HistoryError, match=r"several histories \(a.csv, b.csv\); choose one with --source"):
        load_run(str(tmp_path))
    assert main(["report", str(tmp_path), "--source", "b.csv", "--out", str(tmp_path / "out"), "--format", "md",
                 "-q"]) == 0


def test_wandb_export_with_several_runs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Step,run-a - loss,run-a - loss__MIN,run-b - loss\n0,1,1,2\n1,0.5,0.5,1\n")
    with pytest.raises(HistoryError, match="several runs \\(run-a, run-b\\)"):
        load_run(str(path))


def test_tensorboard_ui_export_takes_the_tag_from_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "run-.-tag-val_acc.csv"
    path.write_text("Wall time,Step,Value\n1654943296.2,0,59.31\n1654943313.7,1,64.78\n")
    run = load_run(str(path))
    assert set(run.history["key"]) == {"val_acc"} and run.history["wall_time"].notna().all()


@pytest.mark.parametrize("content, message", [
    ("epoch,acc\n0,nan\n1,NaN\n2,Infinity\n", "'acc' has no finite values"),
    ("\xff\xfe garbage that is not a history\n", "no epoch/step column"),
])
def test_bad_histories(tmp_path: Path, capsys, content: str, message: str) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(content.encode("latin-1"))
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_gbk_log_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes("epoch,准确率 acc\n0,0.5\n1,0.6\n".encode("gbk"))
    run = load_run(str(path))
    assert "准确率 acc" in set(run.history["key"])


def test_tensorboard_scalars_are_not_downsampled(tmp_path: Path) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path))
    for step in range(12_000):  # EventAccumulator keeps 10,000 per tag by default
        value = summary_pb2.Summary.Value(tag="loss", simple_value=1.0 / (step + 1))
        writer.add_event(event_pb2.Event(wall_time=1.0 + step, step=step, summary=summary_pb2.Summary(value=[value])))
    writer.close()
    history = load_run(str(tmp_path)).history
    assert len(history) == 12_000 and set(history["x_kind"]) == {"step"}


def test_missing_tensorboard_extra_names_the_install(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing", None)
    with pytest.raises(InputError, match=r"pip install 'reporter\[tensorboard\]'"):
        load_run(str(EXAMPLES / "tensorboard"))


def test_too_large_file_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    from reporter.report.ingest import files

    path = tmp_path / "h.csv"
    path.write_text("epoch,acc\n" + "1,0.5\n" * 100)
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    with pytest.raises(HistoryError, match="limit"):
        load_run(str(path))
