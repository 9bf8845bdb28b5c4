"""What a nightly message says, read only from the out-store (batch.json, each run's summary.json and
the digest PDFs), so `reporter send` can re-send the latest without touching a run folder.

The message is language-neutral here (run ids, status and finding codes, links); the words come from
templates/delivery/*.j2 and the catalogs. Platforms cap a message's size, so a channel renders with fewer
rows until its payload fits (`fit`); the message then says how many runs it left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import quote

from reporter.errors import DeliveryError, UsageError
from reporter.lab.index import problems_first, report_links
from reporter.outstore import BATCH, DIGEST, NIGHTLY, document_bytes, newest_document, read_batch, run_summary
from reporter.report.render.environment import environment, format_date, render_template

PROBLEM_STATUSES = ("failed", "crashed", "stalled")
"""Run states that put a run at the top of tonight's message."""
PROBLEM_CODES = ("metric.diverged", "metric.declining")
"""Findings that need action even in a run still going (the validation metric falling: overfitting)."""
ROW_STEPS = (None, 50, 20, 10, 5, 0)
"""Row limits tried, largest first, until a channel's payload fits its platform's size limit."""
T = TypeVar("T")


@dataclass(frozen=True)
class ReportFile:
    """A run's report in one language: where it lies in out/ (for the link) and its file name (the link's text)."""

    path: str  # relative to out/
    name: str


@dataclass(frozen=True)
class RunLine:
    """One run in the message: what it is, whether it needs attention, and why (finding codes)."""

    run_id: str
    name: str
    status: str  # a summary.json status, or "failed" when tonight's report failed
    problem: bool
    reasons: tuple[str, ...]
    changed: bool  # rendered or failed tonight
    error: str | None
    reports: dict[str, ReportFile]  # language -> its report


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Nightly:
    """Tonight's state of the out-store, as every channel sends it."""

    date: datetime
    runs: tuple[RunLine, ...]  # problems first, then the runs changed tonight
    total: int
    changed: int
    problems: int
    digests: dict[str, str]  # language -> digest PDF relative to out/
    attachments: tuple[Attachment, ...]


def _run_line(out: Path, entry: dict) -> RunLine | None:
    run_id = str(entry.get("run", ""))
    summary = run_summary(out, run_id) if run_id else None
    if summary is None and entry.get("status") != "failed":
        return None
    failed = entry.get("status") == "failed"
    status = "failed" if failed or summary is None else summary.run.status
    codes = tuple(f.code for f in (summary.findings if summary else ())
                  if f.severity == "error" or f.code in PROBLEM_CODES)
    reports = {link.lang: ReportFile(f"{run_id}/{link.href}", link.href)
               for link in report_links(out / run_id, "html")} if summary else {}
    return RunLine(run_id, summary.run.name if summary else run_id, status,
                   status in PROBLEM_STATUSES or bool(codes), codes, entry.get("status") in ("rendered", "failed"),
                   (entry.get("error") or "").splitlines()[0] if failed and entry.get("error") else None, reports)


def latest_digest_pdf(out: Path, lang: str) -> str | None:
    """The digest PDF made last in a language, relative to out/: tonight's (nightly.<lang>.pdf, written by a
    batch that delivers) or a meeting digest made since (digest.<lang>.pdf, by `reporter digest`)."""
    return newest_document(out, [f"{stem}.{lang}.pdf" for stem in (NIGHTLY, DIGEST)])


def read_nightly(out: Path, languages: tuple[str, ...], now: datetime) -> Nightly:
    """Tonight's message from out/batch.json, the runs' summaries and the latest digest PDF.

    Raises:
        UsageError: out/batch.json is missing or unreadable (no batch has run into this folder).
    """
    batch = read_batch(out)
    if batch is None:
        raise UsageError(f"{out / BATCH}: missing or unreadable; run `reporter batch` into {out} first")
    entries = [e for e in batch["runs"] if isinstance(e, dict)]
    lines = [line for e in entries if (line := _run_line(out, e)) is not None]
    shown = sorted((line for line in lines if line.problem or line.changed),
                   key=lambda r: (not r.problem, r.status != "failed", problems_first(r.status, r.name)))
    names = {lang: name for lang in languages if (name := latest_digest_pdf(out, lang)) is not None}
    pdfs = {lang: document_bytes(out, name) for lang, name in names.items()}
    digests = {lang: names[lang] for lang, data in pdfs.items() if data is not None}
    attachments = tuple(Attachment(f"digest-{now:%Y-%m-%d}.{lang}.pdf", data) for lang, data in pdfs.items() if data)
    return Nightly(now, tuple(shown), len(entries), sum(line.changed for line in lines),
                   sum(line.problem for line in lines), digests, attachments)


def should_send(nightly: Nightly, notify_on: str) -> bool:
    """notify_on: 'always'; 'changes' when a run was rendered or failed tonight; 'problems' when one needs action."""
    return notify_on == "always" or bool(nightly.changed if notify_on == "changes" else nightly.problems)


@dataclass(frozen=True)
class Content:
    """A nightly message ready to render in each configured language and markup."""

    nightly: Nightly
    languages: tuple[str, ...]
    base_url: str | None
    templates: Path | None

    def url(self, relative: str) -> str | None:
        """Where the lab serves a file of out/ (path percent-encoded), or None without a base_url."""
        return self.base_url + quote(relative) if self.base_url else None

    def title(self) -> str:
        """The subject or card title in every language, with the date so daily messages never thread together."""
        return " / ".join(self._render(lang, "txt", "delivery/title.txt.j2", None).strip() for lang in self.languages)

    def body(self, output: str, flavour: str = "md", rows: int | None = None, attached: bool = False) -> str:
        """The message body in every language: output 'html', 'txt' or 'md' (flavour 'md' or 'slack');
        `attached` when the message carries the digest PDFs (the e-mail says so, or where they are)."""
        name = {"html": "delivery/email.html.j2", "txt": "delivery/email.txt.j2"}.get(output, "delivery/chat.md.j2")
        parts = [self._render(lang, output, name, rows, flavour=flavour, attached=attached).strip()
                 for lang in self.languages]
        return ("\n" if output == "html" else "\n\n---\n\n").join(parts) + "\n"

    def _render(self, lang: str, output: str, name: str, rows: int | None, **extra: object) -> str:
        nightly = self.nightly
        shown = nightly.runs if rows is None else nightly.runs[:rows]
        return render_template(environment(lang, output, self.templates), name, n=nightly, runs=shown,
                               hidden=len(nightly.runs) - len(shown), date=format_date(nightly.date, lang),
                               day=f"{nightly.date:%Y-%m-%d}", url=self.url, **extra)


def fit(make: Callable[[int | None], T], size: Callable[[T], int], limit: int, what: str) -> T:
    """The largest rendering (fewest rows left out) whose size is within the platform's limit.

    Raises:
        DeliveryError: even the message without any run rows is over the limit.
    """
    for rows in ROW_STEPS:
        candidate = make(rows)
        if size(candidate) <= limit:
            return candidate
    raise DeliveryError(f"the message is over the {what} limit of {limit} even with no run listed")
