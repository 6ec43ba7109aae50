"""The Spark driver holds results, never events: a funnel and a weekly retention on Spark with
``spark.driver.maxResultSize`` = 1 MiB over data many times that size give DuckDB's results, while reading
the same events back to the driver fails under that limit (so the limit is real, and the data exceeds it).
The funnel's figures are aggregated on the executors (analyses/funnel_partials.py): what reaches the driver is
the merged partials - counts, sums, the medians' histograms (at most 16 buckets per power of two per median,
whatever the number of users) and the values of the buckets holding the medians - under 64 KiB for ~36k users
entering the funnel, against ~1.5 MB for one row per user; its per-user attempts come only when asked for
afterwards.

Runs in a child process: the limit is fixed when a Spark session starts, and the tests' shared session
must not carry it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.spark

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    import yunying
    from yunying.config import WorkspaceConfig
    from yunying.engines.spark import SparkEngine
    from yunying.analyses.funnel import funnel
    from yunying.analyses.retention import retention

    base = Path(sys.argv[1])
    rng = np.random.default_rng(7)
    users, per_user = 50000, 12                      # 600k events, ~36k users entering the funnel
    n = users * per_user
    uid = np.repeat(np.array([f"user-{i:06d}" for i in range(users)], dtype=object), per_user)
    names = np.array(["visit", "signup", "cart", "buy"], dtype=object)
    event = names[rng.choice(4, n, p=[0.7, 0.1, 0.12, 0.08])]
    t0 = np.datetime64("2026-03-02T00:00:00", "us").astype(np.int64)
    ts = t0 + rng.integers(0, 56 * 86_400_000_000, n)
    tab = pa.table({"user_id": pa.array(uid, pa.string()), "event": pa.array(event, pa.string()),
                    "ts": pa.array(ts, pa.timestamp("us"))})
    pq.write_table(tab, base / "events.parquet")
    cfg = WorkspaceConfig(name="bound", spark={"master": "local[2]", "driver_memory": "1g",
                                               "conf": {"spark.driver.maxResultSize": "1m"}})
    ws = yunying.Workspace.init(base / "ws", cfg)
    ws.import_events([str(base / "events.parquet")])
    spark = SparkEngine(ws)
    assert spark.session.conf.get("spark.driver.maxResultSize") == "1m"
    out = {"events": n}
    f = dict(steps=["signup", "cart", "buy"], window="7d")
    r = dict(start_event="signup", return_event="buy", period="week", periods=4)
    out["funnel_duck"] = funnel(ws.engine, **f).to_dict()
    fs = funnel(spark, **f)
    out["funnel_spark"] = fs.to_dict()
    out["funnel_bytes_to_driver"] = fs._data["bytes_to_driver"]
    out["funnel_attempts"] = len(fs.attempts)  # read now, when asked for (a second pass)
    out["retention_duck"] = retention(ws.engine, **r).to_dict()
    out["retention_spark"] = retention(spark, **r).to_dict()
    t = spark.events()
    try:
        got = spark.execute(t.select("user_id", "event", "ts"))
        out["rows_to_driver"] = got.num_rows
    except Exception as exc:
        text = str(exc)
        at = text.find("maxResultSize")
        out["rows_to_driver"] = type(exc).__name__ + ": " + (text[max(at - 200, 0): at + 100] if at >= 0 else text[:600])
    print("RESULT " + json.dumps(out, default=str))
    """
)


def test_driver_gets_results_only(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=900, env=None)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    out = json.loads(lines[-1][len("RESULT "):])
    size = sum(f.stat().st_size for f in Path(tmp_path, "ws", ".spark", "events").rglob("*.parquet"))
    assert size > 2 * 1024 * 1024  # the export Spark reads: compressed Parquet alone is over twice the limit
    # the limit bites: the events themselves cannot come back to the driver
    assert "maxResultSize" in str(out["rows_to_driver"]), out["rows_to_driver"]
    # and the analyses, whose partial results do, are exact
    assert json.dumps(out["funnel_spark"], sort_keys=True) == json.dumps(out["funnel_duck"], sort_keys=True)
    assert json.dumps(out["retention_spark"], sort_keys=True) == json.dumps(out["retention_duck"], sort_keys=True)
    assert out["funnel_duck"]["steps"][0]["count"] > 30000
    # what the funnel sent to the driver: aggregates of tens of KiB, not one row per user
    assert out["funnel_bytes_to_driver"] < 64 * 1024, out["funnel_bytes_to_driver"]
    # for this many attempts (the per-user rows, fetched only when asked: ~43 bytes each): under 2 bytes a user
    assert out["funnel_attempts"] == out["funnel_duck"]["steps"][0]["count"]
    assert out["funnel_bytes_to_driver"] < 2 * out["funnel_attempts"]
