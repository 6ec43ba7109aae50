"""`yunying import …` with --sheet, --encoding, --delimiter and --event as a user types them, and an Excel file
given to an analysis with --events (the same readers)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from import_helpers import write_csv, write_xlsx

T = dt.datetime


def yy(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_import_options_from_the_command_line(tmp_path):
    ws = tmp_path / "w"
    assert yy("init", str(ws), "--timezone", "Asia/Shanghai").returncode == 0
    book = write_xlsx(tmp_path / "book.xlsx", {
        "说明": [["报表"], ["巨量引擎导出"]],
        "消耗": [["日期", "渠道", "计划", "消耗", "展示", "点击"], [dt.date(2026, 6, 1), "douyin", "618", 300.5, 9000, 120]]})
    r = yy("import", "spend", str(book), "--sheet", "消耗", "-w", str(ws))
    assert r.returncode == 0, r.stderr
    assert "spend: 1 rows read" in r.stdout and "sheet '消耗'" in r.stdout
    orders = write_csv(tmp_path / "orders.csv", [["订单号", "用户ID", "下单时间", "实付金额"],
                                                 ["o1", "张三", "2026-06-01 10:00:00", "59"]], encoding="gbk")
    r = yy("import", "events", str(orders), "--event", "purchase", "--encoding", "gbk", "-w", str(ws), "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["rows_added"] == 1 and rep["sources"][0]["encoding"] == "gbk"
    txt = tmp_path / "more.log"
    txt.write_text("user_id  event  time\n张三  open  2026-06-02T08:00:00\n", encoding="utf-8")
    r = yy("import", "events", str(tmp_path / "more.log"), "-w", str(ws))
    assert r.returncode == 1 and "unknown file type" in r.stderr and "Traceback" not in r.stderr
    txt = txt.rename(tmp_path / "more.csv")
    r = yy("import", "events", str(txt), "--delimiter", "whitespace", "-w", str(ws), "--format", "json")
    assert r.returncode == 0, r.stderr
    r = yy("trends", "-w", str(ws), "--revenue", "--interval", "day", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [p["value"] for p in json.loads(r.stdout)["series"] if p["value"]] == [59.0]
    r = yy("import", "events", str(orders), "--encoding", "klingon", "-w", str(ws))
    assert r.returncode == 1 and "--encoding klingon: unknown encoding" in r.stderr and "Traceback" not in r.stderr


def test_an_excel_file_for_an_analysis(tmp_path):
    book = write_xlsx(tmp_path / "events.xlsx", {"events": [
        ["用户ID", "事件", "时间"], ["u1", "signup", T(2026, 6, 1, 8)], ["u2", "signup", T(2026, 6, 1, 9)],
        ["u1", "open", T(2026, 6, 2, 8)]]})
    r = yy("trends", "--events", str(book), "--event", "signup", "--measure", "users", "--interval", "day",
           "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [p for p in json.loads(r.stdout)["series"] if p["value"]] == [{"date": "2026-06-01", "value": 2}]
