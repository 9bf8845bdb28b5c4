"""The `[delivery]` table of the lab settings: typed, validated at once with the key names.

Secrets never live in the settings file: it names environment variables (`password_env`, `url_env`,
`secret_env`), read only when a message is sent, so a settings file can be committed and shared.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, overload

from reporter.errors import ConfigError

if TYPE_CHECKING:
    from reporter.config import _Problems

NOTIFY_ON = ("always", "changes", "problems")
SECURITY = ("ssl", "starttls", "none")
WEBHOOK_KINDS = ("feishu", "dingtalk", "wecom", "slack", "discord")
SIGNED_KINDS = ("feishu", "dingtalk")
TOKEN_LENGTH = 20
"""A word of a variable name this long that holds digits is taken for a pasted token (Feishu's secrets
are 22 such characters; words of real variable names are short)."""


@dataclass(frozen=True)
class EmailSettings:
    """An SMTP server and the recipients of the nightly e-mail."""

    host: str
    port: int
    security: str
    """'ssl' (implicit TLS, port 465: QQ, 163), 'starttls' (port 587), 'none' (a local relay only)."""
    sender: str
    to: tuple[str, ...]
    user_env: str | None = None
    password_env: str | None = None
    attach_pdf: bool = True


@dataclass(frozen=True)
class WebhookSettings:
    """One chat channel: its platform and the environment variables holding its URL and signing secret."""

    kind: str
    url_env: str
    secret_env: str | None = None


@dataclass(frozen=True)
class DeliverySettings:
    """When and where the nightly reports are delivered."""

    notify_on: str = "always"
    base_url: str | None = None
    """Where the lab serves out/, for links in the messages; None sends no links."""
    languages: tuple[str, ...] = ("zh", "en")
    email: EmailSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()


def _text(problems: _Problems, key: str, value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    problems.add(key, f"expected a non-empty string, got {value!r}")
    return None


def _looks_like_secret(name: str) -> bool:
    """Not a variable name as labs write them (REPORTER_FEISHU_SECRET, smtp_password), but something pasted
    in its place: a URL, or a token such as DingTalk's SEC… (mixed case) or a long run of letters and digits."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return True
    mixed_case = name != name.upper() and name != name.lower()
    return mixed_case or any(len(word) >= TOKEN_LENGTH and re.search(r"\d", word) for word in name.split("_"))


def _env_name(problems: _Problems, key: str, value: Any) -> str | None:
    """The name of an environment variable; a value that looks like a secret itself is refused, and its
    error line names the key only: the value may be the secret, and cron mails stderr around."""
    if not isinstance(value, str) or not value.strip():
        problems.add(key, "expected the name of an environment variable, such as REPORTER_SMTP_PASSWORD")
        return None
    if _looks_like_secret(value.strip()):
        problems.add(key, "expected the NAME of an environment variable holding the secret (letters, digits and _, "
                          "one case, such as REPORTER_FEISHU_SECRET), not the secret itself; the value is not shown")
        return None
    return value.strip()


def _email(problems: _Problems, data: Any) -> EmailSettings | None:
    if not isinstance(data, Mapping):
        problems.add("delivery.email", "expected a table")
        return None
    known = ["host", "port", "security", "user_env", "password_env", "sender", "to", "attach_pdf"]
    problems.unknown("delivery.email.", data, known)
    for key in ("host", "port", "sender", "to"):
        if key not in data:
            problems.add(f"delivery.email.{key}", "missing; it is required")
    port = data.get("port", 0)
    if "port" in data and not (isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536):
        problems.add("delivery.email.port", f"expected a port number, got {port!r}")
    security = data.get("security", "ssl")
    if security not in SECURITY:
        problems.add("delivery.email.security", f"expected one of {', '.join(SECURITY)}, got {security!r}")
    elif (security, port) in (("starttls", 465), ("ssl", 587)):
        problems.add("delivery.email.security", f"port {port} speaks {'implicit TLS' if port == 465 else 'STARTTLS'}: "
                                                f"use security = \"{'ssl' if port == 465 else 'starttls'}\"")
    to = data.get("to", [])
    to = [to] if isinstance(to, str) else to
    if "to" in data and (not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to)):
        problems.add("delivery.email.to", f"expected a list of e-mail addresses, got {data['to']!r}")
    if not isinstance(data.get("attach_pdf", True), bool):
        problems.add("delivery.email.attach_pdf", f"expected true or false, got {data['attach_pdf']!r}")
    host = _text(problems, "delivery.email.host", data["host"]) if "host" in data else None
    sender = _text(problems, "delivery.email.sender", data["sender"]) if "sender" in data else None
    user = _env_name(problems, "delivery.email.user_env", data["user_env"]) if "user_env" in data else None
    password = _env_name(problems, "delivery.email.password_env", data["password_env"]) if "password_env" in data else None
    if ("user_env" in data) != ("password_env" in data):
        problems.add("delivery.email", "user_env and password_env go together (AUTH needs both)")
    if not (host and sender) or problems.items:
        return None
    return EmailSettings(host, port, security, sender, tuple(to), user, password, data.get("attach_pdf", True))


def _webhook(problems: _Problems, index: int, data: Any) -> WebhookSettings | None:
    prefix = f"delivery.webhook[{index}]"
    if not isinstance(data, Mapping):
        problems.add(prefix, "expected a table with kind and url_env")
        return None
    problems.unknown(prefix + ".", data, ["kind", "url_env", "secret_env"])
    kind = data.get("kind")
    if kind not in WEBHOOK_KINDS:
        problems.add(f"{prefix}.kind", f"expected one of {', '.join(WEBHOOK_KINDS)}, got {kind!r}")
    if "url_env" not in data:
        problems.add(f"{prefix}.url_env", "missing; name the environment variable holding the webhook URL")
        return None
    url = _env_name(problems, f"{prefix}.url_env", data["url_env"])
    secret = _env_name(problems, f"{prefix}.secret_env", data["secret_env"]) if "secret_env" in data else None
    if secret is not None and kind not in SIGNED_KINDS:
        problems.add(f"{prefix}.secret_env", f"only {' and '.join(SIGNED_KINDS)} sign their messages")
    if kind not in WEBHOOK_KINDS or url is None:
        return None
    return WebhookSettings(kind, url, secret)


def delivery_from_dict(problems: _Problems, data: Any, languages: tuple[str, ...]) -> DeliverySettings | None:
    """The validated `[delivery]` table; problems are added to `problems` (reported with the others).

    `languages` is the lab's default when the table names none.
    """
    from reporter.config import LANGUAGES, _choice_list

    if not isinstance(data, Mapping):
        problems.add("delivery", "expected a table")
        return None
    problems.unknown("delivery.", data, ["notify_on", "base_url", "languages", "email", "webhook"])
    notify_on = data.get("notify_on", "always")
    if notify_on not in NOTIFY_ON:
        problems.add("delivery.notify_on", f"expected one of {', '.join(NOTIFY_ON)}, got {notify_on!r}")
    base_url = data.get("base_url")
    if base_url is not None and not (isinstance(base_url, str) and base_url.startswith(("http://", "https://"))):
        problems.add("delivery.base_url", f"expected an http(s) URL where the lab serves out/, got {base_url!r}")
    langs = _choice_list(problems, "delivery.languages", data["languages"], LANGUAGES) if "languages" in data else languages
    email = _email(problems, data["email"]) if "email" in data else None
    hooks = data.get("webhook", [])
    if not isinstance(hooks, list):
        problems.add("delivery.webhook", "expected [[delivery.webhook]] tables")
        hooks = []
    webhooks = tuple(w for i, h in enumerate(hooks) if (w := _webhook(problems, i, h)) is not None)
    if "email" not in data and not hooks:
        problems.add("delivery", "no channel: add [delivery.email] or [[delivery.webhook]]")
    if problems.items:
        return None
    return DeliverySettings(notify_on, base_url if base_url is None else base_url.rstrip("/") + "/", langs or languages,
                            email, webhooks)


@overload
def secret(name: str, origin: str) -> str: ...
@overload
def secret(name: None, origin: str) -> None: ...
@overload
def secret(name: str | None, origin: str) -> str | None: ...


def secret(name: str | None, origin: str) -> str | None:
    """The value of the environment variable `name` (None when no variable is named).

    Raises:
        ConfigError: the variable is named in the settings but not set.
    """
    if name is None:
        return None
    value = os.environ.get(name, "")
    if not value.strip():
        raise ConfigError(f"{origin}: the environment variable {name} is not set; export it in the nightly job's "
                          "environment (the settings file names it, it never holds the secret)")
    return value.strip()
