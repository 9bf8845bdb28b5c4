"""Run folders are untrusted: hostile strings stay text, PDF rendering fetches nothing, paths stay inside."""

from __future__ import annotations

import http.server
import re
import shutil
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.errors import ConfigError, HistoryError, UsageError
from reporter.outstore import run_directory
from reporter.report.ingest import load_run
from reporter.report.render.pdf import html_to_pdf

HOSTILE = ROOT / "tests" / "fixtures" / "hostile"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    assert main(["report", str(HOSTILE), "--out", str(out), "--now", "2025-03-15T09:00:00", "-q"]) == 0
    return out / "hostile"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_shows_hostile_strings_as_text(hostile: Path, lang: str) -> None:
    html = (hostile / f"report.{lang}.html").read_text()
    assert not re.search(r"<(script|img src=x|img src=http|b>|i>)", html)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # visible, not executed
    style = html[html.index("<style>"):html.index("</style>") + 8]
    assert style.count("</style>") == 1 and "<script" not in style  # the CSS header string did not break out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_keeps_hostile_strings_inert(hostile: Path, lang: str) -> None:
    md = (hostile / f"report.{lang}.md").read_text()
    assert not re.search(r"(?<!\\)<(script|img|b>|i>)", md)
    assert not re.search(r"(?<!\\)\]\(javascript:", md)
    assert "a\\|b" in md  # the label's | is escaped ...
    for table in re.findall(r"(?:^\|.*\n)+", md, flags=re.MULTILINE):
        pipes = {len(re.findall(r"(?<!\\)\|", row)) for row in table.splitlines()}
        assert len(pipes) == 1, table  # ... so every row of every table keeps its column count


def test_pdf_shows_the_text_and_every_glyph(hostile: Path) -> None:
    text = subprocess.run(["pdftotext", str(hostile / "report.en.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "<script>alert('x')</script>" in text and "🚀" in text


class Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"canary")

    def log_message(self, *args) -> None:
        pass


def test_pdf_rendering_fetches_nothing_from_network_or_disk() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    html = (f'<html><head><link rel="stylesheet" href="{url}/style.css"><style>@import "{url}/import.css";'
            f'@font-face {{ font-family: X; src: url({url}/font.woff); }} body {{ background: url({url}/bg.png); }}'
            f'</style></head><body><img src="{url}/img.png"><img src="file:///etc/passwd">'
            f'<iframe src="{url}/frame"></iframe><object data="file:///etc/hostname"></object><p style="font-family: X">'
            'x</p></body></html>')
    try:
        pdf, _ = html_to_pdf(html, datetime(2025, 1, 1, tzinfo=timezone.utc))
    finally:
        server.shutdown()
    assert Canary.hits == []
    assert b"root:" not in pdf


@pytest.mark.parametrize("toml, error", [
    ('[labels]\nfile = "../../../etc/passwd"\n', ConfigError),
    ('history = "/etc/passwd"\n', ConfigError),
])
def test_run_toml_paths_cannot_leave_the_run(tmp_path: Path, toml: str, error: type) -> None:
    (tmp_path / "history.csv").write_text("epoch,acc\n0,0.5\n1,0.6\n")
    (tmp_path / "run.toml").write_text(toml)
    with pytest.raises(error, match="outside the run directory"):
        load_run(str(tmp_path))


def test_symlink_pointing_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.tsv"
    outside.write_text("text\tlabel\nsecret\tx\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.csv").write_text("epoch,acc\n0,0.5\n1,0.6\n")
    (run / "labels.tsv").symlink_to(outside)
    (run / "run.toml").write_text('[labels]\nfile = "labels.tsv"\n')
    with pytest.raises(ConfigError, match="outside the run directory"):
        load_run(str(run))


@pytest.mark.parametrize("run_id", ["..", ".", "a/b", "../x", ""])
def test_run_ids_cannot_escape_out(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(UsageError):
        run_directory(tmp_path, run_id)


def test_run_folder_name_is_sanitised(tmp_path: Path) -> None:
    run = tmp_path / "we ird<name>;rm -rf"
    run.mkdir()
    (run / "history.csv").write_text("epoch,acc\n0,0.5\n1,0.6\n")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", load_run(str(run)).id)


@pytest.mark.parametrize("content, message", [
    ("epoch,acc\n0," + "9" * 200_000 + "\n", "characters"),
    ("epoch," + ",".join(f"c{i}" for i in range(12_000)) + "\n0" + ",1" * 12_000 + "\n", "columns"),
    ('{"epoch": 0, "acc": ' + "[" * 40_000 + "]" * 40_000 + "}\n", "invalid JSON"),
])
def test_input_sizes_are_bounded(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / ("h.jsonl" if content.startswith("{") else "h.csv")
    path.write_text(content)
    with pytest.raises(HistoryError, match=message):
        load_run(str(path))


def test_templates_are_code_and_data_is_never_a_template(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(HOSTILE, run)
    (run / "run.toml").write_text('name = "{{ 7 * 7 }} {% raw %}"\n')
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md", "-q"]) == 0
    md = (tmp_path / "out" / "run" / "report.en.md").read_text()
    assert "{{ 7 \\* 7 }}" in md and "49" not in md.splitlines()[0]


@pytest.mark.parametrize("run", ["hostile", "demo"])
def test_no_notdef_glyphs_in_any_pdf(hostile: Path, run: str, tmp_path: Path) -> None:
    """Fails on any WeasyPrint '.notdef' warning: every character has a glyph in the embedded fonts."""
    if run == "demo":
        assert main(["report", "examples/iemocap-da", "--out", str(tmp_path), "--format", "html", "-q"]) == 0
        folder = tmp_path / "iemocap-da"
    else:
        folder = hostile
    for lang in ("zh", "en"):
        _, missing = html_to_pdf((folder / f"report.{lang}.html").read_text(), datetime(2025, 1, 1, tzinfo=timezone.utc))
        assert missing == [], missing


def test_a_history_logged_every_step_gives_reports_of_bounded_size(tmp_path: Path) -> None:
    """Regression: 200,000 logged steps made 21 MB SVGs, 57 MB HTML and took 8 minutes and 7.8 GB."""
    import math

    run = tmp_path / "every-step"
    run.mkdir()
    rows = (f"{s},{0.9 - 0.8 * math.exp(-s / 9000) + 0.01 * math.sin(s):.5f},{2 * math.exp(-s / 6000):.5f}"
            for s in range(1, 60_001))
    (run / "metrics.csv").write_text("step,val_acc,loss\n" + "\n".join(rows) + "\n")
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md,html", "--lang", "en", "-q",
                 "--jobs", "1"]) == 0
    folder = tmp_path / "out" / "every-step"
    assert (folder / "report.en.html").stat().st_size < 400_000
    assert max(p.stat().st_size for p in (folder / "figures").glob("*.svg")) < 150_000
    summary = (folder / "summary.json").read_text()
    assert '"best": {' in summary and '"points": [' in summary
