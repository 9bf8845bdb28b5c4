"""The out-store: the one owner of the out/ layout, for writing and for reading it back.

out/<run-id>/ (a link into out/.versions/) holds a run's report, summary.json, figures/, history/<date>/
and the batch's record of its inputs; out/ itself holds batch.json, index.*, digest.*, compare/, outbox/
and the batch lock. Every other module asks this one for those paths.

Publishing is the only stage that writes a report. Files land atomically (temp file + rename);
everything is rendered in memory first, so a failure before publishing leaves the previous report
untouched; each file is replaced whole, never truncated in place. Reading is never fatal: a missing
or unreadable file reads as None.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from reporter.errors import OutputError, UsageError
from reporter.summary import SCHEMA, Summary

log = logging.getLogger(__name__)


DIGEST = "digest"
"""out/digest.<lang>.md|html|pdf: the lab-meeting digest, made by `reporter digest --since <last meeting>`."""
NIGHTLY = "nightly"
"""out/nightly.<lang>.pdf: tonight's digest, which `batch` writes for delivery when [delivery] is configured,
beside the meeting digest and never over it."""


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def run_directory(out: Path, run_id: str) -> Path:
    """out/<run-id> (not resolved: it is a link to the current version), refusing ids that would escape out/.

    Raises:
        UsageError: the id is empty or contains path separators or '..'.
    """
    if not run_id or run_id in (".", "..") or "/" in run_id or "\\" in run_id or run_id.startswith("."):
        raise UsageError(f"run id '{run_id}' cannot be used as a folder name under {out}")
    return out.resolve() / run_id


def _advice(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space there or use another --out"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "make it writable or use another --out"
    return "check that folder or use another --out"


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a failed write under `path` (read-only, full disk, permissions) into one clear OutputError.

    The environment, not reporter, is at fault, so the user gets the path and what to do, not a
    request to report a bug.
    """
    try:
        yield
    except OSError as exc:
        where = exc.filename or path
        raise OutputError(f"{where}: cannot write the report ({exc.strerror or exc}); {_advice(exc)}") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temp file beside `path`, then rename it over `path`.

    Raises:
        OutputError: the folder cannot be written; nothing is left behind.
    """
    with writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(handle, 0o666 & ~_UMASK)  # mkstemp makes 0600; reports are shared like any written file
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def empty_folder(folder: Path) -> None:
    """Remove the files in a folder reporter owns (out/outbox/), its temp files included, so it holds only
    what is written next and never grows from night to night.

    Raises:
        OutputError: a file cannot be removed.
    """
    with writing(folder):
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.is_file() or path.is_symlink():
                path.unlink()


def summary_bytes(summary: Summary) -> bytes:
    return (json.dumps(summary.to_json(), ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


VERSIONS = ".versions"
"""out/.versions/<run-id>/<stamp>/ holds complete reports; out/<run-id> links to the current one."""


def _carry_history(previous: Path | None, target: Path) -> None:
    """Yesterday's snapshots move forward into the new version as hard links (a copy where links fail)."""
    if previous is None or not (previous / "history").is_dir():
        return
    for path in (previous / "history").rglob("*"):
        if path.is_file():
            destination = target / path.relative_to(previous)
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, destination)
            except OSError:
                shutil.copy2(path, destination)


SOURCE = ".source"
"""In each version folder: the run folder (or file) the report was made from, to refuse another run's id."""
COMPARED = ".runs.json"
"""out/compare/<name>/.runs.json: the run folders of each group ({group: [folder, ...]}, resolved as `.source`
records them), so the index links a run to the comparisons that include it. compare.json's run ids are
spelled from the group folder and cannot be matched with a batch's ids."""


@contextmanager
def run_lock(versions: Path, run_id: str) -> Iterator[None]:
    """An exclusive flock on out/.versions/<run-id>.lock while one process publishes that run.

    Concurrent reports of one run then switch and prune one after the other, so none removes a
    version another is still writing. The kernel releases the lock when its holder dies.
    """
    versions.mkdir(parents=True, exist_ok=True)
    handle = os.open(versions / f"{run_id}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def report_source(link: Path) -> str | None:
    """The run folder (or file) out/<run-id> was made from, as recorded; None for reports that predate it."""
    try:
        return os.fsdecode((link / SOURCE).read_bytes())
    except OSError:
        return None


def _check_source(link: Path, source: Path | None) -> None:
    """Refuse to replace out/<run-id> when it holds the report of another run folder that still exists.

    A recorded folder that is gone was moved or renamed with its runs root: the run is the same, and
    refusing would fail every changed run of a lab that moved its data until out/ was cleaned by hand.

    Raises:
        UsageError: naming both folders.
    """
    recorded = report_source(link)
    if recorded is None:  # a first report, or one written before sources were recorded
        return
    if source is not None and recorded != str(source) and os.path.lexists(recorded):
        raise UsageError(f"{link} holds the report of {recorded}, not of {source}, and both have the id "
                         f"'{link.name}'; use another --out, or remove {link} if {recorded} is gone")


def _prune(versions: Path, keep: set[Path]) -> None:
    """Remove every version not in `keep`.

    Called with the run's lock held, so what is removed is either an older complete report or the
    leftover of a process that was killed while writing. Publishing keeps the version it replaced
    too, for a reader (an index being written) that may still be in it.
    """
    for old in versions.iterdir():
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)


def publish(out: Path, run_id: str, files: Mapping[str, bytes], summary: Summary,
            when: datetime, source: Path | None = None) -> list[Path]:
    """Write a complete report, then switch out/<run-id> to it with one atomic rename.

    The new files go to a fresh version folder; out/<run-id> is a symbolic link replaced atomically,
    so a crash or kill -9 at any moment leaves either the previous complete report or the new one.
    All of it happens under the run's lock. A failed write (full disk) removes its version folder.

    Raises:
        UsageError: out/<run-id> holds the report of another `source`.
        OutputError: out/ cannot be written.
    """
    link = run_directory(out, run_id)
    versions = out.resolve() / VERSIONS / run_id
    data = dict(files)
    data["summary.json"] = summary_bytes(summary)
    data[f"history/{when:%Y-%m-%d}/summary.json"] = data["summary.json"]
    with writing(out), run_lock(versions.parent, run_id):
        _check_source(link, source)
        previous = _adopt_legacy(link, versions, when)
        target = versions / f"{when:%Y%m%dT%H%M%S}-{os.getpid()}-{time.time_ns()}"
        target.mkdir(parents=True)
        temporary = link.parent / f".{run_id}.link-{os.getpid()}"
        try:
            _carry_history(previous, target)
            if source is not None:
                write_atomic(target / SOURCE, os.fsencode(source))
            for relative, content in sorted(data.items()):
                write_atomic(target / relative, content)
            for leftover in link.parent.glob(f".{run_id}.link-*"):  # from runs killed mid-switch
                leftover.unlink(missing_ok=True)
            os.symlink(os.path.relpath(target, link.parent), temporary)
            os.replace(temporary, link)
        except BaseException:
            temporary.unlink(missing_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            raise
        _prune(versions, {target} | ({previous} if previous else set()))
    return [link / relative for relative in sorted(data)]


def tidy(out: Path, run_id: str) -> None:
    """Remove every version of a run but its current one: what writers killed mid-way left behind.

    Publishing does this too; a batch calls it for the runs it skips, which would otherwise keep
    those leftovers until their inputs change. Housekeeping only: where out/ cannot be written (a
    full disk) the leftovers wait for the next night, and the skipped run is not a failure.
    """
    link = run_directory(out, run_id)
    versions = out.resolve() / VERSIONS / run_id
    try:
        if link.exists() and versions.is_dir() and any(v != link.resolve() for v in versions.iterdir()):
            with run_lock(versions.parent, run_id):
                _prune(versions, {link.resolve()})
    except OSError as exc:
        log.warning("%s: could not remove what interrupted runs left there (%s)", versions, exc.strerror or exc)


def _adopt_legacy(link: Path, versions: Path, when: datetime) -> Path | None:
    """The version out/<run-id> points to now, or None; a plain folder from before versions is moved in."""
    if link.exists() and not link.is_symlink():
        legacy = versions / f"legacy-{when:%Y%m%dT%H%M%S}-{os.getpid()}"
        versions.mkdir(parents=True, exist_ok=True)
        os.replace(link, legacy)
        os.symlink(os.path.relpath(legacy, link.parent), link)
    return link.resolve() if link.exists() else None


STATE = ".inputs.json"
"""Per-run record of what the last report was made from, in out/<run-id>/."""
BATCH = "batch.json"
"""out/batch.json: the last batch's line for every run (and, after delivery, what was sent)."""


def batch_lock_path(out: Path) -> Path:
    """out/.batch.lock, the flock one batch at a time holds."""
    return out / ".batch.lock"


def outbox_path(out: Path) -> Path:
    """out/outbox/, where a dry-run delivery leaves what it would have sent."""
    return out / "outbox"


def compare_directory(out: Path, name: str) -> Path:
    """out/compare/<name>, the folder of one comparison."""
    return run_directory(out.resolve() / "compare", name)


def index_path(out: Path, lang: str | None, output: str) -> Path:
    """out/index.<lang>.<output>, or out/index.<output> (the default language's copy) when lang is None."""
    return out / (f"index.{lang}.{output}" if lang else f"index.{output}")


def remove_index(out: Path, lang: str, output: str) -> None:
    """Remove out/index.<lang>.<output>, an index an earlier batch made in a language not made tonight."""
    index_path(out, lang, output).unlink(missing_ok=True)


def digest_path(out: Path, lang: str, fmt: str, stem: str = DIGEST) -> Path:
    """out/<stem>.<lang>.<fmt>: the meeting digest (DIGEST) or tonight's (NIGHTLY)."""
    return out / f"{stem}.{lang}.{fmt}"


def report_path(run_out: Path, lang: str, fmt: str) -> Path:
    """out/<run-id>/report.<lang>.<fmt>."""
    return run_out / f"report.{lang}.{fmt}"


def write_batch(out: Path, batch: Mapping[str, Any]) -> None:
    """out/batch.json, written atomically."""
    write_atomic(out / BATCH, json.dumps(batch, indent=2, ensure_ascii=False).encode())


def last_inputs(run_out: Path) -> tuple[dict[str, Any], Any] | None:
    """The record of the inputs the last report was made from, with that report's run status; None when
    either is missing or unreadable (the run is then reported again)."""
    try:
        previous = json.loads((run_out / STATE).read_text())
        status = json.loads((run_out / "summary.json").read_text())["run"]["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return previous, status


def run_summary(out: Path, run_id: str) -> Summary | None:
    """out/<run-id>/summary.json as publish wrote it, or None."""
    return read_summary(out / run_id / "summary.json")


def read_summary(path: Path) -> Summary | None:
    """A summary.json as written by publish (by this version or an older one), or None when it is missing or
    unreadable (never fatal)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Summary.from_json(data) if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def previous_snapshot(run_out: Path, before: str) -> tuple[str, Summary] | None:
    """The latest history/<YYYY-MM-DD>/summary.json dated before `before` (an ISO date), with its date."""
    history = run_out / "history"
    if not history.is_dir():
        return None
    for folder in sorted((p for p in history.iterdir() if p.is_dir() and p.name < before), reverse=True):
        data = read_summary(folder / "summary.json")
        if data is not None:
            return folder.name, data
    return None


def snapshot_on_or_before(run_out: Path, day: str) -> tuple[str, Summary] | None:
    """The latest history snapshot dated on or before `day` (for 'since the last meeting')."""
    return previous_snapshot(run_out, day + "~")  # '~' sorts after any date suffix


def last_report_date(run_out: Path) -> str | None:
    """The date (YYYY-MM-DD) of the report published in out/<run>/: its newest history snapshot."""
    latest = previous_snapshot(run_out, "9999-99-99")
    return latest[0] if latest else None


def figure_bytes(run_out: Path, name: str) -> bytes | None:
    """A published figure of a run, for the digest; None when the run has none."""
    path = run_out / "figures" / name
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def read_batch(out: Path) -> dict[str, Any] | None:
    """out/batch.json as the last batch wrote it (for delivery), or None when missing or unreadable."""
    try:
        data = json.loads((out / BATCH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("runs"), list) else None


def document_bytes(out: Path, name: str) -> bytes | None:
    """A published document of out/ (a digest PDF, for delivery); None when there is none."""
    path = out / name
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def newest_document(out: Path, names: list[str]) -> str | None:
    """Of the documents of out/ named, the one written last; None when none exists."""
    made = {}
    for name in names:
        try:
            made[name] = (out / name).stat().st_mtime_ns
        except OSError:
            continue
    return max(made, key=made.__getitem__) if made else None


def compared_folders(out: Path) -> dict[str, dict[str, list[str]]]:
    """Each comparison under out/compare/ (by its folder's name) with the run folders of each of its groups,
    as `reporter compare` recorded them beside compare.json; one without that record is left out."""
    found = {}
    folder = out / "compare"
    for comparison in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            data = json.loads((comparison / COMPARED).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
            found[comparison.name] = {str(group): [str(f) for f in runs] for group, runs in data.items()}
    return found
