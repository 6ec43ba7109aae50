"""Delivery channels (docs/alerts.md#channels): generic JSON webhook, the group robots of 企業微信 (WeCom),
釘釘 (DingTalk, optionally signed), 飛書 (Feishu / Lark, optionally signed), Slack-style incoming webhooks,
and e-mail over SMTP (STARTTLS, SSL or plain).

Secrets (``url``, ``secret``, ``password``, header values, the SMTP user) may be ``env:NAME`` references,
read from the environment at send time. An error names the channel and what went wrong, never a secret:
every resolved secret is masked out of error texts.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ...config import ENV_PREFIX
from ...errors import ConfigError, Text, text_of


class DeliveryError(Exception):
    """A receiver refused or could not be reached; the text is safe to show."""


def resolve(value: str | None, what: str) -> str | None:
    """``env:NAME`` → the variable's value (an error naming the variable, never a value, when unset)."""
    if value is None or not value.startswith(ENV_PREFIX):
        return value
    name = value[len(ENV_PREFIX):]
    got = os.environ.get(name)
    if not got:
        raise ConfigError(key="alerts.channels.environment_variable_set", what=what, name=name)
    return got


def _signed_dingtalk(url: str, secret: str, now_ms: int) -> str:
    """DingTalk robot signing: ``sign = urlencode(base64(HmacSHA256(key=secret, msg=f"{ts}\\n{secret}")))``."""
    text = f"{now_ms}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(secret.encode(), text, hashlib.sha256).digest()).decode()
    sep = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{sep}timestamp={now_ms}&sign={urllib.parse.quote_plus(sign)}"


def feishu_sign(secret: str, ts: int) -> str:
    """Feishu robot signing: ``base64(HmacSHA256(key=f"{ts}\\n{secret}", msg=b""))``."""
    return base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def webhook_request(kind: str, url: str, secret: str | None, message: dict) -> tuple[str, dict]:
    """(URL, JSON body) for a webhook of ``kind``. ``message``: title, text (plain), markdown, payload."""
    title, text, md = message["title"], message["text"], message["markdown"]
    if kind == "webhook":
        return url, message["payload"]
    if kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{md}"}}
    if kind == "dingtalk":
        if secret:
            url = _signed_dingtalk(url, secret, int(time.time() * 1000))
        return url, {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{md}"}}
    if kind == "feishu":
        body: dict = {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
        if secret:
            ts = int(time.time())
            body.update(timestamp=str(ts), sign=feishu_sign(secret, ts))
        return url, body
    if kind == "slack":
        return url, {"text": f"*{title}*\n{text}"}
    raise ConfigError(key="alerts.channels.unknown_channel_type", kind=kind)


def _robot_ok(kind: str, body: bytes) -> Text | None:
    """The robots answer HTTP 200 with an error code in the body: the error, or None when accepted."""
    if kind not in ("wecom", "dingtalk", "feishu"):
        return None
    try:
        data = json.loads(body.decode("utf-8") or "{}")
    except ValueError:
        return Text("alerts.channels.not_json")
    code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
    if code not in (0, "0", None):
        return Text("alerts.channels.robot_refused", code=code, reason=str(data.get("errmsg") or data.get("msg") or ""))
    return None


def post_json(kind: str, url: str, body: dict, headers: dict[str, str], timeout: float) -> None:
    req = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"), method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8",
                                          "User-Agent": "yunying-alerts", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the user's own URL
            answer = resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(Text("alerts.channels.http", code=exc.code, reason=exc.reason)) from None
    except (socket.timeout, TimeoutError):
        raise DeliveryError(Text("alerts.channels.no_answer_within_s", timeout=timeout)) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise DeliveryError(Text("alerts.channels.no_answer_within_s", timeout=timeout)) from None
        raise DeliveryError(Text("alerts.channels.cannot_connect", reason=getattr(reason, 'strerror', None) or reason)) from None
    except (ConnectionError, OSError) as exc:
        raise DeliveryError(Text("alerts.channels.connection_failed", __name__=type(exc).__name__)) from None
    problem = _robot_ok(kind, answer)
    if problem:
        raise DeliveryError(problem)


def send_email(channel, subject: str, text: str, html: str | None = None, *, to: list[str] | None = None,
               attachments: list[tuple[str, bytes, str]] = ()) -> None:
    """One e-mail through the channel's SMTP server. ``attachments``: (file name, bytes, MIME type)."""
    msg = EmailMessage()
    msg["Subject"], msg["From"] = subject, channel.sender
    msg["To"] = ", ".join(to or channel.to)
    msg["Date"], msg["Message-ID"] = formatdate(localtime=False), make_msgid(domain="yunying")
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, mime in attachments:
        main, _, sub = mime.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    user = resolve(channel.username, "email username")
    password = resolve(channel.password, "email password")
    port = channel.port or {"ssl": 465, "starttls": 587, "none": 25}[channel.security]
    try:
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(channel.host, port, timeout=channel.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(channel.host, port, timeout=channel.timeout)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, password or "")
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(Text("alerts.channels.smtp_server_answered", smtp_code=exc.smtp_code)) from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(Text("alerts.channels.smtp", __name__=type(exc).__name__)) from None
    except (socket.timeout, TimeoutError):
        raise DeliveryError(Text("alerts.channels.smtp_server_did_answer", timeout=channel.timeout)) from None
    except ssl.SSLError as exc:
        raise DeliveryError(Text("alerts.channels.tls_failed", exc=exc.reason or type(exc).__name__)) from None
    except OSError as exc:
        raise DeliveryError(Text("alerts.channels.cannot_connect_smtp_server", exc=exc.strerror or type(exc).__name__)) from None


def _secrets(channel) -> list[str]:
    out = []
    for v in (channel.url, channel.secret, channel.password, channel.username, *channel.headers.values()):
        try:
            r = resolve(v, "secret")
        except ConfigError:
            continue
        if r and (v != r or v is channel.url):
            out.append(r)
    return out


def deliver(name: str, channel, message: dict, *, sleep=time.sleep) -> tuple[int, Text | str | None]:
    """Send ``message`` through ``channel``, up to ``channel.retries`` attempts with a short back-off.
    Returns (attempts, None) when delivered, or (attempts, the error with secrets masked): a catalogue
    :class:`~yunying.errors.Text` (said in each reader's language, stored as its key and parameters), or the
    text of an unexpected exception."""
    error = None
    for attempt in range(1, channel.retries + 1):
        try:
            if channel.type == "email":
                send_email(channel, message["title"], message["text"], message.get("html"))
            else:
                url = resolve(channel.url, f"channel {name}: url")
                headers = {k: resolve(v, f"channel {name}: header {k}") for k, v in channel.headers.items()}
                url, body = webhook_request(channel.type, url, resolve(channel.secret, f"channel {name}: secret"),
                                            message)
                post_json(channel.type, url, body, headers, channel.timeout)
            return attempt, None
        except ConfigError as exc:  # a missing variable will not appear by retrying
            return attempt, _masked(exc.text or exc.message, _secrets(channel))
        except DeliveryError as exc:
            error = text_of(exc) or str(exc)
        except Exception as exc:  # noqa: BLE001 - one channel's bug must not stop the run
            error = f"{type(exc).__name__}: {exc}"
        if attempt < channel.retries:
            sleep(min(0.25 * 2 ** (attempt - 1), 2.0))
    return channel.retries, _masked(error, _secrets(channel))


def _masked(error, secrets: list[str]):
    """``error`` (text, or a catalogue sentence and its parameters) with every secret replaced by ***."""
    if isinstance(error, Text):
        return Text(error.key, **{k: _masked(v, secrets) for k, v in error.params.items()})
    if isinstance(error, str):
        for secret in secrets:
            error = error.replace(secret, "***")
    return error
