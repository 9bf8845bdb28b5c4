"""The nightly job at scale: N generated runs of mixed formats (default 500), cold and incremental.

Prints the cold batch time with --jobs 1 and --jobs 2, the no-change re-run as a share of the cold
run, and peak memory of the worker processes. Run: make bench, or
.venv/bin/python bench/batch.py [--runs 500] [--formats md,html,pdf].
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ["fer-running", "iemocap-da", "umc-original", "keras-append", "hf-trainer", "ultralytics", "wandb-export",
             "mlflow-sqlite", "tensorboard", "digits-kmeans"]


def make_runs(root: Path, count: int) -> None:
    for i in range(count):
        source = ROOT / "examples" / TEMPLATES[i % len(TEMPLATES)]
        shutil.copytree(source, root / f"{source.name}-{i:04d}")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--formats", default="md,html")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root, out1, out2 = Path(folder) / "runs", Path(folder) / "out1", Path(folder) / "out2"
        make_runs(root, args.runs)
        base = [sys.executable, "-m", "reporter.cli", "batch", str(root), "--format", args.formats, "-q"]
        cold1 = timed(base + ["--out", str(out1), "--jobs", "1"])
        cold2 = timed(base + ["--out", str(out2), "--jobs", "2"])
        again = timed(base + ["--out", str(out2), "--jobs", "2"])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{args.runs} runs ({args.formats}): cold --jobs 1 {cold1:.1f} s, --jobs 2 {cold2:.1f} s "
          f"(speed-up {cold1 / cold2:.2f}x)")
    print(f"no-change re-run (same day): {again:.1f} s = {again / cold2:.1%} of the cold run")
    print(f"peak memory of one process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
