"""Publish: the only stage that writes. Files land atomically (temp file + rename) under out/<run-id>/.

Everything is rendered in memory first, so a failure before publishing leaves the previous report
untouched; each file is replaced whole, never truncated in place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from reporter.errors import UsageError


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


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temp file beside `path`, then rename it over `path`."""
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


def summary_bytes(summary: Mapping[str, Any]) -> bytes:
    return (json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


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


def publish(out: Path, run_id: str, files: Mapping[str, bytes], summary: Mapping[str, Any],
            when: datetime) -> list[Path]:
    """Write a complete report, then switch out/<run-id> to it with one atomic rename.

    The new files go to a fresh version folder; out/<run-id> is a symbolic link replaced atomically,
    so a crash or kill -9 at any moment leaves either the previous complete report or the new one.
    Older versions (and leftovers of interrupted runs) are removed after the switch.
    """
    link = run_directory(out, run_id)
    versions = out.resolve() / VERSIONS / run_id
    stamp = f"{when:%Y%m%dT%H%M%S}-{os.getpid()}-{time.time_ns()}"
    target = versions / stamp
    target.mkdir(parents=True)
    if link.exists() and not link.is_symlink():  # a report written before versions existed: adopt it
        legacy = versions / f"legacy-{stamp}"
        os.replace(link, legacy)
        os.symlink(os.path.relpath(legacy, link.parent), link)
    _carry_history(link.resolve() if link.exists() else None, target)
    data = dict(files)
    data["summary.json"] = summary_bytes(summary)
    data[f"history/{when:%Y-%m-%d}/summary.json"] = data["summary.json"]
    for relative, content in sorted(data.items()):
        write_atomic(target / relative, content)
    for leftover in link.parent.glob(f".{run_id}.link-*"):  # from runs killed mid-switch
        leftover.unlink(missing_ok=True)
    temporary = link.parent / f".{run_id}.link-{os.getpid()}"
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)
    for old in versions.iterdir():
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return [link / relative for relative in sorted(data)]
