"""WeCom (企业微信) group robot: a markdown message (at most 4096 bytes), then each digest PDF uploaded
with `upload_media` and sent as a `file` message (files of 5 bytes to 20 MB).

The upload address is the send address with `/send` replaced by `/upload_media` and `&type=file`.
"""

from __future__ import annotations

from typing import Callable

from reporter.errors import DeliveryError
from reporter.lab.delivery.http import Request, Response, json_request, multipart_request
from reporter.lab.delivery.message import Content, fit

MAX_MARKDOWN = 4096
"""Bytes of markdown content in one WeCom message."""
MAX_FILE = 20 * 1024 * 1024
"""Largest file upload_media accepts."""


def upload_url(url: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.removesuffix('/send')}/upload_media?{query}{'&' if query else ''}type=file"


def _check(answer: Response, what: str) -> dict:
    data = answer.json()
    if data.get("errcode"):
        raise DeliveryError(f"WeCom refused the {what} (errcode {data['errcode']}: {data.get('errmsg')})")
    return data


def send(content: Content, url: str, secret: str | None, post: Callable[[Request], Response],
         clock: Callable[[], float]) -> None:
    """The markdown message, then every digest PDF as a file message.

    Raises:
        DeliveryError: the text is over 4096 bytes even without rows, a PDF is over 20 MB, or WeCom refused.
    """
    text = fit(lambda rows: content.body("md", rows=rows), lambda t: len(t.encode("utf-8")), MAX_MARKDOWN,
               "WeCom markdown size")
    _check(post(json_request(url, {"msgtype": "markdown", "markdown": {"content": text}})), "markdown message")
    for attachment in content.nightly.attachments:
        if len(attachment.data) > MAX_FILE:
            raise DeliveryError(f"{attachment.filename} is {len(attachment.data)} bytes, over WeCom's 20 MB file limit")
        uploaded = _check(post(multipart_request(upload_url(url), {}, {"media": (attachment.filename, attachment.data,
                                                                                 "application/pdf")})), "upload")
        _check(post(json_request(url, {"msgtype": "file", "file": {"media_id": uploaded.get("media_id")}})),
               "file message")
