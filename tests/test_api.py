"""The public Python API (issue 18): its names are pinned, importing it is cheap, and it is the CLI's pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import reporter
from reporter.errors import HistoryError, UsageError
from tests.conftest import NOW

EXPORTED = [
    "Analysis", "ConfigError", "DatasetError", "HistoryError", "InputError", "OutputError", "Recorder",
    "RenderError", "ReportResult", "ReporterError", "Run", "UsageError", "__version__", "analyse", "load_run",
    "report",
]


def _run(folder: Path, values: list[float]) -> Path:
    folder.mkdir()
    lines = ["epoch,val_acc,loss"] + [f"{i},{v},{1 - v}" for i, v in enumerate(values)]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    (folder / "run.toml").write_text("planned_epochs = 8\n")
    return folder


def test_the_public_names_are_pinned() -> None:
    """Adding or removing a public name is a deliberate change to this list, as httpx pins its members."""
    assert sorted(reporter.__all__) == sorted(EXPORTED)
    assert all(hasattr(reporter, name) for name in EXPORTED)


def test_importing_reporter_loads_no_framework_and_no_heavy_stage() -> None:
    code = "import sys, reporter; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    heavy = {"torch", "transformers", "lightning", "pytorch_lightning", "keras", "tensorflow", "jax", "pandas",
             "numpy", "matplotlib", "jinja2", "weasyprint", "scipy", "sklearn", "yaml"}
    assert loaded & heavy == set()


def test_report_writes_the_documents_and_returns_what_the_summary_says(tmp_path: Path) -> None:
    run = _run(tmp_path / "exp1", [0.5, 0.6, 0.7, 0.65, 0.72])
    result = reporter.report(run, out=tmp_path / "out", languages=("en",), formats=("md",), now=NOW)
    assert [p.name for p in result.documents] == ["report.en.md"]
    assert all(p.exists() for p in result.paths)
    published = json.loads((tmp_path / "out" / "exp1" / "summary.json").read_text())
    assert result.summary == published and result.verdict == published["verdict"]
    assert result.summary["best"] == {"value": 0.72, "epoch": 4}


def test_analyse_and_load_run_give_the_typed_values(tmp_path: Path) -> None:
    run = _run(tmp_path / "exp1", [0.5, 0.6, 0.7])
    loaded = reporter.load_run(run)
    assert isinstance(loaded, reporter.Run) and loaded.plan is not None and loaded.plan.epochs == 8
    analysis = reporter.analyse(loaded, now=NOW)
    assert isinstance(analysis, reporter.Analysis)
    assert analysis.metric is not None and analysis.metric.best is not None
    assert analysis.metric.best.value == 0.7
    assert reporter.analyse(str(run), now=NOW).metric == analysis.metric


@pytest.mark.parametrize("call, message", [
    (lambda run, out: reporter.report(run, out, langs=("en",)), "unknown option 'langs'"),
    (lambda run, out: reporter.report(run, out, languages=("fr",)), "languages: unknown 'fr'"),
    (lambda run, out: reporter.analyse(run, mode="up"), "mode: expected 'max' or 'min'"),
])
def test_bad_options_are_one_usage_error_naming_them(tmp_path: Path, call, message: str) -> None:
    run = _run(tmp_path / "exp1", [0.5, 0.6])
    with pytest.raises(UsageError, match=message):
        call(run, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_errors_are_the_cli_tree(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(reporter.ReporterError):
        reporter.report(tmp_path / "missing", out=tmp_path / "out")
    with pytest.raises(HistoryError):
        reporter.load_run(tmp_path / "empty")


def test_the_pipeline_package_stays_importable_beside_the_report_call() -> None:
    """reporter.report is both the call and the package: `import reporter.report.render` still works."""
    import reporter.report.render

    assert callable(reporter.report) and reporter.report.render.__name__ == "reporter.report.render"
