"""Alerts say everything in the reader's language (issue 13): the CLI's notes and failures, and the delivery errors
kept in the alert history — stored as a catalogue key and its parameters, said in whichever language the history is
read; rows written before (plain English text) stay readable."""
from __future__ import annotations

import json
import sqlite3

from servers import Receiver
from test_alerts_run import ANOMALY_RULE, BREAK, at, base, wsdir  # noqa: F401 - fixtures
from util import add_config, cli

from yunying.errors import Text, restored, stored


def test_stored_sentences_come_back_and_plain_text_stays():
    t = Text("alerts.run.rule_failed", rule="gmv", error=Text("alerts.channels.cannot_connect", reason="refused"))
    back = restored(stored(t))
    assert isinstance(back, Text) and str(back) == str(t) == "rule 'gmv': cannot connect (refused)"
    assert restored("HTTP 500 Internal Server Error") == "HTTP 500 Internal Server Error"  # a row from before
    assert restored('{"key": 1}') == '{"key": 1}' and restored(None) is None


def test_history_and_run_speak_the_readers_language(wsdir, monkeypatch, capsys):  # noqa: F811
    with Receiver("500") as bad:
        add_config(wsdir, f'[channels.bad]\ntype = "webhook"\nurl = "{bad.url}/x"\nretries = 1\n\n'
                   + ANOMALY_RULE + 'channels = ["bad"]\n')
        code, _, stderr = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now", at(BREAK).isoformat(),
                              "--lang", "zh-Hans")
    assert code == 3
    assert "发送失败：buyers anomaly → bad，已尝试 1 次：HTTP 500" in stderr and "delivery failed" not in stderr
    con = sqlite3.connect(wsdir / "alerts" / "state.sqlite3")
    kept = con.execute("SELECT last_error FROM deliveries").fetchone()[0]
    assert json.loads(kept)["key"] == "alerts.channels.http"  # the key and its parameters, not an English sentence
    # a row written before this change: plain English, shown as it is
    con.execute("INSERT INTO deliveries (fired_id, channel, status, attempts, last_error, updated_at) "
                "SELECT fired_id, 'old', 'failed', 3, 'HTTP 502 Bad Gateway', updated_at FROM deliveries")
    con.execute("UPDATE deliveries SET last_error = ? WHERE channel = 'bad'",
                [stored(Text("alerts.channels.cannot_connect", reason="Connection refused"))])
    con.commit()
    con.close()
    from yunying.cli import common

    monkeypatch.setattr(common.console, "width", 400)  # one line per row: the cells are read whole
    for lang, said in (("zh-Hans", "bad：失败（无法连接（Connection refused））"),
                       ("zh-Hant", "bad：失敗（無法連線（Connection refused））"),
                       ("en", "bad: Failed (cannot connect (Connection refused))")):
        code, stdout, _ = cli(capsys, monkeypatch, "alerts", "history", "-w", str(wsdir), "--lang", lang)
        flat = " ".join(stdout.split())
        assert code == 0 and said in flat, lang
        assert "HTTP 502 Bad Gateway" in flat  # the old row stays readable
    code, stdout, _ = cli(capsys, monkeypatch, "alerts", "history", "-w", str(wsdir), "-f", "json")
    errors = {d["channel"]: d["last_error"] for d in json.loads(stdout)["alerts"][0]["deliveries"]}
    assert errors == {"bad": "cannot connect (Connection refused)", "old": "HTTP 502 Bad Gateway"}


def test_busy_database_note_is_translated():
    from yunying.cli.alerts import _said
    from yunying.errors import WorkspaceNotFound

    exc = WorkspaceNotFound("cannot open database")
    assert _said("alerts.cli.busy", "zh-Hant", detail=exc) == \
        "工作區資料庫正忙（cannot open database）；下次執行時會檢查這些規則"
    assert "busy" not in _said("alerts.cli.busy", "zh-Hans", detail=exc)
