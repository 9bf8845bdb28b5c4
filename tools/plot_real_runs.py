"""Draw `curves.png` for every run of the labelled real-run set (tests/fixtures/real-runs).

The labels in labels.csv are made by looking at these plots, so this script reads the copied history files
directly (pandas/json) and uses no reporter code: the picture a person labels must not depend on the reader
being tested. Each plot has the training and validation loss per epoch on the left (YOLO-style losses summed,
with their components as thin lines) and the main validation metric on the right when the file has one.

Usage: python tools/plot_real_runs.py [RUNS_DIR]
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real-runs"
HISTORY_NAMES = ("results.csv", "metrics.csv", "trainer_state.json", "log.txt")
TRAIN_LOSS_KEYS = ("train_loss_epoch", "train_loss", "loss", "train_mse")
VAL_LOSS_KEYS = ("val_loss", "validation_loss", "eval_loss", "test_loss", "val_mse")
METRIC_PREFIXES = ("val_", "eval_", "test_", "metrics/")
NOT_METRICS = ("loss", "mse", "runtime", "per_second")
ULTRALYTICS_METRICS = (
    "metrics/mAP50-95(M)", "metrics/mAP50-95(B)", "metrics/mAP_0.5:0.95", "metrics/accuracy_top1",
)
LOG_SCALE_RATIO = 20.0
PNG_COLOURS = 64  # a palette PNG keeps each plot well under 60 KB


@dataclass
class Curves:
    """Per-epoch series of one run, as the plot needs them."""

    train: dict[str, pd.Series]
    val: dict[str, pd.Series]
    metric_name: str | None = None
    metric: pd.Series | None = field(default=None)
    x_unit: str = "epoch"


def history_file(run_dir: Path) -> Path:
    """The run's history: the one known framework file name, else its only CSV."""
    for name in HISTORY_NAMES:
        if (run_dir / name).exists():
            return run_dir / name
    csvs = sorted(run_dir.glob("*.csv"))
    if len(csvs) != 1:
        raise SystemExit(f"{run_dir}: expected one history file, found {[p.name for p in csvs]}")
    return csvs[0]


def numeric_frame(path: Path) -> pd.DataFrame:
    """A CSV with stripped header names and every cell a number: text and inf become NaN, a garbled row is skipped."""
    frame = pd.read_csv(path, skipinitialspace=True, on_bad_lines="skip")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(pd.to_numeric, errors="coerce").replace([float("inf"), float("-inf")], float("nan"))


def ultralytics_curves(path: Path) -> Curves:
    """Summed train/val loss components and the run's mAP or top-1 from an Ultralytics/YOLOv5 results.csv."""
    frame = numeric_frame(path).set_index("epoch")
    train = {c: frame[c] for c in frame.columns if c.startswith("train/")}
    val = {c: frame[c] for c in frame.columns if c.startswith("val/")}
    metric = next((c for c in ULTRALYTICS_METRICS if c in frame.columns), None)
    return Curves(train, val, metric, frame[metric] if metric else None)


def first_key(columns: list[str], keys: tuple[str, ...]) -> str | None:
    """The first of `keys` present in `columns`."""
    return next((k for k in keys if k in columns), None)


def metric_key(columns: list[str]) -> str | None:
    """The first validation column that is not a loss (val_ before eval_ before test_): the main metric."""
    candidates = [c for c in columns if not any(n in c for n in NOT_METRICS)]
    return next((c for prefix in METRIC_PREFIXES for c in candidates if c.startswith(prefix)), None)


def table_curves(frame: pd.DataFrame) -> Curves:
    """Train loss, val loss and the main validation metric from a per-epoch table."""
    columns = list(frame.columns)
    train_key = first_key(columns, TRAIN_LOSS_KEYS)
    val_key = first_key(columns, VAL_LOSS_KEYS)
    train = {train_key: frame[train_key].dropna()} if train_key else {}
    val = {val_key: frame[val_key].dropna()} if val_key else {}
    metric = metric_key(columns)
    return Curves(train, val, metric, frame[metric].dropna() if metric else None)


def csv_curves(path: Path) -> Curves:
    """A Keras CSVLogger / History CSV or a hand-written per-epoch CSV; no epoch column means row number."""
    frame = numeric_frame(path)
    if "epoch" in frame.columns:
        return table_curves(frame.set_index("epoch"))
    if frame.columns[0].startswith("Unnamed"):  # DataFrame(history.history).to_csv() writes the index unnamed
        return table_curves(frame.set_index(frame.columns[0]))
    return table_curves(frame)


def lightning_curves(path: Path) -> Curves:
    """Lightning's sparse metrics.csv averaged per epoch (step-level rows and epoch-level rows merge)."""
    frame = numeric_frame(path).drop(columns=["step"], errors="ignore")
    return table_curves(frame.groupby("epoch").mean())


def hf_curves(path: Path) -> Curves:
    """Training `loss` and `eval_*` entries of a Trainer's log_history against the optimizer step.

    The step, not the logged epoch, is the x axis: a Trainer on a streaming dataset logs an epoch that jumps
    (0.05 -> 1.01), which would fold the curve over itself.
    """
    history = json.loads(path.read_text())["log_history"]
    train = pd.DataFrame([h for h in history if "loss" in h]).set_index("step")
    evals = pd.DataFrame([h for h in history if "eval_loss" in h]).set_index("step")
    curves = table_curves(evals)
    curves.train = {"loss": train["loss"]}
    curves.x_unit = "step"
    return curves


def json_lines_curves(path: Path) -> Curves:
    """A DeiT/MAE log.txt: one JSON object per epoch."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return table_curves(pd.DataFrame(rows).set_index("epoch"))


def load_curves(path: Path) -> Curves:
    """Curves of one history file, read by its framework's file name."""
    readers = {
        "results.csv": ultralytics_curves,
        "metrics.csv": lightning_curves,
        "trainer_state.json": hf_curves,
        "log.txt": json_lines_curves,
    }
    return readers.get(path.name, csv_curves)(path)


def total(parts: dict[str, pd.Series]) -> pd.Series:
    """The sum of loss components; an epoch where a component is missing (nan) has no total."""
    return pd.concat(parts.values(), axis=1).sum(axis=1, skipna=False).dropna()


def draw_losses(axes: Axes, curves: Curves) -> None:
    """Training and validation loss (summed, components thin); log scale when they span many decades."""
    axes.set_xlabel(curves.x_unit)
    for parts, colour, name in ((curves.train, "tab:blue", "train"), (curves.val, "tab:orange", "val")):
        if not parts:
            continue
        if len(parts) > 1:
            for series in parts.values():
                axes.plot(series.index, series.values, color=colour, linewidth=0.5, alpha=0.45)
        summed = total(parts)
        label = f"{name} ({' + '.join(k.split('/')[-1] for k in parts)})"
        axes.plot(summed.index, summed.values, color=colour, linewidth=1.6, label=label)
    values = pd.concat([*curves.train.values(), *curves.val.values()]).dropna()
    if values.min() > 0 and values.max() / values.min() > LOG_SCALE_RATIO:
        axes.set_yscale("log")
    axes.set_title("loss")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)


def plot_run(run_dir: Path) -> Path:
    """Write run_dir/curves.png (640x400 px) and return its path."""
    curves = load_curves(history_file(run_dir))
    figure = Figure(figsize=(8, 5), dpi=80)
    FigureCanvasAgg(figure)
    has_metric = curves.metric is not None and not curves.metric.empty
    loss_axes = figure.add_subplot(1, 2 if has_metric else 1, 1)
    draw_losses(loss_axes, curves)
    if has_metric:
        metric_axes = figure.add_subplot(1, 2, 2)
        metric_axes.plot(curves.metric.index, curves.metric.values, color="tab:green", linewidth=1.4)
        metric_axes.set_title(curves.metric_name, fontsize=9)
        metric_axes.set_xlabel(curves.x_unit)
        metric_axes.grid(alpha=0.3)
    figure.suptitle(run_dir.name, fontsize=10)
    figure.tight_layout()
    out = run_dir / "curves.png"
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    Image.open(buffer).convert("RGB").quantize(colors=PNG_COLOURS).save(out, optimize=True)
    return out


def main(argv: list[str]) -> int:
    """Plot every run folder below the given root (default: the fixture set)."""
    root = Path(argv[0]) if argv else DEFAULT_ROOT
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        plot_run(run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
