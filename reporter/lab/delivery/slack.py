"""Slack incoming webhook: Block Kit blocks (a header, mrkdwn sections of at most 3000 characters, at
most 50 blocks) with links to the reports and the digest PDF (a webhook cannot upload files)."""

from __future__ import annotations

from typing import Callable

from reporter.lab.delivery.http import Request, Response, json_request
from reporter.lab.delivery.message import Content, fit

MAX_SECTION = 3000
"""Characters of text in one section block."""
MAX_BLOCKS = 50
"""Blocks in one message."""
MAX_HEADER = 150
"""Characters of a header block's plain text."""


def _sections(text: str) -> list[str]:
    """The text cut at line ends into pieces Slack accepts in one section each."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > MAX_SECTION:
            pieces, current, line = pieces + ([current] if current else []) + [line[:MAX_SECTION]], "", line[MAX_SECTION:]
        if len(current) + len(line) > MAX_SECTION:
            pieces, current = pieces + [current], ""
        current += line
    return [p for p in pieces + [current] if p.strip()]


def blocks(content: Content, rows: int | None) -> dict:
    title = content.title()
    header = title if len(title) <= MAX_HEADER else title[:MAX_HEADER - 1] + "…"
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": piece}}
                for piece in _sections(content.body("md", flavour="slack", rows=rows))]
    return {"text": title, "blocks": [{"type": "header", "text": {"type": "plain_text", "text": header}}, *sections]}


def send(content: Content, url: str, secret: str | None, post: Callable[[Request], Response],
         clock: Callable[[], float]) -> None:
    """Post the blocks; Slack answers 200 'ok', or an error status that post() turns into DeliveryError.

    Raises:
        DeliveryError: more than 50 blocks even without rows, or Slack refused the message.
    """
    payload = fit(lambda rows: blocks(content, rows), lambda p: len(p["blocks"]), MAX_BLOCKS, "Slack block count")
    post(json_request(url, payload))
