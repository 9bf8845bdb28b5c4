"""Fault injection: the nightly job must never lose, hide or swap a report, whatever happens around it.

Each scenario runs TRIALS times with faults at random moments (seeded): kill -9 of the main process
alone, of one worker alone, or of the whole process group, during `batch`, `report` (two languages,
the second one forked) and `digest`; a disk that fills up; out/ turning read-only; a history that
grows while it is read; a `report` racing a `batch` on the same out/. After every trial:

- every out/<run-id> is a complete report (the previous one or the new one, never a mix);
- no process of the trial is left (this test process is a child subreaper, so orphans come to it);
- the next run succeeds, and a batch's index lists every run it rendered.

Trials fork this already-warm test process and call `reporter.cli.main` in the child, so a trial
costs the report's own work, not an interpreter start. `pytest -s` prints the table of figures, and
REPORTER_FAULT_TABLE=path also writes it there.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest
from conftest import remount

from reporter.cli import main

TRIALS = 20
SEED = 12
NOW = "2025-03-15T09:00:00"
GRACE = 3.0  # seconds for the processes of a killed trial to go
_PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Row:
    scenario: str
    trials: int = 0
    injected: int = 0
    survived: int = 0
    held: int = 0
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)


TABLE: list[Row] = []


def _table() -> str:
    lines = ["| scenario | trials | faults injected | faults survived | invariants held | seconds |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.scenario} | {r.trials} | {r.injected} | {r.survived} | {r.held}/{r.trials} | {r.seconds:.1f} |"
              for r in TABLE]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", autouse=True)
def subreaper() -> Iterator[None]:
    """Orphans of a trial are re-parented to this process (not pid 1), where they can be found and collected."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper (not Linux?): orphans could not be found")
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        if TABLE:
            print("\n" + _table())
            if os.environ.get("REPORTER_FAULT_TABLE"):
                Path(os.environ["REPORTER_FAULT_TABLE"]).write_text(_table())


@pytest.fixture(scope="module", autouse=True)
def warm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One report in this process first: every forked trial then starts with the modules and templates loaded."""
    root = tmp_path_factory.mktemp("warm")
    make_runs(root, 1)
    assert main(["report", str(root / "r0"), "--out", str(root / "out"), "--format", "md", "--lang", "zh,en",
                 "--jobs", "1", "-q", "--now", NOW]) == 0
    gc.freeze()  # a collection in a trial would touch, and so copy, every page of this process
    yield
    gc.unfreeze()


# --- processes ---------------------------------------------------------------------------------------


def start(argv: list[str], log: Path) -> int:
    """Fork a child that runs `reporter <argv>` in its own process group; its output goes to `log`."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.setpgid(0, 0)
            handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(handle, 1)
            os.dup2(handle, 2)
            sys.stdout = sys.stderr = open(1, "w", closefd=False)
            faulthandler.dump_traceback_later(50, exit=True)  # a hung trial leaves its stacks in the log
            code = main(argv)
        except BaseException:  # noqa: BLE001 - reported through the log and exit status
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            os._exit(code)
    try:
        os.setpgid(pid, pid)
    except OSError:  # the child set it first, or has already finished
        pass
    return pid


def _table_of_processes() -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent, process group) of every process, from /proc."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return found


def members(group: int) -> list[int]:
    """The live processes of a trial (its process group); zombies handed to us are collected."""
    alive = []
    for pid, (state, parent, pgrp) in _table_of_processes().items():
        if pgrp != group:
            continue
        if state == "Z" and parent == os.getpid():
            os.waitpid(pid, os.WNOHANG)
        elif state != "Z":
            alive.append(pid)
    return alive


def finish(pid: int, timeout: float = 60.0) -> int | None:
    """Wait for a trial's main process; its exit status, -signal if killed, None if it hung."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def orphans(group: int) -> list[int]:
    """Processes of the trial still alive after a grace period (then killed, so one failure stays one)."""
    deadline = time.monotonic() + GRACE
    while (left := members(group)) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def run(argv: list[str], log: Path) -> int | None:
    """One trial run to its end, no fault; its exit status."""
    pid = start(argv, log)
    code = finish(pid)
    orphans(pid)
    return code


# --- the out-store -----------------------------------------------------------------------------------


def problems_of_report(report: Path, languages: tuple[str, ...]) -> list[str]:
    """What is missing or broken in one out/<run-id>: documents, the figures they link, summary.json."""
    found = []
    try:
        json.loads((report / "summary.json").read_text())["run"]["id"]
    except (OSError, ValueError, KeyError) as exc:
        found.append(f"{report}/summary.json: {exc!r}")
    for lang in languages:
        try:
            text = (report / f"report.{lang}.md").read_text()
        except OSError as exc:
            found.append(f"{report}: report.{lang}.md: {exc!r}")
            continue
        found += [f"{report}: {figure} missing" for figure in re.findall(r"\]\((figures/[^)]+)\)", text)
                  if not (report / figure).is_file()]
    return found


def store_problems(out: Path, ids: list[str], languages: tuple[str, ...], index: bool = False,
                   settled: bool = False) -> list[str]:
    """Every report present is complete. `settled` (after a run that finished, or failed cleanly): every run
    has its report and out/.versions holds no half-written version; with `index`, index.html lists every run."""
    found = []
    for run_id in ids:
        report = out / run_id
        if report.exists() or settled:
            found += problems_of_report(report, languages)
        versions = out / ".versions" / run_id
        if settled and versions.is_dir():
            found += [f"{stale}: left behind" for stale in versions.iterdir() if problems_of_report(stale, languages)]
    if index:
        try:
            listing = (out / "index.html").read_text()
        except OSError as exc:
            return found + [f"index.html: {exc!r}"]
        found += [f"index.html does not list {run_id}" for run_id in ids if f"{run_id}/report." not in listing]
    return found


def make_runs(root: Path, count: int = 2, epochs: int = 12) -> list[str]:
    """Small CSV runs r0, r1, ... with one metric (one chart): a report takes a fraction of a second."""
    for i in range(count):
        rows = "\n".join(f"{e},{0.30 + 0.01 * e + 0.002 * i:.3f}" for e in range(1, epochs + 1))
        (root / f"r{i}").mkdir(parents=True, exist_ok=True)
        (root / f"r{i}" / "history.csv").write_text("epoch,val_acc\n" + rows + "\n")
    return [f"r{i}" for i in range(count)]


def baseline(argv: list[str], log: Path) -> float:
    """Seconds a fault-free run takes; it also leaves the complete reports the trials start from."""
    began = time.monotonic()
    assert run(argv, log) == 0, log.read_text()
    return time.monotonic() - began


# --- the driver ----------------------------------------------------------------------------------------


Trial = Callable[[int, random.Random], tuple[bool, list[str]]]


def scenario(name: str, trial: Trial) -> None:
    """TRIALS trials of one scenario, tallied in the table; fails listing the first violations."""
    row = Row(name)
    rng = random.Random(f"{SEED}-{name}")
    start_time = time.monotonic()
    for number in range(TRIALS):
        injected, violations = trial(number, rng)
        row.trials += 1
        row.injected += injected
        row.survived += injected and not violations
        row.held += not violations
        row.violations += [f"trial {number}: {v}" for v in violations]
    row.seconds = time.monotonic() - start_time
    TABLE.append(row)
    assert not row.violations, "\n".join(row.violations[:10])


COMMANDS = {
    "batch": lambda root, out: ["batch", str(root), "--out", str(out), "--format", "md", "--lang", "en",
                                "--jobs", "2", "-q", "--now", NOW],
    "report": lambda root, out: ["report", str(root / "r0"), "--out", str(out), "--format", "md", "--lang", "zh,en",
                                 "--jobs", "2", "-q", "--now", NOW],
    "digest": lambda root, out: ["digest", str(root), "--out", str(out), "--format", "md", "--lang", "en",
                                 "--jobs", "2", "-q", "--now", NOW],
}


def kill_target(pid: int, target: str, rng: random.Random, deadline: float) -> bool:
    """SIGKILL to the trial's main process, one of its workers, or its whole group; False if it had finished.

    A worker is the first one alive at or after the chosen moment (a pool worker, or the process
    rendering the second language).
    """
    while True:
        table = _table_of_processes()
        if table.get(pid, ("Z", 0, 0))[0] == "Z":
            return False
        if target == "main":
            os.kill(pid, signal.SIGKILL)
            return True
        if target == "group":
            os.killpg(pid, signal.SIGKILL)
            return True
        workers = [p for p, (state, _, group) in table.items() if group == pid and p != pid and state != "Z"]
        if workers:
            try:
                os.kill(rng.choice(workers), signal.SIGKILL)
            except ProcessLookupError:
                continue
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)


@pytest.mark.parametrize("command", ["batch", "report", "digest"])
@pytest.mark.parametrize("target", ["main", "worker", "group"])
def test_sigkill_at_a_random_moment(command: str, target: str, tmp_path: Path) -> None:
    root, out, log = tmp_path / "runs", tmp_path / "out", tmp_path / "log"
    ids = make_runs(root)[:1] if command == "report" else make_runs(root)
    argv = COMMANDS[command](root, out)
    killed_argv = argv if command == "report" else argv + ["--force"]  # every trial does the whole work
    languages = ("zh", "en") if command == "report" else ("en",)
    duration = baseline(killed_argv, log)
    allowed = (0, 1, 2) if target == "worker" else (0, -signal.SIGKILL)  # a lost worker fails its runs, in one line

    def trial(number: int, rng: random.Random) -> tuple[bool, list[str]]:
        pid = start(killed_argv, log)
        time.sleep(rng.uniform(0, duration * 0.8))  # mostly while it works; load can make it finish first
        hit = kill_target(pid, target, rng, time.monotonic() + duration)
        code = finish(pid)
        message = log.read_text()
        violations = [f"exit status {code}: {message[-3000:]}"] if code not in allowed or "internal error" in message \
            else []
        violations += [f"process {p} outlived the kill" for p in orphans(pid)]
        # the index is tonight's (runs a killed worker failed are listed, linked to their last good report)
        # or, when the batch itself was killed, last night's: either way it lists every run
        violations += store_problems(out, ids, languages, index=command != "report")
        if (next_code := run(argv, log)) != 0:
            violations.append(f"next run: exit {next_code}: {log.read_text()[-300:]}")
        return hit, violations + store_problems(out, ids, languages, index=command != "report", settled=True)

    scenario(f"SIGKILL {target} during {command}", trial)


def fill(filler: Path, leave: int) -> None:
    """Fill the file system holding `filler` until only `leave` bytes are free (a disk about to be full)."""
    stat = os.statvfs(filler.parent)
    filler.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))


def test_disk_full_at_a_random_moment(tmpfs: Path, tmp_path: Path) -> None:
    root, out, log = tmp_path / "runs", tmpfs / "out", tmp_path / "log"
    ids = make_runs(root, 1)
    argv = COMMANDS["report"](root, out)
    assert run(argv, log) == 0, log.read_text()
    need = sum(p.stat().st_size for p in (out / "r0").resolve().rglob("*") if p.is_file())
    filler = tmpfs / "filler"

    def trial(number: int, rng: random.Random) -> tuple[bool, list[str]]:
        fill(filler, rng.randrange(0, need * 3 // 2))
        code = run(argv, log)
        message = log.read_text()
        violations = [] if code == 0 or (code == 2 and "cannot write the report (No space left on device)" in message
                                         and message.count("\n") == 1) else [f"exit {code}: {message[-300:]}"]
        violations += store_problems(out, ids, ("zh", "en"), settled=True)
        filler.unlink()
        if (next_code := run(argv, log)) != 0:
            violations.append(f"next run: exit {next_code}: {log.read_text()[-300:]}")
        return code == 2, violations + store_problems(out, ids, ("zh", "en"), settled=True)

    scenario("disk full (ENOSPC) during report", trial)


def test_disk_full_during_a_batch_keeps_every_report_and_the_index(tmpfs: Path, tmp_path: Path) -> None:
    """On a disk that fills up during the nightly batch, runs fail in one line each (or the batch does, when
    it cannot write batch.json), and the index still lists every run with a complete report."""
    root, out, log = tmp_path / "runs", tmpfs / "out", tmp_path / "log"
    ids = make_runs(root)
    argv = COMMANDS["batch"](root, out) + ["--force"]
    assert run(argv, log) == 0, log.read_text()
    need = sum(p.stat().st_size for run_id in ids for p in (out / run_id).resolve().rglob("*") if p.is_file())
    filler = tmpfs / "filler"

    def trial(number: int, rng: random.Random) -> tuple[bool, list[str]]:
        fill(filler, rng.randrange(0, need * 3 // 2))
        code = run(argv, log)
        message = log.read_text()
        violations = [] if code in (0, 1, 2) and "internal error" not in message else [f"exit {code}: {message[-300:]}"]
        violations += store_problems(out, ids, ("en",), index=True)
        filler.unlink()
        if (next_code := run(argv, log)) != 0:
            violations.append(f"next run: exit {next_code}: {log.read_text()[-300:]}")
        return code != 0, violations + store_problems(out, ids, ("en",), index=True, settled=True)

    scenario("disk full (ENOSPC) during batch", trial)


def test_out_turns_read_only_at_a_random_moment(tmpfs: Path, tmp_path: Path) -> None:
    root, out, log = tmp_path / "runs", tmpfs / "out", tmp_path / "log"
    ids = make_runs(root, 1)
    argv = COMMANDS["report"](root, out)
    duration = baseline(argv, log)

    def trial(number: int, rng: random.Random) -> tuple[bool, list[str]]:
        pid = start(argv, log)
        time.sleep(rng.uniform(0, duration))
        remount(tmpfs, "ro")
        code = finish(pid)
        orphans(pid)
        message = log.read_text()
        violations = [] if code == 0 or (code == 2 and "make it writable or use another --out" in message
                                         and message.count("\n") == 1) else [f"exit {code}: {message[-300:]}"]
        violations += store_problems(out, ids, ("zh", "en"))
        remount(tmpfs, "rw")
        if (next_code := run(argv, log)) != 0:
            violations.append(f"next run: exit {next_code}: {log.read_text()[-300:]}")
        return code == 2, violations + store_problems(out, ids, ("zh", "en"), settled=True)

    scenario("out/ read-only during report", trial)


def test_history_growing_while_the_batch_reads_it(tmp_path: Path) -> None:
    root, out, log = tmp_path / "runs", tmp_path / "out", tmp_path / "log"
    ids = make_runs(root)
    history = root / "r0" / "history.csv"
    argv = COMMANDS["batch"](root, out)
    duration = baseline(argv + ["--force"], log)
    epochs = [12]

    def append(rng: random.Random, rows: int) -> None:
        for _ in range(rows):
            time.sleep(rng.uniform(0, duration / rows))
            epochs[0] += 1
            with history.open("a") as handle:  # one whole line per write, as loggers flush
                handle.write(f"{epochs[0]},{0.42 + 0.001 * epochs[0]:.3f}\n")

    def trial(number: int, rng: random.Random) -> tuple[bool, list[str]]:
        pid = start(argv, log)
        writer = threading.Thread(target=append, args=(random.Random(rng.random()), rng.randint(1, 3)))
        writer.start()
        code = finish(pid)
        writer.join()
        violations = [f"exit {code}: {log.read_text()[-300:]}"] if code != 0 else []
        violations += [f"process {p} left" for p in orphans(pid)]
        violations += store_problems(out, ids, ("en",))
        if (next_code := run(argv, log)) != 0:
            violations.append(f"next run: exit {next_code}: {log.read_text()[-300:]}")
        last = json.loads((out / "r0" / "summary.json").read_text())["run"]["last_epoch"]
        if last != epochs[0]:  # the growth must never be hidden by the incremental skip
            violations.append(f"r0 reports epoch {last} after the history reached {epochs[0]}")
        return True, violations + store_problems(out, ids, ("en",), index=True, settled=True)

    scenario("history appended while batch reads it", trial)


def test_report_and_batch_at_once_on_one_out(tmp_path: Path) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    ids = make_runs(root)
    batch_argv = COMMANDS["batch"](root, out) + ["--force"]
    report_argv = ["report", str(root / "r0"), "--out", str(out), "--format", "md", "--lang", "en", "--jobs", "1",
                   "-q", "--now", NOW]
    duration = baseline(batch_argv, tmp_path / "batch.log")

    def trial(number: int, rng: random.Random) -> tuple[bool, list[str]]:
        batch = start(batch_argv, tmp_path / "batch.log")
        time.sleep(rng.uniform(0, duration / 2))
        report = start(report_argv, tmp_path / "report.log")
        codes = {"batch": finish(batch), "report": finish(report)}
        violations = [f"{name}: exit {code}: {(tmp_path / f'{name}.log').read_text()[-300:]}"
                      for name, code in codes.items() if code != 0]
        violations += [f"process {p} left" for p in orphans(batch) + orphans(report)]
        return True, violations + store_problems(out, ids, ("en",), index=True, settled=True)

    scenario("report and batch on one out/ at once", trial)
