"""Bad and extreme inputs (issue #12): each gets a report with a finding (exit 0) or one clear line (exit 2),
never an internal error (exit 1). The corpus is tests/fixtures/bad-inputs/, written by its make_corpus.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest

from reporter.cli import main

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad-inputs"
NOW = "2025-03-15T09:00:00"


def codes(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f["params"] for f in summary["findings"]}


def diverged_at(epoch: float, key: str) -> Callable[[dict[str, Any]], bool]:
    return lambda s: codes(s).get("metric.diverged", {}).get("epoch") == epoch and \
        codes(s)["metric.diverged"]["key"] == key


def healthy_val_acc(s: dict[str, Any]) -> bool:
    return s["best"] == {"value": 0.4736, "epoch": 20.0} and "metric.improving" in codes(s)


CASES: list[tuple[str, list[str], int, Any]] = [
    ("huge-loss", [], 0, diverged_at(15.0, "loss")),
    ("overflow-inf", [], 0, diverged_at(18.0, "val_acc")),
    ("loss-at-float-limit", [], 0, healthy_val_acc),
    ("planned-1e19", [], 2, "planned_epochs: expected a positive integer up to 10,000,000"),
    ("max-epochs-1e20", [], 0, lambda s: s["run"]["planned_epochs"] is None and healthy_val_acc(s)),
    ("half-written-line", [], 0, lambda s: s["run"]["last_epoch"] == 20.0 and healthy_val_acc(s)),
    ("utf16-bom", [], 0, healthy_val_acc),
    ("utf8-bom", [], 0, healthy_val_acc),
    ("gbk-chinese-columns", [], 0, lambda s: s["primary_metric"]["name"] == "验证准确率" and healthy_val_acc(s)),
    ("chinese-metric-names", [], 0, lambda s: s["primary_metric"]["scale"] == "fraction"
     and all(0 <= p["low"] <= p["high"] <= 1 for p in s["projection"]["points"]) and s["projection"]["points"]),
    # an absurd thres/delta plan is ignored; the log's num_train_epochs (100) is the plan left
    ("umc-delta-1e-30", [], 0, lambda s: s["run"]["planned_epochs"] == 100 and "run.finished" in codes(s)),
    ("umc-delta-subnormal", [], 0, lambda s: s["run"]["planned_epochs"] == 100 and "run.finished" in codes(s)),
    ("nan-in-metric", [], 0, lambda s: s["run"]["status"] != "crashed"
     and codes(s)["metric.nan"] == {"key": "val_acc", "epochs": [10.0], "count": 1}),
    ("utf8-bom", ["--source", "../utf16-bom/history.csv"], 2, "--source '../utf16-bom/history.csv' points outside"),
]


@pytest.mark.parametrize(("case", "args", "status", "expect"), CASES,
                         ids=[c[0] + ("-" + c[1][0].strip("-") if c[1] else "") for c in CASES])
def test_bad_input_gets_a_report_or_one_line(case: str, args: list[str], status: int, expect: Any, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "runs" / case
    shutil.copytree(CORPUS, tmp_path / "runs", ignore=shutil.ignore_patterns("*.py"))
    out = tmp_path / "out"
    code = main(["report", str(run), "--out", str(out), "--format", "md,html", "--lang", "zh,en", "--now", NOW,
                 "--jobs", "1", "-q", *args])
    err = capsys.readouterr().err
    assert code == status, err
    if status == 2:
        assert len(err.strip().splitlines()) == 1 and expect in err, err
        assert not out.exists() or not any(out.iterdir())
        return
    summary = json.loads((out / case / "summary.json").read_text())
    assert expect(summary), json.dumps(summary, ensure_ascii=False)[:2000]
    for lang in ("zh", "en"):
        assert (out / case / f"report.{lang}.md").stat().st_size and (out / case / f"report.{lang}.html").stat().st_size


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_chinese_metric_names_in_a_pdf(tmp_path: Path) -> None:
    """Chinese keys end to end, PDF included: the metric's name appears in the report's text."""
    out = tmp_path / "out"
    assert main(["report", str(CORPUS / "chinese-metric-names"), "--out", str(out), "--format", "pdf", "--lang", "zh",
                 "--now", NOW, "--jobs", "1", "-q"]) == 0
    text = subprocess.run(["pdftotext", str(out / "chinese-metric-names" / "report.zh.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "验证准确率" in "".join(text.split())


@pytest.mark.parametrize("case", ["huge-loss", "overflow-inf", "loss-at-float-limit"])
def test_values_near_the_float_limit_add_no_numpy_warnings_to_the_cron_mail(case: str, tmp_path: Path) -> None:
    shutil.copytree(CORPUS / case, tmp_path / case)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert main(["report", str(tmp_path / case), "--out", str(tmp_path / "out"), "--format", "md", "--lang", "en",
                     "--now", NOW, "--jobs", "1", "-q"]) == 0


@pytest.mark.parametrize("header", ["epoch,loss,val_loss", "Wall time,Step,Value"])
def test_a_csv_whose_lines_end_in_a_lone_carriage_return_reads_like_one_ending_in_newlines(
        tmp_path: Path, header: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Old Mac exports end lines in \\r alone. Recognising the CSV's flavour read its header with csv.reader,
    which raised on the \\r: "internal error", exit 1. pandas reads such lines, so the report must too."""
    rows = [header] + [f"{1.7e9 + 60 * n if 'Wall' in header else n},{n if 'Wall' in header else 1 / (n + 1)},"
                       f"{1 / (n + 2):.4f}" for n in range(12)]
    reports = {}
    for name, end in (("newline", "\n"), ("return", "\r")):
        run = tmp_path / name
        run.mkdir()
        (run / "metrics.csv").write_bytes((end.join(rows) + end).encode())
        assert main(["report", str(run), "--out", str(tmp_path / "out"), "--format", "md", "--lang", "en", "-q",
                     "--now", "2026-12-01T12:00:00"]) == 0, capsys.readouterr().err
        text = (tmp_path / "out" / name / "report.en.md").read_text().replace("return", "newline")
        reports[name] = [line for line in text.splitlines() if "| metrics.csv |" not in line]  # the checksums
    assert reports["return"] == reports["newline"]
