"""Write the examples that have no public text file to copy, from real curves in shared/curves.

- examples/tensorboard/: Keras-style event files (train/ with simple_value scalars, validation/ with
  TF2 tensor scalars) written with tensorboard's own writer, values from shared/curves/files/ai4mars.
- examples/mlflow-sqlite/mlflow.db: an MLflow SQL store built from the real schema excerpt
  (shared/formats/mlflow_sqlite/schema_excerpt.sql), one run, values from shared/curves/files/dsc_se_lightnet.
- examples/wandb-export/wandb_export.csv: the W&B UI panel export layout (Step, <run> - <metric>,
  __MIN, __MAX), values from shared/curves/files/dec_keras_eluqm.
- examples/timm-summary/summary.csv: timm's train.py summary.csv columns (epoch, train_loss, eval_loss,
  eval_top1, eval_top5, lr), values from shared/curves/files/cifar_numpy (top-1 in percent, as timm writes).
- examples/deit-log/log.txt: DeiT/MAE main.py's log.txt, one JSON object per epoch (train_lr, train_loss,
  test_loss, test_acc1, test_acc5, epoch, n_parameters), values from shared/curves/files/gatv2_arxiv.
- examples/mmdet2-log/20230101_000000.log.json: MMDetection 2.x TextLoggerHook JSON lines (env header,
  then mode train/val records), values from examples/mmengine.

Run: python examples/make_generated_examples.py [--tensorboard] (needs ../shared beside the repo, and the
tensorboard extra for --tensorboard).
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def rows(relative: str) -> list[dict[str, str]]:
    with (SHARED / "curves" / "files" / relative).open() as handle:
        return list(csv.DictReader(handle))


def tensorboard() -> None:
    from tensorboard.compat.proto import (
        event_pb2,
        summary_pb2,
        tensor_pb2,
        tensor_shape_pb2,
        types_pb2,
    )
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    target = HERE / "tensorboard"
    shutil.rmtree(target, ignore_errors=True)
    data = rows("ai4mars/model_history_log.csv")
    for folder, prefix, as_tensor in (("train", "", False), ("validation", "val_", True)):
        writer = EventFileWriter(str(target / folder), filename_suffix=".v2")
        for index, row in enumerate(data):
            values = []
            for tag, column in (("epoch_loss", "loss"), ("epoch_categorical_accuracy", "categorical_accuracy")):
                number = float(row[prefix + column])
                if as_tensor:
                    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[number],
                                                    tensor_shape=tensor_shape_pb2.TensorShapeProto())
                    metadata = summary_pb2.SummaryMetadata(
                        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
                    values.append(summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=metadata))
                else:
                    values.append(summary_pb2.Summary.Value(tag=tag, simple_value=number))
            writer.add_event(event_pb2.Event(wall_time=1_700_000_000.0 + 60 * index, step=int(row["epoch"]),
                                             summary=summary_pb2.Summary(value=values)))
        writer.close()
    for path in target.rglob("events.out.tfevents.*"):  # stable names, so re-running changes nothing
        path.rename(path.with_name(f"events.out.tfevents.1700000000.example.{path.parent.name}.v2"))


def mlflow_sqlite() -> None:
    target = HERE / "mlflow-sqlite" / "mlflow.db"
    target.parent.mkdir(exist_ok=True)
    target.unlink(missing_ok=True)
    schema = (SHARED / "formats" / "mlflow_sqlite" / "schema_excerpt.sql").read_text()
    statements = [part.strip() for part in schema.split("\n\n") if "CREATE TABLE" in part]
    with sqlite3.connect(target) as db:
        for statement in statements:
            db.execute(statement[statement.index("CREATE TABLE"):])
        db.execute("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
                   "VALUES (1, 'lightnet', 'mlruns/1', 'active')")
        db.execute("INSERT INTO runs (run_uuid, name, source_type, status, start_time, end_time, lifecycle_stage, "
                   "experiment_id) VALUES ('0f3c', 'dsc-se-lightnet', 'LOCAL', 'FINISHED', 1700000000000, "
                   "1700003000000, 'active', 1)")
        for row in rows("dsc_se_lightnet/training_log.csv"):
            for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
                db.execute("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
                           (key, float(row[key]), 1700000000000 + 60000 * int(row["epoch"]), "0f3c", int(row["epoch"])))
        for key, value in (("epochs", "50"), ("lr", "0.001"), ("batch_size", "128")):
            db.execute("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, '0f3c')", (key, value))


def wandb_export() -> None:
    target = HERE / "wandb-export" / "wandb_export.csv"
    target.parent.mkdir(exist_ok=True)
    data = rows("dec_keras_eluqm/dec_log.csv")
    run = "dec-eluqm-1"
    header = ["Step"] + [f"{run} - {m}{suffix}" for m in ("acc", "nmi", "ari") for suffix in ("", "__MIN", "__MAX")]
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in data:
            writer.writerow([row["iter"]] + [row[m] for m in ("acc", "nmi", "ari") for _ in range(3)])


def timm_summary() -> None:
    target = HERE / "timm-summary" / "summary.csv"
    target.parent.mkdir(exist_ok=True)
    lines = ["epoch,train_loss,eval_loss,eval_top1,eval_top5,lr"]
    for row in rows("cifar_numpy/training_history.csv"):
        top1 = 100 * float(row["val_acc"])
        lines.append(f"{int(row['epoch']) - 1},{row['train_loss']},{row['val_loss']},{top1:.4f},{min(100.0, top1 * 2):.4f},0.001")
    target.write_text("\n".join(lines) + "\n")


def deit_log() -> None:
    target = HERE / "deit-log" / "log.txt"
    target.parent.mkdir(exist_ok=True)
    records = [json.dumps({"train_lr": 0.0005, "train_loss": float(row["loss"]), "test_loss": None,
                           "test_acc1": 100 * float(row["val_acc"]), "test_acc5": None, "epoch": int(row["epoch"]) - 1,
                           "n_parameters": 1234567}) for row in rows("gatv2_arxiv/training_history.csv")]
    target.write_text("\n".join(records) + "\n")


def mmdet2_log() -> None:
    target = HERE / "mmdet2-log" / "20230101_000000.log.json"
    target.parent.mkdir(exist_ok=True)
    source = HERE / "mmengine" / "20230619_171252" / "vis_data" / "20230619_171252.json"
    lines = [json.dumps({"env_info": "sys.platform: linux", "config": "balloon", "seed": 0})]
    for record in map(json.loads, source.read_text().splitlines()):
        if "epoch" in record:
            lines.append(json.dumps({"mode": "train", "epoch": record["epoch"], "iter": 5, "lr": record["lr"],
                                     "memory": 5082, "data_time": record["data_time"], "loss_cls": record["loss_cls"],
                                     "loss_bbox": record["loss_bbox"], "loss": record["loss"], "time": record["time"]}))
        else:
            lines.append(json.dumps({"mode": "val", "epoch": record["step"], "iter": 5,
                                     "bbox_mAP": record["coco/bbox_mAP"], "bbox_mAP_50": record["coco/bbox_mAP_50"]}))
    target.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if "--tensorboard" in sys.argv:  # event files carry their write time: rewrite only when asked
        tensorboard()
    mlflow_sqlite()
    wandb_export()
    timm_summary()
    deit_log()
    mmdet2_log()
