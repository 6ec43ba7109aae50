"""Column names in 简体, 繁體 and English recognised without --map (one alias table), ambiguous names refused,
--event for files without an event column, near-duplicate event names warned about, and 神策 JSON Lines whose
$utm_… sit in ``properties`` lifted by the rule capture applies."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from yunying.config import WorkspaceConfig
from yunying.errors import InputFileError
from yunying.model.aliases import ALIASES
from yunying.model.mapping import norm_name
from yunying.model.readers import ReadOptions
from yunying.server.normalize import Normalized, Normalizer, now_us
from yunying.server.settings import ServerSettings

from import_helpers import table, workspace, write_csv

DATA = [["u1", "signup", "2026-06-01 08:00:00", "", "baidu", "618大促", "x"],
        ["u1", "purchase", "2026-06-01 09:00:00", "99.5", "", "", "y"]]
HEADERS = {
    "canonical": ["user_id", "event", "ts", "revenue", "channel", "utm_campaign", "note"],
    "english": ["User ID", "Event", "Timestamp", "Amount", "Channel", "Campaign", "note"],
    "简体": ["用户ID", "事件", "时间", "金额", "渠道", "计划", "note"],
    "繁體": ["用戶ID", "事件", "時間", "金額", "渠道", "計劃", "note"],
    "full-width": ["用户ＩＤ", "事件名称", "事件时间", "实付金额", "获客渠道", "推广计划", "note"],
}


def test_chinese_and_english_headers_need_no_map(tmp_path):
    tables = {}
    for name, head in HEADERS.items():
        ws = workspace(tmp_path, name)
        ws.import_events(str(write_csv(tmp_path / f"{name}.csv", [head, *DATA])))
        tables[name] = table(ws, "events")
    assert all(t == tables["canonical"] for t in tables.values())
    signup = [r for r in tables["canonical"] if r[2] == "signup"][0]
    assert signup[5:8] == (None, None, "618大促") and signup[8] == "baidu"  # utm_campaign and channel typed


SPEND = [["2026-06-01", "baidu", "品牌", "kw1", "120.5", "10000", "300", "280"],
         ["2026-06-02", "wechat", "公众号", "文章3", "800", "52000", "4100", "1200"]]
SPEND_HEADERS = {
    "canonical": ["date", "channel", "campaign", "placement", "cost", "impressions", "reads", "clicks"],
    "简体": ["日期", "渠道", "计划", "广告位", "消耗", "曝光", "阅读", "点击"],
    "繁體": ["日期", "渠道", "計劃", "廣告位", "花費", "展示", "閱讀", "點擊"],
    "english": ["Date", "Media", "Campaign Name", "Ad ID", "Spend", "Impr", "Views", "Click"],
}


def test_spend_headers_in_three_languages(tmp_path):
    tables = []
    for name, head in SPEND_HEADERS.items():
        ws = workspace(tmp_path, name)
        ws.import_spend(str(write_csv(tmp_path / f"{name}.csv", [head, *SPEND])))
        tables.append(table(ws, "spend"))
    assert all(t == tables[0] for t in tables) and len(tables[0]) == 2


def test_ambiguous_names_are_an_error_naming_both(tmp_path):
    ws = workspace(tmp_path, "w")
    both = write_csv(tmp_path / "both.csv", [["用户ID", "會員ID", "事件", "时间"], ["u1", "u2", "open", "2026-06-01"]])
    with pytest.raises(InputFileError) as err:
        ws.import_events(str(both))
    assert "both.csv: columns '用户ID' and '會員ID' could both be user_id" in str(err.value)
    assert "--map user_id=COLUMN" in str(err.value)
    assert ws.counts()["events"] == 0
    ws.import_events(str(both), mapping={"user_id": "會員ID"})  # --map decides; the other is a property
    assert ws.con.execute("SELECT user_id, properties FROM events").fetchall() == [("u2", '{"用户ID":"u1"}')]
    # a fallback name (created_at) gives way to a name (timestamp): a PostHog export is not ambiguous
    ph = write_csv(tmp_path / "ph.csv", [["distinct_id", "event", "timestamp", "created_at"],
                                         ["d1", "open", "2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z"]])
    ws.import_events(str(ph))
    assert ws.con.execute("SELECT ts FROM events WHERE distinct_id = 'd1'").fetchall()[0][0].day == 2


def test_the_alias_table_has_each_name_once_per_table():
    for tab, columns in ALIASES.items():
        seen: dict[str, str] = {}
        for col, (names, fallbacks) in columns.items():
            for name in (col, *names, *fallbacks):
                key = norm_name(name)
                assert key, (tab, col, name)
                assert seen.setdefault(key, col) == col, f"{tab}: {name!r} names both {seen[key]} and {col}"


def test_docs_show_the_alias_table():
    """docs/data-model.md's table of recognised names is the table the code uses."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "data-model.md").read_text()
    section = text.split("## Recognised column names", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| (\w+) \| `(\w+)` \| (.*) \| (.*) \|$", line)
        if m:
            rows[(m.group(1), m.group(2))] = (m.group(3), m.group(4))
    expected = {(t, c): (", ".join(n), ", ".join(f) or "—") for t, cols in ALIASES.items() for c, (n, f) in cols.items()}
    assert rows == expected


ORDERS = [["订单号", "用户ID", "下单时间", "实付金额", "type"],
          ["o1", "u1", "2026-06-01 10:00:00", "59", "normal"], ["o2", "u2", "2026-06-01 11:00:00", "20", "refund"]]


def test_event_for_a_file_without_an_event_column(tmp_path):
    ws, ref = workspace(tmp_path, "w"), workspace(tmp_path, "ref")
    rep = ws.import_events(str(write_csv(tmp_path / "orders.csv", ORDERS)), read=ReadOptions(event="purchase"))
    with_event = [r[:1] + ["事件"] + r[1:] for r in ORDERS]
    for r in with_event[1:]:
        r[1] = "purchase"
    ref.import_events(str(write_csv(tmp_path / "ref.csv", with_event)))
    assert table(ws, "events") == table(ref, "events")
    got = ws.con.execute("SELECT event, revenue, properties FROM events ORDER BY ts").fetchall()
    assert got[0] == ("purchase", 59.0, '{"订单号":"o1","type":"normal"}')  # "type" is not the event here
    assert any("event 'purchase' for every row (--event)" in m for m in rep.messages)
    clash = write_csv(tmp_path / "clash.csv", [["user_id", "Event", "time"], ["u1", "open", "2026-06-01"]])
    with pytest.raises(InputFileError, match="clash.csv: --event 'purchase' is for files without an event column, "
                                             "but this file has 'Event'"):
        ws.import_events(str(clash), read=ReadOptions(event="purchase"))
    with pytest.raises(InputFileError, match="--event 'purchase' and --map event=type: give one of them"):
        ws.import_events(str(tmp_path / "orders.csv"), read=ReadOptions(event="purchase"), mapping={"event": "type"})
    assert len(table(ws, "events")) == 2


def test_identities_with_chinese_headers(tmp_path):
    ws = workspace(tmp_path, "w")
    ws.import_events(str(write_csv(tmp_path / "e.csv", [["设备ID", "事件", "时间"], ["dev1", "open", "2026-06-01"]])))
    rep = ws.import_identities(str(write_csv(tmp_path / "ids.csv", [["設備ID", "用戶ID"], ["dev1", "會員7"]],
                                             encoding="big5")), read=ReadOptions(encoding="big5"))
    assert rep.rows_added == 1 and rep.sources[0]["encoding"] == "big5"
    assert ws.con.execute("SELECT user_id, distinct_id FROM events").fetchall() == [("會員7", "dev1")]


def test_near_duplicate_event_names_are_a_warning(tmp_path):
    ws = workspace(tmp_path, "w")
    rep = ws.import_events(str(write_csv(tmp_path / "a.csv", [["user_id", "event", "time"], ["u1", "Signup", "2026-06-01"],
                                                              ["u2", "signup", "2026-06-01"], ["u3", "open", "2026-06-01"]])))
    assert rep.rows_added == 3
    warn = [m for m in rep.messages if "differ only in case" in m]
    assert len(warn) == 1 and "'Signup' (1 event)" in warn[0] and "'signup' (1 event)" in warn[0]
    rep2 = ws.import_events(str(write_csv(tmp_path / "b.csv", [["user_id", "event", "time"], ["u4", "Sign_Up", "2026-06-02"],
                                                               ["u4", "Open", "2026-06-02"], ["u4", "buy", "2026-06-02"]])))
    warn = [m for m in rep2.messages if "differ only in case" in m]
    assert len(warn) == 2  # open/Open, and Sign_Up against the two stored spellings
    assert "'Sign_Up' (1 event)" in warn[1] and "'Signup' (1 event, stored before)" in warn[1]
    assert rep2.rows_added == 3


def _sensors(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


SENSORS = [
    {"distinct_id": "d1", "event": "$AppStart", "time": 1780300800000, "type": "track",
     "properties": {"$utm_source": "baidu", "$utm_campaign": "618", "plan": "pro", "$os": None}},
    {"distinct_id": "d1", "event": "purchase", "time": 1780300900000, "type": "track",
     "properties": {"$os": "iOS", "金额": 12.5, "渠道": "KOL"}},
    {"distinct_id": "d2", "event": "$AppStart", "time": 1780301000000, "type": "track", "properties": {"plan": "free"}},
]


def test_sensors_utm_in_properties_is_lifted_like_capture(tmp_path):
    ws = workspace(tmp_path, "w")
    path = tmp_path / "sensors.jsonl"
    path.write_text(_sensors(SENSORS))
    rep = ws.import_events(str(path))
    got = ws.con.execute("SELECT distinct_id, event, utm_source, utm_campaign, channel, revenue, properties "
                         "FROM events ORDER BY ts").fetchall()
    # capture's normaliser on the same properties gives the same typed columns and leftover properties
    norm = Normalizer(WorkspaceConfig(), ServerSettings())
    for row, rec in zip(got, SENSORS):
        out = Normalized()
        norm.posthog_event(out, {"event": rec["event"], "distinct_id": rec["distinct_id"],
                                 "timestamp": "2026-06-01T08:00:00Z", "properties": rec["properties"]}, now_us(), None)
        cols = dict(zip(["user_id", "distinct_id", "event", "ts", "event_uuid", "utm_source", "utm_medium",
                         "utm_campaign", "channel", "revenue", "content_id", "variant", "properties"],
                        [c[0] for c in out.columns]))
        props = json.loads(row[6])
        assert props.pop("type") == "track"
        assert row[2:6] == (cols["utm_source"], cols["utm_campaign"], cols["channel"], cols["revenue"])
        assert props == json.loads(cols["properties"] or "{}")
    assert got[0][2:4] == ("baidu", "618") and got[1][4:6] == ("KOL", 12.5)
    assert any("$utm_source → utm_source" in m for m in rep.messages)
    # the same records as a flat CSV with top-level columns: the same table
    # (properties are stored as JSON text: the nested keys come first, then the file's other columns)
    flat = [["distinct_id", "event", "time", "utm_source", "utm_campaign", "channel", "revenue", "plan", "$os", "type"]]
    for r in SENSORS:
        p = r["properties"]
        flat.append([r["distinct_id"], r["event"], r["time"], p.get("$utm_source"), p.get("$utm_campaign"),
                     p.get("渠道"), p.get("金额"), p.get("plan"), p.get("$os"), r["type"]])
    ref = workspace(tmp_path, "ref")
    ref.import_events(str(write_csv(tmp_path / "flat.csv", flat)))
    assert table(ws, "events") == table(ref, "events")


def test_a_top_level_column_wins_over_a_nested_property(tmp_path):
    ws = workspace(tmp_path, "w")
    rec = dict(SENSORS[0], utm_source="top")
    (tmp_path / "s.jsonl").write_text(_sensors([rec]))
    ws.import_events(str(tmp_path / "s.jsonl"))
    src, props = ws.con.execute("SELECT utm_source, properties FROM events").fetchall()[0]
    assert src == "top" and json.loads(props)["$utm_source"] == "baidu"


def test_a_bad_lifted_value_names_the_nested_property(tmp_path):
    ws = workspace(tmp_path, "w")
    bad = [SENSORS[0], dict(SENSORS[1], properties={"$revenue": "lots"})]
    (tmp_path / "s.jsonl").write_text(_sensors(bad))
    with pytest.raises(Exception) as err:
        ws.import_events(str(tmp_path / "s.jsonl"))
    assert 'row 2: revenue (column "properties.$revenue"): expected a number, got "lots"' in str(err.value)
    assert ws.counts()["events"] == 0


def test_columns_a_spend_import_leaves_out_are_named_in_each_report(tmp_path):
    ws = workspace(tmp_path, "w")
    path = write_csv(tmp_path / "s.csv", [["日期", "渠道", "平台", "消耗", "转化数"], ["2026-06-01", "巨量", "抖音", "10", "3"]])
    rep = ws.import_spend(str(path))
    assert [m for m in rep.messages if "not imported" in m] == [
        f"{path}: column(s) not imported (no such field here): 平台, 转化数"]
    rep = ws.import_spend(str(path), mapping={"channel": "平台"})  # the same file, read again: its own report
    assert [m for m in rep.messages if "not imported" in m] == [
        f"{path}: column(s) not imported (no such field here): 渠道, 转化数"]
    assert ws.con.execute("SELECT DISTINCT channel FROM spend ORDER BY 1").fetchall() == [("巨量",), ("抖音",)]
