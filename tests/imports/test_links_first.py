"""Identity links read before the rows are written (``event_import.links_first``, Parquet files): each row is
written with its final user, instead of being written as sent and moved afterwards.

Hand-worked example (two Parquet files, one import):

* ``d1`` opens the app anonymously on 1 June, logs in as ``u2`` on 3 June and as ``u1`` on 2 June: the
  earliest row of ``d1`` with another user id wins, so ``d1 -> u1``, and the anonymous open is ``u1``'s;
* ``" d2"`` sent with user id ``"d2 "``: both are ``d2`` once trimmed, no link;
* ``d3`` logs in as ``u3``, then comes back anonymously: ``d3 -> u3``, both of its events are ``u3``'s;
* a second file whose user ids are integers: ``"7"`` with user id 7 is one id (no link), ``d4`` with 4 links
  ``d4 -> "4"``.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.errors import YunyingError
from yunying.storage import event_import

from import_helpers import write_csv


def _t(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour)


ROWS_A = [("d1", None, "open", _t(1)), ("d1", "u2", "login", _t(3)), ("d1", "u1", "login", _t(2)),
          (" d2", "d2 ", "open", _t(1)), ("d3", "u3", "login", _t(1)), ("d3", None, "open", _t(4))]
ROWS_B = [("7", 7, "open", _t(5)), ("d4", None, "open", _t(5)), ("d4", 4, "login", _t(6))]


def _parquet(path, rows, user_type) -> str:
    pq.write_table(pa.table({"distinct_id": [r[0] for r in rows], "user_id": pa.array([r[1] for r in rows], user_type),
                             "event": [r[2] for r in rows], "ts": [r[3] for r in rows]}), path)
    return str(path)


def _files(tmp_path) -> list[str]:
    return [_parquet(tmp_path / "a.parquet", ROWS_A, pa.string()), _parquet(tmp_path / "b.parquet", ROWS_B, pa.int64())]


def _events(ws) -> list:
    return sorted(ws.con.execute("SELECT distinct_id, user_id, event, ts FROM events").fetchall(), key=repr)


def test_links_first_by_hand(tmp_path, monkeypatch):
    calls = []
    real = event_import.links_first
    monkeypatch.setattr(event_import, "links_first", lambda *a: calls.append(r := real(*a)) or r)
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    rep = ws.import_events(_files(tmp_path))
    assert calls == [(3, 0)]  # the links came first: three added, nothing stored to move
    assert rep.identities_added == 3
    assert ws.con.execute("SELECT distinct_id, user_id FROM identities ORDER BY 1").fetchall() == [
        ("d1", "u1"), ("d3", "u3"), ("d4", "4")]
    assert _events(ws) == sorted([
        ("d1", "u1", "open", _t(1)), ("d2", "d2", "open", _t(1)), ("d3", "u3", "login", _t(1)),
        ("d1", "u1", "login", _t(2)), ("d1", "u2", "login", _t(3)), ("d3", "u3", "open", _t(4)),
        ("7", "7", "open", _t(5)), ("d4", "4", "open", _t(5)), ("d4", "4", "login", _t(6))], key=repr)
    seen = ws.con.execute("SELECT user_id, first_seen, last_seen FROM users ORDER BY 1").fetchall()
    assert seen == [("4", _t(5), _t(6)), ("7", _t(5), _t(5)), ("d2", _t(1), _t(1)), ("u1", _t(1), _t(2)),
                    ("u2", _t(3), _t(3)), ("u3", _t(1), _t(4))]


def test_links_first_equals_links_after_on_csv(tmp_path):
    """The same rows as CSV take the other way (written as sent, then moved): the same workspace."""
    ws_pq = yunying.Workspace.init(tmp_path / "pq", WorkspaceConfig(name="pq"))
    rep_pq = ws_pq.import_events(_files(tmp_path))
    head = ["distinct_id", "user_id", "event", "ts"]
    csvs = [str(write_csv(tmp_path / "a.csv", [head, *map(list, ROWS_A)])),
            str(write_csv(tmp_path / "b.csv", [head, *map(list, ROWS_B)]))]
    ws_csv = yunying.Workspace.init(tmp_path / "csv", WorkspaceConfig(name="csv"))
    rep_csv = ws_csv.import_events(csvs)
    assert "identities" in rep_csv.phases and (rep_pq.identities_added, rep_pq.events_reassigned) == (
        rep_csv.identities_added, rep_csv.events_reassigned)
    for sql in ("SELECT distinct_id, user_id FROM identities ORDER BY 1",
                "SELECT user_id, first_seen, last_seen FROM users ORDER BY 1"):
        assert ws_pq.con.execute(sql).fetchall() == ws_csv.con.execute(sql).fetchall()
    assert _events(ws_pq) == _events(ws_csv)


def test_stored_events_move_when_a_later_file_links_them(tmp_path):
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    ws.import_events(_parquet(tmp_path / "anon.parquet", [("d9", None, "open", _t(1)), ("d9", None, "view", _t(2))],
                              pa.string()))
    rep = ws.import_events(_parquet(tmp_path / "login.parquet", [("d9", "u9", "login", _t(3))], pa.string()))
    assert (rep.identities_added, rep.events_reassigned) == (1, 2)
    assert {u for _, u, _, _ in _events(ws)} == {"u9"}
    assert ws.con.execute("SELECT user_id, first_seen, last_seen FROM users WHERE user_id = 'u9'").fetchall() == [
        ("u9", _t(1), _t(3))]


def test_an_unreadable_parquet_file_is_named_and_nothing_changes(tmp_path):
    good = _files(tmp_path)[0]
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file PAR1")
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    with pytest.raises(YunyingError, match="broken.parquet"):
        ws.import_events([good, str(bad)])
    assert ws.counts()["events"] == 0
    assert ws.con.execute("SELECT count(*) FROM identities").fetchall() == [(0,)]
    # the workspace still takes the good file afterwards (no transaction left aborted)
    assert ws.import_events(good).rows_added == len(ROWS_A)


def test_a_refused_row_takes_back_the_links_and_the_moves(tmp_path):
    """All or nothing: links stored and stored events moved before the rows are read are rolled back with
    them when a row is refused."""
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    ws.import_events(_parquet(tmp_path / "anon.parquet", [("d9", None, "open", _t(1))], pa.string()))
    before = (_events(ws), ws.con.execute("SELECT * FROM users ORDER BY 1").fetchall())
    bad = _parquet(tmp_path / "bad.parquet", [("d9", "u9", "login", _t(2)), (None, None, "open", _t(3))], pa.string())
    with pytest.raises(YunyingError, match=r"bad\.parquet: 1 of 2 row\(s\) are invalid"):
        ws.import_events(bad)
    assert ws.con.execute("SELECT count(*) FROM identities").fetchall() == [(0,)]
    assert (_events(ws), ws.con.execute("SELECT * FROM users ORDER BY 1").fetchall()) == before


def test_other_formats_move_the_rows_after(tmp_path, monkeypatch):
    calls = []
    real = event_import.links_first
    monkeypatch.setattr(event_import, "links_first", lambda *a: calls.append(r := real(*a)) or r)
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    rep = ws.import_events(str(write_csv(tmp_path / "a.csv", [["distinct_id", "user_id", "event", "ts"],
                                                              ["d1", "", "open", _t(1)], ["d1", "u1", "login", _t(2)]])))
    assert calls == [None] and rep.identities_added == 1
    assert {u for _, u, _, _ in _events(ws)} == {"u1"}
