"""The server's import endpoint reads the same files as a local import: .xlsx (--sheet), GBK text, --event;
reports and errors name the user's paths, never the server's upload files."""
from __future__ import annotations

import datetime as dt
import glob
import json
import os
import tempfile

from yyserver_helpers import ServerProcess, make_workspace, run_cli

from import_helpers import write_csv, write_xlsx


def test_formats_through_a_running_server(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    book = write_xlsx(tmp_path / "book.xlsx", {
        "readme": [["x"], ["y"]],
        "orders": [["用户ID", "下单时间", "金额"], ["u1", dt.datetime(2026, 6, 1, 10), 59],
                   ["u2", dt.datetime(2026, 6, 1, 11), "n/a"]]})
    gbk = write_csv(tmp_path / "gbk.csv", [["用户ID", "事件", "时间"], ["u1", "Signup", "2026-06-01 09:00:00"],
                                            ["u1", "signup", "2026-06-01 09:01:00"]], encoding="gbk")
    with ServerProcess(ws, settings=("publish_interval=0.2",)) as server:
        bad = run_cli("import", "events", "book.xlsx", "--sheet", "2", "--event", "purchase", "--workspace", str(ws),
                      cwd=tmp_path)
        assert bad.returncode == 1
        assert 'book.xlsx: 1 of 2 row(s) are invalid; nothing was imported' in bad.stderr, bad.stderr
        assert 'sheet row 3: revenue (column "金额"): expected a number, got "n/a"' in bad.stderr
        assert "uploads" not in bad.stderr
        out = run_cli("import", "events", "gbk.csv", "--workspace", str(ws), "--format", "json", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        rep = json.loads(out.stdout)
        assert rep["files"] == ["gbk.csv"] and rep["sources"][0]["file"] == "gbk.csv"
        assert rep["sources"][0]["encoding"] == "gb18030"
        assert any(m.startswith("gbk.csv: text encoding GB18030") for m in rep["messages"])
        assert any("'Signup' (1 event)" in m for m in rep["messages"])
        assert "uploads" not in out.stdout
        server.client().wait_published()
        copies = glob.glob(os.path.join(tempfile.gettempdir(), f"yunying-read-{server.proc.pid}-*"))
        assert copies == []  # the server removes its UTF-8 / sheet copies of uploads after each import
    info = run_cli("info", "--workspace", str(ws), "--format", "json")
    assert json.loads(info.stdout)["events"] == 2
