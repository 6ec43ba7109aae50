"""Excel .xlsx imports (issue 13 imports, issue 11 §1): the first sheet or --sheet, Excel types kept, sheet row
numbers in errors, all or nothing — each checked against the same data imported as a plain UTF-8 CSV."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from yunying.errors import InputFileError, ValidationError
from yunying.model.readers import ReadOptions

from import_helpers import table, users_table, workspace, write_csv, write_xlsx

D = dt.date
T = dt.datetime
SPEND = [["日期", "渠道", "计划", "广告位", "消耗", "展示", "点击"],
         [D(2026, 6, 1), "baidu", "品牌词", "kw1", 120.5, 10000, 310],
         [D(2026, 6, 1), "wechat", "公众号", "article-3", 800, 52000, 1200],
         [D(2026, 6, 2), "baidu", "品牌词", "kw1", 99.99, 9100, 288]]
EVENTS = [["用户ID", "事件", "时间", "金额", "渠道", "城市"],
          ["u1", "signup", T(2026, 6, 1, 8, 30), None, "baidu", "上海"],
          ["u1", "purchase", T(2026, 6, 1, 9, 15, 5), 12.5, None, "上海"],
          [10002, "signup", T(2026, 6, 2, 23, 59, 59), None, "wechat", "台北"],
          [10002, "purchase", T(2026, 6, 3, 0, 0), 1200, None, None]]


def test_spend_sheet_equals_the_same_csv(tmp_path):
    xlsx = write_xlsx(tmp_path / "spend.xlsx", {"消耗": SPEND, "说明": [["note"], ["ignored"]]})
    csv_ = write_csv(tmp_path / "spend.csv", SPEND)
    a, b = workspace(tmp_path, "a"), workspace(tmp_path, "b")
    rep = a.import_spend(str(xlsx))
    b.import_spend(str(csv_))
    assert table(a, "spend") == table(b, "spend") and len(table(a, "spend")) == 3
    assert rep.sources == [{"file": str(xlsx), "format": "xlsx", "sheet": "消耗"}]
    assert any("sheet '消耗' (1 of 2" in m for m in rep.messages)
    assert not any("not imported" in m for m in rep.messages)
    extra = [r + [x] for r, x in zip(SPEND, ["转化数", 3, 40, 2])]
    rep = b.import_spend(str(write_xlsx(tmp_path / "more.xlsx", {"s": extra})))
    assert any(m.endswith("more.xlsx: column(s) not imported (no such field here): 转化数") for m in rep.messages)
    cost = a.con.execute("SELECT date, cost, impressions FROM spend ORDER BY date, channel").fetchall()
    assert cost[0] == (D(2026, 6, 1), 120.5, 10000)


def test_event_sheet_equals_the_same_csv_and_keeps_excel_types(tmp_path):
    rows = [r + [n] for r, n in zip(EVENTS, ["数量", 1, 2, 1, 3])]
    xlsx = write_xlsx(tmp_path / "events.xlsx", {"events": rows})
    csv_ = write_csv(tmp_path / "events.csv", EVENTS)
    a, b = workspace(tmp_path, "a"), workspace(tmp_path, "b")
    a.import_events(str(write_xlsx(tmp_path / "plain.xlsx", {"events": EVENTS})))
    b.import_events(str(csv_))
    assert table(a, "events") == table(b, "events") and len(table(a, "events")) == 4
    # the numeric user id 10002 is the text "10002"; Excel times are local (Asia/Shanghai) like the CSV's text
    got = b.con.execute("SELECT user_id, ts FROM events WHERE event = 'signup' ORDER BY ts").fetchall()
    assert got == [("u1", T(2026, 6, 1, 0, 30)), ("10002", T(2026, 6, 2, 15, 59, 59))]
    c = workspace(tmp_path, "c")
    c.import_events(str(xlsx))
    props = [json.loads(p) for (p,) in c.con.execute("SELECT properties FROM events ORDER BY ts").fetchall()]
    assert [p["数量"] for p in props] == [1, 2, 1, 3]  # numbers stay numbers


def test_second_sheet_by_name_or_number_and_unknown_sheet(tmp_path):
    other = [["用户ID", "事件", "时间"], ["u9", "open", T(2026, 6, 5, 10, 0)]]
    xlsx = write_xlsx(tmp_path / "book.xlsx", {"first": EVENTS, "第二页": other})
    a, b = workspace(tmp_path, "a"), workspace(tmp_path, "b")
    a.import_events(str(xlsx), read=ReadOptions(sheet="第二页"))
    b.import_events(str(xlsx), read=ReadOptions(sheet="2"))
    assert table(a, "events") == table(b, "events")
    assert a.con.execute("SELECT user_id, event FROM events").fetchall() == [("u9", "open")]
    with pytest.raises(InputFileError) as err:
        a.import_events(str(xlsx), read=ReadOptions(sheet="3"))
    assert "book.xlsx" in str(err.value) and "'first', '第二页'" in str(err.value)


def test_bad_cell_names_the_sheet_row_and_column_and_changes_nothing(tmp_path):
    rows = [r[:] for r in SPEND]
    rows[3][6] = "many"
    xlsx = write_xlsx(tmp_path / "bad.xlsx", {"消耗": rows}, blank_rows_after={"消耗": [1]})
    ws = workspace(tmp_path, "w")
    ws.import_spend(str(write_csv(tmp_path / "ok.csv", SPEND[:2])))
    before = table(ws, "spend")
    with pytest.raises(ValidationError) as err:
        ws.import_spend(str(xlsx))
    # header on sheet row 1, data on rows 2, 3, (4 empty), 5: the bad third data row is sheet row 5
    assert "bad.xlsx: 1 of 3 row(s) are invalid" in str(err.value)
    assert 'sheet row 5: clicks (column "点击"): expected a whole number, got "many"' in str(err.value)
    assert table(ws, "spend") == before


def test_value_beyond_the_header_and_empty_sheet_are_errors(tmp_path):
    wide = write_xlsx(tmp_path / "wide.xlsx", {"s": [["用户ID", "事件", "时间"], ["u1", "open", T(2026, 6, 1), "stray"]]})
    empty = write_xlsx(tmp_path / "empty.xlsx", {"s": []})
    ws = workspace(tmp_path, "w")
    with pytest.raises(InputFileError, match=r"wide.xlsx: sheet 's' row 2 has a value beyond the header"):
        ws.import_events(str(wide))
    with pytest.raises(InputFileError, match=r"empty.xlsx: sheet 's' is empty"):
        ws.import_events(str(empty))
    with pytest.raises(InputFileError, match=r"old.xls: .xls \(Excel 97-2003\)"):
        (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
        ws.import_events(str(tmp_path / "old.xls"))
    assert ws.counts()["events"] == 0


def test_users_sheet_equals_the_same_csv(tmp_path):
    users = [["会员ID", "姓名", "城市", "性別", "等级"], ["m1", "张三", "上海", "女", "金卡"], ["m2", "陳大文", "台北", "男", "普通"]]
    a, b = workspace(tmp_path, "a"), workspace(tmp_path, "b")
    a.import_users(str(write_xlsx(tmp_path / "users.xlsx", {"会员": users})))
    b.import_users(str(write_csv(tmp_path / "users.csv", users)))
    assert users_table(a) == users_table(b)
    assert [r[:2] + (r[5],) for r in users_table(a)] == [("m1", "张三", "上海"), ("m2", "陳大文", "台北")]


def test_the_demos_spend_sheet_equals_its_csv(tmp_path):
    """`yunying demo` writes data/spend.xlsx beside spend.csv (Chinese headers, Excel dates): the same spend."""
    from yunying.demo import generate
    from yunying.demo.spend_xlsx import write_spend_xlsx

    generate(tmp_path / "data", users=300, days=14, seed=3)
    xlsx = write_spend_xlsx(tmp_path / "data" / "spend.csv", tmp_path / "data" / "spend.xlsx")
    a, b = workspace(tmp_path, "a"), workspace(tmp_path, "b")
    a.import_spend(str(xlsx))
    b.import_spend(str(tmp_path / "data" / "spend.csv"))
    assert table(a, "spend") == table(b, "spend") and len(table(a, "spend")) > 14


def test_a_hidden_first_sheet_is_passed_over(tmp_path):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(tmp_path / "h.xlsx"))
    hidden, shown = wb.add_worksheet("lookup"), wb.add_worksheet("events")
    hidden.write_row(0, 0, ["用户ID", "事件", "时间"])
    hidden.write_row(1, 0, ["secret", "x", "2026-06-01"])
    shown.write_row(0, 0, ["用户ID", "事件", "时间"])
    shown.write_row(1, 0, ["u1", "open", "2026-06-01"])
    shown.activate()
    hidden.hide()
    wb.close()
    ws = workspace(tmp_path, "w")
    rep = ws.import_events(str(tmp_path / "h.xlsx"))
    assert ws.con.execute("SELECT user_id FROM events").fetchall() == [("u1",)]
    assert rep.sources[0]["sheet"] == "events"
