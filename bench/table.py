"""Issue 16's table: each reporter task beside its baseline, timed in one run, with peak memory.

Every command runs in a fresh process (imports included), interleaved with the others `--repeat` times
so load on the shared machine falls on all alike; medians are printed with the ratio, the goal and
PASS/MISS. Peak memory is each child's ru_maxrss. `--quick` (one repeat, 5,000 rows, English, no PDF)
only checks that the script works: its ratios say nothing. Run: make bench, or python bench/table.py.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _timing import measured
from parse import measure, write_csv, write_umc
from report import ROOT, WEASYPRINT_ONLY

PANDAS_ONLY = "import sys, pandas; pandas.read_csv(sys.argv[1])"
WARM_REPORT = """
import statistics, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
from reporter.report.pipeline import ReportRequest, make_report, prepare
run, langs, formats, repeat = sys.argv[1], tuple(sys.argv[2].split(",")), tuple(sys.argv[3].split(",")), int(sys.argv[4])
with tempfile.TemporaryDirectory() as out:
    request = ReportRequest(run=run, out=Path(out), now=datetime.now(timezone.utc), languages=langs, formats=formats)
    prepare(request)
    make_report(request)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        make_report(request)
        times.append(time.perf_counter() - start)
print(statistics.median(times))
"""
"""One report after another in one process, as a batch worker makes them: the median seconds of one, with
imports, fonts and compiled templates already paid (`prepare` and a first report)."""
WARM_WEASYPRINT = """
import statistics, sys, time
from weasyprint import HTML
from weasyprint.urls import URLFetcher
repeat, pages = int(sys.argv[1]), [open(path, encoding="utf-8").read() for path in sys.argv[2:]]
def render():
    for page in pages:
        HTML(string=page, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
render()
times = []
for _ in range(repeat):
    start = time.perf_counter()
    render()
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""
"""WeasyPrint alone, warm the same way, on the report's HTML files: the median seconds of one pass over them."""
TIMEOUT = 600.0
"""A command still running after this many seconds is killed and its row shows MISS (failed), so the table
is always printed."""
FAILED = (math.nan, math.nan)
Sample = tuple[float, float]


@dataclass(frozen=True)
class Row:
    """One line of the table: the reporter task, its baseline and the goals on their ratios."""

    work: str
    ours: str
    baseline: str
    goal: float
    memory_goal: float | None = None


def _median(samples: list[Sample]) -> Sample:
    if any(math.isnan(s) for s, _ in samples):
        return FAILED
    return statistics.median(s for s, _ in samples), statistics.median(m for _, m in samples)


def _cell(sample: Sample) -> str:
    return "failed" if math.isnan(sample[0]) else f"{sample[0]:.2f} s, {sample[1]:.0f} MiB"


def _sample(command: list[str]) -> Sample:
    """Seconds and peak MiB of one run; FAILED when it fails or runs past TIMEOUT (its error is shown)."""
    try:
        return measured(command, TIMEOUT)
    except subprocess.CalledProcessError as exc:
        tail = (exc.output or b"").decode(errors="replace").strip().splitlines()[-1:]
        print(f"failed (exit {exc.returncode}): {' '.join(command[-8:])}: {' '.join(tail)}", file=sys.stderr)
        return FAILED


def _line(row: Row, samples: dict[str, list[Sample]]) -> str:
    ours, base = _median(samples[row.ours]), _median(samples[row.baseline])
    ratio, memory = ours[0] / base[0], ours[1] / base[1]
    met = ratio <= row.goal and (row.memory_goal is None or memory <= row.memory_goal)
    goal = f"≤ {row.goal:g}×" + (f", memory ≤ {row.memory_goal:g}×" if row.memory_goal else "")
    shown = f"{ratio:.2f}×" + (f", memory {memory:.2f}×" if row.memory_goal else "")
    return f"| {row.work} | {_cell(ours)} | {_cell(base)} | {shown} | {goal} | {'PASS' if met else 'MISS'} |"


def _warm_line(python: str, pages: list[str], langs: tuple[str, ...], formats: str, repeat: int) -> str:
    """What a nightly batch pays per run once its worker is warm, beside WeasyPrint warm on the same HTML:
    not one of the issue's rows, but the cost that 500 runs multiply (the fixed costs are paid once)."""
    ours = subprocess.run([python, "-c", WARM_REPORT, str(ROOT / "examples/iemocap-da"), ",".join(langs), formats,
                           str(repeat)], capture_output=True, text=True, check=True)
    base = subprocess.run([python, "-c", WARM_WEASYPRINT, str(repeat), *pages], capture_output=True, text=True,
                          check=True)
    report, alone = float(ours.stdout.split()[-1]), float(base.stdout.split()[-1])
    return (f"\nin a warm batch worker (imports, fonts, templates paid once), medians of {repeat}: one demo report "
            f"{report:.2f} s, WeasyPrint alone on its HTML {alone:.2f} s: {report / alone:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per command (default: 3)")
    parser.add_argument("--quick", action="store_true", help="one repeat, small inputs: checks the script runs")
    args = parser.parse_args()
    repeat, rows, langs, formats = (1, 5_000, ("en",), "md,html") if args.quick else \
        (args.repeat, 1_000_000, ("zh", "en"), "md,html,pdf")
    python = sys.executable
    samples: dict[str, list[Sample]] = {}
    with tempfile.TemporaryDirectory() as folder:
        out, history, log = Path(folder) / "out", Path(folder) / "history" / "history.csv", Path(folder) / "train.log"
        history.parent.mkdir()
        write_csv(history, rows)
        write_umc(log, rows)
        report = [python, "-m", "reporter.cli", "report", str(ROOT / "examples/iemocap-da"), "--out", str(out), "-q",
                  "--lang", ",".join(langs), "--format", formats]
        if not args.quick:
            measured(report)  # warms the compiled-template cache, as every report after the first finds it
        pages = [str(out / "iemocap-da" / f"report.{lang}.html") for lang in langs]
        commands = {
            "jobs1": [*report, "--jobs", "1"],
            "default": report,
            "weasyprint": [python, "-c", WEASYPRINT_ONLY, *pages],
            "long": [python, "-m", "reporter.cli", "report", str(history.parent), "--out", str(out), "-q",
                     "--lang", "en", "--format", "md", "--jobs", "1"],
            "read_csv": [python, "-c", PANDAS_ONLY, str(history)],
        }
        for _ in range(repeat):  # interleaved
            for name, command in commands.items():
                samples.setdefault(name, []).append(_sample(command))
            for kind, path in (("pandas", history), ("csv", history), ("umc", log)):
                seconds, megabytes, _ = measure(kind, path)
                samples.setdefault(f"parse_{kind}", []).append((seconds, megabytes))
        warm = _warm_line(python, pages, langs, formats, repeat)
    size = f"{rows:,}"
    table = (
        Row(f"demo report, {'+'.join(langs)}, {formats.replace(',', '+')}, `--jobs 1` / WeasyPrint alone on the same HTML",
            "jobs1", "weasyprint", 1.2),
        Row("same, default `--jobs` / WeasyPrint alone (1 process)", "default", "weasyprint", 1.0),
        Row(f"report of a {size}-row CSV history (md, en, `--jobs 1`) / `pandas.read_csv`", "long", "read_csv", 5.0),
        Row(f"parse a {size}-row CSV into the long table / `pandas.read_csv` (in-process)", "parse_csv",
            "parse_pandas", 2.0, 2.0),
        Row(f"parse a {size}-line UMC log into the long table / `pandas.read_csv` of the CSV", "parse_umc",
            "parse_pandas", 2.0, 2.0),
    )
    print(f"medians of {repeat}, interleaved; peak memory is each process's ru_maxrss")
    print("| work | reporter | baseline | ratio | goal | |\n|---|---|---|---|---|---|")
    for row in table:
        print(_line(row, samples))
    print(warm)


if __name__ == "__main__":
    main()
