"""bench/table.py keeps working: `--quick` prints every row of issue 16's table (its ratios mean nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_table_prints_every_row_with_its_verdict() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "table.py"), "--quick"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and line.endswith(("PASS |", "MISS |"))]
    assert len(rows) == 5 and "failed" not in done.stdout, done.stdout
    assert all(" s, " in row and "MiB" in row for row in rows)
    assert "in a warm batch worker" in done.stdout and done.stdout.rstrip().endswith("×"), done.stdout
