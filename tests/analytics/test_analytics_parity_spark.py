"""DuckDB / Spark parity: every product analysis gives the same result on both engines.

One module-scoped workspace (demo data in Asia/Shanghai, so local day boundaries matter; with a
sequence store, which test_sequence_store.py compares with DuckDB's own export) and one Spark engine for the whole module, on the standalone test cluster (a master and two workers on
loopback, tests/spark_cluster.py): the sequence kernels run in the workers' executors.
"""
from __future__ import annotations

import json

import pytest

import yunying
from spark_cluster import cluster_settings
from yunying.config import WorkspaceConfig

pytestmark = pytest.mark.spark



@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from yunying.demo import generate
    from yunying.engines.spark import SparkEngine

    base = tmp_path_factory.mktemp("parity")
    out = generate(base / "data", users=400, days=35, seed=3)
    ws = yunying.Workspace.init(base / "ws", WorkspaceConfig(name="parity", timezone="Asia/Shanghai", spark=cluster_settings()))
    ws.import_events(out["files"])
    ws.import_spend([str(base / "data" / "spend.csv")])
    # identity merges are part of the parity: anonymous ids were merged into users on import
    assert ws.con.execute("SELECT count(*) FROM identities WHERE distinct_id <> user_id").fetchall()[0][0] > 0
    assert ws.refresh_sequence_store(force=True)  # DuckDB's sequence analyses read the store, Spark reads Parquet
    duck = ws.engine
    spark = SparkEngine(ws)  # selected Spark tests fail when Spark or Java is missing (-m "not spark" deselects)
    assert spark.session.sparkContext.master == ws.config.spark.master  # the cluster, not local mode
    yield duck, spark
    ws.close()


def same(a, b):
    da, db = a.to_dict(), b.to_dict()
    assert json.dumps(da, sort_keys=True, default=str) == json.dumps(db, sort_keys=True, default=str)
    return da


def _leaves(d, path=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _leaves(v, f"{path}.{k}")
    elif isinstance(d, (list, tuple)):
        for i, v in enumerate(d):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, d


def close(a, b, rel=1e-12):
    """Equal results, floats to ``rel``: on DuckDB the acquisition tables are summed exactly rounded in numpy
    (analyses/acquisition/lean.py), on Spark in pandas, so sums can differ in the last bit."""
    da = dict(_leaves(json.loads(json.dumps(a.to_dict(), default=str))))
    db = dict(_leaves(json.loads(json.dumps(b.to_dict(), default=str))))
    assert list(da) == list(db)
    for k, x in da.items():
        y = db[k]
        if isinstance(x, float) and isinstance(y, float):
            assert x == pytest.approx(y, rel=rel, abs=1e-12), k
        else:
            assert x == y, k
    return a.to_dict()


FUNNELS = [
    dict(steps=["signup", "activate", "view_content", "purchase"], window="7d"),
    dict(steps=["app_open", "view_content", "share"], window="30m", order="strict"),
    dict(steps=["view_content", "share", "follow"], window="1d", order="unordered"),
    dict(steps=["signup", "purchase"], window="14d", by="channel", attribution="first_touch", interval="week",
         exclusions=[{"event": "$exposure"}]),
    dict(steps=["view_content", "purchase"], window="1d", repeat=True, date_from="2026-06-05",
         date_to="2026-06-20", steps_in_range=True),
    dict(steps=["signup", "view_content", "purchase"], window="3d", by="platform", attribution="last_touch", top=1),
    dict(steps=["app_open", "view_content", "purchase"], window="2h", order="strict", repeat=True,
         exclusions=[{"event": "share", "from_step": 1, "to_step": 2}]),
    dict(steps=["signup", "view_content[event.platform = 'ios']", "purchase"], window="7d", by="platform",
         attribution="step", attribution_step=2, filters=["event.platform != 'web'"]),
]


@pytest.mark.parametrize("spec", FUNNELS)
def test_funnel(engines, spec):
    from yunying.analyses.funnel import FunnelSpec, funnel

    duck, spark = engines
    s = FunnelSpec.parse(spec)
    a, b = funnel(duck, s), funnel(spark, s)
    d = same(a, b)
    assert d["steps"][0]["count"] > 0
    assert a.attempts.sort_values(["user_id", "step_1_at"]).reset_index(drop=True).equals(
        b.attempts.sort_values(["user_id", "step_1_at"]).reset_index(drop=True))


RETENTIONS = [
    dict(start_event="signup", return_event="app_open", period="week", periods=3),
    dict(period="day", periods=7, cohort="recurring", mode="on_or_after"),
    dict(start_event="signup", return_event="purchase", period="day", brackets="1,2-7,8-30", by="channel",
         value="revenue"),
    dict(start_event="signup", return_event="purchase", period="month", periods=2, mode="on_or_after",
         date_from="2026-06-03", date_to="2026-06-20", filters=["event.platform in ('ios', 'android')"]),
]


@pytest.mark.parametrize("spec", RETENTIONS)
def test_retention(engines, spec):
    from yunying.analyses.retention import RetentionSpec, retention

    duck, spark = engines
    d = same(retention(duck, RetentionSpec.parse(spec)), retention(spark, RetentionSpec.parse(spec)))
    assert d["cohorts"]


def test_lifecycle_stickiness_distribution_intervals(engines):
    from yunying.analyses.distribution import distribution
    from yunying.analyses.intervals import intervals
    from yunying.analyses.lifecycle import lifecycle
    from yunying.analyses.stickiness import stickiness

    duck, spark = engines
    assert same(lifecycle(duck, period="week"), lifecycle(spark, period="week"))["periods"]
    assert same(lifecycle(duck, period="day", event="purchase", date_from="2026-06-10"),
                lifecycle(spark, period="day", event="purchase", date_from="2026-06-10"))["periods"]
    assert same(stickiness(duck, period="week"), stickiness(spark, period="week"))["periods"]
    assert same(distribution(duck, event="view_content"), distribution(spark, event="view_content"))["histogram"]
    assert same(intervals(duck, first_event="purchase", then_event="purchase"),
                intervals(spark, first_event="purchase", then_event="purchase"))["histogram"]
    assert same(stickiness(duck, period="month", event="view_content", date_from="2026-06-08"),
                stickiness(spark, period="month", event="view_content", date_from="2026-06-08"))["periods"]
    i = dict(first_event="signup", then_event="purchase", window="7d", first_only=True, date_to="2026-06-25")
    assert same(intervals(duck, **i), intervals(spark, **i))["histogram"]


def test_paths(engines):
    from yunying.analyses.paths import paths

    duck, spark = engines
    assert same(paths(duck, event="signup", depth=3), paths(spark, event="signup", depth=3))["edges"]
    assert same(paths(duck, event="purchase", direction="before", max_gap="30m"),
                paths(spark, event="purchase", direction="before", max_gap="30m"))["edges"]
    p = dict(event="view_content", depth=2, min_share=0, collapse_repeats=False, all_occurrences=True,
             include_end=True, date_from="2026-06-10", date_to="2026-06-12")
    assert same(paths(duck, **p), paths(spark, **p))["edges"]


def test_acquisition_and_experiment(engines):
    """Acquisition (channels with credits, placements, attribution models, budget inputs) and the workspace
    experiment (sufficient statistics per variant) on the cluster."""
    from yunying.analyses.acquisition import attribution, budget, channels, placements
    from yunying.analyses.experiment.workspace import experiment

    duck, spark = engines
    c = dict(by="placement", attribution="position", interval="week")
    assert close(channels(duck, **c), channels(spark, **c))["rows"]
    assert close(placements(duck, attribution="linear"), placements(spark, attribution="linear"))["rows"]
    a = dict(models=["first", "last", "linear"])
    assert close(attribution(duck, **a), attribution(spark, **a))
    assert close(budget(duck, draws=50), budget(spark, draws=50))
    e = {"control": "control", "experiment": "new_checkout",
         "metrics": [{"name": "buy", "kind": "conversion", "event": "purchase"},
                     {"name": "rev", "kind": "sum", "event": "purchase", "property": "revenue"}]}
    import pandas as pd

    # sums of float revenue in another order: equal to 1e-9 (as tests/stats/test_experiment_workspace.py)
    a, b = experiment(duck, e).to_pandas(), experiment(spark, e).to_pandas()
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert a["n"].min() > 0


TRENDS = [
    # demo purchases carry a platform but no channel (by channel is an error: issue 19 item 5)
    dict(event="purchase", measure="p90", property="revenue", interval="week", by="platform"),
    dict(event="purchase", measure="median", property="revenue", interval="day"),
    dict(series=[{"event": "purchase"}, {"active": True, "measure": "users"}], formula="A/B", interval="week",
         compare=True),
    dict(active=True, measure="users", interval="day", compare=True, date_from="2026-06-10", date_to="2026-06-20"),
]


@pytest.mark.parametrize("spec", TRENDS)
def test_trends(engines, spec):
    from yunying.analyses.trends import TrendsSpec, trends

    duck, spark = engines
    assert same(trends(duck, TrendsSpec.parse(spec)), trends(spark, TrendsSpec.parse(spec)))["series"]


def test_unshippable_kernel_fails_before_any_work(engines):
    """A kernel that cannot be pickled to the executors is refused up front, with the reason."""
    import threading

    from yunying.engines.sequences import SequenceQuery
    from yunying.errors import UnsupportedOperation

    _, spark = engines
    lock = threading.Lock()
    tracker = spark.session.sparkContext.statusTracker()
    jobs = len(tracker.getJobIdsForGroup(None))
    with pytest.raises(UnsupportedOperation, match="cannot be sent there"):
        spark.map_sequences(lambda ch: (lock, ch.n_users), SequenceQuery(("signup",)))
    assert len(tracker.getJobIdsForGroup(None)) == jobs  # no Spark job ran


def test_funnel_ties_even_medians_and_dst(tmp_path):
    """The funnel aggregated on the executors (analyses/funnel_partials.py) equals DuckDB's with events at the
    same instant (taken in step order), an even number of converters (median = mean of the middle two, with
    µs that do not divide evenly), a breakdown with more values than ``top``, and daily periods across a DST
    change (America/New_York, 2026-03-08)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from yunying.analyses.funnel import funnel
    from yunying.engines.spark import SparkEngine

    rows = []
    base = 1772870400_000_000  # 2026-03-07T08:00:00Z
    for u in range(24):
        t = base + u * 3_600_000_000 * 3 + u * 7  # users spread over three local days, across the DST change
        rows.append((f"u{u:02d}", "visit", t, f"c{u % 5}"))
        if u % 4 != 3:
            rows.append((f"u{u:02d}", "signup", t if u % 3 == 0 else t + 1_000_001 * (u + 1), f"c{u % 5}"))  # ties
        if u % 2 == 0:
            rows.append((f"u{u:02d}", "buy", t + 86_400_000_000 + 333 * u, f"c{u % 5}"))
    tab = pa.table({"user_id": [r[0] for r in rows], "event": [r[1] for r in rows],
                    "ts": pa.array([r[2] for r in rows], pa.timestamp("us")), "channel": [r[3] for r in rows]})
    pq.write_table(tab, tmp_path / "ev.parquet")
    ws = yunying.Workspace.init(tmp_path / "ws", WorkspaceConfig(name="ties", timezone="America/New_York",
                                                                 spark=cluster_settings()))
    ws.import_events([str(tmp_path / "ev.parquet")])
    spark = SparkEngine(ws)
    for spec in (dict(steps=["visit", "signup", "buy"], window="2d", by="channel", top=3, interval="day"),
                 dict(steps=["visit", "signup"], window="1h", order="strict"),
                 dict(steps=["visit", "buy"], window="3d", repeat=True)):
        d = same(funnel(ws.engine, **spec), funnel(spark, **spec))
        assert d["steps"][1]["count"] > 0
    ws.close()
