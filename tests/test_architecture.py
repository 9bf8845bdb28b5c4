"""The stage boundaries are checkable: analysis never imports rendering libraries or builds prose."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reporter"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_analysis_does_not_import_rendering_libraries() -> None:
    for path in (PACKAGE / "report" / "analysis").glob("*.py"):
        assert not imported_modules(path) & {"jinja2", "matplotlib", "weasyprint", "babel"}, path


def test_only_ingest_and_publish_open_files() -> None:
    allowed = {"report/ingest", "publish.py", "cli.py", "lab/batch.py", "lab/fingerprint.py", "lab/lock.py",
               "backtest_cli.py"}  # the edges: orchestration
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        if relative[0] in allowed or "/".join(relative[:2]) in allowed or "/".join(relative) in allowed or \
                relative[:2] == ("report", "render") and path.name == "environment.py":
            continue  # the environment reads templates and catalogs, which are code, not input
        text = path.read_text()
        for call in ("open(", ".read_text(", ".read_bytes(", ".write_text(", ".write_bytes("):
            assert call not in text.replace("urlopen(", "url("), f"{path}: {call}"  # delivery's HTTP is no file
