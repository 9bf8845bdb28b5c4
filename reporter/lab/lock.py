"""One batch at a time on an out/: an flock the kernel releases when its holder dies."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from reporter.errors import UsageError
from reporter.outstore import batch_lock_path, writing

log = logging.getLogger(__name__)


class Lock:
    """An exclusive flock on out/.batch.lock, which names the batch's pid.

    The kernel releases an flock when the last descriptor of it closes: the worker processes close
    the copy they inherit at once and die with the batch, so a killed batch leaves no lock behind.
    A lock still held although the batch it names is dead is held by orphans of that batch (from an
    older reporter): it is taken over, with a warning, by replacing the lock file.
    """

    def __init__(self, out: Path) -> None:
        self.path = batch_lock_path(out)

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
