"""End to end through the command line: all formats and languages, PDFs checked, bad input refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reporter.cli import main

DOCUMENTS = [f"report.{lang}.{fmt}" for lang in ("zh", "en") for fmt in ("md", "html", "pdf")]
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e")
    assert main(["report", "examples/iemocap-da", "--out", str(out), "--now", "2025-03-15T09:00:00", "-q"]) == 0
    return out / "iemocap-da"


def test_all_documents_and_figures_are_written(demo: Path) -> None:
    for name in DOCUMENTS + ["summary.json", "history/2025-03-15/summary.json"]:
        assert (demo / name).stat().st_size > 0, name
    assert {p.suffix for p in (demo / "figures").iterdir()} == {".png", ".svg"}
    md = (demo / "report.en.md").read_text()
    assert "](figures/metric.en.png)" in md and (demo / "figures/metric.en.png").exists()


@needs_poppler
@pytest.mark.parametrize("lang, expected", [
    ("zh", ["训练状态报告", "当前训练状态", "诊断检查清单", "38.6", "869.00", "24.16", "97", "第 1 页 / 共"]),
    ("en", ["Training status report", "Current state", "Diagnostic checklist", "38.6", "869.00", "24.16",
            "train+dev", "Page 1 of"]),
])
def test_pdf_text_has_headings_and_key_numbers(demo: Path, lang: str, expected: list[str]) -> None:
    text = subprocess.run(["pdftotext", "-layout", str(demo / f"report.{lang}.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    squeezed = "".join(text.split())  # pdftotext drops or adds spaces around CJK text
    for snippet in expected:
        assert "".join(snippet.split()) in squeezed, snippet


@needs_poppler
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_fonts_are_embedded_cjk(demo: Path, lang: str) -> None:
    fonts = subprocess.run(["pdffonts", str(demo / f"report.{lang}.pdf")], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the 'emb' column
    assert any("Noto-Sans-CJK-SC" in line for line in fonts)


def test_html_is_self_contained(demo: Path) -> None:
    html = (demo / "report.zh.html").read_text()
    assert '<html lang="zh-Hans">' in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert html.count('<img src="data:image/svg+xml;base64,') == 3


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name, content, target, message", [
    (None, None, "missing", "no such run"),
    ("empty.log", b"", "empty.log", "empty"),
    ("junk.csv", b"\x00\xff\x00garbage", "junk.csv", "binary"),
    ("h.csv", b"a,b\n1,2\n", "h.csv", "no epoch/step column"),
    ("truncated.json", b'[{"epoch": 1, "acc": 0.5}, {"ep', "truncated.json", "truncated"),
    ("notes.txt", b"hello\n", ".", "no training history found"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys, name, content, target,
                                                            message) -> None:
    if name:
        (tmp_path / name).write_bytes(content)
    target = tmp_path / target
    out = tmp_path / "out"
    code, err = run_cli(["report", str(target), "--out", str(out)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_unreadable_label_file_names_it_and_keeps_the_previous_report(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree("examples/iemocap-da", run)
    out = tmp_path / "out"
    assert main(["report", str(run), "--out", str(out), "--format", "md", "-q"]) == 0
    before = (out / "run" / "report.en.md").read_bytes()
    (run / "data" / "train_dev.tsv").write_text("")
    code, err = run_cli(["report", str(run), "--out", str(out), "--format", "md"], capsys)
    assert code == 2 and "train_dev.tsv" in err and "empty" in err
    assert (out / "run" / "report.en.md").read_bytes() == before


def test_invalid_run_toml_lists_every_problem(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    shutil.copytree("examples/iemocap-da", run)
    (run / "run.toml").write_text('nmae = "x"\nplanned_epochs = -5\n[metric]\nmode = "up"\n')
    code, err = run_cli(["report", str(run), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "unknown key (did you mean 'name'?)" in err and "planned_epochs: expected a positive integer" in err
    assert "metric.mode" in err


def test_bad_flags_are_usage_errors(capsys) -> None:
    code, err = run_cli(["report", "examples/iemocap-da", "--lang", "fr", "--project-to", "x"], capsys)
    assert code == 2 and "--lang" in err and "--project-to" in err


def test_run_id_is_looked_up_under_the_runs_root(tmp_path: Path, capsys) -> None:
    shutil.copytree("examples/iemocap-da", tmp_path / "runs" / "demo")
    (tmp_path / "lab.toml").write_text(f'runs_root = "{tmp_path / "runs"}"\n')
    assert main(["report", "demo", "--config", str(tmp_path / "lab.toml"), "--out", str(tmp_path / "out"),
                 "--format", "md", "-q"]) == 0
    assert (tmp_path / "out" / "demo" / "report.zh.md").exists()


def test_templates_folder_overrides_the_stylesheet_and_keeps_the_rest(tmp_path: Path) -> None:
    style = tmp_path / "lab-style" / "partials"
    style.mkdir(parents=True)
    builtin = Path("templates/partials/report.css").read_text()
    (style / "report.css").write_text(builtin.replace("--accent: #1f5fa8", "--accent: #7a1fa8 /* lab */"))
    assert main(["report", "examples/iemocap-da", "--out", str(tmp_path / "out"), "--format", "html", "-q",
                 "--templates", str(tmp_path / "lab-style")]) == 0
    html = (tmp_path / "out" / "iemocap-da" / "report.en.html").read_text()
    assert "--accent: #7a1fa8 /* lab */" in html and "Diagnostic checklist" in html


def test_languages_rendered_side_by_side_equal_those_rendered_in_turn(tmp_path: Path) -> None:
    written = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        assert main(["report", "examples/iemocap-da", "--out", str(out), "--now", "2025-03-15T09:00:00", "-q",
                     "--jobs", jobs]) == 0
        folder = out / "iemocap-da"
        written[jobs] = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert written["1"].keys() == written["2"].keys() and len(written["1"]) == 21  # with .source
    assert [name for name in written["1"] if written["1"][name] != written["2"][name]] == []


def test_a_failure_in_the_forked_language_fails_the_report_and_writes_nothing(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "lab-style"
    broken.mkdir()
    builtin = Path("templates/report.html.j2").read_text()
    (broken / "report.html.j2").write_text("{% if lang == 'en' %}{{ no_such_value }}{% endif %}" + builtin)
    code, err = run_cli(["report", "examples/iemocap-da", "--out", str(tmp_path / "out"), "--jobs", "2",
                         "--templates", str(broken)], capsys)
    assert code != 0 and "no_such_value" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_history_indexed_by_steps_is_described_in_steps(tmp_path: Path) -> None:
    run = tmp_path / "steps"
    run.mkdir()
    rows = [f"{step},{0.5 + 0.4 * (1 - 0.97 ** (step / 50)):.4f}" for step in range(50, 2050, 50)]
    (run / "metrics.csv").write_text("step,val_acc\n" + "\n".join(rows) + "\n")
    assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md", "-q",
                 "--now", "2025-03-15T09:00:00"]) == 0
    en = (tmp_path / "out" / "steps" / "report.en.md").read_text()
    zh = (tmp_path / "out" / "steps" / "report.zh.md").read_text()
    assert "| Step of best | 2,000 |" in en and "| Last step | 2,000 |" in en and "| Step | Low |" in en
    assert "per 1,000 steps" in en and "Epoch of best" not in en
    assert "| 最佳值所在步 |" in zh and "每 1,000 步" in zh
    summary = json.loads((tmp_path / "out" / "steps" / "summary.json").read_text())
    assert summary["run"]["x_unit"] == "step"
    trend = next(f for f in summary["findings"] if f["code"] == "metric.improving")
    assert trend["params"]["slope_per"] == "1000 steps"


def test_a_failure_in_the_first_language_stops_the_forked_one_and_exits(tmp_path: Path) -> None:
    broken = tmp_path / "lab-style"
    broken.mkdir()
    builtin = Path("templates/report.html.j2").read_text()
    (broken / "report.html.j2").write_text("{% if lang == 'zh' %}{{ no_such_value }}{% endif %}" + builtin)
    done = subprocess.run([sys.executable, "-m", "reporter.cli", "report", "examples/iemocap-da", "--out",
                           str(tmp_path / "out"), "--jobs", "2", "--templates", str(broken)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "no_such_value" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_killed_language_process_gives_one_line_and_writes_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    import os
    import signal

    import reporter.report.render

    monkeypatch.setattr(reporter.report.render, "_render_in_child", lambda *_: os.kill(os.getpid(), signal.SIGKILL))
    code, err = run_cli(["report", "examples/iemocap-da", "--out", str(tmp_path / "out"), "--jobs", "2"], capsys)
    assert code == 2 and "'en' report ended without a result" in err and "--jobs 1" in err
    assert not (tmp_path / "out").exists()


@needs_poppler
def test_a_long_metric_key_wraps_inside_the_pdf_page(tmp_path: Path) -> None:
    """Keys of 80 characters, unbroken by spaces, ran the key-metrics table and the findings past the right margin
    and off the A4 page, cut off mid-word for a reader of the PDF."""
    import re

    key = "training_cross_entropy_loss_with_label_smoothing_and_auxiliary_distillation_term"
    rows = "".join(f"{e},{1 / (e + 1)},{1.1 / (e + 1)},{0.5 + e / 100}\n" for e in range(30))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.csv").write_text(f"epoch,{key},val_{key},val_accuracy\n" + rows)
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--lang", "en", "--format", "pdf",
                 "--now", "2026-12-01T12:00:00", "-q"]) == 0
    boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "out" / "run" / "report.en.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    right_margin = 16 / 25.4 * 72  # the stylesheet's @page margin, 16 mm
    assert max(float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)) <= page_width - right_margin + 0.5
