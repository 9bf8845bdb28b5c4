"""Measure the diagnosis against a labelled set of real runs: precision and recall per finding code.

    python tools/measure_diagnosis.py [FOLDER] [-v]   (default: tests/fixtures/real-runs; -v lists every run)

FOLDER holds one directory per run and a labels.csv (run_id, label, also, ...) made by looking at the
plots before any rule ran. A run counts as positive for a label when its main label or one of its `also` labels
is it. Each row of the table is one prediction measured against one label: a code (or a group of codes) counts
as predicted when the analysis emits it (any severity; the instability codes only as a warning, since an
info-level spike is the report saying the curve recovered), and `healthy` is predicted when the verdict the
report prints (summary.json `verdict`) is healthy. Codes no label speaks for (fit.underfitting, lr.*, time.*)
are listed with how often and on which runs they fire, for a reviewer to judge. Runs the reporter cannot read
are listed and left out. The table is Markdown, to paste into the issue.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timezone
from pathlib import Path

from reporter.errors import ReporterError
from reporter.model import Analysis, Severity
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
INSTABILITY = ("loss.spikes", "loss.diverging", "metric.unstable")
WARN_ONLY = frozenset(INSTABILITY)
"""Codes that count as predicted only at warning level or above."""
MEASURED = {  # row name -> (label in labels.csv, the codes that say it; "verdict" for the printed verdict)
    "fit.overfitting": ("overfitting", ("fit.overfitting",)),
    "fit.generalization_gap": ("generalization_gap", ("fit.generalization_gap",)),
    "fit.still_improving": ("still_improving", ("fit.still_improving",)),
    "fit.still_improving or fit.underfitting": ("still_improving", ("fit.still_improving", "fit.underfitting")),
    "eval.constant": ("broken_eval", ("eval.constant",)),
    "loss.spikes": ("unstable", ("loss.spikes",)),
    "loss.diverging": ("unstable", ("loss.diverging",)),
    "metric.unstable": ("unstable", ("metric.unstable",)),
    "any instability code": ("unstable", INSTABILITY),
    "verdict healthy": ("healthy", ("verdict",)),
}
UNLABELLED = ("fit.underfitting", "lr.", "time.")
"""Codes (or code prefixes) no label speaks for: their firing is listed, not scored."""


def predicted(analysis: Analysis) -> set[str]:
    """The codes a run counts as predicting, and "verdict" when the verdict it prints is healthy."""
    said = {f.code for f in analysis.findings if f.code not in WARN_ONLY or f.severity in (Severity.WARN, Severity.ERROR)}
    return said | ({"verdict"} if analysis.verdict == "healthy" else set())


def truth_of(row: dict[str, str]) -> set[str]:
    return {row["label"]} | {x for x in (row.get("also") or "").split(";") if x}


def predictions(folder: Path) -> tuple[dict[str, set[str]], dict[str, set[str]], list[str]]:
    """Labels and predicted codes per run, and the runs that could not be read."""
    truth, said, unread = {}, {}, []
    with (folder / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                analysis = analyse(load_run(folder / row["run_id"]), NOW)
            except ReporterError as exc:
                unread.append(f"{row['run_id']}: {exc}")
                continue
            truth[row["run_id"]] = truth_of(row)
            said[row["run_id"]] = predicted(analysis)
    return truth, said, unread


def counts(truth: dict[str, set[str]], said: dict[str, set[str]], row: str) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one row of MEASURED (tests/test_real_run_agreement.py
    holds the measured numbers as floors)."""
    label, codes = MEASURED[row]
    hit = {r for r in truth if set(codes) & said[r]}
    tp = sum(1 for r in truth if label in truth[r] and r in hit)
    fp = sum(1 for r in truth if label not in truth[r] and r in hit)
    fn = sum(1 for r in truth if label in truth[r] and r not in hit)
    return tp, fp, fn


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f} ({a}/{b})" if b else "—"


def table(truth: dict[str, set[str]], said: dict[str, set[str]]) -> list[str]:
    lines = ["| prediction | label | runs labelled | tp | fp | fn | precision | recall |", "|---|---|---|---|---|---|---|---|"]
    for row, (label, _) in MEASURED.items():
        tp, fp, fn = counts(truth, said, row)
        lines.append(f"| {row} | {label} | {tp + fn} | {tp} | {fp} | {fn} | {_ratio(tp, tp + fp)} | {_ratio(tp, tp + fn)} |")
    lines += ["", "| code (no label) | fires on | runs (their labels) |", "|---|---|---|"]
    for prefix in UNLABELLED:
        for code in sorted({c for r in said for c in said[r] if c.startswith(prefix)}):
            runs = sorted(r for r in said if code in said[r])
            listed = ", ".join(f"{r} ({'/'.join(sorted(truth[r]))})" for r in runs)
            lines.append(f"| {code} | {len(runs)} | {listed} |")
    return lines


def main(argv: list[str]) -> int:
    folders = [a for a in argv if not a.startswith("-")]
    folder = Path(folders[0]) if folders else ROOT / "tests" / "fixtures" / "real-runs"
    truth, said, unread = predictions(folder)
    print("\n".join(table(truth, said)))
    print(f"\n{len(truth)} runs measured, {len(unread)} unreadable")
    for line in unread:
        print("  unreadable:", line)
    if "-v" in argv:
        for run in sorted(truth):
            print(f"  {run:<40} labels {sorted(truth[run])} said {sorted(said[run])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
