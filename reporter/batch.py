"""Many runs at once, for the nightly job: discovery, incremental skip, worker processes, one lock.

A run whose inputs, settings, templates and reporter version are unchanged since its last report is
skipped (size + mtime of every input file; a changed mtime with the same content is re-hashed, so
`touch` alone does not re-render). One failing run never stops the others: each gets its line in
out/batch.json. A second batch on the same out/ refuses at once; the lock is an flock, released by
the kernel when its holder dies, and the workers die with the batch and never keep the lock, so a
kill -9 leaves no stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
import time
import tomllib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, replace
from itertools import chain
from pathlib import Path, PurePath
from typing import Iterator

from reporter import __version__
from reporter.errors import ConfigError, ReporterError, UsageError
from reporter.heap import collected_after
from reporter.ingest import HISTORY_SUFFIXES, run_id_for
from reporter.ingest.files import read_text
from reporter.pipeline import ReportRequest, make_report
from reporter.processes import die_with_parent
from reporter.publish import report_source, tidy, write_atomic, writing

log = logging.getLogger(__name__)
STATE = ".inputs.json"
"""Per-run record of what the last report was made from, in out/<run-id>/."""
_LOOK_PAST_DEPTH = 2
"""How many levels below --depth discovery looks for a run it would skip, to name it in a warning."""
_MARKERS = ("run.toml", "trainer_state.json", "metrics.csv", "results.csv", "meta.yaml")


@dataclass(frozen=True)
class BatchResult:
    run: str
    path: str
    status: str  # rendered | skipped | failed
    seconds: float
    error: str | None = None


def looks_like_run(folder: Path) -> bool:
    """A folder holding a history or run.toml, directly or in the layouts frameworks write; cheap, no parsing."""
    try:
        names = [p for p in folder.iterdir() if p.is_file()]
    except OSError:
        return False
    if any(p.name in _MARKERS or p.suffix.lower() in HISTORY_SUFFIXES + (".db", ".sqlite")
           or p.name.startswith("events.out.tfevents") for p in names):
        return True
    layouts = ("checkpoint-*/trainer_state.json", "vis_data/*.json", "*/vis_data/*.json", "mlruns/*/*/meta.yaml",
               "*/events.out.tfevents.*")
    return any(next(folder.glob(pattern), None) is not None for pattern in layouts)


def discover(root: Path, depth: int = 3, pattern: str | None = None) -> list[Path]:
    """Run folders under root, not descending into a run (its sub-folders belong to it).

    With a pattern, only runs whose path below root matches it, matched from the right as
    pathlib does: 'seed*' picks every run folder named seed*, 'umc/*' the runs directly in umc/.
    Every folder is visited once (by device and inode), so a symbolic link back up the tree (or two
    links to one run) cannot list a run twice. A run below `depth` is left out with one warning line
    naming the first such folder, found by a short look past the limit.
    """
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()  # (device, inode): one stat, cheaper than resolving the path
    too_deep: list[tuple[Path, int]] = []

    def matches(folder: Path) -> bool:
        return not pattern or (folder != root and PurePath(folder.relative_to(root).as_posix()).match(pattern))

    def walk(folder: Path, level: int) -> None:
        try:
            info = folder.stat()
        except OSError:
            return
        real = (info.st_dev, info.st_ino)
        if real in visited or (too_deep and level > depth):
            return
        if level <= depth:  # the look past the limit is bounded by its levels and must not hide a run
            visited.add(real)
        # ROOT itself is a run only when it says so; otherwise its loose files (notes, batch.json) are not a run.
        is_run = (root / "run.toml").exists() if folder == root else looks_like_run(folder)
        if is_run and level > depth:
            too_deep.extend([(folder, level)] if matches(folder) else [])
        elif is_run:
            found.append(folder)
        elif level < depth + _LOOK_PAST_DEPTH:
            for child in _subfolders(folder):
                walk(child, level + 1)

    if not root.is_dir():
        raise UsageError(f"{root}: not a folder of runs")
    walk(root, 0)
    if too_deep:
        folder, level = too_deep[0]
        log.warning("%s: a run below --depth %d was skipped; use --depth %d to include it", folder, depth, level)
    return [f for f in found if matches(f)]


def _subfolders(folder: Path) -> list[Path]:
    """Sub-folders worth searching for runs, real folders before symbolic links (so a run reached both
    ways is listed under its real path)."""
    try:
        children = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    except OSError:
        return []
    return sorted(children, key=lambda p: (p.is_symlink(), p.name))


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def fingerprint(folder: Path, settings: dict) -> dict:
    """What a report depends on: every input's size and mtime, the settings, templates and version."""
    return {"version": __version__, "settings": json.loads(json.dumps(settings)),  # as it reads back from disk
            "files": {str(p.relative_to(folder)): [(info := p.stat()).st_size, info.st_mtime_ns] for p in _files(folder)}}


def _content_hash(folder: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()


def unchanged(folder: Path, out: Path, current: dict, day: str) -> bool:
    """True when the last report was made from the same inputs (mtime-only changes re-hashed).

    A run still 'running' or 'unknown' is judged again on a new day, since the same history can
    become 'stalled' as time passes; within a day it is skipped like any other.
    """
    try:
        previous = json.loads((out / STATE).read_text())
        status = json.loads((out / "summary.json").read_text())["run"]["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if status in ("running", "unknown") and previous.get("day") != day:
        return False
    if {k: previous.get(k) for k in ("version", "settings")} != {k: current[k] for k in ("version", "settings")}:
        return False
    old, new = previous.get("files", {}), current["files"]
    if old.keys() != new.keys() or any(old[k][0] != new[k][0] for k in new):
        return False
    touched = [k for k in new if old[k][1] != new[k][1]]
    return not touched or previous.get("hash") == _content_hash(folder, list(new))


NOT_IN_REPORTS = ("delivery", "experiments")
"""Tables of the lab settings that never change a run's report (where and when the nightly message goes,
which runs are compared): editing them must not re-render every run."""


def _config_fingerprint(config: Path | None) -> str | None:
    """The lab settings a run's report depends on, as a hash of their parsed values (the file was
    validated by load_settings before, so it parses)."""
    if config is None:
        return None
    data = tomllib.loads(read_text(Path(config), ConfigError).text)
    kept = {key: value for key, value in data.items() if key not in NOT_IN_REPORTS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def _templates_fingerprint(templates: Path | None) -> str | None:
    if templates is None:
        return None
    return _content_hash(templates, [str(p.relative_to(templates)) for p in _files(templates)])


def _report_one(folder: str, run_id: str, request: ReportRequest, force: bool, settings: dict) -> BatchResult:
    """One run, in a worker process: skip, render or fail, never raise.

    The record of the inputs is taken before they are read and published with the report: a history
    that grows while it is read then differs from the record, and the run is rendered again next time.
    """
    start = time.perf_counter()
    path = Path(folder)
    try:
        current = fingerprint(path, settings)
        day = f"{request.now:%Y-%m-%d}"
        same_run = report_source(request.out / run_id) in (None, str(path.resolve()))  # else: another run's id
        if not force and same_run and unchanged(path, request.out / run_id, current, day):
            tidy(request.out, run_id)
            return BatchResult(run_id, folder, "skipped", time.perf_counter() - start)
        state = {**current, "hash": _content_hash(path, list(current["files"])), "day": day}
        with collected_after():  # a worker makes hundreds of reports: free each one's cycles (issue 21)
            make_report(replace(request, run=folder), {STATE: json.dumps(state).encode()})
        return BatchResult(run_id, folder, "rendered", time.perf_counter() - start)
    except ReporterError as exc:
        return BatchResult(run_id, folder, "failed", time.perf_counter() - start, str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken run must not stop the others
        return BatchResult(run_id, folder, "failed", time.perf_counter() - start,
                           f"internal error ({type(exc).__name__}: {exc})")


class Lock:
    """An exclusive flock on out/.batch.lock, which names the batch's pid.

    The kernel releases an flock when the last descriptor of it closes: the worker processes close
    the copy they inherit at once and die with the batch, so a killed batch leaves no lock behind.
    A lock still held although the batch it names is dead is held by orphans of that batch (from an
    older reporter): it is taken over, with a warning, by replacing the lock file.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / ".batch.lock"

    def __enter__(self) -> "Lock":
        with writing(self.path.parent):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while (handle := self._acquire()) is None:
                pass
            os.ftruncate(handle, 0)
            os.pwrite(handle, str(os.getpid()).encode(), 0)
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        os.close(self.handle)

    def _acquire(self) -> int | None:
        """The locked descriptor, or None to try again (the lock file was replaced meanwhile).

        Raises:
            UsageError: a live batch holds the lock.
        """
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip()
            if not holder.isdigit() or _alive(int(holder)):
                os.close(handle)
                raise UsageError(f"{self.path.parent}: another batch is running (pid {holder or '?'}); wait for it "
                                 "or use another --out") from None
            self._take_over(handle, holder)
            os.close(handle)
            return None
        if not self._current(handle):
            os.close(handle)
            return None
        return handle

    def _current(self, handle: int) -> bool:
        """Whether the descriptor is still the file at self.path (not one a takeover unlinked)."""
        try:
            named, held = os.stat(self.path), os.fstat(handle)
        except FileNotFoundError:
            return False
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _take_over(self, handle: int, holder: str) -> None:
        """Unlink a lock file held only by orphans of a dead batch; one taker at a time, and only once."""
        guard = os.open(f"{self.path}.takeover", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            if self._current(handle):
                log.warning("%s: the batch that held it (pid %s) is gone, yet orphaned processes still hold it; "
                            "taking it over", self.path, holder)
                self.path.unlink()
        finally:
            os.close(guard)


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting for its parent to collect it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _progress(total: int):
    """A progress bar on a terminal, nothing under cron (the log lines say enough)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr)


def _worker_started(batch: int, lock: int) -> None:
    """In each worker process: end with the batch, and let go of the batch lock inherited by fork."""
    die_with_parent(batch)
    os.close(lock)


RUNS_PER_WORKER = 50
"""A worker process is replaced after about this many runs. Collecting each report's cycles keeps the
Python heap flat, but native memory (fonts, pango, the allocator's fragments) still grew by about 0.6 MB
a run: 595 MiB after 500 PDF runs against 273 MiB after 5 (issue 21, bench/batch.py --memory). A new
worker is forked from the batch, which holds the imports already; its first report pays about a second
of warm-up, 2% of 50 runs."""


def _local(runs: dict[Path, str], request: ReportRequest, jobs: int, force: bool, settings: dict,
           lock: int) -> Iterator[BatchResult]:
    """The runs in worker processes, a fresh pool for every RUNS_PER_WORKER runs of each worker."""
    items = list(runs.items())
    share = max(1, jobs) * RUNS_PER_WORKER
    for start in range(0, len(items), share):
        yield from _pool(dict(items[start:start + share]), request, jobs, force, settings, lock)


def _pool(runs: dict[Path, str], request: ReportRequest, jobs: int, force: bool, settings: dict,
          lock: int) -> Iterator[BatchResult]:
    """The runs in one pool of worker processes; a worker killed from outside (out of memory) fails the runs
    not yet done, not the batch. The pool breaks as a whole, while it takes the work or while it does it."""
    waiting = dict(runs)
    try:
        with ProcessPoolExecutor(max_workers=max(1, jobs), initializer=_worker_started,
                                 initargs=(os.getpid(), lock)) as pool:
            futures = {pool.submit(_report_one, str(f), run_id, request, force, settings): f for f, run_id in runs.items()}
            for future in as_completed(futures):
                result = future.result()
                del waiting[futures[future]]
                yield result
    except BrokenProcessPool:
        for folder, run_id in waiting.items():
            yield BatchResult(run_id, str(folder), "failed", 0.0, "a worker process was killed (out of memory?) "
                              "before this run was done; run the batch again, with fewer --jobs if it recurs")


def _dask(runs: dict[Path, str], request: ReportRequest, force: bool, settings: dict,
          scheduler: str) -> Iterator[BatchResult]:
    """The same work on a Dask distributed cluster, for labs that outgrow one machine."""
    try:
        from distributed import Client
        from distributed import as_completed as completed
    except ImportError:
        raise UsageError("--scheduler needs the dask extra: pip install 'reporter[dask]'") from None
    try:
        client = Client(scheduler, timeout=10)
    except OSError as exc:
        raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    with client:
        futures = client.map(_report_one, [str(f) for f in runs], list(runs.values()), request=request, force=force,
                             settings=settings, pure=False)
        for future in completed(futures):
            yield future.result()


def _run_ids(folders: list[Path], root: Path) -> tuple[dict[Path, str], list[BatchResult]]:
    """Each run folder's id; folders that would share one are refused, every one of them named."""
    by_id: dict[str, list[Path]] = defaultdict(list)
    for folder in folders:
        by_id[run_id_for(folder, root)].append(folder)
    runs = {paths[0]: run_id for run_id, paths in by_id.items() if len(paths) == 1}
    clashes = [BatchResult(run_id, str(folder), "failed", 0.0, f"run id '{run_id}' would be shared by "
                           f"{' and '.join(map(str, paths))}; rename one of these folders so that their reports do "
                           "not overwrite each other")
               for run_id, paths in by_id.items() if len(paths) > 1 for folder in paths]
    return runs, clashes


def run_batch(root: Path, request: ReportRequest, jobs: int, force: bool = False, depth: int = 3,
              scheduler: str | None = None, pattern: str | None = None) -> list[BatchResult]:
    """Every run under root, in `jobs` worker processes (or on a Dask cluster); writes out/batch.json and
    out/index.*."""
    from reporter.index import Failure, write_index
    from reporter.ingest import load_settings

    folders = discover(root, depth, pattern)
    if not folders:  # a wrong ROOT or --glob must not turn last night's index into an empty table
        where = f"depth {depth}" + (f", --glob {pattern!r}" if pattern else "")
        raise UsageError(f"{root}: no runs found ({where}); the index was left as it was: check ROOT, --glob "
                         "or --depth")
    lab = load_settings(request.config)
    request = replace(request, languages=request.languages or lab.languages, formats=request.formats or lab.formats,
                      root=root)
    runs, clashes = _run_ids(folders, root)
    settings = {"languages": request.languages, "formats": request.formats, "project_to": request.project_to,
                "config": _config_fingerprint(request.config),
                "templates": _templates_fingerprint(request.templates)}
    results: list[BatchResult] = []
    with Lock(request.out) as lock:
        bar = _progress(len(runs) + len(clashes))
        work = _dask(runs, request, force, settings, scheduler) if scheduler else \
            _local(runs, request, jobs, force, settings, lock.handle)
        for result in chain(clashes, work):
            results.append(result)
            if bar is not None:
                bar.update(1)
            else:  # a failure's error is printed once, in the closing summary (cron mail under -q)
                log.info("%s: %s in %.1f s", result.run, result.status, result.seconds)
        if bar is not None:
            bar.close()
        results.sort(key=lambda r: r.run)
        write_atomic(request.out / "batch.json", json.dumps(
            {"root": str(root), "languages": list(request.languages), "runs": [asdict(r) for r in results]},
            indent=2, ensure_ascii=False).encode())
        write_index(request.out, [r.run for r in results if r.status != "failed"],
                    {r.run: Failure(r.error or "", r.path) for r in results if r.status == "failed"}, request.now, request.languages,
                    request.templates)
    return results
