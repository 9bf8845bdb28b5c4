"""Delivery of the nightly reports (issue #17), against real servers on the loopback: e-mail with the
digest PDF over STARTTLS and implicit TLS, and each chat platform's webhook with its own signature,
schema and size limit. A delivery failure never touches the reports, and no secret reaches out/."""

from __future__ import annotations

import json
import shutil
import threading
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from delivery_servers import (
    DINGTALK_SECRET,
    FEISHU_SECRET,
    PASSWORD,
    USER,
    Platforms,
    dropping_server,
    self_signed,
    smtp_server,
)
from test_nightly import BROKEN, tiny_run

from reporter.cli import main
from reporter.errors import DeliveryError
from reporter.lab.delivery.http import json_request, post

NOW = "2025-03-15T09:00:00"
# The implicit-TLS server is all TLS, but aiosmtpd cannot tell and warns about AUTH without TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
SECRETS = (PASSWORD, FEISHU_SECRET, DINGTALK_SECRET, "feishutoken", "dingtoken", "wecomkey", "slacktoken",
           "discordtoken")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture()
def platforms() -> Platforms:
    server = Platforms()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An out-store as tonight's digest left it: two runs (one failed tonight) and digest.en.pdf."""
    base = tmp_path_factory.mktemp("nightly")
    tiny_run(base / "runs" / "alpha")
    (base / "runs" / "broken").mkdir()
    (base / "runs" / "broken" / "history.csv").write_text(BROKEN)
    (base / "plain.toml").write_text('languages = ["en"]\nformats = ["md"]\n')
    assert main(["digest", str(base / "runs"), "--out", str(base / "out"), "--jobs", "1", "-q", "--now", NOW,
                 "--config", str(base / "plain.toml"), "--format", "pdf"]) == 1  # broken fails, the digest is written
    return base


def lab_settings(folder: Path, smtp_port: int, security: str, platforms: Platforms | None, *, to: str = '"pi@lab.test"',
                 notify_on: str = "always") -> Path:
    hooks = "" if platforms is None else "".join(
        f'\n[[delivery.webhook]]\nkind = "{kind}"\nurl_env = "REPORTER_{kind.upper()}_URL"\n'
        + (f'secret_env = "REPORTER_{kind.upper()}_SECRET"\n' if kind in ("feishu", "dingtalk") else "")
        for kind in ("feishu", "dingtalk", "wecom", "slack", "discord"))
    path = folder / "lab.toml"
    path.write_text(f'''languages = ["en"]
formats = ["md"]

[delivery]
notify_on = "{notify_on}"
base_url = "https://lab.test/reports/"
languages = ["en"]

[delivery.email]
host = "127.0.0.1"
port = {smtp_port}
security = "{security}"
user_env = "REPORTER_SMTP_USER"
password_env = "REPORTER_SMTP_PASSWORD"
sender = "reporter@lab.test"
to = [{to}]
attach_pdf = true
{hooks}''')
    return path


@pytest.fixture()
def environment(monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path], platforms: Platforms) -> Platforms:
    """The secrets in the environment, as the nightly job's crontab sets them; the test CA trusted."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.setenv("REPORTER_SMTP_USER", USER)
    monkeypatch.setenv("REPORTER_SMTP_PASSWORD", PASSWORD)
    for kind, path in (("feishu", "/feishu/open-apis/bot/v2/hook/feishutoken"),
                       ("dingtalk", "/dingtalk/robot/send?access_token=dingtoken"),
                       ("wecom", "/cgi-bin/webhook/send?key=wecomkey"),
                       ("slack", "/slack/services/T000/B000/slacktoken"),
                       ("discord", "/discord/api/webhooks/42/discordtoken")):
        monkeypatch.setenv(f"REPORTER_{kind.upper()}_URL", platforms.url(path))
    monkeypatch.setenv("REPORTER_FEISHU_SECRET", FEISHU_SECRET)
    monkeypatch.setenv("REPORTER_DINGTALK_SECRET", DINGTALK_SECRET)
    return platforms


def copy_out(published: Path, tmp_path: Path) -> Path:
    shutil.copytree(published / "out", tmp_path / "out", symlinks=True)
    return tmp_path / "out"


def send(out: Path, config: Path, *extra: str) -> int:
    return main(["send", "--config", str(config), "--out", str(out), "--now", NOW, *extra])


def assert_no_secret_in(out: Path, *texts: str) -> None:
    for path in [p for p in out.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        assert not [s for s in SECRETS if s.encode() in data], path
    for text in texts:
        assert not [s for s in SECRETS if s in text]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_arrives_with_subject_html_text_and_the_digest_pdf(security: str, tmp_path: Path, published: Path,
                                                                  certificate: tuple[Path, Path],
                                                                  environment: Platforms) -> None:
    out = copy_out(published, tmp_path)
    controller, mailbox = smtp_server(*certificate, implicit_tls=security == "ssl")
    try:
        assert send(out, lab_settings(tmp_path, controller.port, security, None, to='"pi@lab.test", "group@lab.test"')) == 0
    finally:
        controller.stop()
    [(recipients, raw)] = mailbox.messages
    assert recipients == ["pi@lab.test", "group@lab.test"]
    message = message_from_bytes(raw, policy=default)
    assert message["Subject"] == "Training runs, 2025-03-15: 1 need attention"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "broken: report failed tonight" in text and text.index("broken") < text.index("alpha")
    assert '<a href="https://lab.test/reports/alpha/report.en.md">' in html and "<table" in html
    [pdf] = list(message.iter_attachments())
    assert pdf.get_filename() == "digest-2025-03-15.en.pdf"
    assert pdf.get_content() == (out / "digest.en.pdf").read_bytes()
    assert json.loads((out / "batch.json").read_text())["delivery"] == [{"kind": "email", "ok": True, "error": None}]


@pytest.mark.parametrize("case, expected", [
    ("password", "refused the login (535); check the user and password in REPORTER_SMTP_USER"),
    ("recipient", "refused every recipient: refused@lab.test (550 5.1.1 no such user)"),
    ("dropped", "closed the connection"),
    ("ssl-on-starttls", "TLS failed"),
])
def test_email_failures_are_one_line_without_the_password(case: str, expected: str, tmp_path: Path, published: Path,
                                                           certificate: tuple[Path, Path], environment: Platforms,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = copy_out(published, tmp_path)
    controller, _ = smtp_server(*certificate, implicit_tls=False)
    listener, dropping_port = dropping_server()
    try:
        if case == "password":
            monkeypatch.setenv("REPORTER_SMTP_PASSWORD", "wrong-" + PASSWORD)
        port = dropping_port if case == "dropped" else controller.port
        config = lab_settings(tmp_path, port, "ssl" if case == "ssl-on-starttls" else "starttls", None,
                              to='"refused@lab.test"' if case == "recipient" else '"pi@lab.test"')
        assert send(out, config) == 1
    finally:
        controller.stop()
        listener.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("reporter: delivery to email failed: ") and expected in err, err
    [entry] = json.loads((out / "batch.json").read_text())["delivery"]
    assert entry["kind"] == "email" and entry["ok"] is False and expected in entry["error"]
    assert_no_secret_in(out, err)


def test_each_chat_platform_gets_one_signed_message_within_its_limits(tmp_path: Path, published: Path,
                                                                     environment: Platforms) -> None:
    out = copy_out(published, tmp_path)
    config = lab_settings(tmp_path, 1, "starttls", environment)
    config.write_text(config.read_text().replace("[delivery.email]", "[delivery.unused]").replace(
        "\nhost", "\n#host").replace("\nport", "\n#port"))
    config.write_text("\n".join(line for line in config.read_text().splitlines()
                                if not line.startswith(("#", "security", "user_env", "password_env", "sender", "to ",
                                                        "attach_pdf", "[delivery.unused]"))))
    assert send(out, config) == 0
    received = environment.received
    assert {k: len(v) for k, v in received.items()} == {"feishu": 1, "dingtalk": 1, "cgi": 3, "slack": 1, "discord": 1}
    card = json.loads(received["feishu"][0][1])["card"]
    assert card["header"]["template"] == "red" and "2025-03-15" in card["header"]["title"]["content"]
    assert "[alpha](https://lab.test/reports/alpha/report.en.md)" in card["elements"][0]["text"]["content"]
    assert list(environment.uploads.values()) == [(out / "digest.en.pdf").read_bytes()]  # WeCom carries the PDF
    slack = json.loads(received["slack"][0][1])
    assert "<https://lab.test/reports/digest.en.pdf|Digest (PDF)>" in slack["blocks"][1]["text"]["text"]
    assert b"%PDF" in received["discord"][0][1]
    assert [e["ok"] for e in json.loads((out / "batch.json").read_text())["delivery"]] == [True] * 5


def test_messages_are_cut_to_the_platform_limits_and_say_how_many_runs_were_left_out(
        tmp_path: Path, published: Path, environment: Platforms) -> None:
    out = copy_out(published, tmp_path)
    batch = json.loads((out / "batch.json").read_text())
    for i in range(120):  # 120 runs that failed tonight, each with a long error
        batch["runs"].append({"run": f"run-{i:03d}-" + "x" * 40, "path": "", "status": "failed", "seconds": 0,
                              "error": "history.csv: " + "no finite values " * 4})
    (out / "batch.json").write_text(json.dumps(batch))
    config = lab_settings(tmp_path, 1, "starttls", environment)
    text = config.read_text()
    config.write_text(text[:text.index("[delivery.email]")] + text[text.index("[[delivery.webhook]]"):])
    assert send(out, config) == 0  # the servers refuse anything over their limits
    wecom = json.loads(environment.received["cgi"][0][1])["markdown"]["content"]
    assert len(wecom.encode()) <= 4096 and "more runs: see the index" in wecom
    discord = environment.received["discord"][0][1]
    assert b"more runs: see the index" in discord


def test_a_429_is_retried_after_the_wait_the_platform_asks_for(platforms: Platforms) -> None:
    waits: list[float] = []
    platforms.script = [(429, {"Retry-After": "7"}, b""),
                        (429, {}, json.dumps({"retry_after": 0.25, "global": False}).encode()),
                        (503, {}, b"")]
    answer = post(json_request(platforms.url("/slack/services/T/B/x"), {"text": "t", "blocks": []}), sleep=waits.append)
    assert answer.status == 200 and waits == [7.0, 0.25, 4.0]  # Slack's header, Discord's JSON, then backoff


def test_a_platform_that_does_not_answer_times_out(platforms: Platforms) -> None:
    platforms.delay = 1.0
    with pytest.raises(DeliveryError, match=r"no answer within 0.2 s"):
        post(json_request(platforms.url("/slack/services/T/B/x"), {"text": "t", "blocks": []}), timeout=0.2)


def test_the_nightly_job_delivers_and_reports_stay_complete_when_delivery_fails(
        tmp_path: Path, certificate: tuple[Path, Path], environment: Platforms,
        capsys: pytest.CaptureFixture[str]) -> None:
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    controller, mailbox = smtp_server(*certificate, implicit_tls=True)
    try:
        config = lab_settings(tmp_path, controller.port, "ssl", environment)
        environment.script = [(429, {"Retry-After": "0"}, b"")]  # the first platform asks to wait, then answers
        argv = ["batch", str(root), "--out", str(out), "--jobs", "1", "-q", "--now", NOW, "--config", str(config)]
        assert main(argv) == 0
        [(_, raw)] = mailbox.messages
        pdf = next(message_from_bytes(raw, policy=default).iter_attachments()).get_content()
        assert pdf == (out / "nightly.en.pdf").read_bytes()  # the batch wrote tonight's digest PDF and sent it
        assert all(entry["ok"] for entry in json.loads((out / "batch.json").read_text())["delivery"])

        capsys.readouterr()
        environment.script = [(500, {}, b"down")] * 4 + [(403, {}, b"invalid_token")]
        (root / "alpha" / "history.csv").write_text((root / "alpha" / "history.csv").read_text() + "13,0.57,0.7\n")
        assert main(argv) == 1
    finally:
        controller.stop()
    err = capsys.readouterr().err
    assert "reporter: delivery to feishu failed: HTTP 500" in err and "delivery to dingtalk failed: HTTP 403" in err
    assert (out / "alpha" / "report.en.md").read_text().count("13") and (out / "index.en.md").is_file()
    delivery = json.loads((out / "batch.json").read_text())["delivery"]
    assert [(d["kind"], d["ok"]) for d in delivery] == [("email", True), ("feishu", False), ("dingtalk", False),
                                                         ("wecom", True), ("slack", True), ("discord", True)]
    assert_no_secret_in(out, err)


def test_dry_run_writes_each_message_to_the_outbox_without_secrets(tmp_path: Path, published: Path,
                                                                  environment: Platforms) -> None:
    out = copy_out(published, tmp_path)
    assert send(out, lab_settings(tmp_path, 1, "starttls", environment), "--dry-run") == 0
    assert environment.received == {}  # nothing was sent
    assert sorted(p.name for p in (out / "outbox").iterdir()) == [
        "dingtalk.json", "discord.json", "email.eml", "feishu.json", "slack.json", "wecom.json"]
    feishu = json.loads((out / "outbox" / "feishu.json").read_text())["requests"][0]
    assert feishu["url"].endswith("/hook/***") and feishu["body"]["sign"] == "***"
    assert feishu["body"]["msg_type"] == "interactive"
    wecom = json.loads((out / "outbox" / "wecom.json").read_text())["requests"]
    assert wecom[1]["body"]["files"]["media"]["bytes"] == (out / "digest.en.pdf").stat().st_size
    email = message_from_bytes((out / "outbox" / "email.eml").read_bytes(), policy=default)
    assert next(email.iter_attachments()).get_content() == (out / "digest.en.pdf").read_bytes()
    assert "delivery" not in json.loads((out / "batch.json").read_text())
    assert_no_secret_in(out)


def test_notify_on_problems_sends_nothing_on_a_quiet_night(tmp_path: Path, published: Path,
                                                         environment: Platforms) -> None:
    out = copy_out(published, tmp_path)
    batch = json.loads((out / "batch.json").read_text())
    batch["runs"] = [r for r in batch["runs"] if r["status"] != "failed"]
    (out / "batch.json").write_text(json.dumps(batch))
    assert send(out, lab_settings(tmp_path, 1, "starttls", environment, notify_on="problems")) == 0
    assert environment.received == {} and json.loads((out / "batch.json").read_text())["delivery"] == []


def test_a_missing_secret_stops_the_batch_before_any_work(tmp_path: Path, environment: Platforms,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    tiny_run(tmp_path / "runs" / "alpha")
    monkeypatch.delenv("REPORTER_SLACK_URL")
    config = lab_settings(tmp_path, 1, "starttls", environment)
    assert main(["batch", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--config", str(config)]) == 2
    assert "REPORTER_SLACK_URL is not set" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_delivery_settings_report_every_problem_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('[delivery]\nnotify_on = "sometimes"\n[delivery.email]\nhost = "smtp.qq.com"\nport = 465\n'
                      'security = "starttls"\nsender = "a@b"\nto = ["c@d"]\npassword_env = "hunter2!"\n'
                      '[[delivery.webhook]]\nkind = "teams"\nurl_env = "X"\n')
    assert main(["send", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    for part in ("delivery.notify_on: expected one of always, changes, problems",
                 'delivery.email.security: port 465 speaks implicit TLS: use security = "ssl"',
                 "delivery.email.password_env: expected the NAME of an environment variable",
                 "delivery.webhook[0].kind: expected one of feishu"):
        assert part in err, err


@pytest.mark.parametrize("url", ["hooks.slack.test/services/T000/B000/TOKENqq76", "http://127.0.0.1:9/hook/A B TOKENqq77"],
                         ids=["no scheme", "a space"])
def test_a_mistyped_webhook_url_is_one_line_without_its_token(url: str) -> None:
    """A URL urllib refuses used to escape as an internal error printing it whole, token and all (review of #17)."""
    with pytest.raises(DeliveryError) as caught:
        post(json_request(url, {"text": "t"}), retries=0)
    assert "TOKENqq7" not in str(caught.value) and "url_env" in str(caught.value)


def test_a_garbled_answer_fails_its_channel_in_one_line(platforms: Platforms) -> None:
    """An answer that is not HTTP (http.client.HTTPException) used to escape post() and stop every channel."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer_garbage() -> None:
        connection, _ = server.accept()
        connection.recv(65536)
        connection.sendall(b"NOT HTTP\r\n\r\n")
        connection.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    with pytest.raises(DeliveryError, match="malformed"):
        post(json_request(f"http://127.0.0.1:{server.getsockname()[1]}/hook/TOKEN", {"text": "t"}), retries=0)
    server.close()


def test_a_night_of_one_run_says_one_run(tmp_path: Path, published: Path, environment: Platforms) -> None:
    out = copy_out(published, tmp_path)
    batch = json.loads((out / "batch.json").read_text())
    batch["runs"] = batch["runs"][:1]
    (out / "batch.json").write_text(json.dumps(batch))
    assert send(out, lab_settings(tmp_path, 1, "starttls", environment), "--dry-run") == 0
    text = (out / "outbox" / "slack.json").read_text()
    assert "1 run:" in text and "1 runs" not in text


def one_channel(folder: Path, kind: str, extra: str = "") -> Path:
    """Lab settings delivering to one chat channel only (no e-mail), with the nightly languages and formats."""
    path = folder / f"{kind}.toml"
    secret = f'secret_env = "REPORTER_{kind.upper()}_SECRET"\n' if kind in ("feishu", "dingtalk") else ""
    path.write_text(f'languages = ["en"]\nformats = ["md"]\n{extra}\n[delivery]\nbase_url = "https://lab.test/reports/"\n'
                    f'[[delivery.webhook]]\nkind = "{kind}"\nurl_env = "REPORTER_{kind.upper()}_URL"\n{secret}')
    return path


def test_the_nightly_job_never_overwrites_the_lab_meeting_digest(tmp_path: Path, environment: Platforms) -> None:
    """`batch` with [delivery] used to rewrite digest.<lang>.pdf with a 7-day --since, replacing the digest
    made for the lab meeting; tonight's PDF now has its own file, and the message links that one."""
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    (tmp_path / "plain.toml").write_text('languages = ["en"]\nformats = ["md"]\n')
    assert main(["digest", str(root), "--out", str(out), "--jobs", "1", "-q", "--now", NOW, "--since", "2025-02-01",
                 "--config", str(tmp_path / "plain.toml"), "--format", "pdf"]) == 0
    meeting = (out / "digest.en.pdf").read_bytes()
    assert main(["batch", str(root), "--out", str(out), "--jobs", "1", "-q", "--now", NOW,
                 "--config", str(one_channel(tmp_path, "slack"))]) == 0
    assert (out / "digest.en.pdf").read_bytes() == meeting
    assert (out / "nightly.en.pdf").read_bytes().startswith(b"%PDF")
    [(_, body)] = environment.received["slack"]
    assert b"https://lab.test/reports/nightly.en.pdf" in body


@pytest.mark.parametrize("base_url", [True, False], ids=["linked", "not linked"])
def test_an_email_without_the_pdf_never_says_it_is_attached(base_url: bool, tmp_path: Path, published: Path,
                                                           environment: Platforms) -> None:
    """With attach_pdf = false the e-mail used to say "The digest PDF is attached." all the same."""
    out = copy_out(published, tmp_path)
    config = lab_settings(tmp_path, 1, "starttls", None)
    text = config.read_text().replace("attach_pdf = true", "attach_pdf = false")
    config.write_text(text if base_url else text.replace('base_url = "https://lab.test/reports/"\n', ""))
    assert send(out, config, "--dry-run") == 0
    email = message_from_bytes((out / "outbox" / "email.eml").read_bytes(), policy=default)
    assert not list(email.iter_attachments())
    where = "follow the link above" if base_url else "it is digest.en.pdf in the reports folder"
    for part in (email.get_body(("plain",)).get_content(), email.get_body(("html",)).get_content()):
        assert "is attached" not in part and where in part, part


@pytest.mark.parametrize("value", ["SEC" + "0123456789abcdef" * 4, "mtPc8jVxWAHn5bpIxj0yQe",
                                   "https://oapi.dingtalk.com/robot/send?access_token=abc"],
                         ids=["dingtalk secret", "feishu secret", "webhook url"])
def test_a_secret_pasted_into_secret_env_is_refused_without_being_printed(value: str, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A DingTalk SEC… secret passed as a variable name, and was then printed in "variable … is not set"."""
    config = one_channel(tmp_path, "dingtalk")
    config.write_text(config.read_text().replace('"REPORTER_DINGTALK_SECRET"', f'"{value}"'))
    assert main(["send", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "delivery.webhook[0].secret_env: expected the NAME of an environment variable" in err
    assert value not in err and value[:12] not in err


@pytest.mark.parametrize("kind, answer", [
    ("dingtalk", {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
    ("feishu", {"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}),
    ("feishu", {"code": 9499, "msg": "too many request"}),
], ids=["dingtalk 130101", "feishu 11232", "feishu 9499 too many"])
def test_a_rate_limit_in_a_200_answer_is_retried_like_a_429(kind: str, answer: dict, tmp_path: Path,
                                                           published: Path, environment: Platforms) -> None:
    """DingTalk and Feishu say "too fast" with HTTP 200 and a code; that used to fail the channel at once."""
    out = copy_out(published, tmp_path)
    environment.script = [(200, {}, json.dumps(answer).encode())]
    assert send(out, one_channel(tmp_path, kind)) == 0
    assert len(environment.received[kind]) == 1  # the retry, answered by the platform itself


def test_other_codes_in_a_200_answer_stay_final(tmp_path: Path, published: Path, environment: Platforms,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = copy_out(published, tmp_path)
    environment.script = [(200, {}, b'{"code": 9499, "msg": "Bad Request"}')]
    assert send(out, one_channel(tmp_path, "feishu")) == 1
    assert "feishu failed: Feishu refused the card (code 9499: Bad Request)" in capsys.readouterr().err
    assert "feishu" not in environment.received  # not tried again


def test_quiet_send_prints_nothing_on_success(tmp_path: Path, published: Path, environment: Platforms,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = copy_out(published, tmp_path)
    assert send(out, one_channel(tmp_path, "slack"), "-q") == 0
    assert environment.received["slack"] and capsys.readouterr() == ("", "")


def test_a_dry_run_replaces_the_outbox_of_the_last_one(tmp_path: Path, published: Path,
                                                      environment: Platforms) -> None:
    """Messages of a channel removed since (and temp files of a killed run) used to stay in out/outbox/,
    reading as tonight's and piling up."""
    out = copy_out(published, tmp_path)
    assert send(out, lab_settings(tmp_path, 1, "starttls", environment), "--dry-run") == 0
    (out / "outbox" / ".email.eml.k1ll3d").write_bytes(b"half a message")
    assert send(out, one_channel(tmp_path, "slack"), "--dry-run") == 0
    assert [p.name for p in (out / "outbox").iterdir()] == ["slack.json"]
    assert_no_secret_in(out)


def test_adding_delivery_settings_does_not_re_render_every_run(tmp_path: Path, environment: Platforms) -> None:
    """The delivery settings never change a report, but they were part of each run's fingerprint."""
    root, out = tmp_path / "runs", tmp_path / "out"
    tiny_run(root / "alpha")
    argv = ["batch", str(root), "--out", str(out), "--jobs", "1", "-q", "--now", NOW, "--config"]
    assert main([*argv, str(one_channel(tmp_path, "slack"))]) == 0
    config = one_channel(tmp_path, "discord")  # another channel: the same reports
    assert main([*argv, str(config)]) == 0
    assert [r["status"] for r in json.loads((out / "batch.json").read_text())["runs"]] == ["skipped"]
    config.write_text(config.read_text().replace('formats = ["md"]', 'formats = ["md", "html"]'))
    assert main([*argv, str(config)]) == 0
    assert [r["status"] for r in json.loads((out / "batch.json").read_text())["runs"]] == ["rendered"]
