"""The ClickHouse queries that benchmarks/bench_firstanswer.py times against ``yunying funnel|retention --events``
answer the same question: on a small random Parquet file, chdb running the benchmark's own SQL gives the same
funnel step counts and weekly retention table as yunying (a check of the benchmark's reference, so that its
side-by-side numbers compare like with like)."""
from __future__ import annotations

import datetime as dt
import importlib.util

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import yunying
from util import ROOT
from yunying.storage.adhoc import load_events

import chdb  # noqa: E402  (a test dependency: missing fails, never skips)

spec = importlib.util.spec_from_file_location("bench_firstanswer", ROOT / "benchmarks" / "bench_firstanswer.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _file(path, seed=7, users=600):
    """Users who sign up (some twice), open the app over ~16 weeks and walk the benchmark's funnel steps;
    microsecond times (no ties)."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2026-06-01T00:00:00", "us")
    names = [*bench.STEPS, bench.RET_RETURN, "other"]
    rows = {"user_id": [], "event": [], "ts": []}
    for u in range(users):
        n = int(rng.integers(1, 40))
        when = t0 + rng.integers(0, 16 * 7 * 86400 * 10**6, n).astype("timedelta64[us]")
        what = rng.choice(names, n, p=[0.12, 0.12, 0.15, 0.08, 0.4, 0.13])
        rows["user_id"] += [f"u{u}"] * n
        rows["event"] += list(what)
        rows["ts"] += list(when)
    table = pa.table({"user_id": pa.array(rows["user_id"]), "event": pa.array(rows["event"]),
                      "ts": pa.array(np.array(rows["ts"], "datetime64[us]"))})
    pq.write_table(table, path)
    return path


def test_the_benchmark_queries_answer_as_yunying(tmp_path):
    path = str(_file(tmp_path / "small.parquet"))
    ws = yunying.Workspace.in_memory()
    load_events(ws, path, ())
    assert ws.file_store is not None
    got = yunying.retention(ws, start_event=bench.RET_START, return_event=bench.RET_RETURN, period="week",
                            periods=bench.RET_WEEKS).to_dict()
    ours = {str(r["cohort"])[:10]: r["retained"] for r in got["cohorts"]}
    ch = bench.retention_table(chdb.query(bench.retention_ch_sql(f"file('{path}', Parquet)", 1), "CSV").bytes().decode())
    assert len(ours) >= 10 and sum(v[1] for v in ours.values()) > 50
    assert ours == ch
    steps = yunying.funnel(ws, steps=bench.STEPS, window=f"{bench.WINDOW_DAYS}d").to_dict()["steps"]
    levels = bench._levels(chdb.query(bench._funnel_sql(f"file('{path}', Parquet)", 1), "CSV").bytes().decode())
    assert [s["count"] for s in steps] == levels and levels[-1] > 0
    ws.close()
