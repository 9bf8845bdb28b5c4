"""Single-run report time against WeasyPrint alone rendering the same two HTML files.

Run: make bench. Each is timed in fresh processes (imports included), interleaved, `--repeat` times; the
medians and their ratios are printed. The issue 5 goal is a ratio of at most 1.5. `--jobs 1` is the work itself,
one language after the other; the default renders the second language in a forked process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import seconds

ROOT = Path(__file__).resolve().parent.parent
WEASYPRINT_ONLY = """
import sys
from weasyprint import HTML
from weasyprint.urls import URLFetcher
for path in sys.argv[1:]:
    HTML(string=open(path, encoding="utf-8").read(), url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per command (default: 3)")
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as out:
        report = [sys.executable, "-m", "reporter.cli", "report", str(ROOT / "examples/iemocap-da"), "--out", out, "-q"]
        seconds(report)  # writes the HTML WeasyPrint-alone renders, and warms the compiled-template cache
        pages = [str(Path(out) / "iemocap-da" / f"report.{lang}.html") for lang in ("zh", "en")]
        full, sequential, alone = [], [], []
        for _ in range(repeat):  # interleaved, so load on the shared machine falls on all three alike
            full.append(seconds(report))
            sequential.append(seconds([*report, "--jobs", "1"]))
            alone.append(seconds([sys.executable, "-c", WEASYPRINT_ONLY, *pages]))
    a, s, b = statistics.median(full), statistics.median(sequential), statistics.median(alone)
    print(f"WeasyPrint alone on the two HTML files: median {b:.2f} s")
    print(f"reporter report (zh+en, md+html+pdf), default: median {a:.2f} s, ratio {a / b:.2f}")
    print(f"reporter report --jobs 1 (languages in turn): median {s:.2f} s, ratio {s / b:.2f}")


if __name__ == "__main__":
    main()
