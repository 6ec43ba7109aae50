"""Issue 18 item 1: ``--events FILE`` funnels and retention read a sequence store built straight from the file
(storage/adhoc_store.py). Proved equal to a full import of the same file: the per-user sequences themselves
(user, time, event of every kept event) and the analyses' results, on hand-made edge cases and random files."""
from __future__ import annotations

import numpy as np
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.errors import YunyingError
from yunying.storage import adhoc_store
from yunying.storage.adhoc import load_events

EDGE = """user_id,anonymous_id,event,timestamp,uuid,amount
,anon-1,view,2024-01-01 09:00:00,,1
u1,anon-1,signup,2024-01-01 10:00:00,,2
u1,,view,2024-01-01 10:00:00,,3
u1,,view,2024-01-01 10:00:00,,3
u2,,purchase,2024-01-02 10:00:00,e-1,5
u2,,purchase,2024-01-02 10:00:01,e-1,6
u2,,view,2024-01-02 09:00:00,e-2,
u6,,signup,2024-01-02 08:00:00,e-2,
 u3 ,,  signup ,2024-01-03T10:00:00+08:00,,
u3,,purchase,1704247200,,7
,anon-9,view,2024-01-04,,
a,b,signup,2024-01-05 10:00:00,,
b,a,purchase,2024-01-05 11:00:00,,
u4,anon-2,signup,2024-01-06 10:00:00,,
u5,u4,purchase,2024-01-07 10:00:00,,
,anon-2,view,2024-01-06 09:00:00,,
"""


def _pair(path, tz="UTC"):
    cfg = lambda: WorkspaceConfig(name="memory", import_timezone=tz)  # noqa: E731
    full = yunying.Workspace.in_memory(cfg())
    full.import_events([str(path)])
    built = yunying.Workspace.in_memory(cfg())
    load_events(built, str(path), ())
    assert built.file_store is not None
    return full, built


def _sequences(ws):
    st = ws.file_store
    users = st._users.to_pylist()
    lengths = np.diff(st.starts)
    out = []
    for u, n, a in zip(users, lengths, st.starts[:-1]):
        ts, code = st.ts[a:a + n], st.code[a:a + n]
        pairs = list(zip(ts.tolist(), code.tolist()))
        assert pairs == sorted(pairs), "each user's events in (time, event) order"
        out += [(u, t, st.events[c]) for t, c in pairs]
    return sorted(out)


def _same(full, built, steps, ret):
    truth = full.con.execute("SELECT user_id, epoch_us(ts), event FROM events ORDER BY ALL").fetchall()
    assert _sequences(built) == truth
    for order in ("ordered", "strict", "unordered"):
        a = yunying.funnel(full, steps=steps, window="2d", order=order).to_dict()
        assert yunying.funnel(built, steps=steps, window="2d", order=order).to_dict() == a
    for period in ("day", "week"):
        a = yunying.retention(full, start_event=ret[0], return_event=ret[1], period=period, periods=4).to_dict()
        assert yunying.retention(built, start_event=ret[0], return_event=ret[1], period=period,
                                 periods=4).to_dict() == a


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
def test_edge_cases_equal_a_full_import(tmp_path, tz):
    f = tmp_path / "edge.csv"
    f.write_text(EDGE)
    full, built = _pair(f, tz)
    _same(full, built, ["signup", "view", "purchase"], ("signup", "purchase"))
    seq = _sequences(built)
    # e-1 twice: its earliest row only; e-2 for two users: u6's earlier signup kept, u2's view dropped;
    # identical rows without an id are two events; anon-1 and anon-2 follow their users; u4 merged into u5;
    # the loop a <-> b ends at one id
    assert sum(1 for u, _, e in seq if u == "u2") == 1
    assert [e for u, _, e in seq if u == "u6"] == ["signup"] and not any(u == "u2" and e == "view" for u, _, e in seq)
    assert sum(1 for u, _, e in seq if u == "u1") == 4
    assert {u for u, _, _ in seq} - {"a", "b"} == {"u1", "u2", "u3", "u5", "u6", "anon-9"}
    assert len({u for u, _, _ in seq if u in ("a", "b")}) == 1
    with pytest.raises(Exception, match="sequence store"):
        built.con.execute("SELECT count(*) FROM events").fetchall()
    full.close(), built.close()


def _random_file(path, seed, rows=6000):
    rng = np.random.default_rng(seed)
    names = np.array(["signup", "view", "cart", "purchase", "app_open"])
    users = rng.integers(0, 400, rows)
    anon = rng.integers(0, 500, rows)
    has_user = rng.random(rows) < 0.7
    ts = 1_704_067_200 + rng.integers(0, 40 * 86400, rows) // 600 * 600  # ties
    uuids = np.where(rng.random(rows) < 0.5, rng.integers(0, rows, rows), -1)  # repeated ids, some for others
    lines = ["user_id,distinct_id,event,ts,event_uuid"]
    for i in range(rows):
        u = f"u{users[i]}" if has_user[i] else ""
        d = f"d{anon[i]}" if (not has_user[i] or rng.random() < 0.1) else ""
        if rng.random() < 0.02 and has_user[i]:
            d = f"u{rng.integers(0, 400)}"  # a user id sent as another's anonymous id: chains and loops
        e = f"e{uuids[i]}" if uuids[i] >= 0 else ""
        lines.append(f"{u},{d},{names[rng.integers(0, 5)]},{ts[i]},{e}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("seed", [1, 2])
def test_random_files_equal_a_full_import(tmp_path, seed):
    f = tmp_path / "r.csv"
    _random_file(f, seed)
    full, built = _pair(f)
    assert built.file_store.n_users > 100
    _same(full, built, ["signup", "view", "cart", "purchase"], ("signup", "app_open"))
    full.close(), built.close()


def test_bad_rows_take_the_import_path_and_its_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,event,timestamp\nu1,view,2024-01-01\nu2,view,not a time\n,view,2024-01-02\n")
    assert "row 2" in same_error(bad)


def same_error(path) -> str:
    """The error of building a store from a bad file: the full import's, with no store left (its message)."""
    with pytest.raises(YunyingError) as full:
        yunying.Workspace.in_memory().import_events([str(path)])
    ws = yunying.Workspace.in_memory()
    with pytest.raises(YunyingError) as built:
        load_events(ws, str(path), ())
    assert built.value.message == full.value.message
    assert getattr(ws, "file_store", None) is None
    return built.value.message


def test_uuid_hash_clash_drops_nothing(tmp_path, monkeypatch):
    """Rows whose uuid hashes repeat are decided by their uuids: distinct uuids sharing a hash stay (simulated:
    every uuid hash reported as repeated)."""
    f = tmp_path / "edge.csv"
    f.write_text(EDGE)
    every = lambda h: np.unique(h)  # noqa: E731
    monkeypatch.setattr(adhoc_store, "_repeated", every)
    full, built = _pair(f)
    truth = full.con.execute("SELECT user_id, epoch_us(ts), event FROM events ORDER BY ALL").fetchall()
    assert _sequences(built) == truth


def test_group_users_orders_long_and_short_runs():
    rng = np.random.default_rng(0)
    k = 10 + rng.choice([0, 1, 3, 4, 6], 500).astype(np.int64)  # users 12 and 15 have no rows
    t = rng.integers(0, 20, 500).astype(np.int64)
    c = rng.integers(0, 3, 500).astype(np.int32)
    starts, order, keys = adhoc_store.group_users(k, t, c, 10, 7)
    assert keys.tolist() == [10, 11, 13, 14, 16] and starts[-1] == 500
    for u in range(5):
        rows = order[starts[u]:starts[u + 1]]
        assert (k[rows] == keys[u]).all()
        got = list(zip(t[rows], c[rows]))
        assert got == sorted(got)
