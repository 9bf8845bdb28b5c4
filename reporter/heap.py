"""The cyclic garbage collector, pointed at what one piece of work allocated.

A process that makes many reports (a batch worker, the digest) holds pandas, matplotlib, WeasyPrint and
their caches: a few hundred thousand long-lived objects. Python runs a full collection only when the
objects promoted since the last one exceed a quarter of those, so the cycles a report leaves behind
(matplotlib figures, WeasyPrint's boxes, font configurations and embedded font files of tens of MB)
waited for many reports: a batch worker grew by about 95 MB per PDF report (issue 21). Freezing the
older objects first makes collecting a report's own cycles cheap, since the collector then walks only
what the report made.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collected_after() -> Iterator[None]:
    """Run a piece of work with every older object frozen, then free the reference cycles it left.

    Nested inside another such block, it collects at its own end but leaves freezing to the outer one
    (unfreezing there would hand the outer block's older objects back to the collector too early).
    Frozen objects are only moved aside, never kept alive: unfreezing returns them to the collector.
    """
    outermost = gc.get_freeze_count() == 0
    if outermost:
        gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        if outermost:
            gc.unfreeze()
