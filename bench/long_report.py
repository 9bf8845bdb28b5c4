"""The report of a 1,000,000-row CSV history (md, en, --jobs 1) against pandas.read_csv of the same file.

Each runs in a fresh process, interleaved, medians of `--repeat` (a shared machine loads all alike).
The history is bench/parse.py's 1M-row CSV. Run: .venv/bin/python bench/long_report.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from parse import write_csv

PANDAS = "import sys, pandas; pandas.read_csv(sys.argv[1])"


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per command (default: 3)")
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        history = Path(folder) / "history.csv"
        write_csv(history, 1_000_000)
        report = [sys.executable, "-m", "reporter.cli", "report", str(history), "--out", str(Path(folder) / "out"),
                  "--lang", "en", "--format", "md", "--jobs", "1", "-q"]
        ours, pandas = [], []
        for _ in range(repeat):
            ours.append(seconds(report))
            pandas.append(seconds([sys.executable, "-c", PANDAS, str(history)]))
    a, b = statistics.median(ours), statistics.median(pandas)
    print(f"pandas.read_csv of a 1M-row CSV: median {b:.2f} s")
    print(f"reporter report of it (md, en, --jobs 1): median {a:.2f} s, ratio {a / b:.1f}")


if __name__ == "__main__":
    main()
