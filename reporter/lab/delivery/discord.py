"""Discord webhook: the message (content at most 2000 characters) with the digest PDFs as multipart
attachments, when they fit the upload limit; a PDF over it is left out and the message links to it."""

from __future__ import annotations

import json
import logging
from typing import Callable

from reporter.lab.delivery.http import Request, Response, multipart_request
from reporter.lab.delivery.message import Content, fit

log = logging.getLogger(__name__)
MAX_CONTENT = 2000
"""Characters of message content."""
MAX_UPLOAD = 10 * 1024 * 1024
"""Total attachment bytes of one message on a server without boosts (Discord's default upload limit)."""


def send(content: Content, url: str, secret: str | None, post: Callable[[Request], Response],
         clock: Callable[[], float]) -> None:
    """Post the message with the PDFs that fit together under the upload limit.

    Raises:
        DeliveryError: the content is over 2000 characters even without rows, or Discord refused it.
    """
    text = fit(lambda rows: content.body("md", rows=rows), len, MAX_CONTENT, "Discord content length")
    files, total = [], 0
    for attachment in content.nightly.attachments:
        if total + len(attachment.data) > MAX_UPLOAD:
            log.warning("discord: %s left out: over the %d MB upload limit", attachment.filename, MAX_UPLOAD >> 20)
            continue
        files.append(attachment)
        total += len(attachment.data)
    payload = {"content": text, "allowed_mentions": {"parse": []},
               "attachments": [{"id": i, "filename": a.filename} for i, a in enumerate(files)]}
    post(multipart_request(url, {"payload_json": json.dumps(payload, ensure_ascii=False)},
                           {f"files[{i}]": (a.filename, a.data, "application/pdf") for i, a in enumerate(files)}))
