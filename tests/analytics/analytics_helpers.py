"""Helpers for the analytics tests: tiny workspaces from hand-written event logs."""
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
T0 = dt.datetime(2024, 1, 1)


def ts(value) -> dt.datetime:
    """'2024-01-01 10:00' / datetime / seconds after T0 -> naive UTC datetime."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, (int, float)):
        return T0 + dt.timedelta(seconds=value)
    return dt.datetime.fromisoformat(value)


def events_table(rows) -> pa.Table:
    """rows: (user, event, time[, {props}]) tuples."""
    cols = {"user_id": [], "distinct_id": [], "event": [], "ts": [], "event_uuid": [], "channel": [], "revenue": [],
            "properties": []}
    for r in rows:
        user, event, when = r[0], r[1], r[2]
        props = dict(r[3]) if len(r) > 3 and r[3] else {}
        cols["user_id"].append(user)
        cols["distinct_id"].append(props.pop("distinct_id", None))
        cols["event"].append(event)
        cols["ts"].append(ts(when))
        cols["event_uuid"].append(f"e{next(_counter)}")
        cols["channel"].append(props.pop("channel", None))
        rev = props.pop("revenue", None)
        cols["revenue"].append(None if rev is None else float(rev))
        cols["properties"].append(json.dumps(props) if props else None)
    return pa.table({
        "user_id": pa.array(cols["user_id"], pa.string()),
        "distinct_id": pa.array(cols["distinct_id"], pa.string()),
        "event": pa.array(cols["event"], pa.string()),
        "ts": pa.array(cols["ts"], pa.timestamp("us")),
        "event_uuid": pa.array(cols["event_uuid"], pa.string()),
        "channel": pa.array(cols["channel"], pa.string()),
        "revenue": pa.array(cols["revenue"], pa.float64()),
        "properties": pa.array(cols["properties"], pa.string()),
    })


def make_ws(rows, tz: str = "UTC", directory: Path | None = None) -> yunying.Workspace:
    """A workspace holding exactly these events (timestamps are UTC)."""
    table = rows if isinstance(rows, pa.Table) else events_table(rows)
    d = Path(directory or tempfile.mkdtemp(prefix="yy-analytics-"))
    path = d / f"events-{next(_counter)}.parquet"
    pq.write_table(table, path)
    ws = yunying.Workspace.in_memory(WorkspaceConfig(name="t", timezone=tz))
    ws.import_events([str(path)])
    return ws


def counts(result) -> list[int]:
    return [int(c) for c in result.frame["count"]]
