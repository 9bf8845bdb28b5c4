"""What every training-loop callback does, whatever the framework: record, render in the background, mark a crash.

Rendering runs `python -m reporter.cli report RUN` in a child process, so the training process never
waits for it and never loads pandas, matplotlib or WeasyPrint. At most one render runs at a time; a
request while one runs is kept (once) and started when it ends. A render that fails (a broken template,
a full disk) is logged as a warning and training goes on. The child is not tied to the training process:
the report of a crash is still written after the crashed script has exited. At exit, the training
process waits for the last requested render, so `python train.py` ends with its final report on disk.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Mapping, Sequence

from reporter.errors import UsageError
from reporter.recorder import Recorder

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2


class BackgroundReports:
    """Renders one run's report in a child process on request, one at a time, never raising into training."""

    def __init__(self, run: Path, out: Path, languages: Sequence[str], formats: Sequence[str],
                 templates: str | os.PathLike[str] | None = None) -> None:
        self.run, self.out = run, out
        self.command = [sys.executable, "-m", "reporter.cli", "report", str(run), "--out", str(out), "-q",
                        "--lang", ",".join(languages), "--format", ",".join(formats)]
        if templates is not None:
            self.command += ["--templates", str(templates)]
        self.failures = 0
        self.rendered = 0
        self._child: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._pending = False
        self._waits_at_exit = False

    def request(self) -> None:
        """Render now, or as soon as the render under way ends."""
        self.poll()
        if self._child is None:
            self._start()
        else:
            self._pending = True

    def poll(self) -> None:
        """Collect a finished render (logging a failure) and start a pending one; never blocks."""
        if self._child is not None and self._child.poll() is not None:
            self._collect(self._child.returncode)
        if self._child is None and self._pending:
            self._pending = False
            self._start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every requested render has ended; False when `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll()
            if self._child is None and not self._pending:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(_POLL_SECONDS)

    def wait_at_exit(self) -> None:
        """Let the training script's exit wait for the last render (the final report)."""
        if not self._waits_at_exit:
            self._waits_at_exit = True
            atexit.register(self.wait)

    def _start(self) -> None:
        self._errors = tempfile.TemporaryFile()
        try:
            self._child = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=self._errors, start_new_session=True)
        except OSError as exc:
            self._collect(None, str(exc))

    def _collect(self, code: int | None, reason: str = "") -> None:
        if self._errors is not None:
            self._errors.seek(0)
            lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
            reason = reason or (lines[-1] if lines else "")
            self._errors.close()
        self._child, self._errors = None, None
        if code == 0:
            self.rendered += 1
            return
        self.failures += 1
        log.warning("%s: the report could not be rendered (exit status %s: %s); training goes on",
                    self.run, code, reason or "no message")


class TrainingReports:
    """A Recorder and its background renders: what the HF, Lightning and Keras adapters share.

    report_every: render after every N completed epochs (None: never during training). report_at_end:
    render when training ends, finished or crashed. Reports go to out/ inside the run folder unless
    `out` says otherwise.
    """

    def __init__(self, dir: str | os.PathLike[str], *, report_every: int | None = None, report_at_end: bool = True,
                 out: str | os.PathLike[str] | None = None, languages: Sequence[str] = ("zh", "en"),
                 formats: Sequence[str] = ("md", "html", "pdf"), templates: str | os.PathLike[str] | None = None,
                 params: Mapping[str, Any] | None = None, plan: Mapping[str, Any] | None = None) -> None:
        if report_every is not None and (isinstance(report_every, bool) or report_every < 1):
            raise UsageError(f"report_every: expected a positive number of epochs, got {report_every!r}")
        self.recorder = Recorder(dir, params=params, plan=plan)
        run = self.recorder.dir.resolve()
        self.renders = BackgroundReports(run, Path(out).resolve() if out is not None else run / "out",
                                         languages, formats, templates)
        self.report_every, self.report_at_end = report_every, report_at_end
        self._reported_epoch = 0

    def log(self, metrics: Mapping[str, Any], step: int | None = None, epoch: float | None = None) -> None:
        self.recorder.log(metrics, step=step, epoch=epoch)
        self.renders.poll()

    def epoch_end(self, completed: int) -> None:
        """Flush; render when `completed` epochs reach the next multiple of report_every."""
        self.recorder.flush()
        if self.report_every and self.recorder.active and completed // self.report_every > self._reported_epoch:
            self._reported_epoch = completed // self.report_every
            self.renders.request()

    def end(self, status: str, error: str | None = None) -> None:
        """Record how training ended (once) and render the final report in the background."""
        if self.recorder.status != "running":
            return
        self.recorder.finish(status, error)
        if self.report_at_end and self.recorder.active:
            self.renders.request()
            self.renders.wait_at_exit()

    def crashed(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        self.end("crashed", "".join(traceback.format_exception(kind, exc, tb)))

    def watch_uncaught(self) -> None:
        """Mark the run crashed when an exception ends the script (frameworks whose callbacks hear no crash)."""
        previous = sys.excepthook

        def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
            self.crashed(kind, exc, tb)
            previous(kind, exc, tb)

        sys.excepthook = hook
