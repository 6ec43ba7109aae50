"""The content commands end to end: imports, every command in json / csv / table, labelled tables, grouping by
tag and topic × platform, errors without tracebacks, and the report section."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

EVENTS = ["user_id,event,timestamp,content_id,properties"]
for i in range(40):
    EVENTS.append(f"u{i},view_content,2026-06-0{1 + i % 5} 10:00:00,a1,{{}}")
for i in range(10):
    EVENTS.append(f"u{i},follow,2026-06-0{1 + i % 5} 10:05:00,a1,{{}}")
for i in range(30):
    EVENTS.append(f"v{i},view_content,2026-06-02 21:00:00,b2,{{}}")
EVENTS.append("v1,share,2026-06-02 21:03:00,b2,{}")
EVENTS.append('n1,signup,2026-06-03 09:00:00,b2,"{""inviter"": ""v1""}"')
CATALOGUE = ("內容ID,標題,平台,帳號,選題,標籤,發表時間\n"
             "a1,甲,wechat,wx,教程,\"新手, 入門\",2026-06-01 08:00\n"
             "b2,乙,douyin,dy,教程,入門,2026-06-02 20:00\n")


def yy(*args, ok=True):
    """In-process (fast); ``ok=False``: a real process, to see the one-line error and the exit code."""
    if ok:
        from typer.testing import CliRunner

        from yunying.cli import app

        r = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return type("R", (), {"stdout": r.stdout, "returncode": r.exit_code})
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def wsdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("content_cli")
    (d / "e.csv").write_text("\n".join(EVENTS) + "\n", encoding="utf-8")
    (d / "c.csv").write_text(CATALOGUE, encoding="utf-8")
    (d / "wx.csv").write_text("標題,閱讀人數,分享人數,閱讀後關注人數\n甲,400,6,30\n", encoding="utf-8")
    yy("init", str(d / "ws"))
    yy("import", "events", str(d / "e.csv"), "-w", str(d / "ws"))
    rep = json.loads(yy("import", "content", str(d / "c.csv"), "-w", str(d / "ws"), "--format", "json").stdout)
    assert rep["rows_added"] == 2
    rep = json.loads(yy("import", "content-stats", str(d / "wx.csv"), "-w", str(d / "ws"), "--format", "json").stdout)
    assert rep["rows_added"] == 1 and rep["kind"] == "content_stats"
    return d


def test_pieces_json_csv_table(wsdir):
    ws = str(wsdir / "ws")
    out = json.loads(yy("content", "-w", ws, "--format", "json").stdout)
    rows = {r["content_id"]: r for r in out["rows"]}
    assert rows["a1"]["readers"] == 400 and rows["a1"]["followers"] == 30 and rows["a1"]["source"] == "platform+events"
    assert rows["b2"]["readers"] == 30 and rows["b2"]["source"] == "events" and rows["b2"]["new_users"] == 1
    got = list(csv.DictReader(io.StringIO(yy("content", "-w", ws, "--format", "csv").stdout)))
    assert {r["content_id"] for r in got} == {"a1", "b2"}
    table = yy("content", "-w", ws, "--lang", "zh-Hant").stdout
    assert "閱讀人數" in table and "關注率" in table and "readers" not in table and "follow_rate" not in table


def test_grouped_by_tag_and_topic_platform(wsdir):
    ws = str(wsdir / "ws")
    tags = {r["tag"]: r for r in json.loads(yy("content", "--by", "tag", "-w", ws, "--format", "json").stdout)["rows"]}
    assert tags["入門"]["pieces"] == 2 and tags["新手"]["pieces"] == 1 and tags["入門"]["readers"] == 430
    tp = {r["topic_platform"]: r for r in json.loads(
        yy("content", "--by", "topic_platform", "-w", ws, "--format", "json").stdout)["rows"]}
    assert set(tp) == {"教程 · wechat", "教程 · douyin"} and tp["教程 · wechat"]["follow_rate"] == 30 / 400


def test_other_commands_all_formats(wsdir):
    ws = str(wsdir / "ws")
    for cmd in (["content", "flags"], ["content", "timing"], ["content", "timing", "--by", "hour"], ["referrals"],
                ["referrals", "--by", "campaign"]):
        data = json.loads(yy(*cmd, "-w", ws, "--format", "json").stdout)
        assert data["kind"]
        yy(*cmd, "-w", ws, "--format", "csv")
        yy(*cmd, "-w", ws, "--lang", "zh-Hans")
    ref = json.loads(yy("referrals", "-w", ws, "--format", "json").stdout)
    # n1's inviter v1 never signed up: n1 is generation 1, and no signup of the range brought anyone
    assert (ref["signups"], ref["referred_signups"], ref["k_factor"], ref["generations"]) == (1, 0, 0.0, {"1": 1})
    assert ref["rows"] == [{"content_id": "b2", "new_users": 1, "inviters": 1, "readers": 30, "sharers": 1,
                            "shares": 1, "new_users_per_share": 1.0, "k_factor": 1 / 30}]
    timing = json.loads(yy("content", "timing", "--by", "hour", "-w", ws, "--format", "json").stdout)
    assert {r["hour"]: r["pieces"] for r in timing["rows"]} == {8: 1, 20: 1}


def test_errors_are_one_line(wsdir, tmp_path):
    ws = str(wsdir / "ws")
    r = yy("content", "forecast", "zzz", "-w", ws, ok=False)
    assert r.returncode == 1 and "no such piece" in r.stderr and "Traceback" not in r.stderr
    r = yy("content", "forecast", "a1", "-w", ws, ok=False)
    assert r.returncode == 1 and "earlier piece" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("標題,閱讀人數\n甲,很多\n", encoding="utf-8")
    r = yy("import", "content-stats", str(bad), "-w", ws, "--platform", "wechat", ok=False)
    assert r.returncode == 1 and "row 2, column '閱讀人數': expected a number" in r.stderr
    r = yy("content", "--by", "colour", "-w", ws, ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_report_section(wsdir):
    import yunying
    from yunying.reports.content import content_section

    ws = yunying.Workspace.open(wsdir / "ws", read_only=True)
    try:
        text, summary = content_section(ws.engine, lang="zh-Hans")
    finally:
        ws.close()
    assert summary["pieces"] == 2 and "内容运营" in text and "阅读人数" in text and "7.5%" in text  # 30 / 400


def test_options_that_do_not_apply_are_errors(wsdir):
    ws = str(wsdir / "ws")
    r = yy("content", "--by", "topic", "flags", "-w", ws, ok=False)
    assert r.returncode == 1 and "--by does not apply before the subcommand 'flags'" in r.stderr
    r = yy("content", "timing", "--baseline", "topic", "-w", ws, ok=False)
    assert r.returncode != 0 and "No such option" in r.stderr


def test_content_tables_go_through_the_shared_table_builder(wsdir):
    """The content tables are the shared people tables (reports/content.py → cli/common.print_table): the same
    texts as the dashboard's, numbers right-aligned under their header, in the language asked for."""
    from yunying.reports.content import content_people_table

    ws = str(wsdir / "ws")
    rows = json.loads(yy("content", "timing", "--by", "hour", "-w", ws, "--format", "json").stdout)["rows"]
    view = content_people_table("content_timing", rows, "zh-Hans")
    out = yy("content", "timing", "--by", "hour", "-w", ws, "--lang", "zh-Hans").stdout
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    names = [h.strip() for h in header.split("┃")[1:-1]]
    shown = [c for c in view["columns"]]
    assert names == [c["label"] for c in shown] and names[:3] == ["小时", "篇数", "篇均阅读人数"]
    lines = [line for line in out.splitlines() if line.startswith("│")]
    assert len(lines) == len(view["texts"]) == 2
    for line, texts in zip(lines, view["texts"]):
        cells = line.split("│")[1:-1]
        assert [c.strip() for c in cells] == [texts[c["key"]] for c in shown]
        rate = names.index("关注率")
        assert cells[rate].endswith(texts["follow_rate"] + " ") and texts["follow_rate"].endswith("%")
    assert "follow_rate" not in out and "readers_per_piece" not in out
