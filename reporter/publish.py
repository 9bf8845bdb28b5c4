"""Publish: the only stage that writes. Files land atomically (temp file + rename) under out/<run-id>/.

Everything is rendered in memory first, so a failure before publishing leaves the previous report
untouched; each file is replaced whole, never truncated in place.
"""

from __future__ import annotations

import json
import os
import tempfile
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
    """out/<run-id>, refusing ids that would escape out/.

    Raises:
        UsageError: the id is empty or contains path separators or '..'.
    """
    if not run_id or run_id in (".", "..") or "/" in run_id or "\\" in run_id:
        raise UsageError(f"run id '{run_id}' cannot be used as a folder name under {out}")
    target = (out / run_id).resolve()
    if target.parent != out.resolve():
        raise UsageError(f"run id '{run_id}' points outside {out}")
    return target


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


def publish(out: Path, run_id: str, files: Mapping[str, bytes], summary: Mapping[str, Any],
            when: datetime) -> list[Path]:
    """Write the report's files, summary.json and today's history snapshot; return the paths written."""
    target = run_directory(out, run_id)
    data = dict(files)
    data["summary.json"] = summary_bytes(summary)
    data[f"history/{when:%Y-%m-%d}/summary.json"] = data["summary.json"]
    written = []
    for relative, content in sorted(data.items()):
        path = target / relative
        write_atomic(path, content)
        written.append(path)
    return written
