"""Loopback servers that play each delivery platform for the tests: SMTP (aiosmtpd, STARTTLS or implicit
TLS, AUTH, a refused recipient, a dropped connection) and one HTTP server that checks each webhook's
signature with the platform's published algorithm, its schema and its size limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = "lab-reporter", "app-code-5ecret"
FEISHU_SECRET, DINGTALK_SECRET = "feishu-5ecret", "SECdingtalk5ecret"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, made with the openssl command line."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message; a recipient whose name starts with 'refused' is refused."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address.startswith("refused"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=ok)  # handled=False: aiosmtpd answers 535 itself


def smtp_server(cert: Path, key: Path, implicit_tls: bool) -> tuple[Controller, Mailbox]:
    """A started SMTP server: implicit TLS, or STARTTLS required before AUTH."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    # PLAIN only: smtplib falls back to LOGIN after a refused PLAIN, which aiosmtpd answers by waiting.
    options = {"authenticator": _authenticate, "auth_required": True, "auth_exclude_mechanism": ["LOGIN"]}
    if implicit_tls:
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), ssl_context=context,
                                auth_require_tls=False, **options)  # aiosmtpd does not see implicit TLS as TLS
    else:
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), tls_context=context,
                                require_starttls=True, **options)
    controller.start()
    return controller, mailbox


def dropping_server() -> tuple[socket.socket, int]:
    """A server that greets like SMTP, then closes the connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.sendall(b"220 smtp.test ESMTP\r\n")
            connection.recv(1024)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    message = BytesParser(policy=default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return {part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()}


class Platforms(ThreadingHTTPServer):
    """Every chat platform on one loopback port, told apart by path. `script` holds canned answers
    (status, headers, body) given before the real ones; `delay` makes every answer late."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: dict[str, list] = {}
        self.script: list[tuple[int, dict, bytes]] = []
        self.delay = 0.0
        self.uploads: dict[str, bytes] = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: Platforms

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.delay)
        if self.server.script:
            status, headers, answer = self.server.script.pop(0)
            return self._answer(status, answer, headers)
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        kind = url.path.split("/")[1].split("-")[0]
        check = getattr(self, f"_{kind}")
        self.server.received.setdefault(kind, []).append((query, body))
        status, answer = check(url.path, query, body)
        self._answer(status, json.dumps(answer).encode() if isinstance(answer, dict) else answer)

    def _feishu(self, path: str, query: dict, body: bytes) -> tuple[int, object]:
        """open.feishu.cn custom bot: HMAC-SHA256 keyed "{timestamp}\\n{secret}" over b"", base64; body <= 20 KB."""
        data = json.loads(body)
        key = f"{data['timestamp']}\n{FEISHU_SECRET}".encode()
        if data.get("sign") != base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode():
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
        if len(body) > 20 * 1024:
            return 200, {"code": 9499, "msg": "request body too large"}
        card = data["card"]
        assert data["msg_type"] == "interactive" and card["header"]["title"]["tag"] == "plain_text"
        assert all(e["tag"] in ("div", "action", "hr", "markdown") for e in card["elements"])
        return 200, {"code": 0, "msg": "success", "data": {}}

    def _dingtalk(self, path: str, query: dict, body: bytes) -> tuple[int, object]:
        """open.dingtalk.com robot: sign = urlencode(base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")))."""
        expected = base64.b64encode(hmac.new(DINGTALK_SECRET.encode(), f"{query.get('timestamp')}\n{DINGTALK_SECRET}"
                                             .encode(), hashlib.sha256).digest()).decode()
        if query.get("access_token") != "dingtoken" or query.get("sign") != expected:
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if abs(int(query["timestamp"]) - time.time() * 1000) > 3600_000:
            return 200, {"errcode": 310000, "errmsg": "timestamp too far"}
        data = json.loads(body)
        assert data["msgtype"] == "markdown" and data["markdown"]["title"] and data["markdown"]["text"]
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _cgi(self, path: str, query: dict, body: bytes) -> tuple[int, object]:
        """qyapi.weixin.qq.com group robot: markdown <= 4096 bytes; upload_media then a file message."""
        if query.get("key") != "wecomkey":
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        if path.endswith("/upload_media"):
            assert query["type"] == "file"
            filename, data = _multipart(self.headers["Content-Type"], body)["media"]
            media_id = f"media-{len(self.server.uploads)}"
            self.server.uploads[media_id] = data
            return 200, {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id, "created_at": "1"}
        data = json.loads(body)
        if data["msgtype"] == "markdown":
            if len(data["markdown"]["content"].encode()) > 4096:
                return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        elif data["file"]["media_id"] not in self.server.uploads:
            return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _slack(self, path: str, query: dict, body: bytes) -> tuple[int, object]:
        """hooks.slack.com: header plain_text <= 150, mrkdwn sections <= 3000, at most 50 blocks."""
        data = json.loads(body)
        blocks = data["blocks"]
        if len(blocks) > 50 or not data.get("text"):
            return 400, b"invalid_blocks"
        for block in blocks:
            limit = 150 if block["type"] == "header" else 3000
            if len(block["text"]["text"]) > limit:
                return 400, b"invalid_blocks"
        return 200, b"ok"

    def _discord(self, path: str, query: dict, body: bytes) -> tuple[int, object]:
        """discord.com webhooks: multipart with payload_json (content <= 2000) and files[n]."""
        parts = _multipart(self.headers["Content-Type"], body)
        payload = json.loads(parts.pop("payload_json")[1])
        if len(payload["content"]) > 2000 or len(parts) != len(payload["attachments"]):
            return 400, {"code": 50035, "message": "Invalid Form Body"}
        return 204, b""
