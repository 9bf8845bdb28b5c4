"""Feishu/Lark custom bot: one interactive card (request body at most 20 KB), signed when a secret is set.

Signature (open.feishu.cn, "custom bot" security settings): HMAC-SHA256 keyed with
"{timestamp}\\n{secret}" over an empty message, base64-encoded; `timestamp` (seconds) and `sign` go in
the body. A custom bot cannot upload files, so the card links to the digest PDF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Callable

from reporter.errors import DeliveryError
from reporter.lab.delivery.http import Request, Response, json_request
from reporter.lab.delivery.message import Content, fit

MAX_BODY = 20 * 1024
"""Feishu refuses a request body over 20 KB."""
RATE_LIMITED = 11232
"""code of the custom bot's frequency limit under load (HTTP 200; Feishu's rate-limit guide): retried like a 429."""
BUSY = 9499
"""A general code: "too many request" when the bot's 100/min or 5/s is exceeded (retried), other causes are final."""


def rate_limited(answer: Response) -> bool:
    data = answer.json()
    code = data.get("code", data.get("StatusCode"))
    return code == RATE_LIMITED or (code == BUSY and "too many" in str(data.get("msg", "")).lower())


def signature(timestamp: int, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode("utf-8")
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def card(content: Content, rows: int | None) -> dict:
    """The interactive card: a header with the title (red when a run needs attention) and the run list,
    whose links lead to the reports, the digest PDF and the index."""
    return {"config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": content.title()},
                       "template": "red" if content.nightly.problems else "green"},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": content.body("md", rows=rows)}}]}


def send(content: Content, url: str, secret: str | None, post: Callable[[Request], Response],
         clock: Callable[[], float]) -> None:
    """Post the card; Feishu answers HTTP 200 with a non-zero `code` when it refuses a message.

    Raises:
        DeliveryError: the card is over 20 KB even without rows, or Feishu refused it.
    """
    timestamp = int(clock())
    signed = {"timestamp": str(timestamp), "sign": signature(timestamp, secret)} if secret else {}
    request = fit(lambda rows: json_request(url, {**signed, "msg_type": "interactive", "card": card(content, rows)},
                                                rate_limited),
                  lambda r: len(r.body), MAX_BODY, "Feishu body size")
    answer = post(request).json()
    code = answer.get("code", answer.get("StatusCode", 0))
    if code:
        raise DeliveryError(f"Feishu refused the card (code {code}: {answer.get('msg', answer.get('StatusMessage'))})")
