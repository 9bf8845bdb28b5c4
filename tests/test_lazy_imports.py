"""The command line starts fast: --help loads none of the heavy libraries, and a report loads only those its
documents need (issue 16: imports were a second of every report and of every batch worker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"matplotlib", "pandas", "scipy", "sklearn", "weasyprint"}


def imported(*args: str) -> set[str]:
    """Top-level packages `python -X importtime *args` imported, read from its import log on stderr."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
            if line.startswith("import time:")}


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    code = "import sys, reporter.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert "reporter" in loaded and loaded & HEAVY == set()


@pytest.mark.parametrize("command", [["--help"], ["report", "--help"], ["batch", "--help"]])
def test_help_loads_no_heavy_library(command: list[str]) -> None:
    loaded = imported("-m", "reporter.cli", *command)
    assert "reporter" in loaded and loaded & HEAVY == set()


def test_a_markdown_and_html_report_loads_neither_weasyprint_nor_scikit_learn(tmp_path: Path) -> None:
    loaded = imported("-m", "reporter.cli", "report", str(ROOT / "examples/iemocap-da"), "--out", str(tmp_path),
                      "--format", "md,html", "--lang", "en", "-q")
    assert {"pandas", "matplotlib"} <= loaded and loaded & {"weasyprint", "sklearn"} == set()
