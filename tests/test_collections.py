"""A report's process does not spend its time in the cyclic garbage collector walking the libraries it imported
(issue 16: 632 young and 5 full collections were about a tenth of the demo report's CPU)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTED = """
import gc, sys
from reporter.cli import main
counts = [0, 0, 0]
gc.callbacks.append(lambda phase, info: phase == "stop" and counts.__setitem__(info["generation"],
                                                                             counts[info["generation"]] + 1))
code = main(sys.argv[1:])
print(code, *counts)
"""


def test_a_report_runs_few_collections(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", COUNTED, "report", str(ROOT / "examples/iemocap-da"), "--out",
                           str(tmp_path), "--format", "md,html", "--lang", "en", "-q"],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    code, young, middle, full = map(int, done.stdout.split())
    assert code == 0 and young < 100 and middle + full < 10, done.stdout
