"""The nightly job at scale: N generated runs of mixed formats (default 500), cold and incremental.

Prints the cold batch time with --jobs 1 and --jobs 2, the no-change re-run as a share of the cold
run, and peak memory of the worker processes. Run: make bench, or
.venv/bin/python bench/batch.py [--runs 500] [--formats md,html,pdf].

With --memory 5,30,100,500 it measures instead what issue 21 asks: a cold `--jobs 1` batch with every
format (PDFs included) for each number of runs, each in a fresh process tree, printing the peak memory
of the one worker, its ratio to the smallest batch's peak (goal: at most 1.5) and the time per run.
"""

from __future__ import annotations

import argparse
import json
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
PEAK_OF_CHILDREN = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
"""Runs a command and prints the largest resident size among its processes (KiB); a batch with a failed run
exits 1, and batch.json says which."""


def make_runs(root: Path, count: int) -> None:
    for i in range(count):
        source = ROOT / "examples" / TEMPLATES[i % len(TEMPLATES)]
        shutil.copytree(source, root / f"{source.name}-{i:04d}")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def peak_and_seconds(command: list[str]) -> tuple[float, float]:
    """Peak memory (MiB) of the largest process the command started, and its wall time."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK_OF_CHILDREN, *command], check=True, capture_output=True,
                          text=True)
    return int(done.stdout.split()[-1]) / 1024, time.perf_counter() - start


def memory_table(counts: list[int]) -> None:
    """One cold PDF batch per count; the worker's peak should not grow with the number of runs."""
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as folder:
            root, out = Path(folder) / "runs", Path(folder) / "out"
            make_runs(root, count)
            peak, seconds = peak_and_seconds([sys.executable, "-m", "reporter.cli", "batch", str(root), "--out", str(out),
                                              "--jobs", "1", "--format", "md,html,pdf", "-q"])
            failed = [r for r in json.loads((out / "batch.json").read_text())["runs"] if r["status"] != "rendered"]
            if failed:
                sys.exit(f"{len(failed)} runs were not rendered: {failed[0]}")
        rows.append((count, peak, seconds / count))
        print(f"{count:>5} runs (md,html,pdf, --jobs 1): peak of the worker {peak:7.0f} MiB, "
              f"{peak / rows[0][1]:.2f}x the {rows[0][0]}-run batch's; {seconds / count:.2f} s per run", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--formats", default="md,html")
    parser.add_argument("--memory", help="run counts for the PDF memory table, e.g. 5,30,100,500 (the first is the "
                                         "baseline)")
    args = parser.parse_args()
    if args.memory:
        memory_table([int(n) for n in args.memory.split(",")])
        return
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
