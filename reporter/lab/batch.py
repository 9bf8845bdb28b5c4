"""Many runs at once, for the nightly job: discovery (discover.py), incremental skip (fingerprint.py),
worker processes (runners.py), one lock (lock.py).

A run whose inputs, settings, templates and reporter version are unchanged since its last report is
skipped. One failing run never stops the others: each gets its line in
out/batch.json. A second batch on the same out/ refuses at once; the lock is an flock, released by
the kernel when its holder dies, and the workers die with the batch and never keep the lock, so a
kill -9 leaves no stale lock behind.
"""

from __future__ import annotations

import logging
import sys
from collections import defaultdict
from dataclasses import asdict, replace
from itertools import chain
from pathlib import Path

from reporter.errors import UsageError
from reporter.lab.discover import discover
from reporter.lab.fingerprint import config_fingerprint, templates_fingerprint
from reporter.lab.lock import Lock
from reporter.lab.runners import BatchResult, run_local, run_on_dask
from reporter.outstore import write_batch
from reporter.report.ingest import run_id_for
from reporter.report.pipeline import ReportRequest

log = logging.getLogger(__name__)


def _progress(total: int):
    """A progress bar on a terminal, nothing under cron (the log lines say enough)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr)


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
    from reporter.lab.index import Failure, write_index
    from reporter.report.ingest import load_settings

    folders = discover(root, depth, pattern)
    if not folders:  # a wrong ROOT or --glob must not turn last night's index into an empty table
        where = f"depth {depth}" + (f", --glob {pattern!r}" if pattern else "")
        raise UsageError(f"{root}: no runs found ({where}); the index was left as it was: check ROOT, --glob "
                         "or --depth")
    lab = load_settings(request.config)
    languages = request.languages or lab.languages
    request = replace(request, languages=languages, formats=request.formats or lab.formats, root=root)
    runs, clashes = _run_ids(folders, root)
    settings = {"languages": request.languages, "formats": request.formats, "project_to": request.project_to,
                "config": config_fingerprint(lab if request.config else None),
                "templates": templates_fingerprint(request.templates)}
    results: list[BatchResult] = []
    with Lock(request.out) as lock:
        bar = _progress(len(runs) + len(clashes))
        work = run_on_dask(runs, request, force, settings, scheduler) if scheduler else \
            run_local(runs, request, jobs, force, settings, lock.handle)
        for result in chain(clashes, work):
            results.append(result)
            if bar is not None:
                bar.update(1)
            else:  # a failure's error is printed once, in the closing summary (cron mail under -q)
                log.info("%s: %s in %.1f s", result.run, result.status, result.seconds)
        if bar is not None:
            bar.close()
        results.sort(key=lambda r: r.run)
        write_batch(request.out, {"root": str(root), "languages": list(languages),
                                  "runs": [asdict(r) for r in results]})
        write_index(request.out, [r.run for r in results if r.status != "failed"],
                    {r.run: Failure(r.error or "", r.path) for r in results if r.status == "failed"}, request.now, languages,
                    request.templates)
    return results
