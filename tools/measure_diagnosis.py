"""Measure the diagnosis against a labelled set of real runs: precision and recall per finding code.

    python tools/measure_diagnosis.py [FOLDER] [-v]   (default: tests/fixtures/real-runs; -v lists every run)

FOLDER holds one directory per run and a labels.csv (run_id, label, also, ...) made by looking at the
plots before any rule ran. A code counts as predicted when the analysis emits it (any severity); a run
counts as positive for a code when its main label or one of its `also` labels is the code's label.
`healthy` is predicted when the verdict has no watch item from the diagnosis. Runs the reporter cannot read
are listed and left out of the table.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timezone
from pathlib import Path

from reporter.errors import ReporterError
from reporter.report.analysis import analyse
from reporter.report.ingest import load_run

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
CODES = {  # label in labels.csv -> the codes that say it
    "overfitting": ("fit.overfitting",),
    "generalization_gap": ("fit.generalization_gap",),
    "still_improving": ("fit.still_improving", "fit.underfitting"),
    "broken_eval": ("eval.constant",),
}
DIAGNOSIS = {code for codes in CODES.values() for code in codes}


def predictions(folder: Path) -> tuple[dict[str, set[str]], dict[str, set[str]], list[str]]:
    """Labels and predicted labels per run, and the runs that could not be read."""
    truth, said, unread = {}, {}, []
    with (folder / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            labels = {row["label"]} | {x for x in (row.get("also") or "").split(";") if x}
            try:
                analysis = analyse(load_run(folder / row["run_id"]), NOW)
            except ReporterError as exc:
                unread.append(f"{row['run_id']}: {exc}")
                continue
            truth[row["run_id"]] = labels
            said[row["run_id"]] = said_labels({f.code for f in analysis.findings})
    return truth, said, unread


def said_labels(found: set[str]) -> set[str]:
    """The labels a run's finding codes say; healthy when no diagnosis code but still_improving is among them."""
    return {label for label, codes in CODES.items() if set(codes) & found} or \
        ({"healthy"} if not found & DIAGNOSIS - {"fit.still_improving"} else set())


def counts(truth: dict[str, set[str]], said: dict[str, set[str]], label: str) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one label (tests/test_real_run_agreement.py
    holds the measured numbers as floors)."""
    tp = sum(1 for r in truth if label in truth[r] and label in said[r])
    fp = sum(1 for r in truth if label not in truth[r] and label in said[r])
    fn = sum(1 for r in truth if label in truth[r] and label not in said[r])
    return tp, fp, fn


def table(truth: dict[str, set[str]], said: dict[str, set[str]]) -> list[str]:
    lines = [f"{'label':<20} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7}"]
    for label in [*CODES, "healthy"]:
        tp, fp, fn = counts(truth, said, label)
        precision = f"{tp / (tp + fp):.2f}" if tp + fp else "—"
        recall = f"{tp / (tp + fn):.2f}" if tp + fn else "—"
        lines.append(f"{label:<20} {tp:>3} {fp:>3} {fn:>3} {precision:>9} {recall:>7}")
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
            mark = "" if truth[run] & said[run] else "  <-- differs"
            print(f"  {run:<40} labels {sorted(truth[run])} said {sorted(said[run])}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
