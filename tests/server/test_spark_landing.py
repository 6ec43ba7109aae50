"""Capture feeds Spark: a real `yunying serve` process with ``land_parquet`` lands the committed events as
date-partitioned Parquet (<workspace>/.spark/events/event_date=…/); the Spark engine reading that folder as
``[spark] events_path`` gives DuckDB's funnel; and the server of a workspace with ``engine = "spark"``
answers the query API through Spark (on the test cluster), with the same result as DuckDB.
"""
from __future__ import annotations

import json
import random

import pyarrow.dataset as pads
import pytest

import yunying
from spark_cluster import cluster_settings
from yunying.config import WorkspaceConfig
from yunying.server.client import ServerClient
from yyserver_helpers import ServerProcess, create_key, make_workspace, wait_until

pytestmark = pytest.mark.spark

FUNNEL = {"steps": ["visit", "signup", "buy"], "window": "2d", "by": "plan"}


def _batch(key: str) -> list[dict]:
    rnd = random.Random(5)
    out = []
    for u in range(40):
        for d in range(1, 6):
            for k in range(rnd.randint(0, 3)):
                out.append({"event": rnd.choice(["visit", "signup", "buy"]), "distinct_id": f"u{u}",
                            "uuid": f"e-{u}-{d}-{k}", "properties": {"plan": rnd.choice(["free", "pro"])},
                            "timestamp": f"2026-04-0{d}T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00+08:00"})
    return out


def _dict(result) -> str:
    return json.dumps(result.to_dict(), sort_keys=True, default=str)


def test_capture_lands_parquet_and_serve_answers_through_spark(tmp_path):
    from yunying.analyses.funnel import funnel
    from yunying.engines.spark import SparkEngine

    spark_cfg = cluster_settings()
    ws = make_workspace(tmp_path / "shop", timezone="Asia/Shanghai", engine="spark", spark=spark_cfg)
    key = create_key(ws, "write")
    read = create_key(ws, "read")
    events = _batch(key)
    landed = ws / ".spark" / "events"
    with ServerProcess(ws, settings=("land_parquet=0.2", "publish_interval=0.2", "query_timeout=600")) as server:
        client = ServerClient(server.info, token=read, timeout=600)  # the server starts its Spark session
        capture = server.client(token=key)
        for i in range(0, len(events), 50):
            capture.post("/batch/", {"api_key": key, "batch": events[i:i + 50]})

        def all_landed():
            if not (landed / "_yunying_manifest.json").exists():
                return False
            return pads.dataset(landed, format="parquet", partitioning="hive").count_rows() == len(events)

        wait_until(all_landed, 60, what="the captured events to land as Parquet")
        answer = client.query("funnel", FUNNEL, timeout=300)  # engine = "spark": through Spark, in the server
    local = yunying.open(ws, read_only=True, engine="duckdb")
    dates = {f"event_date={d}" for (d,) in local.con.execute(
        "SELECT DISTINCT CAST(CAST(ts AS DATE) AS VARCHAR) FROM events").fetchall()}
    assert {p.name for p in landed.iterdir() if p.is_dir()} == dates and len(dates) >= 5  # UTC dates
    duck = funnel(local.engine, **FUNNEL)
    assert duck.to_dict()["steps"][0]["count"] > 10
    got = answer.get("result", answer)
    assert json.dumps(got, sort_keys=True, default=str) == json.dumps(
        json.loads(json.dumps(duck.to_dict(), default=str)), sort_keys=True, default=str)

    # the landed folder as a Spark deployment's own events_path
    other = yunying.Workspace.init(tmp_path / "reader", WorkspaceConfig(
        name="reader", timezone="Asia/Shanghai", spark={**spark_cfg, "events_path": str(landed)}))
    assert _dict(funnel(SparkEngine(other), **FUNNEL)) == _dict(duck)
    other.close()
    local.close()
