"""User profiles and segments on Spark (issue 11 on both engines): ``user.PROP`` filters and breakdowns, derived
``user.$…`` properties, ``segment`` filters and ``by segment:A,B`` give DuckDB's results on the standalone test
cluster (tests/spark_cluster.py). The users and segment-members tables reach Spark as Parquet next to the events
(storage/parquet_export.py ``export_tables``), rewritten when they change.

Data: a demo workspace in Asia/Shanghai (anonymous ids merged into users, local day boundaries) with imported
profiles (Chinese text, numbers stored as text, users without a value) and two segments."""
from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from spark_cluster import cluster_settings
from yunying.config import WorkspaceConfig

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from yunying.analyses.segments import evaluate
    from yunying.demo import generate
    from yunying.engines.spark import SparkEngine

    base = tmp_path_factory.mktemp("usertables")
    out = generate(base / "data", users=300, days=35, seed=11)
    ws = yunying.Workspace.init(base / "ws", WorkspaceConfig(name="ut", timezone="Asia/Shanghai",
                                                             spark=cluster_settings()))
    ws.import_events(out["files"])
    ids = sorted(r[0] for r in ws.con.execute("SELECT DISTINCT user_id FROM events").fetchall())
    cities = ["上海", "北京", "O'Hare \"x\"; --", None]
    rows = [{"user_id": u, "city": cities[i % 4], "orders": f" {i % 9}" if i % 2 else str(i % 9),
             "vip": "yes" if i % 3 == 0 else "no"} for i, u in enumerate(ids) if i % 7 != 6]  # some: no profile
    pq.write_table(pa.Table.from_pylist(rows), base / "users.parquet")
    ws.import_users(str(base / "users.parquet"))
    ws.save_segment("三分之一", kind="static", static_ids=ids[::3])
    rule = "did purchase between 2026-06-01 and 2026-06-15"
    ws.save_segment("buyers", kind="dynamic", rule=rule, members=evaluate(ws.engine, rule, ws.segment))
    spark = SparkEngine(ws)
    assert spark.session.sparkContext.master == ws.config.spark.master
    yield ws, ws.engine, spark
    ws.close()


def same(a, b) -> dict:
    da, db = a.to_dict(), b.to_dict()
    assert json.dumps(da, sort_keys=True, default=str) == json.dumps(db, sort_keys=True, default=str)
    return da


WHERE = ["user.city = '上海' or (user.orders >= 4 and not segment = 'buyers')",
         "segment = '三分之一' and (user.city is not set or user.$first_channel in ('kol', 'search'))"]


@pytest.mark.parametrize("where", WHERE)
def test_sequence_analyses_filtered_by_users_and_segments(engines, where):
    from yunying.analyses.funnel import funnel
    from yunying.analyses.retention import retention

    _, duck, spark = engines
    f = dict(steps=["signup", "view_content", "purchase"], window="7d", filters=[where])
    d = same(funnel(duck, **f), funnel(spark, **f))
    full = funnel(duck, steps=f["steps"], window="7d").to_dict()
    assert 0 < d["steps"][0]["count"] < full["steps"][0]["count"]  # the filter selects some users, not all
    r = dict(start_event="signup", return_event="app_open", period="week", periods=3, filters=[where])
    assert same(retention(duck, **r), retention(spark, **r))["cohorts"]


def test_breakdowns_by_user_property_and_segment(engines):
    from yunying.analyses.funnel import funnel
    from yunying.analyses.retention import retention
    from yunying.analyses.trends import trends

    _, duck, spark = engines
    f = dict(steps=["signup", "purchase"], window="14d", by="user.city")
    d = same(funnel(duck, **f), funnel(spark, **f))
    assert {b["value"] for b in d["breakdown"]} >= {"上海", "北京", "(none)"}
    r = dict(start_event="signup", return_event="app_open", period="week", periods=2, by="segment:三分之一,buyers")
    assert same(retention(duck, **r), retention(spark, **r))["cohorts"]
    t = dict(event="purchase", interval="week", by="user.city", measure="users")
    assert same(trends(duck, **t), trends(spark, **t))["series"]


def test_other_analyses_filtered_by_users_and_segments(engines):
    from yunying.analyses.acquisition import channels
    from yunying.analyses.lifecycle import lifecycle
    from yunying.analyses.overview import overview
    from yunying.analyses.paths import paths
    from yunying.analyses.stickiness import stickiness

    _, duck, spark = engines
    where = ["segment = '三分之一' or user.vip = 'yes'"]
    assert same(lifecycle(duck, period="week", filters=where), lifecycle(spark, period="week", filters=where))["periods"]
    assert same(stickiness(duck, period="week", filters=where), stickiness(spark, period="week", filters=where))["periods"]
    assert same(paths(duck, event="signup", depth=3, filters=where),
                paths(spark, event="signup", depth=3, filters=where))["edges"]
    assert same(overview(duck, filters=where), overview(spark, filters=where))
    assert same(channels(duck, filters=where), channels(spark, filters=where))["rows"]


def test_changed_profiles_reach_spark_and_unknown_names_fail_early(engines, tmp_path):
    """A new engine sees profile changes (the users file is rewritten when its fingerprint changes); an unknown
    user property fails before any work with a "did you mean", on Spark as on DuckDB."""
    from yunying.analyses.trends import trends
    from yunying.engines.spark import SparkEngine
    from yunying.errors import SpecError

    ws, duck, spark = engines
    with pytest.raises(SpecError, match="did you mean user.city"):
        trends(spark, event="purchase", filters=["user.cty = '上海'"])
    uid = ws.con.execute("SELECT min(user_id) FROM events WHERE event = 'app_open'").fetchall()[0][0]
    (tmp_path / "u.csv").write_text(f"user_id,tier\n{uid},金\n", encoding="utf-8")
    ws.import_users(str(tmp_path / "u.csv"))
    spec = dict(event="app_open", measure="users", interval="month", filters=["user.tier = '金'"],
                date_from=dt.date(2026, 1, 1))
    fresh = SparkEngine(ws)
    a = same(trends(ws.engine, **spec), trends(fresh, **spec))
    assert sum(p["value"] for p in a["series"]) >= 1
    # a segment's rule evaluated on Spark: behaviour, profile and another (static) segment
    from yunying.analyses.segments import evaluate

    rule = "did view_content at least 3 times between 2026-06-01 and 2026-06-20 and (user.vip = 'yes' or in segment 三分之一)"
    got = evaluate(ws.engine, rule, ws.segment, dt.date(2026, 6, 30))
    assert got and got == evaluate(fresh, rule, ws.segment, dt.date(2026, 6, 30))
