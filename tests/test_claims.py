"""Regressions for claims a report got wrong (issue #12): crashes, wrong statuses, unchecked checks."""

from __future__ import annotations

import shutil
from pathlib import Path

from reporter.cli import main
from conftest import ROOT

NOW = "2025-03-15T09:00:00"


def _copy_example(tmp_path: Path, name: str, toml_extra: str = "") -> Path:
    run = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, run)
    if toml_extra:
        toml = run / "run.toml"
        toml.write_text(toml_extra + "\n" + (toml.read_text() if toml.exists() else ""))
    return run


def _report(run: Path, out: Path, *extra: str) -> tuple[int, Path]:
    code = main(["report", str(run), "--out", str(out), "--now", NOW, "--format", "md,html", "-q", *extra])
    return code, out / run.name


def test_predictions_with_published_results_render_the_comparison(tmp_path: Path) -> None:
    run = _copy_example(tmp_path, "digits-kmeans", 'dataset = "IEMOCAP-DA"')
    code, folder = _report(run, tmp_path / "out")
    assert code == 0
    md = (folder / "report.en.md").read_text()
    assert "| NMI | 73.92 | 24.16 (UMC) |" in md
    assert "24.16 (UMC)" in (folder / "report.zh.html").read_text()
