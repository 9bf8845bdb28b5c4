"""HTTP for the chat channels: one POST with a timeout, a few retries on 429/5xx, secrets masked.

Platforms say how long to wait differently: Slack and Feishu send a `Retry-After` header, Discord a
JSON `retry_after` in seconds; both are honoured (capped, so a hostile or broken server cannot stall
the nightly job), otherwise the wait doubles from one second. The clock is injectable for tests.
DingTalk and Feishu answer a rate limit with HTTP 200 and a code in the body; a request names that
answer (`Request.rate_limited`) and it is retried like a 429.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from email.message import Message
from typing import Callable

from reporter.errors import DeliveryError

TIMEOUT = 20.0
"""Seconds to wait for a platform's answer before giving up on one attempt."""
RETRIES = 3
"""Further attempts after a 429 or 5xx answer."""
MAX_WAIT = 60.0
"""The longest wait honoured from Retry-After / retry_after."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> dict:
        """The answer as a JSON object ({} when it is not one: Slack answers 'ok', Discord nothing)."""
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


def _never(answer: Response) -> bool:
    return False


@dataclass(frozen=True)
class Request:
    """One HTTP POST as it is sent: the outbox writes these (with the URL's token masked)."""

    url: str
    body: bytes
    content_type: str
    preview: dict
    """The payload as JSON: the body itself, or a multipart's fields with each file's name, size and SHA-256."""
    rate_limited: Callable[[Response], bool] = _never
    """Whether a successful HTTP answer is the platform's rate limit in disguise (a code in the body)."""


def json_request(url: str, payload: dict, rate_limited: Callable[[Response], bool] = _never) -> Request:
    return Request(url, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8",
                   payload, rate_limited)


def multipart_request(url: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> Request:
    """A multipart/form-data POST: text fields, and files as (field name) -> (file name, bytes, type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                     f"Content-Type: application/json\r\n\r\n".encode() + value.encode("utf-8") + b"\r\n")
    for name, (filename, data, kind) in files.items():
        quoted = urllib.parse.quote(filename)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{quoted}"; '
                     f"filelength={len(data)}\r\nContent-Type: {kind}\r\n\r\n".encode() + data + b"\r\n")
    preview = {"fields": {name: json.loads(value) for name, value in fields.items()},
               "files": {name: {"filename": filename, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                         for name, (filename, data, _) in files.items()}}
    return Request(url, b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}",
                   preview)


def _wait(headers: Message | None, body: bytes, attempt: int) -> float:
    """How long the platform asks us to wait: Retry-After (seconds), else JSON retry_after, else backoff."""
    header = headers.get("Retry-After") if headers else None
    hint: object = header
    if header is None:
        hint = Response(200, body).json().get("retry_after")
    try:
        seconds = float(hint)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = 2.0 ** attempt
    return min(max(seconds, 0.0), MAX_WAIT)


def post(request: Request, timeout: float = TIMEOUT, retries: int = RETRIES,
         sleep: Callable[[float], None] = time.sleep) -> Response:
    """POST the request; retry 429 and 5xx answers and the rate limits the request names, honouring the
    platform's wait. A rate limit still there after the retries is returned, for the channel to report.

    Raises:
        DeliveryError: no answer within the timeout, a refused connection, or an error status after the
            retries (the message carries the status and the platform's own words, never the URL).
    """
    try:
        outgoing = urllib.request.Request(request.url, data=request.body, method="POST",
                                          headers={"Content-Type": request.content_type, "User-Agent": "reporter"})
    except ValueError:  # its text would carry the URL, token included
        raise DeliveryError("the webhook URL is not a valid https:// address; check the variable named in "
                            "url_env") from None
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(outgoing, timeout=timeout) as answer:
                response, headers = Response(answer.status, answer.read()), answer.headers
            if request.rate_limited(response) and attempt < retries:
                sleep(_wait(headers, response.body, attempt))
                continue
            return response
        except urllib.error.HTTPError as exc:
            body = exc.read()
            if (exc.code == 429 or exc.code >= 500) and attempt < retries:
                sleep(_wait(exc.headers, body, attempt))
                continue
            words = " ".join(body.decode("utf-8", "replace").split())[:200]
            raise DeliveryError(f"HTTP {exc.code} {exc.reason}" + (f": {words}" if words else "")) from None
        except TimeoutError:
            raise DeliveryError(f"no answer within {timeout:g} s") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise DeliveryError(f"no answer within {timeout:g} s") from None
            raise DeliveryError(f"cannot connect ({reason})") from None
        except OSError as exc:
            raise DeliveryError(f"connection failed ({exc})") from None
        except (http.client.HTTPException, ValueError) as exc:  # a garbled answer, or a URL urlopen refuses
            raise DeliveryError(f"the request or its answer was malformed ({type(exc).__name__}); check the "
                                "webhook URL in the variable named in url_env") from None
    raise AssertionError("unreachable: the last attempt returns or raises")


def masked_url(url: str) -> str:
    """The URL with its token hidden: every query value and the last path segment (where Feishu, Slack
    and Discord put theirs) become ***, so an outbox file or a log line never carries a usable webhook."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if not parts.query and last:
        path = f"{head}/***"
    query = "&".join(f"{key}=***" for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def mask(text: str, secrets: list[str]) -> str:
    """Text with every secret replaced by ***; of a secret URL, its token (as masked_url hides it) too."""
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        if value.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(value)
            tokens = [parts.path.rstrip("/").rpartition("/")[2]] + [v for _, v in urllib.parse.parse_qsl(parts.query)]
            text = text.replace(value, masked_url(value))
            for token in (t for t in tokens if len(t) >= 6):
                text = text.replace(token, "***")
        else:
            text = text.replace(value, "***")
    return text
