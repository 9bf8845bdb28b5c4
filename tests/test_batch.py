"""The nightly job: discovery, incremental skip and invalidation, the lock, failures, index, changes."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ROOT

from reporter.cli import main
from reporter.errors import UsageError
from reporter.lab.discover import discover
from reporter.lab.lock import Lock

EXAMPLES = ROOT / "examples"


def test_discovery_finds_each_example_once_without_descending_into_runs() -> None:
    found = [p.relative_to(EXAMPLES).as_posix() for p in discover(EXAMPLES)]
    single = {p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith("compare-")}
    seeds = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.glob("compare-*/*/*") if p.is_dir()}  # groups of runs
    assert sorted(found) == sorted(single | seeds)


def test_discovery_keeps_only_runs_matching_the_glob(tmp_path: Path) -> None:
    for name in ("umc/seed0", "umc/seed1", "fer/seed0", "fer/other"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "history.csv").write_text("epoch,acc\n1,0.1\n")
    assert {p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, pattern="seed*")} == \
        {"umc/seed0", "umc/seed1", "fer/seed0"}
    assert {p.relative_to(tmp_path).as_posix() for p in discover(tmp_path, pattern="umc/*")} == {"umc/seed0", "umc/seed1"}
    assert len(discover(tmp_path)) == 4


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    for name in ("iemocap-da", "umc-original", "fer-running"):
        shutil.copytree(EXAMPLES / name, root / name)
    return root


def batch(root: Path, out: Path, *extra: str) -> dict:
    code = main(["batch", str(root), "--out", str(out), "--format", "md", "--jobs", "2", "-q",
                 "--now", "2025-03-15T09:00:00", *extra])
    data = json.loads((out / "batch.json").read_text())
    return {r["run"]: r["status"] for r in data["runs"]} | {"_code": code}


def test_incremental_skip_and_invalidation(lab: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert batch(lab, out) == {"iemocap-da": "rendered", "umc-original": "rendered", "fer-running": "rendered",
                               "_code": 0}
    assert batch(lab, out) == {"iemocap-da": "skipped", "umc-original": "skipped", "fer-running": "skipped",
                               "_code": 0}
    # A run whose status depends on time ('unknown' may become 'stalled') is judged again the next day.
    next_day = main(["batch", str(lab), "--out", str(out), "--format", "md", "-q", "--now", "2025-03-16T09:00:00"])
    statuses = {r["run"]: r["status"] for r in json.loads((out / "batch.json").read_text())["runs"]}
    assert next_day == 0 and statuses == {"iemocap-da": "skipped", "umc-original": "skipped", "fer-running": "rendered"}
    (lab / "umc-original" / "train.log").touch()  # mtime only: content hash unchanged
    assert batch(lab, out)["umc-original"] == "skipped"
    with (lab / "umc-original" / "train.log").open("a") as handle:
        handle.write("2024-06-20 10:13:00,000 - Testing is finished...\n")
    assert batch(lab, out)["umc-original"] == "rendered"
    styles = tmp_path / "style" / "partials"
    styles.mkdir(parents=True)
    shutil.copy(ROOT / "templates" / "partials" / "report.css", styles / "report.css")
    assert batch(lab, out, "--templates", str(tmp_path / "style"))["iemocap-da"] == "rendered"
    assert batch(lab, out, "--force")["iemocap-da"] == "rendered"


def test_one_bad_run_does_not_stop_the_others(lab: Path, tmp_path: Path, capsys) -> None:
    (lab / "broken").mkdir()
    (lab / "broken" / "history.csv").write_text("epoch,acc\n0,nan\n")
    result = batch(lab, tmp_path / "out")
    assert result["broken"] == "failed" and result["iemocap-da"] == "rendered" and result["_code"] == 1
    assert "broken: " in capsys.readouterr().err
    index = (tmp_path / "out" / "index.html").read_text()
    assert "iemocap-da/report.zh.md" in index and index.index("broken") < index.index("iemocap-da")


def test_a_broken_lab_template_fails_each_run_in_its_line_not_the_batch_up_front(lab: Path, tmp_path: Path) -> None:
    """The batch renders nothing itself but warms up its workers' templates first: a broken one stays each run's
    failure, named with its file, as when every worker found it alone."""
    partials = tmp_path / "mine" / "partials"
    partials.mkdir(parents=True)
    (partials / "chart_labels.j2").write_text("{% set labels = {\n")
    result = batch(lab, tmp_path / "out", "--templates", str(tmp_path / "mine"))
    assert result == {"iemocap-da": "failed", "umc-original": "failed", "fer-running": "failed", "_code": 1}
    errors = [r["error"] for r in json.loads((tmp_path / "out" / "batch.json").read_text())["runs"]]
    assert all("chart_labels.j2" in error for error in errors)


def test_a_second_batch_on_the_same_out_refuses(lab: Path, tmp_path: Path) -> None:
    with Lock(tmp_path / "out"):
        with pytest.raises(UsageError, match="another batch is running"):
            with Lock(tmp_path / "out"):
                pass
    with Lock(tmp_path / "out"):  # released: usable again
        pass


def test_index_puts_problems_first(lab: Path, tmp_path: Path) -> None:
    batch(lab, tmp_path / "out")
    index = (tmp_path / "out" / "index.md").read_text()
    assert index.index("UMC (fork)") < index.index("FER CNN")  # stopped early before unknown/finished


def test_since_the_last_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for day in ("2025-03-14", "2025-03-15"):
        assert main(["report", "examples/fer-running", "--out", str(out), "--format", "md", "-q",
                     "--now", f"{day}T09:00:00"]) == 0
    text = (out / "fer-running" / "report.en.md").read_text()
    assert "Compared with the report of 2025-03-14" in text and "Epochs gained: 0." in text
    first = tmp_path / "first"
    assert main(["report", "examples/fer-running", "--out", str(first), "--format", "md", "-q"]) == 0
    assert "This is the first report of this run." in (first / "fer-running" / "report.en.md").read_text()


EXPECTED_FILES = ("report.zh.md", "report.en.md", "summary.json")


def complete(report: Path) -> bool:
    return all((report / name).is_file() for name in EXPECTED_FILES) and \
        json.loads((report / "summary.json").read_text())["schema"] == 1


def test_kill_9_at_any_moment_leaves_complete_reports_and_a_rerun_finishes(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "runs"
    for i in range(8):
        shutil.copytree(EXAMPLES / "fer-running", root / f"run{i}")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "reporter.cli", "batch", str(root), "--out", str(out), "--format", "md",
               "--jobs", "2", "-q", "--force"]
    for delay in (0.8, 1.6, 2.4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)  # the batch and its worker processes
        process.wait()
        for report in out.glob("run*"):
            assert complete(report), report  # the previous complete report or the new one, never a mix
    assert subprocess.run(command[:-1], capture_output=True).returncode == 0  # no stale lock, work finished
    assert all(complete(out / f"run{i}") for i in range(8))


def test_the_same_work_on_a_dask_cluster(lab: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    from reporter.lab.batch import run_batch
    from reporter.report.pipeline import ReportRequest

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        request = ReportRequest(run=str(lab), out=tmp_path / "out", now=datetime(2025, 3, 15, tzinfo=timezone.utc),
                                formats=("md",))
        results = run_batch(lab, request, jobs=1, scheduler=cluster.scheduler_address)
    assert {r.run: r.status for r in results} == {"iemocap-da": "rendered", "umc-original": "rendered",
                                                  "fer-running": "rendered"}
    assert complete(tmp_path / "out" / "iemocap-da")


def test_unreachable_scheduler_is_one_clear_line(lab: Path, tmp_path: Path, capsys) -> None:
    assert main(["batch", str(lab), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_digest_groups_seeds_and_reports_changes_since_the_meeting(lab: Path, tmp_path: Path) -> None:
    seed1 = lab / "umc-original-seed1"
    shutil.copytree(lab / "umc-original", seed1)
    log = (seed1 / "train.log").read_text().replace("seed: 0", "seed: 1").replace("NMI = 24.16", "NMI = 23.80")
    (seed1 / "train.log").write_text(log)
    out = tmp_path / "out"
    common = ["--out", str(out), "--format", "md,html", "--lang", "en", "-q"]
    assert main(["digest", str(lab), *common, "--now", "2025-03-08T09:00:00"]) == 0
    with (lab / "fer-running" / "training_history.csv").open("a") as handle:
        handle.write("31,0.6,1.0,0.6025,1.05\n")
    assert main(["digest", str(lab), *common, "--now", "2025-03-15T09:00:00", "--since", "2025-03-08"]) == 0
    digest = (out / "digest.en.md").read_text()
    assert "umc-original, umc-original-seed1 | test\\_nmi | 23.9800 ± 0.2546" in digest
    assert "Since 2025-03-08: best 0.5991 → 0.6025, 1 epochs gained" in digest
    html = (out / "digest.en.html").read_text()
    assert html.count("<section class=\"run\">") == 4 and html.count("data:image/svg+xml;base64,") == 4


def test_since_the_last_report_names_new_and_resolved_findings_in_words(tmp_path: Path) -> None:
    run, out = tmp_path / "run", tmp_path / "out"
    run.mkdir()
    rows = [f"{epoch},{0.30 + 0.02 * epoch:.3f},{2.0 - 0.1 * epoch:.3f}" for epoch in range(1, 13)]
    for day, logged in (("2025-03-14", 3), ("2025-03-15", 12)):
        (run / "history.csv").write_text("epoch,val_acc,loss\n" + "\n".join(rows[:logged]) + "\n")
        assert main(["report", str(run), "--out", str(out), "--format", "md", "-q", "--now", f"{day}T09:00:00"]) == 0
    text = (out / "run" / "report.en.md").read_text()
    line = next(line for line in text.splitlines() if line.startswith("- New findings:"))
    assert "metric improving; " in line and "Resolved: too few points for a trend" in line
    assert "metric." not in line
    assert "新发现：" in (out / "run" / "report.zh.md").read_text()


def test_index_marks_progress_counted_in_steps(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "steps"
    run.mkdir(parents=True)
    (run / "metrics.csv").write_text("step,val_acc\n" + "\n".join(f"{s},{0.1 + s / 10000}" for s in range(100, 1100, 100)))
    assert main(["batch", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--format", "md", "--lang", "en",
                 "-q", "--now", "2025-03-15T09:00:00"]) == 0
    assert "| step 1,000 / — |" in (tmp_path / "out" / "index.md").read_text()
