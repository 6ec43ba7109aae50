"""user.PROP and segment conditions: compiled against the workspace's users / segment_members tables
when it has them, a clear error when it does not."""
from __future__ import annotations

import pytest
from users_helpers import make_ws

from yunying.analyses import filtering
from yunying.engines.duckdb import DuckDBEngine
from yunying.errors import SpecError

ROWS = [{"user_id": u, "event": "view", "ts": f"2024-01-0{d} 10:00", "event_uuid": f"{u}-{d}"}
        for u in ("a", "b", "c", "d") for d in (1, 2)]


def ids(engine, text):
    t = filtering.apply(engine, engine.events(), text)
    return sorted(engine.execute(t.select("event_uuid"))["event_uuid"].to_pylist())


def test_without_a_users_table_user_and_segment_filters_say_why(tmp_path):
    ws = make_ws(ROWS, directory=tmp_path)
    ws.con.execute("DROP TABLE users")  # every workspace has them now; a database without them still errs clearly
    ws.con.execute("DROP TABLE segment_members")
    eng = DuckDBEngine(ws)
    with pytest.raises(SpecError, match="user.PROP needs the workspace's users table"):
        filtering.predicate(eng, "user.city = '上海'")
    with pytest.raises(SpecError, match="segment needs the workspace's segment_members table"):
        filtering.predicate(eng, "segment = 'vip'")
    ws.close()


def test_user_properties_and_segments(tmp_path):
    ws = make_ws(ROWS, directory=tmp_path)
    ws.con.execute("DROP TABLE users")  # a hand-made table stands in for the profile store
    ws.con.execute("CREATE TABLE users (user_id VARCHAR, city VARCHAR, properties VARCHAR)")
    ws.con.execute("INSERT INTO users VALUES ('a', '上海', '{\"plan\": \"pro\", \"orders\": \"3\"}'), "
                   "('b', '北京', '{\"plan\": \"free\"}'), ('c', NULL, '{\"orders\": 12}')")
    ws.con.execute("DROP TABLE segment_members")
    ws.con.execute("CREATE TABLE segment_members (segment VARCHAR, user_id VARCHAR)")
    ws.con.execute("INSERT INTO segment_members VALUES ('vip', 'a'), ('vip', 'd'), ('沉睡', 'c')")
    eng = DuckDBEngine(ws)
    assert ids(eng, "user.city = '上海'") == ["a-1", "a-2"]
    assert ids(eng, "user.city != '上海'") == ["b-1", "b-2", "c-1", "c-2", "d-1", "d-2"]  # d has no profile
    assert ids(eng, "user.orders >= 3") == ["a-1", "a-2", "c-1", "c-2"]
    assert ids(eng, "user.plan is not set") == ["c-1", "c-2", "d-1", "d-2"]
    assert ids(eng, "segment = 'vip' and event.ts >= 2024-01-02") == ["a-2", "d-2"]
    assert ids(eng, "segment not in ('vip', '沉睡')") == ["b-1", "b-2"]
    assert ids(eng, "user.plan = 'pro' or segment = '沉睡'") == ["a-1", "a-2", "c-1", "c-2"]
    with pytest.raises(SpecError, match=r"did you mean user\.plan"):
        filtering.predicate(eng, "user.paln = 'pro'")
    ws.close()


def test_an_empty_workspace_has_nothing_to_check_against():
    import yunying

    ws = yunying.Workspace.in_memory()
    eng = DuckDBEngine(ws)
    assert ids(eng, "event.anything = 1 or event.'odd name' is set") == []
    ws.close()
