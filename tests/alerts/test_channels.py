"""The channels against local receivers: each robot's JSON format (企業微信, 釘釘 signed, 飛書 signed, Slack,
generic), e-mail over SMTP (plain, STARTTLS with login, SSL), secrets from the environment and masked."""
from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest
from servers import Receiver, SMTPSink

from yunying.config import ChannelSettings, WorkspaceConfig
from yunying.errors import ConfigError
from yunying.reports.alerts.channels import deliver
from yunying.reports.alerts.messages import render

ALERT = {"rule": "GMV drop", "metric": "revenue", "period": "week", "period_start": "2026-03-23",
         "value": 8000.0, "reference": 10000.0,
         "detail": {"condition": "change", "crossed": "drop", "change": -0.2, "limit": 0.1, "unit": "relative",
                    "label": "Revenue", "kind": "money", "currency": "CNY", "period_end": "2026-03-29",
                    "where": ["event.channel = 'feed'"], "segment": None}}


def channel(**kw) -> ChannelSettings:
    return ChannelSettings(**kw)


def test_message_text_in_three_languages():
    en = render(ALERT, "en")
    assert en["title"] == "[yunying] Alert: GMV drop"
    assert "Value: CNY 8,000.00" in en["text"] and "Previous period: CNY 10,000.00" in en["text"]
    assert "fell by ▼ -20.0% (rule: a fall of 10.0%)" in en["text"]
    assert "Period: 2026-03-23 – 2026-03-29 (week)" in en["text"]
    hans, hant = render(ALERT, "zh-Hans")["text"], render(ALERT, "zh-Hant")["text"]
    assert "数值：CNY 8,000.00" in hans and "下降 ▼ -20.0%（规则：下降 10.0%）" in hans
    assert "數值：CNY 8,000.00" in hant and "週期：2026-03-23 – 2026-03-29（週）" not in hant  # brackets are ASCII
    assert "週期：2026-03-23 – 2026-03-29 (週)" in hant


def test_robot_formats(monkeypatch):
    monkeypatch.setenv("YY_DING_SECRET", "SECdingding")
    monkeypatch.setenv("YY_FEISHU_SECRET", "feishu-secret")
    msg = render(ALERT, "zh-Hans")
    with Receiver() as rx:
        for kind, extra in (("wecom", {}), ("dingtalk", {"secret": "env:YY_DING_SECRET"}),
                            ("feishu", {"secret": "env:YY_FEISHU_SECRET"}), ("slack", {}), ("webhook", {})):
            attempts, error = deliver(kind, channel(type=kind, url=f"{rx.url}/{kind}?k=1", **extra), msg)
            assert (attempts, error) == (1, None), kind
        got = {r["path"].split("?")[0].strip("/"): r for r in rx.requests}
    wecom = got["wecom"]["body"]
    assert wecom["msgtype"] == "markdown" and wecom["markdown"]["content"].startswith("**[yunying] 告警：GMV drop**")
    ding = got["dingtalk"]
    assert ding["body"]["msgtype"] == "markdown" and ding["body"]["markdown"]["title"] == msg["title"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding["path"]).query)
    ts = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(b"SECdingding", f"{ts}\nSECdingding".encode(), hashlib.sha256).digest())
    assert query["sign"][0] == expected.decode() and query["k"] == ["1"]
    feishu = got["feishu"]["body"]
    assert feishu["msg_type"] == "text" and "数值：CNY 8,000.00" in feishu["content"]["text"]
    key = f"{feishu['timestamp']}\nfeishu-secret".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert got["slack"]["body"]["text"].startswith("*[yunying] 告警：GMV drop*\n")
    generic = got["webhook"]["body"]
    assert (generic["rule"], generic["value"], generic["reference"], generic["condition"]) == \
        ("GMV drop", 8000.0, 10000.0, "change")


def test_robot_error_code_is_a_failure():
    with Receiver("robot_error") as rx:
        attempts, error = deliver("d", channel(type="dingtalk", url=rx.url, retries=2), render(ALERT))
    assert attempts == 2 and "310000" in str(error) and len(rx.requests) == 2


def test_missing_environment_variable_names_it_without_retrying(monkeypatch):
    monkeypatch.delenv("YY_NOT_SET", raising=False)
    attempts, error = deliver("x", channel(type="slack", url="env:YY_NOT_SET"), render(ALERT))
    assert attempts == 1 and "YY_NOT_SET is not set" in str(error)


def test_secrets_must_be_environment_references(tmp_path):
    cfg = tmp_path / "yunying.toml"
    cfg.write_text('[channels.d]\ntype = "dingtalk"\nurl = "http://x"\nsecret = "SEC123"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="env:VARIABLE_NAME") as exc:
        WorkspaceConfig.load(cfg)
    assert "SEC123" not in exc.value.message
    cfg.write_text('[[alerts]]\nname = "a"\nmetric = "revenue"\ncondition = "change"\nchannels = ["nope"]\ndrop = 0.1\n',
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown channel"):
        WorkspaceConfig.load(cfg)
    cfg.write_text('[[alerts]]\nname = "a"\nmetric = "revenue"\ncondition = "change"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs drop or rise"):
        WorkspaceConfig.load(cfg)
    cfg.write_text('[[alerts]]\nname = "a"\nmetric = "revenue"\ncondition = "anomaly"\nperiod = "week"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="period must be day"):
        WorkspaceConfig.load(cfg)


def test_email_plain(tmp_path):
    with SMTPSink(tmp_path) as smtp:
        ch = channel(type="email", host="127.0.0.1", port=smtp.port, security="none", sender="yy@example.com",
                     to=["ops@example.com", "boss@example.com"])
        assert deliver("mail", ch, render(ALERT, "zh-Hant")) == (1, None)
    rcpt, msg = smtp.messages[0]
    assert rcpt == ["ops@example.com", "boss@example.com"]
    assert msg["Subject"] == "[yunying] 告警：GMV drop"
    assert "數值：CNY 8,000.00" in msg.get_body(("plain",)).get_content()
    assert "<th align='left'>數值</th><td>CNY 8,000.00</td>" in msg.get_body(("html",)).get_content()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS: aiosmtpd cannot tell
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_with_login(tmp_path, monkeypatch, security):
    monkeypatch.setenv("YY_SMTP_USER", "robot")
    monkeypatch.setenv("YY_SMTP_PASSWORD", "pa55-word")
    with SMTPSink(tmp_path, security, login=("robot", "pa55-word")) as smtp:
        monkeypatch.setenv("SSL_CERT_FILE", smtp.cert_file)  # trust the test server's self-signed certificate
        ch = channel(type="email", host="127.0.0.1", port=smtp.port, security=security, sender="yy@example.com",
                     to=["ops@example.com"], username="env:YY_SMTP_USER", password="env:YY_SMTP_PASSWORD")
        assert deliver("mail", ch, render(ALERT)) == (1, None)
        assert len(smtp.messages) == 1
    assert smtp.messages[0][1]["Subject"] == "[yunying] Alert: GMV drop"


def test_smtp_server_down_is_reported(tmp_path):
    from servers import free_port

    ch = channel(type="email", host="127.0.0.1", port=free_port(), security="none", sender="a@b.c", to=["d@e.f"],
                 retries=2, timeout=1)
    attempts, error = deliver("mail", ch, render(ALERT), sleep=lambda s: None)
    assert attempts == 2 and "cannot connect to the SMTP server" in str(error)


def test_smtp_server_refusing_the_message_is_retried_and_reported(tmp_path):
    with SMTPSink(tmp_path, reject=True) as smtp:
        ch = channel(type="email", host="127.0.0.1", port=smtp.port, security="none", sender="a@b.c", to=["d@e.f"],
                     retries=3)
        attempts, error = deliver("mail", ch, render(ALERT), sleep=lambda s: None)
    assert (attempts, str(error)) == (3, "the SMTP server answered 554") and len(smtp.messages) == 3
