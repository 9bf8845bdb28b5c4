"""DingTalk custom robot: one markdown message, signed when a secret is set.

Signature (open.dingtalk.com, custom robot "加签"): HMAC-SHA256 keyed with the secret over
"{timestamp_ms}\\n{secret}", base64- then URL-encoded, sent as `&timestamp=...&sign=...` in the URL.
A robot takes 20 messages a minute; the nightly job sends one. It cannot carry files: the message links
to the digest PDF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Callable

from reporter.errors import DeliveryError
from reporter.lab.delivery.http import Request, Response, json_request
from reporter.lab.delivery.message import Content, fit

MAX_TEXT = 20000
"""Bytes of markdown text DingTalk accepts in one message."""
RATE_LIMITED = 130101
"""errcode of "send too fast, exceed 20 times per minute" (HTTP 200): retried like a 429."""


def rate_limited(answer: Response) -> bool:
    return answer.json().get("errcode") == RATE_LIMITED


def signature(timestamp_ms: int, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    if not secret:
        return url
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={signature(timestamp_ms, secret)}"


def send(content: Content, url: str, secret: str | None, post: Callable[[Request], Response],
         clock: Callable[[], float]) -> None:
    """Post the markdown message; DingTalk answers HTTP 200 with a non-zero `errcode` when it refuses.

    Raises:
        DeliveryError: the text is over the limit even without rows, or DingTalk refused it.
    """
    target = signed_url(url, secret, int(clock() * 1000))
    text = fit(lambda rows: content.body("md", rows=rows), lambda t: len(t.encode("utf-8")), MAX_TEXT,
               "DingTalk markdown size")
    answer = post(json_request(target, {"msgtype": "markdown",
                                        "markdown": {"title": content.title(), "text": text}}, rate_limited)).json()
    if answer.get("errcode"):
        raise DeliveryError(f"DingTalk refused the message (errcode {answer['errcode']}: {answer.get('errmsg')})")
