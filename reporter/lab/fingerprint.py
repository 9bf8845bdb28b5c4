"""What a run's report depends on, and whether it changed since the last report (the batch's incremental skip).

A changed mtime with the same content is re-hashed, so `touch` alone does not re-render.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from reporter import __version__
from reporter.config import Settings
from reporter.outstore import last_inputs


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def fingerprint(folder: Path, settings: dict) -> dict:
    """What a report depends on: every input's size and mtime, the settings, templates and version."""
    return {"version": __version__, "settings": json.loads(json.dumps(settings)),  # as it reads back from disk
            "files": {str(p.relative_to(folder)): [(info := p.stat()).st_size, info.st_mtime_ns] for p in _files(folder)}}


def content_hash(folder: Path, names: list[str]) -> str:
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
    last = last_inputs(out)
    if last is None:
        return False
    previous, status = last
    if status in ("running", "unknown") and previous.get("day") != day:
        return False
    if {k: previous.get(k) for k in ("version", "settings")} != {k: current[k] for k in ("version", "settings")}:
        return False
    old, new = previous.get("files", {}), current["files"]
    if old.keys() != new.keys() or any(old[k][0] != new[k][0] for k in new):
        return False
    touched = [k for k in new if old[k][1] != new[k][1]]
    return not touched or previous.get("hash") == content_hash(folder, list(new))


NOT_IN_REPORTS = ("delivery", "experiments")
"""Tables of the lab settings that never change a run's report (where and when the nightly message goes,
which runs are compared): editing them must not re-render every run."""


def config_fingerprint(settings: Settings | None) -> str | None:
    """The lab settings a run's report depends on, as a hash of their parsed values (no lab settings file:
    None)."""
    if settings is None:
        return None
    kept = {key: value for key, value in asdict(settings).items() if key not in NOT_IN_REPORTS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def templates_fingerprint(templates: Path | None) -> str | None:
    if templates is None:
        return None
    return content_hash(templates, [str(p.relative_to(templates)) for p in _files(templates)])
