"""The report's A4 PDF (Debian chromium via Playwright) with CJK text, and ``yunying report --email`` through a
local SMTP server (aiosmtpd), the PDF and workbook attached."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_helpers import shop
from servers import SMTPSink
from util import add_config, cli

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"


def test_pdf_is_a4_with_cjk_fonts(tmp_path, capsys, monkeypatch):
    assert Path(CHROMIUM).exists(), "Debian chromium is not installed (apt-get install chromium fonts-noto-cjk)"
    ws = shop(tmp_path)
    pdf = tmp_path / "report.pdf"
    code, _, err = cli(capsys, monkeypatch, "report", "-w", str(ws), "--lang", "zh-Hans", "--pdf", str(pdf))
    assert code == 0, err
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes)  # A4 in points
    # the Chinese text is drawn with an embedded CJK font (no tofu boxes): Noto Sans CJK from fonts-noto-cjk
    assert re.search(rb"/FontName\s*/[A-Z]{6}\+NotoSansCJK", data), "no CJK font embedded (install fonts-noto-cjk)"


def test_email_through_the_smtp_channel(tmp_path, capsys, monkeypatch):
    ws = shop(tmp_path)
    with SMTPSink(tmp_path) as smtp:
        add_config(ws, f'[channels.mail]\ntype = "email"\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\n'
                       'sender = "yunying@example.com"\nto = ["ops@example.com"]\n')
        code, out, err = cli(capsys, monkeypatch, "report", "-w", str(ws), "--lang", "zh-Hant",
                             "--email", "boss@example.com, ops@example.com")
        assert code == 0, err
        assert "報告已發送至 boss@example.com, ops@example.com" in out
    (rcpt, msg), = smtp.messages
    assert rcpt == ["boss@example.com", "ops@example.com"]
    assert msg["Subject"] == "shop 營運週報"
    html = msg.get_body(("html",)).get_content()
    assert "核心指標" in html and "CNY 2,430.00" in html
    names = sorted(a.get_filename() for a in msg.iter_attachments())
    assert names == ["yunying-week-2026-03-09.pdf", "yunying-week-2026-03-09.xlsx"]


def test_email_without_a_channel_is_a_clear_error(tmp_path, capsys, monkeypatch):
    ws = shop(tmp_path)
    code, _, err = cli(capsys, monkeypatch, "report", "-w", str(ws), "--email", "a@b.c")
    assert code == 1 and "type = \"email\"" in err and "Traceback" not in err
