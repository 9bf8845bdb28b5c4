"""The cost of recording inside a training loop: the same loop with and without Recorder.log, per logged step.

The loop does a small fixed amount of numpy work per step (a stand-in for a training step, which on any
real model costs far more) and logs three metrics per step, a validation record per epoch. The
difference of the two loops' times, divided by the steps, is the recorder's overhead per logged step;
a plain Recorder.log loop with no work gives the same figure without the noise of the work.
Run: .venv/bin/python bench/recorder.py [--steps 20000] [--epochs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from reporter import Recorder


def _loop(steps: int, epochs: int, folder: Path | None, work: np.ndarray | None) -> float:
    """Seconds for the loop; with a folder, every step and every epoch's validation is recorded there."""
    recorder = Recorder(folder, params={"lr": 0.1}, plan={"epochs": epochs}) if folder else None
    per_epoch = steps // epochs
    start = time.perf_counter()
    for step in range(steps):
        loss = float(np.tanh(work @ work).sum()) if work is not None else 1.0 / (step + 1)
        if recorder is not None:
            recorder.log({"loss": loss, "lr": 0.1, "grad_norm": 1.5}, step=step, epoch=step / per_epoch)
            if (step + 1) % per_epoch == 0:
                recorder.log({"val_acc": 0.5, "val_loss": loss}, step=step, epoch=(step + 1) / per_epoch)
    if recorder is not None:
        recorder.finish()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = np.random.default_rng(0).normal(size=(48, 48))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            bare = _loop(args.steps, args.epochs, None, work)
            recorded = _loop(args.steps, args.epochs, Path(tmp) / f"with-{repeat}", work)
            alone = _loop(args.steps, args.epochs, Path(tmp) / f"alone-{repeat}", None)
            rows.append((bare, recorded, alone))
        size = (Path(tmp) / "with-0" / "history.jsonl").stat().st_size
    bare, recorded, alone = (statistics.median(r[i] for r in rows) for i in range(3))
    print(f"{args.steps:,} steps, {args.epochs} epochs, median of {args.repeats}; history.jsonl {size / 1e6:.1f} MB")
    print(f"  loop without recorder   {bare * 1e6 / args.steps:8.2f} µs/step")
    print(f"  loop with Recorder.log  {recorded * 1e6 / args.steps:8.2f} µs/step "
          f"(+{(recorded - bare) * 1e6 / args.steps:.2f} µs, +{(recorded / bare - 1) * 100:.1f}%)")
    print(f"  Recorder.log alone      {alone * 1e6 / args.steps:8.2f} µs/step (3 metrics, buffered, flushed per epoch)")


if __name__ == "__main__":
    main()
