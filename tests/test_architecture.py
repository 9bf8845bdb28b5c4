"""The layers are checkable: no import runs back up the pipeline, and only the edges touch files.

The one-run pipeline (reporter.report) runs ingest -> analysis -> present -> render; each stage may use
the ones before it and the neutral base (model, errors, config, outstore, changes), never one after it.
The many-run layer (reporter.lab) sits on top of the report: it calls the pipeline and reads the
out-store. The research tooling (reporter.backtest) uses the projection and the readers and is off the
product path: nothing in report or lab imports it. The Python API (reporter.api, reporter.recorder) sits
on top of the report, and the training-loop callbacks (reporter.integrations) on top of the API: they
import only the API, the recorder and the errors, and nothing below imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reporter"

FORBIDDEN = {
    "reporter.report.analysis": ("reporter.report.ingest", "reporter.report.present", "reporter.report.render"),
    "reporter.report.ingest": ("reporter.report.analysis", "reporter.report.present", "reporter.report.render"),
    "reporter.report.present": ("reporter.report.render",),
    "reporter.report": ("reporter.lab", "reporter.backtest", "reporter.api", "reporter.recorder",
                        "reporter.integrations"),
    "reporter.backtest": ("reporter.lab",),
    "reporter.outstore": ("reporter.report", "reporter.lab", "reporter.backtest", "reporter.api", "reporter.recorder"),
    "reporter.recorder": ("reporter.report", "reporter.lab", "reporter.backtest", "reporter.outstore", "reporter.api"),
    "reporter.lab": ("reporter.api", "reporter.recorder", "reporter.integrations"),
    "reporter.api": ("reporter.lab", "reporter.integrations"),
    "reporter.integrations": ("reporter.report", "reporter.lab", "reporter.outstore", "reporter.backtest",
                              "reporter.cli", "reporter.model"),  # only the API, the recorder and the errors
    "reporter.model": ("reporter.report", "reporter.lab", "reporter.backtest", "reporter.outstore"),
    "reporter.changes": ("reporter.report", "reporter.lab", "reporter.backtest"),
}
"""Importer prefix -> the prefixes it must not import."""

LAB_ENTRIES = {
    "reporter.report.pipeline",  # make_report and ReportRequest: a batch makes one report per run
    "reporter.report.ingest",  # the package's face: load_run, load_settings, run ids and the readers' suffixes
    "reporter.report.analysis",  # the package's face: analyse, for the comparison of runs
    "reporter.report.present",  # stated_rules: the digest renders findings whose words quote the stated rules
    "reporter.report.series",  # pure series helpers
    "reporter.report.render.environment",  # the template environment every document of out/ is rendered with
    "reporter.report.render.pdf",  # the PDF printer, for the digest and the comparison
    "reporter.report.render.charts",  # the chart style, so the comparison's charts look like a report's
}
"""What reporter.lab may import from reporter.report: the pipeline's entry point and the public faces
it shares, never a stage's inner modules (ingest.tabular, analysis.findings, ...) and never a private name.
Everything else the lab knows about a run it reads from the out-store (reporter.outstore)."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every import in the file, at any depth (lazy imports in functions count).

    `from reporter.x import y` gives ("reporter.x.y", "") when y is a module, else ("reporter.x", "y").
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add((child, "") if child in MODULES else (node.module, alias.name))
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(importer: str, path: Path) -> list[str]:
    """Every import of `importer` that breaks a rule above, as 'importer -> module[.name]'."""
    found = []
    for module, name in sorted(imports(path)):
        target = f"{module}.{name}" if name else module
        if any(_within(importer, source) and any(_within(module, bad) for bad in banned)
               for source, banned in FORBIDDEN.items()):
            found.append(f"{importer} -> {target}")
        elif _within(importer, "reporter.lab") and _within(module, "reporter.report") and (
                module not in LAB_ENTRIES or name.startswith("_")):
            found.append(f"{importer} -> {target}")
    return found


def test_every_layer_is_checked() -> None:
    """A rule naming a package that no longer exists would pass silently."""
    prefixes = set(FORBIDDEN) | {bad for banned in FORBIDDEN.values() for bad in banned} | LAB_ENTRIES
    assert all(any(_within(module, prefix) for module in MODULES) for prefix in prefixes), prefixes


@pytest.mark.parametrize("importer", sorted(MODULES))
def test_no_import_runs_back_up_the_layers(importer: str) -> None:
    assert violations(importer, MODULES[importer]) == []


def test_analysis_does_not_import_rendering_libraries() -> None:
    for path in (PACKAGE / "report" / "analysis").glob("*.py"):
        assert not {module.split(".")[0] for module, _ in imports(path)} & {"jinja2", "matplotlib", "weasyprint",
                                                                             "babel"}, path


FILE_EDGES = {
    "reporter.outstore",  # the out/ layout, read and written
    "reporter.report.ingest",  # reading a run's inputs
    "reporter.report.render.environment",  # templates and catalogs, which are code, not input
    "reporter.report.reference",  # the published results and calibration bundled in reporter/data
    "reporter.cli",  # --config and the lab's settings file
    "reporter.lab.batch",  # the batch's --config, fingerprinted
    "reporter.lab.fingerprint",  # hashing a run's inputs to skip unchanged runs
    "reporter.lab.lock",  # the flock on out/.batch.lock (its path comes from the out-store)
    "reporter.backtest",  # research tooling: a curves corpus in, tables and plots out
    "reporter.recorder",  # a training script's history, params and status, written as it trains
    "reporter.integrations.training",  # starts the background render (Popen) and keeps its stderr in a temp file
}
"""The only modules that open, read or write files; everything else gets bytes or paths from them."""


def test_only_the_edges_open_files() -> None:
    for module, path in MODULES.items():
        if any(_within(module, edge) for edge in FILE_EDGES):
            continue
        text = path.read_text().replace("urlopen(", "url(")  # delivery's HTTP is no file
        for call in ("open(", ".read_text(", ".read_bytes(", ".write_text(", ".write_bytes(", ".unlink(",
                     ".mkdir(", ".rename(", "shutil."):
            assert call not in text, f"{path}: {call}"
