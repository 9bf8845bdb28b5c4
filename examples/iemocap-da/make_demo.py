"""Rebuild the illustrative IEMOCAP-DA demo run (train.log, data/train_dev.tsv) deterministically.

The log follows the line formats of the monitoring fork of thuiar/UMC exactly (see
shared/reference/umc-formats.md); every number in it is ILLUSTRATIVE, chosen to match the state the
hand-written report described (best train+dev NMI 0.243 at epoch 5, loss 5.1842, 62 minimum samples,
early stop at epoch 9). The label file has the class counts of IEMOCAP-DA train+dev
(shared/reference/dataset-stats.json) and PLACEHOLDER text. It is built as users build it: train.tsv
and dev.tsv concatenated, each with its header row.

Run: python examples/iemocap-da/make_demo.py
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
TRAIN_PLUS_DEV = {"s": 1738, "o": 1658, "q": 1556, "ans": 1147, "ag": 406, "dag": 298, "c": 280, "b": 244,
                  "ap": 60, "oth": 56, "g": 48, "a": 45}
DEV = {"s": 217, "o": 207, "q": 195, "ans": 143, "ag": 51, "dag": 37, "c": 35, "b": 30, "ap": 8, "oth": 7,
       "g": 6, "a": 6}
PARAMS = {
    "logger_name": "umc_umc_bert-base-uncased_IEMOCAP-DA_0", "dataset": "IEMOCAP-DA",
    "multimodal_method": "umc", "method": "umc", "text_backbone": "bert-base-uncased", "seed": 0,
    "num_labels": 12, "num_train_examples": 7532, "pretrain_batch_size": 64, "train_batch_size": 64,
    "eval_batch_size": 64, "test_batch_size": 64, "num_pretrain_epochs": [150], "num_train_epochs": [100],
    "pretrain": [True], "pretrain_temperature": [0.2], "train_temperature_sup": [20],
    "train_temperature_unsup": [20], "lr_pre": [2e-05], "lr": [0.0002], "delta": [0.01], "thres": [0.03],
    "topk": [5], "weight_decay": 0.01, "feat_dim": 768, "grad_clip": [-1.0], "warmup_proportion": 0.1,
    "base_dim": [256], "nheads": 8, "enable_progressive_learning": True, "enable_early_stop": True,
    "max_threshold": 0.3, "min_threshold": 0.03, "performance_window": 3, "patience": 5,
}
PERFORMANCE = [0.17227, 0.18642, 0.20057, 0.21472, 0.22887, 0.24302]  # per-epoch train+dev NMI (not logged)
LOSSES = [5.2013, 5.1987, 5.1962, 5.1941, 5.1917, 5.1895, 5.1879, 5.1858, 5.1842]
UNSUP = [5.2466, 5.2461, 5.2455, 5.2452, 5.2447, 5.2443, 5.2440, 5.2436, 5.2433]
WORDS = "well so i think we should go now yes no really that is fine okay right you know what mean".split()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 14, 21, 5, 0)

    def line(self, message: str, seconds: float = 0.0) -> str:
        self.now += timedelta(seconds=seconds)
        return f"{self.now:%Y-%m-%d %H:%M:%S},{self.now.microsecond // 1000:03d} - {message}"


def fork_stats(history: list[float]) -> dict:
    recent = history[-5:]
    increasing = sum(b > a for a, b in zip(recent, recent[1:]))
    ratio = increasing / (len(recent) - 1) if len(recent) > 1 else None
    trend = "stable" if ratio is None else "improving" if ratio > 0.7 else "declining" if ratio < 0.3 else "oscillating"
    stability = 0.0 if len(history) < 5 else max(0.0, 1 - 10 * float(np.std(recent)) / float(np.mean(recent)))
    return {"best_performance": max(history), "best_epoch": history.index(max(history)),
            "total_improvements": len(history), "total_degradations": 0, "performance_trend": trend,
            "stability_score": round(stability, 4)}


def log_lines() -> list[str]:
    rng = random.Random(7)
    clock = Clock()
    lines = ["# ILLUSTRATIVE EXAMPLE for the reporter demo, not a real run: line formats follow the UMC monitoring fork",
             "# (shared/reference/umc-formats.md); all numbers are made up to match the hand-written report's state.",
             clock.line("============================== Params ==============================")]
    lines += [clock.line(f"{key}: {value}") for key, value in PARAMS.items()]
    lines += [clock.line("============================== End Params =============================="),
              clock.line("Freeze all parameters but the last layer for efficiency", 9.7),
              clock.line("Pre-training start...")]
    for epoch in range(1, 151):
        loss = 2.62 + 2.2 * math.exp(-epoch / 38) + rng.gauss(0, 0.012)
        lines += [clock.line(f"***** Epoch: {epoch}: Eval results *****", 11.5), clock.line(f"  train_loss = {loss!r}")]
    lines += [clock.line("Pre-training finished...", 0.7), clock.line("Multimodal Intent Recognition begins...", 1.4),
              clock.line("Training begins...")]
    recent: list[float] = []
    for epoch in range(10):
        if epoch == 9:
            lines.append(clock.line(f"Early stopping at epoch {epoch}", 20.4))
            break
        if epoch % 5 == 0:
            lines.append(clock.line(f"Training Statistics: {fork_stats(PERFORMANCE[:epoch + 1])}", 20.4))
        if epoch == 0:
            lines += [clock.line("Initializing centroids with K-means++...", 0.2), clock.line("K-means++ used 2.91 s", 3.0)]
        else:
            lines.append(clock.line(f"K-means used {rng.uniform(0.6, 1.5):.2f} s", 1.0))
        lines.append(clock.line("Minimum samples per class: 62", 0.1))
        if epoch > 0:
            lines += [clock.line(f"***** Epoch: {epoch} *****"),
                      clock.line(f"Supervised Training Loss: {LOSSES[epoch - 1]:f}"),
                      clock.line(f"Unsupervised Training Loss: {UNSUP[epoch - 1]:f}")]
        recent.append(LOSSES[epoch] + rng.uniform(-4e-5, 4e-5))
        lines.append(clock.line(f"Epoch {epoch}: Loss = {recent[-1]:.4f}, Recent losses: {recent[-3:]}", 18.6))
    return lines


def label_rows() -> list[str]:
    rng = random.Random(11)
    header = "index\ttext\tDA"
    parts = []
    for counts in ({k: TRAIN_PLUS_DEV[k] - DEV[k] for k in TRAIN_PLUS_DEV}, DEV):
        labels = [label for label, count in counts.items() for _ in range(count)]
        rng.shuffle(labels)
        rows = [header]
        for index, label in enumerate(labels):
            n_words = max(1, min(106, int(rng.lognormvariate(2.2, 0.75))))
            rows.append(f"{index}\t{' '.join(rng.choice(WORDS) for _ in range(n_words))}\t{label}")
        parts += rows
    return parts


if __name__ == "__main__":
    (HERE / "train.log").write_text("\n".join(log_lines()) + "\n", encoding="utf-8")
    (HERE / "data").mkdir(exist_ok=True)
    (HERE / "data" / "train_dev.tsv").write_text("\n".join(label_rows()) + "\n", encoding="utf-8")
