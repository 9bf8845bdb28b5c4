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


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Container allocations between young collections for a single report (Python's default is 700).

A report's process imports pandas, matplotlib and WeasyPrint: about a million objects, nearly all kept to
the end. At the default, the demo report ran 632 young, 56 middle and 5 full collections walking them, for
almost nothing freed; at 10,000, 76, 6 and 2 (gc.callbacks), about 0.1 s less of its 3 s of CPU.
The cycles a report does leave (figures, WeasyPrint's documents) are still freed: collected_after
collects after each PDF, and the process ends after one report."""


def fewer_collections() -> None:
    """Let young objects pile up longer before the collector runs, for a process that makes one report."""
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
