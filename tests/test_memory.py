"""A nightly batch with PDFs keeps its worker's memory flat, whatever the number of runs (issue 21).

Not timed: it compares the peak memory of two batches that differ only in their number of runs. Before
the fix every PDF report left about 47 MB per language in reference cycles, so 15 more runs added
about 700 MB.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PEAK_OF_CHILDREN = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_mib(root: Path, out: Path) -> float:
    """The largest resident size (MiB) among the processes of one `--jobs 1` PDF batch."""
    command = [sys.executable, "-m", "reporter.cli", "batch", str(root), "--out", str(out), "--jobs", "1",
               "--lang", "en", "--format", "pdf", "-q", "--now", "2025-03-15T09:00:00"]
    done = subprocess.run([sys.executable, "-c", PEAK_OF_CHILDREN, *command], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1]) / 1024


def lab_of(root: Path, count: int) -> Path:
    for i in range(count):
        shutil.copytree(ROOT / "examples" / "keras-append", root / f"run{i:02d}")
    return root


def test_twenty_pdf_reports_in_one_worker_use_no_more_memory_than_five(tmp_path: Path) -> None:
    five = peak_mib(lab_of(tmp_path / "five", 5), tmp_path / "out5")
    twenty = peak_mib(lab_of(tmp_path / "twenty", 20), tmp_path / "out20")
    assert sorted(p.name for p in (tmp_path / "out20").iterdir() if p.name.startswith("run")) == \
        [f"run{i:02d}" for i in range(20)]
    assert twenty - five < 100, f"the worker grew by {twenty - five:.0f} MiB from 5 to 20 runs"


def test_every_run_is_reported_once_across_replaced_workers(tmp_path: Path, monkeypatch) -> None:
    """Workers are replaced every RUNS_PER_WORKER runs: no run may be lost or done twice at the seams."""
    import json

    from reporter.cli import main
    from reporter.lab import runners

    monkeypatch.setattr(runners, "RUNS_PER_WORKER", 2)
    root = tmp_path / "runs"
    for i in range(7):
        (root / f"run{i}").mkdir(parents=True)
        (root / f"run{i}" / "history.csv").write_text("epoch,loss,val_acc\n" + "".join(
            f"{e},{1 / (e + 1):.4f},{0.5 + e / 100:.4f}\n" for e in range(1, 9)))
    assert main(["batch", str(root), "--out", str(tmp_path / "out"), "--jobs", "2", "--format", "md", "--lang", "en",
                 "-q", "--now", "2025-03-15T09:00:00"]) == 0
    runs = json.loads((tmp_path / "out" / "batch.json").read_text())["runs"]
    assert sorted((r["run"], r["status"]) for r in runs) == [(f"run{i}", "rendered") for i in range(7)]
