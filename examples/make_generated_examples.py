"""Write the examples that have no public text file to copy, from real curves in shared/curves.

- examples/tensorboard/: Keras-style event files (train/ with simple_value scalars, validation/ with
  TF2 tensor scalars) written with tensorboard's own writer, values from shared/curves/files/ai4mars.
- examples/mlflow-sqlite/mlflow.db: an MLflow SQL store built from the real schema excerpt
  (shared/formats/mlflow_sqlite/schema_excerpt.sql), one run, values from shared/curves/files/dsc_se_lightnet.
- examples/wandb-export/wandb_export.csv: the W&B UI panel export layout (Step, <run> - <metric>,
  __MIN, __MAX), values from shared/curves/files/dec_keras_eluqm.

Run: python examples/make_generated_examples.py (needs the tensorboard extra and ../shared beside the repo).
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def rows(relative: str) -> list[dict[str, str]]:
    with (SHARED / "curves" / "files" / relative).open() as handle:
        return list(csv.DictReader(handle))


def tensorboard() -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
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


if __name__ == "__main__":
    tensorboard()
    mlflow_sqlite()
    wandb_export()
