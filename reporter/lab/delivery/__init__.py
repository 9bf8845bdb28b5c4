"""Delivery of the nightly reports: e-mail with the digest PDF, and Feishu/Lark, DingTalk, WeCom, Slack
and Discord messages, one per channel per night.

Everything sent is read from the out-store (message.py), so delivery never touches a report: a failure
is recorded in out/batch.json's `delivery` list, printed as one line, and makes the exit status 1.
Secrets come from environment variables named in the settings; they are masked in every error and
never written to out/ (the --dry-run outbox shows the webhook URLs with their tokens as ***).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from reporter.errors import DeliveryError
from reporter.lab.delivery import dingtalk, discord, feishu, slack, wecom
from reporter.lab.delivery.email import email_message, send_email
from reporter.lab.delivery.http import Request, Response, mask, masked_url, post
from reporter.lab.delivery.message import Content, read_nightly, should_send
from reporter.lab.delivery.settings import DeliverySettings, EmailSettings, WebhookSettings, secret
from reporter.outstore import empty_folder, outbox_path, read_batch, write_atomic, write_batch

log = logging.getLogger(__name__)
CHANNELS = {"feishu": feishu.send, "dingtalk": dingtalk.send, "wecom": wecom.send, "slack": slack.send,
            "discord": discord.send}
_DRY_ANSWER = Response(200, b'{"code": 0, "errcode": 0, "media_id": "(dry-run)"}')
"""What --dry-run pretends each platform answered, so multi-step channels (WeCom's upload) go through."""


@dataclass(frozen=True)
class DeliveryResult:
    """One channel's outcome, as batch.json records it."""

    kind: str
    ok: bool
    error: str | None = None


def check_secrets(settings: DeliverySettings, origin: str) -> None:
    """Every environment variable the settings name is set, checked before a batch does any work.

    Raises:
        ConfigError: a named variable is missing.
    """
    if settings.email is not None:
        secret(settings.email.user_env, origin)
        secret(settings.email.password_env, origin)
    for hook in settings.webhooks:
        secret(hook.url_env, origin)
        secret(hook.secret_env, origin)


def _outbox_entry(request: Request, secrets: list[str]) -> dict:
    """A request as the outbox shows it: the body as sent, the URL's token and any signature masked."""
    body = request.preview
    if "sign" in body:
        body = {**body, "sign": "***"}
    return {"url": masked_url(request.url), "content_type": request.content_type.split(";")[0],
            "body": json.loads(mask(json.dumps(body, ensure_ascii=False), secrets))}


def _webhook(content: Content, hook: WebhookSettings, origin: str, outbox: Path | None,
             clock: Callable[[], float], name: str) -> None:
    url, key = secret(hook.url_env, origin), secret(hook.secret_env, origin)
    secrets = [s for s in (url, key) if s]
    sent: list[Request] = []

    def transport(request: Request) -> Response:
        sent.append(request)
        return _DRY_ANSWER if outbox is not None else post(request)

    try:
        CHANNELS[hook.kind](content, url, key, transport, clock)
    except DeliveryError as exc:
        raise DeliveryError(mask(str(exc), secrets)) from None
    finally:
        if outbox is not None:
            entries = [_outbox_entry(r, secrets) for r in sent]
            write_atomic(outbox / f"{name}.json", json.dumps({"kind": hook.kind, "requests": entries},
                                                              ensure_ascii=False, indent=2).encode("utf-8"))


def _email(content: Content, email: EmailSettings, origin: str, outbox: Path | None) -> None:
    message = email_message(content, email)
    if outbox is not None:
        write_atomic(outbox / "email.eml", bytes(message))
        return
    user, password = secret(email.user_env, origin), secret(email.password_env, origin)
    try:
        send_email(message, email, user, password)
    except DeliveryError as exc:
        raise DeliveryError(mask(str(exc), [password] if password else [])) from None


def _names(settings: DeliverySettings) -> list[str]:
    """One outbox file name per channel: the kind, numbered when a kind appears twice."""
    kinds = [h.kind for h in settings.webhooks]
    return [kind if kinds.count(kind) == 1 else f"{kind}-{kinds[:i].count(kind) + 1}" for i, kind in enumerate(kinds)]


def deliver(out: Path, settings: DeliverySettings, now: datetime, origin: str, templates: Path | None = None,
            dry_run: bool = False, clock: Callable[[], float] = time.time) -> list[DeliveryResult]:
    """Send tonight's message to every channel (or write each to out/outbox/ with dry_run, replacing the
    last dry run's); one channel's failure never stops the others. Results are recorded in out/batch.json
    unless dry_run.

    Raises:
        UsageError: out/batch.json is missing.
        ConfigError: an environment variable named in the settings is not set.
    """
    nightly = read_nightly(out, settings.languages, now)
    if dry_run:  # the outbox shows this run's messages only: none from a channel removed since, none piling up
        empty_folder(out / "outbox")
    if not should_send(nightly, settings.notify_on):
        log.info("delivery: nothing to send tonight (notify_on = %s)", settings.notify_on)
        if not dry_run:
            _record(out, [])
        return []
    content = Content(nightly, settings.languages, settings.base_url, templates)
    outbox = outbox_path(out) if dry_run else None
    channels: list[tuple[str, Callable[[], None]]] = []
    if settings.email is not None:
        channels.append(("email", functools.partial(_email, content, settings.email, origin, outbox)))
    for hook, name in zip(settings.webhooks, _names(settings)):
        channels.append((hook.kind, functools.partial(_webhook, content, hook, origin, outbox, clock, name)))
    results = []
    for kind, send in channels:
        try:
            send()
        except DeliveryError as exc:
            results.append(DeliveryResult(kind, False, " ".join(str(exc).split())))
        except Exception as exc:  # noqa: BLE001 - one channel must not stop the others; its text may hold a secret
            results.append(DeliveryResult(kind, False, f"failed unexpectedly ({type(exc).__name__}); run "
                                                       "'reporter send --dry-run' to check the settings"))
        else:
            results.append(DeliveryResult(kind, True))
    if not dry_run:
        _record(out, results)
    return results


def _record(out: Path, results: list[DeliveryResult]) -> None:
    """batch.json gains (or replaces) its `delivery` list: one entry per channel."""
    batch = read_batch(out) or {"runs": []}
    batch["delivery"] = [asdict(r) for r in results]
    write_batch(out, batch)
