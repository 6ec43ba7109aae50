"""The workspace's date-partitioned Parquet export for Spark is incremental: import, export, import more
days, export again - only the new dates' folders are written, earlier files are untouched (same names,
same modification times); a date that changes (an identity merge moves its events) is rewritten alone.
pyarrow.dataset reads the folder back (the same rows as the workspace), and Spark - on the export, and on
the same folder given as a user's own ``[spark] events_path`` - gives DuckDB's funnel and retention.
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import yunying
from spark_cluster import cluster_settings
from yunying.config import WorkspaceConfig
from yunying.storage.parquet_export import MANIFEST, export_events

pytestmark = pytest.mark.spark


def _events(path, days: range, seed: int, users: int = 60) -> str:
    rng = np.random.default_rng(seed)
    rows = []
    t0 = np.datetime64("2026-05-01T00:00:00", "s")
    for d in days:
        for u in range(users):
            for _ in range(int(rng.integers(0, 4))):
                ts = t0 + np.timedelta64(d * 86400 + int(rng.integers(0, 86400)), "s")
                rows.append({"user_id": f"u{u:03d}", "event": str(rng.choice(["visit", "signup", "buy"])),
                             "ts": ts.astype("datetime64[us]").astype(object), "channel": str(rng.choice(["a", "b"]))})
    pq.write_table(pa.Table.from_pylist(rows), path)
    return str(path)


def _files(folder) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


def _dict(result) -> str:
    return json.dumps(result.to_dict(), sort_keys=True, default=str)


def test_incremental_partitioned_export(tmp_path):
    from yunying.analyses.funnel import funnel
    from yunying.analyses.retention import retention
    from yunying.engines.spark import SparkEngine

    ws = yunying.Workspace.init(tmp_path / "ws", WorkspaceConfig(name="export", timezone="Asia/Shanghai",
                                                                 spark=cluster_settings()))
    out = tmp_path / "out"
    ws.import_events(_events(tmp_path / "a.parquet", range(0, 6), seed=1))
    first = export_events(ws.con, out)
    assert first.written == [f"2026-05-0{d}" for d in range(1, 7)] and first.unchanged == 0
    before = _files(out)
    assert len(before) == 6 and all(k.startswith("event_date=2026-05-0") for k in before)

    # nothing new: nothing written
    again = export_events(ws.con, out)
    assert again.written == [] and again.unchanged == 6 and _files(out) == before

    # more days: only their folders are written; the earlier files are the same files, untouched
    ws.import_events(_events(tmp_path / "b.parquet", range(6, 9), seed=2))
    second = export_events(ws.con, out)
    assert second.written == ["2026-05-07", "2026-05-08", "2026-05-09"] and second.unchanged == 6
    after = _files(out)
    assert {k: v for k, v in after.items() if k in before} == before and len(after) == 9
    assert sorted(set(after) - set(before)) == sorted(second.files)

    # an identity merge moves events of one earlier day to another user: that day is rewritten, alone
    days = {d for (d,) in ws.con.execute("SELECT DISTINCT CAST(ts AS DATE)::VARCHAR FROM events "
                                         "WHERE user_id = 'u005'").fetchall()}
    assert 0 < len(days) < 9
    ws.identify([("u005", "u006")])
    assert ws.con.execute("SELECT count(*) FROM events WHERE user_id = 'u005'").fetchall()[0][0] == 0
    merged = export_events(ws.con, out)
    assert set(merged.written) == days and merged.unchanged == 9 - len(days)
    assert {k: v for k, v in _files(out).items() if k.split("/")[0][len("event_date="):] not in days} == \
        {k: v for k, v in after.items() if k.split("/")[0][len("event_date="):] not in days}

    # other tools read it back: the same rows as the workspace
    data = pads.dataset(out, format="parquet", partitioning="hive").to_table()
    assert (out / MANIFEST).exists() and data.num_rows == ws.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    got = sorted(zip(data["user_id"].to_pylist(), data["event"].to_pylist(), data["ts"].to_pylist()))
    want = sorted(ws.con.execute("SELECT user_id, event, ts FROM events").fetchall())
    assert got == want
    assert {str(d) for d in data["event_date"].to_pylist()} == {f"2026-05-0{d}" for d in range(1, 10)}

    # Spark on the workspace's own export (written under .spark/events) and on a user's own folder
    f = dict(steps=["visit", "signup", "buy"], window="2d", by="channel", interval="day")
    r = dict(start_event="signup", return_event="buy", period="day", periods=4)
    duck_f, duck_r = _dict(funnel(ws.engine, **f)), _dict(retention(ws.engine, **r))
    spark = SparkEngine(ws)
    assert spark.export.written and (tmp_path / "ws" / ".spark" / "events" / MANIFEST).exists()
    assert _dict(funnel(spark, **f)) == duck_f and _dict(retention(spark, **r)) == duck_r
    other = yunying.Workspace.init(tmp_path / "own", WorkspaceConfig(
        name="own", timezone="Asia/Shanghai", spark={**cluster_settings(), "events_path": str(out)}))
    own = SparkEngine(other)  # reads the folder as it is: no export of its own
    assert own._paths == {"events": str(out)} and not (tmp_path / "own" / ".spark").exists()
    assert _dict(funnel(own, **f)) == duck_f and _dict(retention(own, **r)) == duck_r
    other.close()
    ws.close()
