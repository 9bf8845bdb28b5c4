"""The out-store (issue 12): unique run ids, concurrent writers, processes that die with their parent,
and environment problems (read-only or full out/, a lab's broken template) reported as such."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, remount

import reporter.outstore
from reporter.cli import main
from reporter.report.ingest import run_id_for

NOW = "2025-03-15T09:00:00"


def make_run(folder: Path, epochs: int = 8) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(f"{e},{0.30 + 0.01 * e:.3f}" for e in range(1, epochs + 1))
    (folder / "history.csv").write_text("epoch,val_acc\n" + rows + "\n")
    return folder


def report(run: Path, out: Path, *extra: str) -> int:
    return main(["report", str(run), "--out", str(out), "--format", "md", "--lang", "en", "-q", "--now", NOW, *extra])


def batch(root: Path, out: Path) -> dict[str, dict]:
    main(["batch", str(root), "--out", str(out), "--format", "md", "--lang", "en", "--jobs", "2", "-q", "--now", NOW])
    return {r["path"]: r for r in json.loads((out / "batch.json").read_text())["runs"]}


# --- run ids -------------------------------------------------------------------------------------------


def test_runs_sharing_a_folder_name_get_their_own_reports(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    make_run(root / "expA" / "seed0", epochs=5)
    make_run(root / "expB" / "seed0", epochs=9)
    results = batch(root, out)
    assert {r["run"]: r["status"] for r in results.values()} == {"expA-seed0": "rendered", "expB-seed0": "rendered"}
    last = {run_id: json.loads((out / run_id / "summary.json").read_text())["run"]["last_epoch"]
            for run_id in ("expA-seed0", "expB-seed0")}
    assert last == {"expA-seed0": 5, "expB-seed0": 9}
    index = (out / "index.html").read_text()
    assert "expA-seed0/report.en." in index and "expB-seed0/report.en." in index


def test_chinese_folder_names_keep_distinct_safe_ids_and_their_real_names(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    for name in ("实验一", "实验二"):
        make_run(root / name)
    ids = {run_id_for(root / name, root) for name in ("实验一", "实验二")}
    assert len(ids) == 2 and "run" not in ids
    assert all(i.startswith("run-") and i.isascii() and len(i) == len("run-") + 8 for i in ids)
    assert run_id_for(root / "实验一", root) == run_id_for(root / "实验一", root)  # stable: the same every night
    assert run_id_for(make_run(root / "实验三" / "seed0"), root).startswith("seed0-")
    results = batch(root, out)
    assert sorted(r["status"] for r in results.values()) == ["rendered"] * 3
    names = {json.loads((out / r["run"] / "summary.json").read_text())["run"]["name"] for r in results.values()}
    assert names == {"实验一", "实验二", "seed0"}


def test_report_spells_the_id_from_the_runs_root_as_the_batch_does(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    make_run(root / "expA" / "seed0")
    (tmp_path / "lab.toml").write_text(f'runs_root = "{root}"\n')
    assert report(root / "expA" / "seed0", out, "--config", str(tmp_path / "lab.toml")) == 0
    assert [r["run"] for r in batch(root, out).values()] == ["expA-seed0"]
    assert json.loads((out / "expA-seed0" / "summary.json").read_text())["run"]["id"] == "expA-seed0"


def test_the_demo_keeps_its_id(tmp_path: Path) -> None:
    assert run_id_for(ROOT / "examples" / "iemocap-da") == "iemocap-da"
    assert run_id_for(ROOT / "examples" / "iemocap-da", ROOT / "examples") == "iemocap-da"


def test_a_batch_refuses_two_folders_that_would_share_an_id_naming_both(tmp_path: Path, capsys) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    nested, flat = make_run(root / "expA" / "seed0"), make_run(root / "expA-seed0")
    make_run(root / "other")
    results = batch(root, out)
    for folder in (nested, flat):
        line = results[str(folder)]
        assert line["status"] == "failed" and str(nested) in line["error"] and str(flat) in line["error"]
    assert results[str(root / "other")]["status"] == "rendered"
    assert not (out / "expA-seed0").exists()
    assert str(nested) in capsys.readouterr().err


def test_report_into_a_shared_out_refuses_another_runs_folder_naming_both(tmp_path: Path, capsys) -> None:
    first, second, out = make_run(tmp_path / "a" / "seed0", 5), make_run(tmp_path / "b" / "seed0", 9), tmp_path / "out"
    assert report(first, out) == 0
    capsys.readouterr()
    assert report(second, out) == 2
    err = capsys.readouterr().err
    assert str(first) in err and str(second) in err and len(err.strip().splitlines()) == 1
    assert json.loads((out / "seed0" / "summary.json").read_text())["run"]["last_epoch"] == 5
    assert report(first, out) == 0  # its own folder may always replace its report


# --- concurrent writers --------------------------------------------------------------------------------


def test_a_publish_waits_for_another_writer_of_the_same_run(tmp_path: Path, monkeypatch) -> None:
    """Writer B arrives while writer A is half-way through its files: B must not delete A's version."""
    run, out = make_run(tmp_path / "run"), tmp_path / "out"
    assert report(run, out) == 0
    real_write = reporter.outstore.write_atomic
    codes: dict[str, int] = {}
    writer_b = threading.Thread(target=lambda: codes.__setitem__("B", report(run, out)), name="B")

    def slow_write(path: Path, data: bytes) -> None:
        real_write(path, data)
        if threading.current_thread().name == "A" and path.name == "report.en.md" and not writer_b.is_alive():
            writer_b.start()
            writer_b.join(timeout=1.5)  # B publishes now, or waits for A's lock: either way A goes on after

    monkeypatch.setattr(reporter.outstore, "write_atomic", slow_write)
    writer_a = threading.Thread(target=lambda: codes.__setitem__("A", report(run, out)), name="A")
    writer_a.start()
    writer_a.join(60)
    writer_b.join(60)
    assert codes == {"A": 0, "B": 0}
    folder = out / "run"
    assert {p.name for p in (folder / "figures").iterdir()} and (folder / "report.en.md").is_file()
    assert json.loads((folder / "summary.json").read_text())["run"]["id"] == "run"


def test_four_parallel_reports_of_one_run_all_succeed(tmp_path: Path) -> None:
    run, out = make_run(tmp_path / "run"), tmp_path / "out"
    command = [sys.executable, "-m", "reporter.cli", "report", str(run), "--out", str(out), "--format", "md",
               "--lang", "en", "-q", "--jobs", "1"]
    processes_ = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in processes_]
    assert [p.returncode for p in processes_] == [0] * 4, errors
    folder = out / "run"
    text = (folder / "report.en.md").read_text()
    assert all((folder / link).is_file() for link in text.split("](")[1:] for link in [link.split(")")[0]]
               if link.startswith("figures/"))
    assert len(list((out / ".versions" / "run").iterdir())) <= 2  # the current report and the one it replaced


def test_a_skipped_run_loses_what_killed_writers_left_behind(tmp_path: Path, caplog) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    make_run(root / "run")
    assert [r["status"] for r in batch(root, out).values()] == ["rendered"]
    leftover = out / ".versions" / "run" / "20250315T090000-99999-1"
    (leftover / "figures").mkdir(parents=True)
    (leftover / "figures" / "metric.en.png").write_bytes(b"half")
    caplog.set_level("WARNING")
    assert [r["status"] for r in batch(root, out).values()] == ["skipped"]
    assert not leftover.exists() and (out / "run" / "report.en.md").is_file()
    legacy = tmp_path / "legacy"
    shutil.copytree((out / "run").resolve(), legacy / "run")  # a report from before versions: nothing to tidy
    assert [r["status"] for r in batch(root, legacy).values()] == ["skipped"]
    assert "could not remove" not in caplog.text


# --- processes die with their parent -------------------------------------------------------------------


def group_alive(group: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                state, _, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            except OSError:
                continue
            if int(pgrp) == group and state != "Z":
                alive.append(int(entry.name))
    return alive


def kill_main_alone_once_it_has_children(command: list[str]) -> list[int]:
    """Start `command` in a session of its own, SIGKILL its main process alone once it has forked, and
    return the processes of that session still alive 3 s later (they are then killed)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(group_alive(process.pid)) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        assert len(group_alive(process.pid)) >= 2, "the command never started a worker"
        os.kill(process.pid, signal.SIGKILL)  # the main process alone, as the OOM killer does
        process.wait()
        deadline = time.monotonic() + 3
        while group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return group_alive(process.pid)
    finally:
        for pid in group_alive(process.pid):
            os.kill(pid, signal.SIGKILL)


def test_killing_the_batch_alone_ends_its_workers_and_frees_the_lock(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    for i in range(4):
        make_run(root / f"run{i}", epochs=30)
    command = [sys.executable, "-m", "reporter.cli", "batch", str(root), "--out", str(out), "--format", "md",
               "--jobs", "2", "-q"]
    assert kill_main_alone_once_it_has_children(command) == []
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr  # not "another batch is running"


def test_killing_a_two_language_report_alone_ends_its_renderer(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "reporter.cli", "report", str(ROOT / "examples" / "iemocap-da"), "--out",
               str(tmp_path / "out"), "--format", "md", "--jobs", "2", "-q"]
    assert kill_main_alone_once_it_has_children(command) == []


def killed(*_: object) -> None:
    """A worker's job that ends the way the OOM killer ends it."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_killed_workers_fail_their_runs_in_one_line_each(tmp_path: Path, monkeypatch, capsys) -> None:
    import reporter.lab.runners

    root, out = tmp_path / "runs", tmp_path / "out"
    for name in ("a", "b", "c"):
        make_run(root / name)
    monkeypatch.setattr(reporter.lab.runners, "_report_one", killed)
    results = batch(root, out)
    assert [r["status"] for r in results.values()] == ["failed"] * 3
    assert all("a worker process was killed" in r["error"] for r in results.values())
    assert "internal error" not in capsys.readouterr().err


def test_a_lock_held_by_orphans_of_a_dead_batch_is_taken_over(tmp_path: Path, caplog) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    make_run(root / "run")
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / ".batch.lock").write_text(dead.stdout.strip())
    orphan = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"handle = open({str(out / '.batch.lock')!r}, 'a')\n"
                               "fcntl.flock(handle, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert orphan.stdout.readline().strip() == "held"
        caplog.set_level("WARNING")
        assert main(["batch", str(root), "--out", str(out), "--format", "md", "--lang", "en", "--jobs", "1", "-q",
                     "--now", NOW]) == 0
        assert f"(pid {dead.stdout.strip()}) is gone" in caplog.text and "taking it over" in caplog.text
    finally:
        orphan.kill()
        orphan.wait()


def test_without_prctl_a_child_still_ends_with_its_parent(monkeypatch) -> None:
    """The watcher thread, for systems without PR_SET_PDEATHSIG."""
    from reporter import processes

    monkeypatch.setattr(processes, "_parent_death_signal", lambda: False)
    monkeypatch.setattr(processes, "_WATCH_SECONDS", 0.05)
    reader, writer = os.pipe()
    parent = os.fork()
    if parent == 0:  # the parent-to-be-killed: forks the watched child, reports its pid, waits
        try:
            child = os.fork()
            if child == 0:
                processes.die_with_parent(os.getppid())
                time.sleep(30)
                os._exit(0)
            os.write(writer, f"{child}\n".encode())
            time.sleep(30)
        finally:
            os._exit(0)
    os.close(writer)
    child = int(os.read(reader, 64).decode())
    os.close(reader)
    time.sleep(0.2)
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists() and \
            (Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"):
        time.sleep(0.02)
    gone = not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    if not gone:
        os.kill(child, signal.SIGKILL)
    assert gone


# --- environment problems ------------------------------------------------------------------------------


def test_a_read_only_out_is_one_clear_line(tmpfs: Path, capsys) -> None:
    run, out = make_run(tmpfs.parent / "run"), tmpfs / "out"
    assert report(run, out) == 0
    remount(tmpfs, "ro")
    try:
        capsys.readouterr()
        assert report(run, out) == 2
        err = capsys.readouterr().err
        assert str(out) in err and "Read-only file system" in err and "make it writable or use another --out" in err
        assert len(err.strip().splitlines()) == 1
    finally:
        remount(tmpfs, "rw")
    assert report(run, out) == 0


def test_a_full_disk_is_one_clear_line_and_leaves_no_partial_version(tmpfs: Path, capsys) -> None:
    run, out = make_run(tmpfs.parent / "run"), tmpfs / "out"
    assert report(run, out) == 0
    before = json.loads((out / "run" / "summary.json").read_text())
    stat = os.statvfs(tmpfs)
    (tmpfs / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - 4096))
    capsys.readouterr()
    assert report(run, out, "--now", "2025-03-16T09:00:00") == 2
    err = capsys.readouterr().err
    assert str(out) in err and "No space left on device" in err and "free some space" in err
    assert [p.name for p in (out / ".versions" / "run").iterdir()] == [(out / "run").resolve().name]
    assert json.loads((out / "run" / "summary.json").read_text()) == before
    (tmpfs / "filler").unlink()
    assert report(run, out, "--now", "2025-03-16T09:00:00") == 0


@pytest.mark.parametrize("mistake, expected", [
    ("{% if %}", "report.md.j2:3: Expected an expression"),
    ("{{ c.no_such_field }}", "report.md.j2:3: "),
])
def test_a_broken_lab_template_names_its_file_and_line(mistake: str, expected: str, tmp_path: Path, capsys) -> None:
    lab = tmp_path / "lab-style"
    lab.mkdir()
    (lab / "report.md.j2").write_text("# {{ c.run_name }}\n\n" + mistake + "\n")
    run = make_run(tmp_path / "run")
    assert report(run, tmp_path / "out", "--templates", str(lab)) == 2
    err = capsys.readouterr().err
    assert str(lab / expected) in err and "fix this template" in err and len(err.strip().splitlines()) == 1
    assert "internal error" not in err and not (tmp_path / "out").exists()


def test_a_broken_lab_chart_label_template_names_its_file(tmp_path: Path, capsys) -> None:
    lab = tmp_path / "lab-style"
    (lab / "partials").mkdir(parents=True)
    (lab / "partials" / "chart_labels.j2").write_text("{% set labels = {'metric': no_such_name ~ ''} %}\n")
    assert report(make_run(tmp_path / "run"), tmp_path / "out", "--templates", str(lab)) == 2
    assert str(lab / "partials" / "chart_labels.j2") + ":1: 'no_such_name' is undefined" in capsys.readouterr().err


@pytest.mark.parametrize("epochs_b", [9, 5], ids=["other history", "same history"])
def test_a_run_sharing_an_id_with_another_batchs_run_is_refused_and_never_shown_as_it(tmp_path: Path,
                                                                                      epochs_b: int) -> None:
    """expA and expB each hold a seed0; batched from their own folders both get the id seed0. The second is
    refused, is not skipped as 'unchanged' when its history equals expA's, and its failed row does not link
    seed0's report, which is expA's (QA of issue 12)."""
    out = tmp_path / "out"
    make_run(tmp_path / "runs" / "expA" / "seed0", epochs=5)
    make_run(tmp_path / "runs" / "expB" / "seed0", epochs=epochs_b)
    for experiment in ("expA", "expB"):
        main(["batch", str(tmp_path / "runs" / experiment), "--out", str(out), "--format", "md", "--lang", "en",
              "--jobs", "1", "-q", "--now", NOW])
    assert [r["status"] for r in json.loads((out / "batch.json").read_text())["runs"]] == ["failed"]
    assert "expA" in (out / "seed0" / ".source").read_text()
    assert "seed0/report." not in (out / "index.en.md").read_text()


def test_a_moved_runs_root_keeps_its_reports(tmp_path: Path) -> None:
    """A lab that moves or renames its runs folder keeps reporting on the same runs (QA of issue 12)."""
    out = tmp_path / "out"
    make_run(tmp_path / "runs" / "expA" / "seed0", epochs=5)
    assert batch(tmp_path / "runs", out)
    (tmp_path / "runs").rename(tmp_path / "moved")
    with (tmp_path / "moved" / "expA" / "seed0" / "history.csv").open("a") as history:
        history.write("6,0.360\n")
    results = batch(tmp_path / "moved", out)
    assert [r["status"] for r in results.values()] == ["rendered"]
    assert json.loads((out / "expA-seed0" / "summary.json").read_text())["run"]["last_epoch"] == 6
