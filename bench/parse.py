"""Parsing speed and peak memory: a 1,000,000-line UMC log and a 1,000,000-row CSV.

Each parse runs in a fresh process (so peak RSS is its own), against pandas.read_csv of the same CSV
in the same run: interleaved, medians of 3. Run: make bench, or .venv/bin/python bench/parse.py.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = """
import resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if kind == "pandas":
    import pandas as pd
    rows = len(pd.read_csv(path))
else:
    from reporter.report.ingest import history_frame
    from reporter.report.ingest.files import read_text
    from reporter.report.ingest.tabular import parse_csv
    from reporter.report.ingest.umc import parse_umc
    file = read_text(__import__("pathlib").Path(path))
    parsed = (parse_umc if kind == "umc" else parse_csv)(file)
    rows = len(history_frame(parsed, "bench")[0])
seconds = time.perf_counter() - start
print(f"{seconds:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} {rows}")
"""


def write_umc(path: Path, lines: int) -> None:
    rng = np.random.default_rng(0)
    with path.open("w") as handle:
        handle.write("==============================  Params ==============================\nlr: [0.0002]\n"
                     "thres: [0.03]\ndelta: [0.01]\n==============================  End Params ==============================\n")
        epoch = 0
        written = 5
        while written < lines:
            loss = 5.2 - 0.0001 * epoch + rng.normal(0, 0.001)
            handle.write(f"2024-06-20 10:00:00,124 - K-means used 1.05 s\n"
                         f"2024-06-20 10:00:00,124 - Minimum samples per class: 62\n"
                         f"2024-06-20 10:00:00,124 - ***** Epoch: {epoch + 1} *****\n"
                         f"2024-06-20 10:00:00,124 - Supervised Training Loss: {loss:f}\n"
                         f"2024-06-20 10:00:00,124 - Epoch {epoch}: Loss = {loss:.4f}, Recent losses: [{loss}]\n")
            written += 5
            epoch += 1


def write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    data = np.column_stack([np.arange(rows), rng.random((rows, 4))])
    np.savetxt(path, data, delimiter=",", header="epoch,loss,val_loss,acc,val_acc", comments="", fmt="%.6g")


def measure(kind: str, path: Path) -> tuple[float, float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True, check=True)
    seconds, megabytes, rows = out.stdout.split()
    return float(seconds), float(megabytes), int(rows)


def median_of(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """Median seconds and median peak memory of repeated runs (the machine may be shared)."""
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[0][2]


def main(repeat: int = 3) -> None:
    with tempfile.TemporaryDirectory() as folder:
        umc, table = Path(folder) / "train.log", Path(folder) / "history.csv"
        write_umc(umc, 1_000_000)
        write_csv(table, 1_000_000)
        runs: dict[str, list[tuple[float, float, int]]] = {"pandas": [], "csv": [], "umc": []}
        for _ in range(repeat):  # interleaved, so load on a shared machine falls on all three alike
            for kind, path in (("pandas", table), ("csv", table), ("umc", umc)):
                runs[kind].append(measure(kind, path))
        pandas, ours_csv, ours_umc = (median_of(runs[kind]) for kind in ("pandas", "csv", "umc"))
    print(f"pandas.read_csv, 1M rows x 5 cols: {pandas[0]:.2f} s, peak {pandas[1]:.0f} MiB")
    print(f"reporter CSV (long table, 4M values): {ours_csv[0]:.2f} s, peak {ours_csv[1]:.0f} MiB, "
          f"{ours_csv[0] / pandas[0]:.1f}x pandas")
    print(f"reporter UMC log, 1M lines ({ours_umc[2]:,} values): {ours_umc[0]:.2f} s, peak {ours_umc[1]:.0f} MiB, "
          f"{ours_umc[0] / pandas[0]:.1f}x pandas on the CSV")


if __name__ == "__main__":
    main()
