"""storage/imports.py: the one dispatch of ``yunying import KIND`` and the server's /api/import/KIND. Each kind
lands in its own table (counted by hand from the files), options reach the kind that takes them, an unknown
kind is a clear error that imports nothing."""
from __future__ import annotations

import pytest
from import_helpers import write_csv

import yunying
from yunying.errors import SpecError
from yunying.model.readers import ReadOptions
from yunying.storage.imports import KINDS, import_files


def test_each_kind_lands_in_its_table(tmp_path):
    ev = write_csv(tmp_path / "orders.csv", [["member", "ts"], ["u1", "2026-03-02 10:00:00"],
                                              ["u2", "2026-03-02 11:00:00"], ["u1", "2026-03-03 09:00:00"]])
    spend = write_csv(tmp_path / "spend.csv", [["date", "channel", "cost"], ["2026-03-02", "feed", "12.5"],
                                               ["2026-03-02", "search", "3"]])
    ids = write_csv(tmp_path / "ids.csv", [["distinct_id", "user_id"], ["anon-1", "u1"]])
    users = write_csv(tmp_path / "users.csv", [["member", "city"], ["u1", "上海"], ["u2", "台北"]])
    stages = []
    with yunying.Workspace.init(tmp_path / "ws") as ws:
        rep = import_files(ws, "events", [str(ev)], mapping={"user_id": "member"},
                           read=ReadOptions(event="purchase"), progress=stages.append)
        assert (rep.kind, rep.rows_added) == ("events", 3)
        assert stages and stages[0] == "reading orders.csv"
        assert import_files(ws, "spend", [str(spend)]).rows_added == 2
        assert import_files(ws, "identities", [str(ids)]).kind == "identities"
        assert import_files(ws, "users", [str(users)], mapping={"user_id": "member"}).kind == "users"
        # set once: a second file does not overwrite u1's city
        again = write_csv(tmp_path / "users2.csv", [["member", "city"], ["u1", "北京"]])
        import_files(ws, "users", [str(again)], mapping={"user_id": "member"}, once=True)
        counts = ws.counts()
        assert (counts["events"], counts["spend_rows"], counts["identities"]) == (3, 2, 1)
        assert ws.con.execute("SELECT count(*) FROM events WHERE event = 'purchase'").fetchone()[0] == 3
        assert ws.con.execute("SELECT city FROM users WHERE user_id = 'u1'").fetchone()[0] == "上海"


def test_an_unknown_kind_is_an_error_that_imports_nothing(tmp_path):
    ev = write_csv(tmp_path / "e.csv", [["user_id", "event", "ts"], ["u1", "view", "2026-03-02 10:00:00"]])
    with yunying.Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(SpecError, match="cannot import 'event' .*events, spend, identities or users"):
            import_files(ws, "event", [str(ev)])
        assert ws.counts()["events"] == 0
    assert KINDS == ("events", "spend", "identities", "users")
