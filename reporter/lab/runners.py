"""Where a batch's runs are reported: worker processes on this machine, or a Dask cluster.

One failing run never stops the others: each comes back as a BatchResult, never as an exception.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from reporter.errors import ReporterError, UsageError
from reporter.heap import collected_after
from reporter.lab.fingerprint import content_hash, fingerprint, unchanged
from reporter.outstore import STATE, report_source, tidy
from reporter.processes import die_with_parent
from reporter.report.pipeline import ReportRequest, make_report, prepare


@dataclass(frozen=True)
class BatchResult:
    run: str
    path: str
    status: str  # rendered | skipped | failed
    seconds: float
    error: str | None = None


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
        state = {**current, "hash": content_hash(path, list(current["files"])), "day": day}
        with collected_after():  # a worker makes hundreds of reports: free each one's cycles (issue 21)
            make_report(replace(request, run=folder), {STATE: json.dumps(state).encode()})
        return BatchResult(run_id, folder, "rendered", time.perf_counter() - start)
    except ReporterError as exc:
        return BatchResult(run_id, folder, "failed", time.perf_counter() - start, str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken run must not stop the others
        return BatchResult(run_id, folder, "failed", time.perf_counter() - start,
                           f"internal error ({type(exc).__name__}: {exc})")


def _worker_started(batch: int, lock: int) -> None:
    """In each worker process: end with the batch, and let go of the batch lock inherited by fork."""
    die_with_parent(batch)
    os.close(lock)


RUNS_PER_WORKER = 50
"""A worker process is replaced after about this many runs. Collecting each report's cycles keeps the
Python heap flat, but native memory (fonts, pango, the allocator's fragments) still grew by about 0.6 MB
a run: 595 MiB after 500 PDF runs against 273 MiB after 5 (issue 21, bench/batch.py --memory). A new
worker is forked from the batch, which holds the imports already; its first report pays about a second
of warm-up, 2% of 50 runs, unless the batch paid it once before forking (see run_local)."""


def run_local(runs: dict[Path, str], request: ReportRequest, jobs: int, force: bool, settings: dict,
           lock: int) -> Iterator[BatchResult]:
    """The runs in worker processes, a fresh pool for every RUNS_PER_WORKER runs of each worker.

    When more than one worker will start, the batch first pays the fixed costs of a report (imports, fonts,
    compiled templates) once, and every worker forked after inherits them; a single worker pays them itself,
    only if it renders a run.
    """
    items = list(runs.items())
    if len(items) > 1 and (jobs > 1 or len(items) > RUNS_PER_WORKER):
        prepare(request)
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


def run_on_dask(runs: dict[Path, str], request: ReportRequest, force: bool, settings: dict,
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
