"""Timing helpers the benchmarks share: a command's wall time and peak memory in a fresh process."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time


def measured(command: list[str], timeout: float | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one run of `command`. The peak comes from wait4, so it is this
    child's own (and its reaped children's), not the largest of every process the benchmark started.
    A run still going after `timeout` seconds is killed and raises CalledProcessError, as a failed one does."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=output)
        killer = threading.Timer(timeout, process.kill) if timeout else None
        if killer:
            killer.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if killer:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            output.seek(0)
            raise subprocess.CalledProcessError(process.returncode, command, output.read())
    return seconds, usage.ru_maxrss / 1024


def seconds(command: list[str]) -> float:
    """Wall seconds of one run of `command`, imports included."""
    return measured(command)[0]
