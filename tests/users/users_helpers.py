"""Helpers for the users tests: tiny workspaces from hand-written rows, and engines over them."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import yunying
from yunying.config import WorkspaceConfig

_counter = itertools.count()


def events_table(rows: list[dict]) -> pa.Table:
    """rows: dicts with user_id, event, ts (naive UTC datetime or ISO text), optional distinct_id, event_uuid,
    channel, revenue and props (a dict stored as the ``properties`` JSON)."""
    def ts(v):
        return v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v)

    return pa.table({
        "user_id": pa.array([r["user_id"] for r in rows], pa.string()),
        "distinct_id": pa.array([r.get("distinct_id") for r in rows], pa.string()),
        "event": pa.array([r["event"] for r in rows], pa.string()),
        "ts": pa.array([ts(r["ts"]) for r in rows], pa.timestamp("us")),
        "event_uuid": pa.array([r.get("event_uuid") or f"e{next(_counter)}" for r in rows], pa.string()),
        "channel": pa.array([r.get("channel") for r in rows], pa.string()),
        "revenue": pa.array([None if r.get("revenue") is None else float(r["revenue"]) for r in rows], pa.float64()),
        "properties": pa.array([json.dumps(r["props"], ensure_ascii=False) if r.get("props") is not None else None
                                for r in rows], pa.string()),
    })


def make_ws(rows: list[dict], tz: str = "UTC", directory: Path | None = None) -> yunying.Workspace:
    d = Path(directory or tempfile.mkdtemp(prefix="yy-users-"))
    path = d / f"events-{next(_counter)}.parquet"
    pq.write_table(events_table(rows), path)
    ws = yunying.Workspace.init(d / f"ws-{next(_counter)}", WorkspaceConfig(name="t", timezone=tz))
    ws.import_events([str(path)])
    return ws


def purchases(spec: list[tuple], event: str = "purchase") -> list[dict]:
    """(user, 'YYYY-MM-DD HH:MM', revenue[, order_id]) tuples -> purchase rows."""
    out = []
    for item in spec:
        user, when, rev = item[0], item[1], item[2]
        props = {"order_id": item[3]} if len(item) > 3 and item[3] is not None else None
        out.append({"user_id": user, "event": event, "ts": when, "revenue": rev, "props": props})
    return out


def thirds_demo(base: Path, tz: str, *, spend: bool = False) -> tuple[yunying.Workspace, set]:
    """The filter tests' demo workspace: 300 users over 35 days (seed 5) in ``tz``, its spend when asked, and
    every third user (by sorted id) in the static segment ``三分之一``. Returns the workspace and those members."""
    from yunying.demo import generate

    out = generate(base / "data", users=300, days=35, seed=5)
    ws = yunying.Workspace.init(base / "ws", WorkspaceConfig(name="f", timezone=tz))
    ws.import_events(out["files"])
    if spend:
        ws.import_spend([str(base / "data" / "spend.csv")])
    ids = sorted(r[0] for r in ws.con.execute("SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL").fetchall())
    members = set(ids[::3])
    ws.save_segment("三分之一", kind="static", static_ids=sorted(members))
    return ws, members
