"""PDF from the rendered HTML with WeasyPrint, fetching nothing from outside the report.

Figures are data URIs and fonts come from the system (Noto Sans CJK through fontconfig), so the
URL fetcher allows the `data:` scheme only: no network, no file reads, whatever a run contains.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

from reporter.errors import RenderError
from reporter.heap import collected_after

log = logging.getLogger(__name__)


class _GlyphWatch(logging.Handler):
    """Collects WeasyPrint's warnings about glyphs no installed font can draw."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.missing: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ".notdef" in message:
            self.missing.append(message)


@contextmanager
def _source_date(when: datetime) -> Iterator[None]:
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(when.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def load_weasyprint() -> tuple[Any, Any]:
    """WeasyPrint's HTML and URLFetcher classes, imported on first use (half a second): a report forking a process
    per language imports it once before the fork, so that no child imports it again.

    Raises:
        RenderError: WeasyPrint or its system libraries are missing.
    """
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:
        raise RenderError(f"cannot load WeasyPrint ({exc}); run 'make setup' to install pango and the fonts") from None
    return HTML, URLFetcher


def html_to_pdf(html: str, when: datetime) -> tuple[bytes, list[str]]:
    """PDF bytes of a self-contained HTML report, and WeasyPrint's warnings about missing glyphs.

    A run's own text (a label, a run name) may hold characters no installed font has; that gives a
    box in the PDF, reported to the caller rather than failing the whole report.

    A document leaves its boxes, font configuration and embedded font files in reference cycles; they
    are freed here, at about 7 ms, rather than whenever a full collection comes (see reporter.heap).
    Freezing the older objects also keeps WeasyPrint's own collections from rescanning them: a fifth
    less PDF time.

    Raises:
        RenderError: WeasyPrint or its system libraries are missing.
    """
    HTML, URLFetcher = load_weasyprint()
    watch = _GlyphWatch()
    logger = logging.getLogger("weasyprint")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(watch)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # collected here, reported once by the caller
    try:
        with _source_date(when), collected_after():
            fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)
            pdf = HTML(string=html, base_url="data:,", url_fetcher=fetcher).write_pdf()
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)
        logger.propagate = propagate
    return pdf, watch.missing
