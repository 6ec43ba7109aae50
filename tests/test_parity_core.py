"""The same workspace analysed on DuckDB and on PySpark gives identical results. Spark runs on a standalone
cluster on loopback (a master and two workers, tests/spark_cluster.py), shared with the other parity modules."""
from __future__ import annotations

import pandas as pd
import pytest

import yunying
from spark_cluster import cluster_settings
from yunying.analyses.overview import overview
from yunying.analyses.trends import trends
from yunying.analyses.users import new_users, revenue
from yunying.config import WorkspaceConfig

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module", params=["UTC", "Asia/Shanghai"])
def engines(request, tmp_path_factory):
    from yunying.demo.generator import generate
    from yunying.engines.duckdb import DuckDBEngine
    from yunying.engines.spark import SparkEngine

    d = tmp_path_factory.mktemp("parity")
    truth = generate(d / "data", users=3000, days=28, seed=5)
    ws = yunying.Workspace.init(d / "ws", WorkspaceConfig(name="parity", timezone=request.param, spark=cluster_settings()))
    ws.import_events(truth["files"])
    ws.import_spend([str(d / "data" / "spend.csv")])
    spark = SparkEngine(ws)
    assert spark.session.sparkContext.master == ws.config.spark.master  # the cluster, not local mode
    yield DuckDBEngine(ws), spark
    ws.close()


def same(a: pd.DataFrame, b: pd.DataFrame):
    a = a.reset_index(drop=True)
    b = b.reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("kwargs", [
    dict(active=True, measure="users", interval="day"),
    dict(active=True, measure="users", interval="week"),
    dict(active=True, measure="count", interval="month"),
    dict(event="purchase", measure="sum", property="revenue", interval="week"),
    dict(event="purchase", measure="avg", property="revenue", interval="day"),
    dict(event="signup", measure="users", interval="day", by="utm_source"),
    dict(event="view_content", measure="count", interval="week", by="platform", top=2),
    dict(event="app_open", measure="per_user", interval="week"),
])
def test_trends_parity(engines, kwargs):
    duck, spark = engines
    a, b = trends(duck, **kwargs), trends(spark, **kwargs)
    assert len(a.frame) > 0
    same(a.frame, b.frame)


def test_users_and_revenue_parity(engines):
    duck, spark = engines
    same(new_users(duck, interval="week", by_channel=True).frame, new_users(spark, interval="week", by_channel=True).frame)
    same(revenue(duck, interval="day").frame, revenue(spark, interval="day").frame)


def test_overview_parity(engines):
    duck, spark = engines
    a, b = overview(duck).to_dict(), overview(spark).to_dict()
    assert a["week"] == b["week"]
    for ma, mb in zip(a["metrics"], b["metrics"]):
        assert ma["key"] == mb["key"]
        assert ma["current"] == pytest.approx(mb["current"], rel=1e-9)
        assert ma["previous"] == pytest.approx(mb["previous"], rel=1e-9)
    assert a["channels"] == b["channels"]
