"""Funnel counts equal ClickHouse ``windowFunnel`` (via chdb, a test-only oracle) on random event logs.

Semantics are aligned where ClickHouse is defined the same way: no timestamp ties
inside a user and no event name used twice in the steps (there ClickHouse lets one
event satisfy several identical steps; we need one event per step). ClickHouse's
window is in the timestamp's unit (we pass microseconds) and inclusive, like ours.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yunying.analyses.funnel import FunnelSpec, funnel

from analytics_helpers import make_ws

import chdb  # noqa: E402  (a test dependency: missing fails, never skips)

EVENTS = ["A", "B", "C", "D", "X"]
T0 = dt.datetime(2024, 3, 1)


def random_log(seed: int, users: int = 400) -> pa.Table:
    rng = np.random.default_rng(seed)
    uid, ev, us = [], [], []
    for u in range(users):
        n = int(rng.integers(0, 25))
        # distinct offsets per user (no ties), in microseconds over ~10 days, some clumped
        offs = np.sort(rng.choice(10 * 86400, size=n, replace=False)) * 1_000_000
        offs += rng.integers(0, 1_000_000, size=n) // 1_000 * 1_000 * (rng.random(n) < 0.5)
        offs = np.unique(offs)
        names = rng.choice(EVENTS, size=offs.size, p=[0.3, 0.25, 0.2, 0.15, 0.1])
        uid += [f"user{u:04d}"] * offs.size
        ev += list(names)
        us += list(offs)
    ts = np.array([np.datetime64(T0, "us") + np.timedelta64(int(o), "us") for o in us], dtype="datetime64[us]")
    return pa.table({"user_id": pa.array(uid, pa.string()), "event": pa.array(ev, pa.string()),
                     "ts": pa.array(ts, pa.timestamp("us")),
                     "event_uuid": pa.array([f"e{i}" for i in range(len(uid))], pa.string())})


def clickhouse_levels(path, steps, window_us, mode=None) -> dict[str, int]:
    conds = ", ".join(f"event = '{s}'" for s in steps)
    params = f"{window_us}" + (f", '{mode}'" if mode else "")
    sql = (f"SELECT user_id, windowFunnel({params})(toUInt64(toUnixTimestamp64Micro(ts)), {conds}) AS level "
           f"FROM file('{path}', Parquet) GROUP BY user_id")
    out = chdb.query(sql, "ArrowTable")
    return {u: int(lv) for u, lv in zip(out.column("user_id").to_pylist(), out.column("level").to_pylist()) if lv}


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    out = []
    for seed in range(3):
        table = random_log(seed)
        path = tmp_path_factory.mktemp("ch") / f"log{seed}.parquet"
        pq.write_table(table, path)
        out.append((path, make_ws(table)))
    yield out
    for _, ws in out:
        ws.close()


CASES = [
    (["A", "B", "C"], "1h"),
    (["A", "B", "C", "D"], "1d"),
    (["B", "A"], "30m"),
    (["C", "D", "A", "B"], "3d"),
    (["X", "A"], "10d"),
]


@pytest.mark.parametrize("steps,window", CASES)
def test_ordered_funnel_matches_window_funnel(logs, steps, window):
    spec = FunnelSpec(steps=steps, window=window)
    for path, ws in logs:
        ours = funnel(ws.engine, spec)
        theirs = clickhouse_levels(path, steps, spec.window_seconds * 1_000_000)
        mine = dict(zip(ours.attempts["user_id"], ours.attempts["level"].astype(int)))
        assert mine == theirs
        expected = [sum(1 for v in theirs.values() if v >= k) for k in range(1, len(steps) + 1)]
        assert ours.frame["count"].tolist() == expected


def test_strict_mode_differs_from_strict_order_on_purpose(tmp_path):
    """ClickHouse 'strict_order' stops at the first event that breaks the sequence; our strict mode
    voids only that attempt, and a later step-1 event starts a clean one (docs/definitions.md)."""
    h = dt.timedelta(minutes=1)
    rows = pa.table({"user_id": ["a"] * 4, "event": ["A", "C", "A", "B"],
                     "ts": pa.array([T0, T0 + h, T0 + 2 * h, T0 + 3 * h], pa.timestamp("us")),
                     "event_uuid": ["1", "2", "3", "4"]})
    path = tmp_path / "strict.parquet"
    pq.write_table(rows, path)
    assert clickhouse_levels(path, ["A", "B"], 3600 * 1_000_000, "strict_order") == {"a": 1}
    ws = make_ws(rows)
    try:
        r = funnel(ws.engine, FunnelSpec(steps=["A", "B"], window="1h", order="strict"))
        assert r.attempts["level"].tolist() == [2]
    finally:
        ws.close()


def test_window_edge_matches_clickhouse(tmp_path):
    rows = pa.table({"user_id": ["a", "a", "b", "b"], "event": ["A", "B", "A", "B"],
                     "ts": pa.array([T0, T0 + dt.timedelta(hours=1), T0, T0 + dt.timedelta(hours=1, microseconds=1)],
                                    pa.timestamp("us")),
                     "event_uuid": ["1", "2", "3", "4"]})
    path = tmp_path / "edge.parquet"
    pq.write_table(rows, path)
    assert clickhouse_levels(path, ["A", "B"], 3600 * 1_000_000) == {"a": 2, "b": 1}
    ws = make_ws(rows)
    try:
        r = funnel(ws.engine, FunnelSpec(steps=["A", "B"], window="1h"))
        assert dict(zip(r.attempts["user_id"], r.attempts["level"])) == {"a": 2, "b": 1}
    finally:
        ws.close()
