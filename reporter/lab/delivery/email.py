"""E-mail: an HTML body with the cover table, a plain-text alternative and the digest PDF attached, sent
over implicit TLS (port 465: QQ and 163 mail require it, with an app code) or STARTTLS (port 587).

The server's certificate is checked against the system's trust store (or the file in SSL_CERT_FILE).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from reporter.errors import DeliveryError
from reporter.lab.delivery.message import Content
from reporter.lab.delivery.settings import EmailSettings

TIMEOUT = 30.0
"""Seconds an SMTP server may take to answer one command."""


def email_message(content: Content, settings: EmailSettings) -> EmailMessage:
    """The whole e-mail as it is sent (and as --dry-run writes it to out/outbox/email.eml)."""
    message = EmailMessage()
    message["Subject"] = content.title()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Date"] = format_datetime(content.nightly.date)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    attached = settings.attach_pdf and bool(content.nightly.attachments)
    message.set_content(content.body("txt", attached=attached))
    message.add_alternative(f"<!DOCTYPE html>\n<html><body>\n{content.body('html', attached=attached)}</body></html>\n",
                            subtype="html")
    if attached:
        for attachment in content.nightly.attachments:
            message.add_attachment(attachment.data, maintype="application", subtype="pdf",
                                   filename=attachment.filename)
    return message


def _connect(settings: EmailSettings, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    server = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    if settings.security == "starttls":
        server.starttls(context=context)
    return server


def send_email(message: EmailMessage, settings: EmailSettings, user: str | None, password: str | None,
               timeout: float = TIMEOUT) -> None:
    """Log in (when credentials are named) and send to every recipient.

    Raises:
        DeliveryError: connection, TLS, login or a refused recipient, in one line without the password.
    """
    where = f"{settings.host}:{settings.port}"
    try:
        with _connect(settings, timeout) as server:
            if user is not None and password is not None:
                server.login(user, password)
            refused = server.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{where} refused the login ({exc.smtp_code}); check the user and password in "
                            f"{settings.user_env} and {settings.password_env} (QQ and 163 mail want an app code)") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"{where} refused every recipient: {_refused(exc.recipients)}") from None
    except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS, or no AUTH (many servers offer it only after TLS)
        raise DeliveryError(f"{where}: {exc}; check security = \"{settings.security}\" (\"ssl\" for port 465, "
                            "\"starttls\" for 587)") from None
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(f"{where} closed the connection ({exc or 'no reason given'})") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"{where}: {' '.join(str(exc).split())}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"{where}: TLS failed ({exc.reason or exc}); check security = \"{settings.security}\" "
                            "(\"ssl\" for port 465, \"starttls\" for 587) and the server's certificate") from None
    except TimeoutError:
        raise DeliveryError(f"{where}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise DeliveryError(f"{where}: cannot connect ({exc.strerror or exc})") from None
    if refused:
        raise DeliveryError(f"{where} refused some recipients: {_refused(refused)}; the others got the message")


def _refused(recipients: dict) -> str:
    return ", ".join(f"{address} ({code} {_text(reply)})" for address, (code, reply) in recipients.items())


def _text(reply: bytes | str) -> str:
    return " ".join((reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply).split())
