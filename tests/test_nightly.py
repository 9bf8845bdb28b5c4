"""The nightly index and digest never lose, hide or swap a report: failed runs stay listed, an empty
discovery is refused, the digest keeps the nightly settings, links point at what exists, and the
command line refuses what it cannot mean (issue #12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.lab.discover import discover

NOW = "2025-03-15T09:00:00"
BROKEN = "epoch,val_acc\n0,nan\n"


def tiny_run(folder: Path, name: str | None = None) -> Path:
    """A small run that renders quickly: 12 epochs of an accuracy and a loss."""
    folder.mkdir(parents=True)
    rows = "".join(f"{e},{0.30 + 0.02 * e:.3f},{2.0 - 0.1 * e:.3f}\n" for e in range(1, 13))
    (folder / "history.csv").write_text("epoch,val_acc,loss\n" + rows)
    if name:
        (folder / "run.toml").write_text(f'name = "{name}"\n')
    return folder


def nightly(command: str, root: Path, out: Path, *extra: str, now: str = NOW) -> int:
    return main([command, str(root), "--out", str(out), "--jobs", "1", "-q", "--now", now, *extra])


def test_failed_runs_come_first_in_index_and_digest_with_the_error_and_the_last_good_report(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    tiny_run(root / "beta")
    config = tmp_path / "lab.toml"  # the nightly settings, which the digest keeps too
    config.write_text('languages = ["en"]\nformats = ["md"]\n')
    common = ("--config", str(config))
    assert nightly("batch", root, out, *common, now="2025-03-14T09:00:00") == 0
    (root / "beta" / "history.csv").write_text(BROKEN)  # corrupted today
    assert nightly("digest", root, out, *common) == 1
    for name in ("index.md", "digest.en.md"):
        text = (out / name).read_text()
        assert "Failed in this batch" in text and "no finite values" in text, name
        assert "2025-03-14: [" in text and "(beta/report.en.md)" in text, name  # the stale report, with its date
        assert text.index("beta") < text.index("alpha"), name
    html = (out / "index.html").read_text()
    assert html.index('href="beta/report.en.md"') < html.index('href="alpha/report.en.md"')
    (root / "alpha" / "history.csv").write_text(BROKEN)  # every run fails (a full disk does this too)
    assert nightly("batch", root, out, *common, now="2025-03-16T09:00:00") == 1
    index = (out / "index.md").read_text()
    assert "(alpha/report.en.md)" in index and "(beta/report.en.md)" in index


def test_a_run_that_never_rendered_is_listed_without_a_link(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    (root / "gamma").mkdir()
    (root / "gamma" / "history.csv").write_text(BROKEN)
    assert nightly("batch", root, out, "--format", "md", "--lang", "en") == 1
    row = next(line for line in (out / "index.md").read_text().splitlines() if line.startswith("| gamma |"))
    assert row.endswith("| — |") and "no finite values" in row


@pytest.mark.parametrize("where", [("--glob", "nomatch*"), ("--depth", "0")])
def test_an_empty_discovery_refuses_and_keeps_the_index(tmp_path: Path, capsys, where: tuple[str, str]) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    assert nightly("batch", root, out, "--format", "md", "--lang", "en") == 0
    before = (out / "index.html").read_bytes()
    capsys.readouterr()
    assert nightly("batch", root, out, "--format", "md", "--lang", "en", *where) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(root) in err[0] and "no runs found" in err[0] and where[1] in err[0]
    assert (out / "index.html").read_bytes() == before


def test_the_digest_keeps_the_nightly_languages_and_formats(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    config = tmp_path / "lab.toml"
    config.write_text('languages = ["zh", "en"]\nformats = ["md", "html"]\n')
    assert nightly("batch", root, out, "--config", str(config)) == 0
    names = ("report.zh.md", "report.zh.html", "report.en.md", "report.en.html")
    before = {name: (out / "alpha" / name).read_bytes() for name in names}
    assert nightly("digest", root, out, "--config", str(config), "--format", "md", "--lang", "en") == 0
    assert {name: (out / "alpha" / name).read_bytes() for name in names} == before
    assert (out / "digest.en.md").is_file() and not (out / "digest.zh.md").exists()
    assert not (out / "digest.en.html").exists()


def test_the_index_links_only_rendered_reports_and_exists_in_each_language(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    assert nightly("batch", root, out, "--format", "md", "--lang", "en") == 0
    index = (out / "index.html").read_text()
    assert "report.zh." not in index and 'href="alpha/report.en.md"' in index
    assert (out / "index.en.html").read_bytes() == (out / "index.html").read_bytes()
    assert not (out / "index.zh.html").exists()
    assert nightly("batch", root, out, "--format", "md", "--lang", "zh,en") == 0
    assert (out / "index.zh.md").read_bytes() == (out / "index.md").read_bytes()
    english = (out / "index.en.md").read_text()
    assert english.startswith("# All runs") and "[中文](index.zh.md)" in english
    assert "[English](alpha/report.en.md)" in english and "[中文](alpha/report.zh.md)" in english
    assert 'href="index.en.html"' in (out / "index.zh.html").read_text()
    assert nightly("batch", root, out, "--format", "md", "--lang", "en") == 0
    assert not (out / "index.zh.md").exists() and not (out / "index.zh.html").exists()  # no stale index


def test_index_and_digest_use_the_labs_templates(tmp_path: Path) -> None:
    root, out, style = tmp_path / "runs", tmp_path / "out", tmp_path / "style"
    tiny_run(root / "alpha")
    (style / "partials").mkdir(parents=True)
    css = (ROOT / "templates" / "partials" / "report.css").read_text()
    (style / "partials" / "report.css").write_text("/* our lab's style */\n" + css)
    assert nightly("digest", root, out, "--format", "html", "--lang", "en", "--templates", str(style)) == 0
    assert "/* our lab's style */" in (out / "index.html").read_text()
    assert "/* our lab's style */" in (out / "digest.en.html").read_text()


def test_discovery_lists_a_run_once_through_symbolic_links_and_loops(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    tiny_run(root / "exp" / "seed0")
    (root / "exp" / "back").symlink_to(root, target_is_directory=True)  # a loop up to ROOT
    (root / "latest").symlink_to(root / "exp" / "seed0", target_is_directory=True)
    assert discover(root) == [root / "exp" / "seed0"]


def test_a_run_below_the_depth_is_named_in_one_warning(tmp_path: Path, caplog) -> None:
    root = tmp_path / "runs"
    tiny_run(root / "alpha")
    deep = tiny_run(root / "a" / "b" / "c" / "deep")
    assert discover(root, depth=3) == [root / "alpha"]
    lines = [r.getMessage() for r in caplog.records if "--depth" in r.getMessage()]
    assert lines == [f"{deep}: a run below --depth 3 was skipped; use --depth 4 to include it"]
    assert discover(root, depth=4) == [root / "a" / "b" / "c" / "deep", root / "alpha"]


def test_backtest_skips_an_unreadable_run_and_refuses_only_when_nothing_is_left(tmp_path: Path, capsys,
                                                                                caplog) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "history.csv").write_text("epoch,val_acc\n" + "".join(f"{e},{0.9 - 0.5 * (e + 1) ** -0.7:.4f}\n"
                                                                  for e in range(20)))
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "history.csv").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    assert main(["backtest", str(good), str(unreadable)]) == 0
    assert "unreadable" in caplog.text and "skipped" in caplog.text
    capsys.readouterr()
    assert main(["backtest", str(unreadable)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, key", [
    (["digest", "RUNS", "--since", "2026-02-30"], "--since"),
    (["batch", "RUNS", "--format", ""], "--format"),
    (["batch", "RUNS", "--lang", ""], "--lang"),
    (["report", "RUNS/alpha", "--format", ""], "--format"),
    (["report", "RUNS/alpha", "--lang", ""], "--lang"),
])
def test_an_impossible_date_or_an_empty_list_is_refused(tmp_path: Path, capsys, args: list[str], key: str) -> None:
    root = tmp_path / "runs"
    tiny_run(root / "alpha")
    argv = [a.replace("RUNS", str(root)) for a in args]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0]
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "reporter").exists() or shutil.which("make") is None,
                    reason="needs the project's virtualenv (make setup) and make")
def test_make_report_accepts_a_run_folder_with_spaces_and_parentheses(tmp_path: Path) -> None:
    run = tiny_run(tmp_path / "runs" / "my run (v2)")
    out = tmp_path / "out (tonight)"
    result = subprocess.run(["make", "-s", "-C", str(ROOT), "-o", ".venv/.installed", "report", f"RUN={run}",
                             f"OUT={out}", f"ARGS=--format md --lang en --now {NOW} -q"],
                            capture_output=True, text=True, env={**os.environ, "MAKEFLAGS": ""})
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.glob("*/report.en.md")] == ["report.en.md"]


def test_each_digest_page_names_its_run_and_id(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "seed0", name="ResNet on CIFAR")
    tiny_run(root / "seed1", name="ResNet on CIFAR")
    assert nightly("digest", root, out, "--format", "md,html", "--lang", "zh,en") == 0
    english = (out / "digest.en.md").read_text()
    assert "## ResNet on CIFAR (run seed0)" in english and "## ResNet on CIFAR (run seed1)" in english
    assert "## ResNet on CIFAR（运行 seed1）" in (out / "digest.zh.md").read_text()
    html = (out / "digest.en.html").read_text()
    assert "<h2>ResNet on CIFAR (run seed0)</h2>" in html and "string(run-title)" in html  # the PDF's page header


def test_the_index_says_what_its_count_counts(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    assert nightly("batch", root, out, "--lang", "en,zh", "--format", "md") == 0
    assert " · 1 run · " in (out / "index.en.html").read_text() and " · 1 个运行 · " in (out / "index.zh.html").read_text()


def test_a_failed_run_is_one_line_in_the_cron_mail(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    (root / "broken").mkdir()
    (root / "broken" / "history.csv").write_text("epoch,loss\n1,abc\n")
    done = subprocess.run([sys.executable, "-m", "reporter.cli", "batch", str(root), "--out", str(out), "--format", "md",
                           "--jobs", "1", "-q", "--now", NOW], capture_output=True, text=True)
    assert done.returncode == 1
    assert sum("broken" in line for line in done.stderr.splitlines()) == 1, done.stderr
