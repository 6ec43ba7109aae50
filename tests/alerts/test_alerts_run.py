"""``alerts run`` end to end on a workspace with a planted break: fires exactly on the break, never twice,
complete periods only, every channel format received by a local HTTP receiver, failing receivers retried
and reported, concurrent runs from cron sending once."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import threading

import pytest

from yunying.reports.i18n import messages
from alerts_helpers import daily_counts, run_cli, write_events
from servers import Receiver, free_port
from util import add_config, cli

import yunying
from yunying.reports.alerts.run import run_alerts
from yunying.storage.alerts import AlertState

FIRST = dt.date(2026, 1, 5)  # a Monday
DAYS = 84
BREAK = FIRST + dt.timedelta(days=DAYS - 1)  # the last day: buyers halved


def at(day: dt.date, hour: int = 1) -> dt.datetime:
    """The run time that checks ``day`` (a daily rule): the next morning."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour), dt.timezone.utc)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("alerts")
    buyers = daily_counts(DAYS, seed=1)
    buyers[-1] = buyers[-1] // 2
    ws = yunying.Workspace.init(root / "ws")
    ws.import_events(str(write_events(root / "events.csv", FIRST, buyers)))
    ws.close()
    return root / "ws", buyers


@pytest.fixture
def wsdir(base, tmp_path):
    path = tmp_path / "ws"
    shutil.copytree(base[0], path)
    return path


def open_ws(path):
    return yunying.Workspace.open(path, read_only=True)


ANOMALY_RULE = '[[alerts]]\nname = "buyers anomaly"\nmetric = "buyers"\ncondition = "anomaly"\n'


def test_fires_exactly_on_the_planted_break_and_never_twice(wsdir):
    with Receiver() as rx:
        add_config(wsdir, f'[channels.hook]\ntype = "webhook"\nurl = "{rx.url}/hook"\n\n'
                          + ANOMALY_RULE + 'channels = ["hook"]\n')
        fired = {}
        with open_ws(wsdir) as ws:
            for i in range(DAYS - 15, DAYS):  # two clean weeks, then the break
                day = FIRST + dt.timedelta(days=i)
                rep = run_alerts(ws, now=at(day))
                assert [c["outcome"] for c in rep.checks] in (["ok"], ["fired"]), rep.checks
                fired[day] = len(rep.fired)
            again = [run_alerts(ws, now=at(BREAK, h)) for h in (2, 3)]
        assert {d for d, n in fired.items() if n} == {BREAK}
        assert all(not r.fired and not r.deliveries and r.checks[0]["outcome"] == "checked" for r in again)
        assert len(rx.requests) == 1
        body = rx.requests[0]["body"]
        assert (body["rule"], body["period_start"], body["condition"]) == ("buyers anomaly", BREAK.isoformat(), "anomaly")
        assert body["value"] < body["detail"]["lower"] < body["reference"]


def test_clean_days_stay_quiet(base, wsdir):
    # 21 clean days at the documented 0.28 % false-alarm rate: none expected (seeded data)
    add_config(wsdir, ANOMALY_RULE)
    with open_ws(wsdir) as ws:
        outcomes = [run_alerts(ws, now=at(FIRST + dt.timedelta(days=i))).checks[0]["outcome"]
                    for i in range(DAYS - 22, DAYS - 1)]
    assert outcomes == ["ok"] * 21


def test_complete_periods_only(wsdir):
    add_config(wsdir, '[[alerts]]\nname = "weekly revenue"\nmetric = "revenue"\nperiod = "week"\n'
                      'condition = "threshold"\nbelow = 1e9\ngrace_minutes = 60\n')
    with open_ws(wsdir) as ws:
        # Sunday 23:00 of the last week: that week is not over, the week before is checked
        r1 = run_alerts(ws, now=dt.datetime.combine(BREAK, dt.time(23), dt.timezone.utc))
        # Monday 00:30: over, but within the 60-minute grace: still the week before (already checked)
        r2 = run_alerts(ws, now=at(BREAK, 0).replace(minute=30))
        r3 = run_alerts(ws, now=at(BREAK, 2))  # now the last week
    week_before = BREAK - dt.timedelta(days=13)
    assert (r1.checks[0]["period_start"], r1.checks[0]["outcome"]) == (week_before.isoformat(), "fired")
    assert (r2.checks[0]["period_start"], r2.checks[0]["outcome"]) == (week_before.isoformat(), "checked")
    assert r3.checks[0]["period_start"] == (BREAK - dt.timedelta(days=6)).isoformat()
    assert r3.checks[0]["value"] == pytest.approx(10.0 * sum(base_week(wsdir, BREAK - dt.timedelta(days=6))))


def base_week(wsdir, monday):
    with open_ws(wsdir) as ws:
        rows = ws.con.execute("SELECT count(*) FROM events WHERE event = 'purchase' AND ts >= ? AND ts < ? ",
                              [monday, monday + dt.timedelta(days=7)]).fetchall()
    return [rows[0][0]]


def test_waits_for_data_that_has_not_arrived(tmp_path):
    # events of a future year: no import happened after the period, no later event: the day waits
    first = dt.date(2031, 3, 3)
    ws = yunying.Workspace.init(tmp_path / "ws")
    ws.import_events(str(write_events(tmp_path / "a.csv", first, [5] * 3)))
    ws.close()
    add_config(tmp_path / "ws", '[[alerts]]\nname = "no buyers"\nmetric = "buyers"\ncondition = "threshold"\n'
                                'below = 1\n')
    last = first + dt.timedelta(days=3)  # a day without data yet
    with open_ws(tmp_path / "ws") as w:
        assert run_alerts(w, now=at(last)).checks[0]["outcome"] == "waiting"
    ws = yunying.Workspace.open(tmp_path / "ws")
    ws.import_events(str(write_events(tmp_path / "b.csv", last + dt.timedelta(days=1), [5])))  # the next day's data
    ws.close()
    with open_ws(tmp_path / "ws") as w:
        rep = run_alerts(w, now=at(last))
    assert (rep.checks[0]["outcome"], rep.checks[0]["value"]) == ("fired", 0.0)  # nobody bought that day


@pytest.mark.slow  # two real CLI processes (≈ 30 s on a busy 2-core machine)
def test_concurrent_runs_from_cron_send_once(wsdir):
    with Receiver("slow", delay=0.5) as rx:
        add_config(wsdir, f'[channels.hook]\ntype = "slack"\nurl = "{rx.url}/s"\n\n' + ANOMALY_RULE
                   + 'channels = ["hook"]\n')
        now = at(BREAK).isoformat()
        results = [None] * 2

        def go(k):
            results[k] = run_cli("alerts", "run", "-w", str(wsdir), "--now", now)

        threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
        assert len(rx.requests) == 1
    with sqlite3.connect(wsdir / "alerts" / "state.sqlite3") as con:
        assert con.execute("SELECT count(*) FROM fired").fetchone()[0] == 1
        assert con.execute("SELECT status FROM deliveries").fetchall() == [("sent",)]


def test_second_run_while_one_holds_the_lock_returns_at_once(wsdir, capsys, monkeypatch):
    add_config(wsdir, ANOMALY_RULE)
    with AlertState(wsdir) as holder:
        holder.lock()
        code, _, err = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now", at(BREAK).isoformat())
    assert code == 0 and "in progress" in err
    with AlertState(wsdir) as state:
        assert state.history() == []
        assert state.con.execute("SELECT count(*) FROM checks").fetchone()[0] == 0


def test_failing_receivers_are_retried_reported_and_never_crash_the_run(wsdir, monkeypatch, capsys):
    refused = f"http://127.0.0.1:{free_port()}/nothing"
    with Receiver("500") as bad, Receiver("slow", delay=1.5) as slow, Receiver(fail_first=2) as flaky, \
            Receiver() as good:
        monkeypatch.setenv("YY_TEST_HOOK", refused + "?token=s3cr3t-token-value")
        add_config(wsdir, f'''[channels.bad]
type = "webhook"
url = "{bad.url}/x"
retries = 3
[channels.slow]
type = "webhook"
url = "{slow.url}/x"
timeout = 0.3
retries = 2
[channels.refused]
type = "webhook"
url = "env:YY_TEST_HOOK"
retries = 2
[channels.flaky]
type = "wecom"
url = "{flaky.url}/cgi-bin/webhook/send?key=abc"
retries = 3
[channels.good]
type = "feishu"
url = "{good.url}/open-apis/bot/v2/hook/xyz"

''' + ANOMALY_RULE + 'channels = ["bad", "slow", "refused", "flaky", "good"]\n'
                   + '\n[[alerts]]\nname = "broken"\nmetric = "no_such_metric"\ncondition = "threshold"\nabove = 1\n')
        code, stdout, stderr = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now",
                                   at(BREAK).isoformat(), "-f", "json")
        assert code == 3, stderr
        assert "Traceback" not in stderr + stdout and "delivery failed: buyers anomaly → bad" in stderr
        out = json.loads(stdout)
        status = {d["channel"]: (d["status"], d["attempts"]) for d in out["deliveries"]}
        assert status == {"bad": ("failed", 3), "slow": ("failed", 2), "refused": ("failed", 2),
                          "flaky": ("sent", 3), "good": ("sent", 1)}
        errors = {d["channel"]: d["error"] for d in out["deliveries"]}
        assert "HTTP 500" in errors["bad"] and "0.3 s" in errors["slow"] and "connect" in errors["refused"]
        assert any("no_such_metric" in e for e in out["errors"])  # the broken rule is reported, the other ran
        assert "s3cr3t-token-value" not in stdout + stderr
        assert len(bad.requests) == 3 and len(flaky.requests) == 3 and len(good.requests) == 1
        # the next run retries only what failed: the healthy receivers get nothing twice
        bad.mode = "ok"
        _, stdout2, _ = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now", at(BREAK, 2).isoformat(),
                            "-f", "json")
        out2 = json.loads(stdout2)
        assert {d["channel"]: d["status"] for d in out2["deliveries"]} == {
            "bad": "sent", "slow": "failed", "refused": "failed"}
        assert len(bad.requests) == 4 and len(flaky.requests) == 3 and len(good.requests) == 1
    state = (wsdir / "alerts" / "state.sqlite3").read_bytes()
    assert b"s3cr3t-token-value" not in state


def test_dry_run_and_history(wsdir, capsys, monkeypatch):
    with Receiver() as rx:
        add_config(wsdir, f'[channels.hook]\ntype = "wecom"\nurl = "{rx.url}/w"\nlang = "zh-Hant"\n\n'
                   + ANOMALY_RULE + 'channels = ["hook"]\n')
        code, out, _ = cli(capsys, monkeypatch, "alerts", "test", "buyers anomaly", "-w", str(wsdir),
                           "--now", at(BREAK).isoformat(), "--lang", "zh-Hans")
        assert code == 0 and "已触发" in out and "异常偏低" in out and "未记录任何内容" in out
        assert rx.requests == []  # a dry run sends nothing …
        code, out, _ = cli(capsys, monkeypatch, "alerts", "history", "-w", str(wsdir), "-f", "json")
        assert json.loads(out) == {"alerts": []}  # … and records nothing
        code, out, _ = cli(capsys, monkeypatch, "alerts", "test", "buyers anomaly", "-w", str(wsdir), "--send",
                           "--period-start", BREAK.isoformat())
        assert code == 0 and len(rx.requests) == 1
        assert "測試訊息" in rx.requests[0]["body"]["markdown"]["content"]  # the channel's language
        code, out, _ = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now", at(BREAK).isoformat())
        assert code == 0 and "buyers anomaly → hook: Sent" in out
        code, out, _ = cli(capsys, monkeypatch, "alerts", "history", "-w", str(wsdir), "-f", "json")
    rows = json.loads(out)["alerts"]
    assert [(r["rule"], r["period_start"], r["deliveries"][0]["status"]) for r in rows] == [
        ("buyers anomaly", BREAK.isoformat(), "sent")]
    code, out, _ = cli(capsys, monkeypatch, "alerts", "history", "-w", str(wsdir), "--lang", "zh-Hant")
    sent = messages("zh-Hant")["alerts.col.sent"]  # the delivery status in the table's language
    assert "規則" in out and "buyers anomaly" in out and re.search(rf"hook\s*[:：]\s*{sent}", out)
    code, _, err = cli(capsys, monkeypatch, "alerts", "test", "nope", "-w", str(wsdir))
    assert code == 1 and "no alert rule 'nope'" in err and "Traceback" not in err


def test_a_busy_database_is_not_an_error(wsdir, capsys, monkeypatch):
    import subprocess
    import sys
    import time

    add_config(wsdir, ANOMALY_RULE)
    writer = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(60)", str(wsdir / "yunying.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ok"  # an import holds the database
        code, _, err = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now", at(BREAK).isoformat())
    finally:
        writer.kill()
        writer.wait()
    assert code == 0 and "busy" in err and "next run" in err
    time.sleep(0.1)
    code, _, err = cli(capsys, monkeypatch, "alerts", "run", "-w", str(wsdir), "--now", at(BREAK).isoformat())
    assert code == 0 and "busy" not in err




def test_opening_the_state_waits_while_another_run_is_opening_it(tmp_path):
    """Cron starts several runs at once. Two of them switching a new state file to WAL and creating its tables
    together made SQLite answer one "database is locked" at once (about one start in thirty, without waiting
    for its busy timeout), so opening is serialised: a run opening the state waits for the other."""
    import fcntl
    import os

    from yunying.storage.alerts import AlertState

    (tmp_path / "alerts").mkdir()
    fd = os.open(tmp_path / "alerts" / "open.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    opened = threading.Event()

    def open_state():
        with AlertState(tmp_path) as state:
            state.start_run()
        opened.set()

    t = threading.Thread(target=open_state)
    t.start()
    try:
        assert not opened.wait(0.5), "the state was opened while another run was opening it"
        assert not (tmp_path / "alerts" / "state.sqlite3").exists()
    finally:
        os.close(fd)
    t.join(10)
    assert opened.is_set()
    with sqlite3.connect(tmp_path / "alerts" / "state.sqlite3") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
