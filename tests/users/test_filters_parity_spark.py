"""trends and distribution with event filters and derived-user breakdowns give the same answer on DuckDB and
on PySpark (local mode)."""
from __future__ import annotations

import datetime as dt

import pytest
from test_users_parity_spark import rows
from users_helpers import make_ws

from yunying.analyses.distribution import DistributionSpec, distribution
from yunying.analyses.trends import TrendsSpec, trends

pytestmark = pytest.mark.spark

FILTERS = ["event.city = '上海'", "event.amount_text >= 3 or event.city is not set", "user.$purchase_count >= 3"]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from yunying.engines.duckdb import DuckDBEngine
    from yunying.engines.spark import SparkEngine

    ws = make_ws(rows(seed=9, n=800), tz="Asia/Shanghai", directory=tmp_path_factory.mktemp("fparity"))
    yield DuckDBEngine(ws), SparkEngine(ws)
    ws.close()


def frame(res):
    f = res.frame.copy()
    return f.sort_values(list(f.columns[:2])).reset_index(drop=True).to_dict("records")


@pytest.mark.parametrize("flt", FILTERS)
def test_trends_and_distribution_parity(engines, flt):
    duck, spark = engines
    spec = TrendsSpec.build(event="purchase", interval="week", filters=[flt], date_from=dt.date(2024, 1, 1),
                            date_to=dt.date(2024, 5, 31))
    a, b = frame(trends(duck, spec)), frame(trends(spark, spec))
    assert a == b and sum(r["value"] for r in a) > 0
    spec = DistributionSpec.build(event="purchase", filters=[flt])
    assert frame(distribution(duck, spec)) == frame(distribution(spark, spec))


def test_trends_by_derived_user_property_parity(engines):
    duck, spark = engines
    spec = TrendsSpec.build(event="purchase", interval="month", by="user.$first_channel",
                            date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 5, 31))
    assert frame(trends(duck, spec)) == frame(trends(spark, spec))


def test_filtered_sequence_analyses_parity(engines):
    """Sequence kernels on filtered events: an event filter, a derived user property (per-user: a user mask on
    DuckDB, a row filter on Spark) and a per-step filter give the same funnel and retention on both engines."""
    import json

    from yunying.analyses.funnel import FunnelSpec, funnel
    from yunying.analyses.retention import RetentionSpec, retention

    duck, spark = engines
    dump = lambda r: json.dumps(r.to_dict(), sort_keys=True, default=str)  # noqa: E731
    for flt in ["event.city = '上海' or event.amount_text >= 3", "user.$purchase_count >= 3"]:
        spec = FunnelSpec.build(steps=["view", "purchase[event.revenue > 100]"], window="14d", filters=[flt])
        a = funnel(duck, spec)
        assert dump(a) == dump(funnel(spark, spec)) and a.frame["count"].iloc[-1] > 0
        spec = RetentionSpec.build(start_event="view", return_event="purchase", period="week", periods=3,
                                   filters=[flt])
        assert dump(retention(duck, spec)) == dump(retention(spark, spec))
    spec = FunnelSpec.build(steps=["view", "purchase"], window="14d", by="user.$first_channel")
    a = funnel(duck, spec)
    assert dump(a) == dump(funnel(spark, spec)) and len(a.breakdown) > 1
