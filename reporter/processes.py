"""Child processes that end with their parent, so a kill -9 of reporter leaves nothing behind.

A forked worker blocked on a pipe never notices that its parent is gone (it holds the pipe's other
end itself): killed alone, as the OOM killer does, a batch would leave its workers alive for ever,
holding memory and the batch lock. Each forked child therefore asks to die with its parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5


def die_with_parent(parent: int) -> None:
    """Make this freshly forked process end when `parent` (the pid that forked it) ends.

    Linux kills it the moment the parent dies (prctl PR_SET_PDEATHSIG); where that is not available,
    a watcher thread notices the re-parenting within half a second. A parent that died before either
    was in place is caught by the check in between.
    """
    armed = _parent_death_signal()
    if os.getppid() != parent:
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch, args=(parent,), name="watch-parent", daemon=True).start()


def _parent_death_signal() -> bool:
    """Ask the kernel for SIGKILL when the parent dies; False where prctl does not exist (not Linux)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)
