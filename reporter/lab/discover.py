"""Finding the run folders under a root: cheap (no parsing), each folder once, never inside a run."""

from __future__ import annotations

import logging
from pathlib import Path, PurePath

from reporter.errors import UsageError
from reporter.report.ingest import RUN_FILE, looks_like_run

log = logging.getLogger(__name__)
_LOOK_PAST_DEPTH = 2
"""How many levels below --depth discovery looks for a run it would skip, to name it in a warning."""


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
        is_run = (root / RUN_FILE).exists() if folder == root else looks_like_run(folder)
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
