"""analyze_workspace: exposure assignment, event-window metrics computed in ibis, checked
against an independent pandas computation; the real DuckDB workspace; the demo's truth."""
from __future__ import annotations

import json

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from yunying.analyses.experiment import analyze_workspace, experiment
from yunying.errors import SpecError

T0 = pd.Timestamp("2026-03-01")


def make_events(seed: int = 3, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        u = f"u{i:05d}"
        v = "treatment" if rng.random() < 0.5 else "control"
        te = T0 + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 20)))
        rows.append((u, "$exposure", te, v, np.nan, json.dumps({"experiment": "exp1"})))
        if rng.random() < 0.2:  # repeated exposure, same variant
            rows.append((u, "$exposure", te + pd.Timedelta(hours=3), v, np.nan, json.dumps({"experiment": "exp1"})))
        k = rng.poisson(0.35 if v == "treatment" else 0.25)
        for _ in range(k):  # purchases inside and outside the 14-day window
            dt = pd.Timedelta(hours=float(rng.uniform(0, 24 * 20)))
            rows.append((u, "purchase", te + dt, None, float(rng.gamma(2, 20)),
                         json.dumps({"items": int(rng.integers(1, 4))})))
        if rng.random() < 0.3:  # pre-exposure purchase (CUPED covariate; never counted as outcome)
            rows.append((u, "purchase", te - pd.Timedelta(days=float(rng.uniform(0.1, 10))), None, 15.0,
                         json.dumps({"items": 1})))
        if rng.random() < 0.5:
            rows.append((u, "app_open", te + pd.Timedelta(hours=1), None, np.nan, "{}"))
    # three users exposed to both variants, one user exposed in another experiment only
    for u in ("u00001", "u00002", "u00003"):
        rows.append((u, "$exposure", T0 + pd.Timedelta(days=25), "other_arm", np.nan,
                     json.dumps({"experiment": "exp1"})))
    rows.append(("z9", "$exposure", T0, "control", np.nan, json.dumps({"experiment": "exp2"})))
    return pd.DataFrame(rows, columns=["user_id", "event", "ts", "variant", "revenue", "properties"])


class FakeEngine:
    """The engine interface (table + execute) on an in-memory DuckDB."""

    timezone = "UTC"

    def __init__(self, events: pd.DataFrame):
        self.con = duckdb.connect()
        self.con.register("events_df", events)
        self.con.execute("CREATE TABLE events AS SELECT * FROM events_df")
        self.backend = ibis.duckdb.from_connection(self.con)

    def table(self, name):
        return self.backend.table(name)

    def execute(self, expr):
        return expr.to_pyarrow()


@pytest.fixture(scope="module")
def events():
    return make_events()


@pytest.fixture(scope="module")
def engine(events):
    return FakeEngine(events)


def expected_per_user(events: pd.DataFrame, experiment_name="exp1", window=14.0, pre=14.0) -> pd.DataFrame:
    """Independent pandas computation of the per-user values."""
    props = events.properties.map(json.loads)
    ex = events[(events.event == "$exposure") & (props.map(lambda p: p.get("experiment")) == experiment_name)]
    g = ex.groupby("user_id").agg(first=("ts", "min"), nvar=("variant", "nunique"), variant=("variant", "first"))
    g = g[g.nvar == 1]
    pur = events[events.event == "purchase"].merge(g[["first"]], left_on="user_id", right_index=True)
    pur["items"] = pur.properties.map(lambda s: json.loads(s).get("items"))
    inw = pur[(pur.ts >= pur["first"]) & (pur.ts < pur["first"] + pd.Timedelta(days=window))]
    prew = pur[(pur.ts < pur["first"]) & (pur.ts >= pur["first"] - pd.Timedelta(days=pre))]
    out = g[["variant"]].copy()
    out["conv"] = inw.groupby("user_id").size().reindex(out.index).fillna(0).gt(0).astype(float)
    out["count"] = inw.groupby("user_id").size().reindex(out.index).fillna(0).astype(float)
    out["rev"] = inw.groupby("user_id").revenue.sum().reindex(out.index).fillna(0.0)
    out["items"] = inw.groupby("user_id")["items"].sum().reindex(out.index).fillna(0.0)
    out["pre_conv"] = prew.groupby("user_id").size().reindex(out.index).fillna(0).gt(0).astype(float)
    return out


METRICS = [
    {"name": "buy", "kind": "conversion", "event": "purchase"},
    {"name": "purchases", "kind": "count", "event": "purchase"},
    {"name": "revenue", "kind": "sum", "event": "purchase", "property": "revenue"},
    {"name": "items", "kind": "sum", "event": "purchase", "property": "items"},  # from JSON properties
    {"name": "aov", "numerator": {"kind": "sum", "event": "purchase", "property": "revenue"},
     "denominator": {"kind": "count", "event": "purchase"}},
    {"name": "rev_p90", "kind": "sum", "event": "purchase", "property": "revenue", "quantile": 0.9},
]


def assert_means_match(d: dict, exp: pd.DataFrame) -> dict:
    """Each variant's n and mean of the per-user metrics equal the pandas computation; the metrics by name."""
    by = {m["metric"]: m for m in d["metrics"]}
    for name, col in (("buy", "conv"), ("purchases", "count"), ("revenue", "rev"), ("items", "items")):
        for v in by[name]["variants"]:
            sub = exp[exp.variant == v["variant"]][col]
            assert v["n"] == len(sub)
            assert v["mean"] == pytest.approx(sub.mean(), rel=1e-12), (name, v["variant"])
    return by


def test_workspace_metrics_match_independent_computation(engine, events):
    res = analyze_workspace(engine, {"exposure_event": "$exposure", "control": "control", "experiment": "exp1",
                                     "metrics": METRICS, "variants": ["control", "treatment"]})
    d = res.to_dict()
    exp = expected_per_user(events)
    assert d["excluded"]["multiple_variants"] == 3
    counts = exp.variant.value_counts()
    assert d["srm"]["observed"] == {"control": counts["control"], "treatment": counts["treatment"]}
    by = assert_means_match(d, exp)
    assert by["buy"]["type"] == "proportion" and by["revenue"]["type"] == "mean"
    for v in by["aov"]["variants"]:
        sub = exp[exp.variant == v["variant"]]
        assert v["mean"] == pytest.approx(sub.rev.sum() / sub["count"].sum(), rel=1e-12)
    for v in by["rev_p90"]["variants"]:
        assert v["mean"] == pytest.approx(np.quantile(exp[exp.variant == v["variant"]].rev, 0.9), rel=1e-12)
    t = by["buy"]["variants"][1]
    assert t["effect_abs"] > 0 and t["ci_abs"][0] < t["effect_abs"] < t["ci_abs"][1]
    assert d["source"]["kind"] == "workspace" and d["source"]["first_exposure"].startswith("2026-03-01")
    json.dumps(d, allow_nan=False)


def test_workspace_cuped_uses_pre_period(engine, events):
    res = analyze_workspace(engine, {"exposure_event": "$exposure", "control": "control", "experiment": "exp1",
                                     "variants": ["control", "treatment"], "covariate": "pre",
                                     "metrics": [{"name": "buy", "kind": "conversion", "event": "purchase"}]})
    m = res.to_dict()["metrics"][0]
    exp = expected_per_user(events)
    # theta is the pooled within-arm slope of outcome on the pre-period conversion
    num = den = 0.0
    for _, g in exp.groupby("variant"):
        x, y = g.pre_conv - g.pre_conv.mean(), g.conv - g.conv.mean()
        num += (x * y).sum()
        den += (x * x).sum()
    assert m["cuped"]["theta"] == pytest.approx(num / den, rel=1e-9)
    assert m["variants"][0]["mean"] == pytest.approx(exp[exp.variant == "control"].conv.mean())


def test_experiment_filter_incomplete_windows_and_errors(engine, events):
    all_exp = analyze_workspace(engine, {"exposure_event": "$exposure", "control": "control",
                                         "variants": ["control", "treatment"], "metrics": METRICS[:1]}).to_dict()
    only1 = analyze_workspace(engine, {"exposure_event": "$exposure", "control": "control", "experiment": "exp1",
                                       "variants": ["control", "treatment"], "metrics": METRICS[:1]}).to_dict()
    assert sum(all_exp["srm"]["observed"].values()) == sum(only1["srm"]["observed"].values()) + 1  # z9 (exp2)
    inc = analyze_workspace(engine, {"exposure_event": "$exposure", "control": "control", "experiment": "exp1",
                                     "variants": ["control", "treatment"], "window_days": 30,
                                     "metrics": METRICS[:1], "exclude_incomplete_windows": True}).to_dict()
    n_inc = sum(v["n"] for v in inc["metrics"][0]["variants"])
    assert 0 < n_inc < sum(only1["srm"]["observed"].values())
    assert any(m["code"] == "incomplete_windows" for m in inc["messages"])
    # --start/--end select users by their first exposure, as local dates (inclusive) in the given zone
    per = analyze_workspace(engine, {"exposure_event": "$exposure", "control": "control", "experiment": "exp1",
                                     "variants": ["control", "treatment"], "metrics": METRICS[:1],
                                     "start": "2026-03-05", "end": "2026-03-09"}, timezone="Asia/Shanghai").to_dict()
    exp = expected_per_user(events)
    lo = pd.Timestamp("2026-03-05") - pd.Timedelta(hours=8)   # Shanghai midnight in UTC
    hi = pd.Timestamp("2026-03-10") - pd.Timedelta(hours=8)
    firsts = events[events.event == "$exposure"].groupby("user_id").ts.min().reindex(exp.index)
    assert sum(per["srm"]["observed"].values()) == int(((firsts >= lo) & (firsts < hi)).sum())
    assert per["source"]["timezone"] == "Asia/Shanghai" and per["source"]["first_exposure"].endswith("+08:00")
    with pytest.raises(SpecError):
        analyze_workspace(engine, {"exposure_event": None, "control": "control", "metrics": METRICS[:1]})
    with pytest.raises(SpecError, match="events"):
        analyze_workspace(engine, {"control": "control", "metrics": ["some_column"]})
    # registry entry point: defaults to $exposure and the engine's zone
    r = experiment(engine, {"control": "control", "experiment": "exp1", "variants": ["control", "treatment"],
                            "metrics": METRICS[:1]})
    assert r.to_dict()["srm"]["observed"] == only1["srm"]["observed"]


def test_real_duckdb_workspace(tmp_path, events):
    import yunying.engines  # noqa: F401 - registers Workspace.engine's factory (run alone, nothing else did)
    import yunying.storage.workspace as ws_mod
    path = tmp_path / "events.csv"
    events.rename(columns={"ts": "timestamp"}).to_csv(path, index=False)
    ws = ws_mod.Workspace.in_memory()
    try:
        ws.import_events([str(path)])
        res = analyze_workspace(ws.engine, {"exposure_event": "$exposure", "control": "control",
                                            "experiment": "exp1", "variants": ["control", "treatment"],
                                            "metrics": METRICS[:4]})
    finally:
        ws.close()
    exp = expected_per_user(events)
    by = {m["metric"]: m for m in res.to_dict()["metrics"]}
    for name, col in (("buy", "conv"), ("revenue", "rev"), ("items", "items")):
        for v in by[name]["variants"]:
            assert v["mean"] == pytest.approx(exp[exp.variant == v["variant"]][col].mean(), rel=1e-9)


def test_demo_experiment_truth_inside_interval(tmp_path):
    import yunying.demo as demo
    import yunying.engines  # noqa: F401 - registers Workspace.engine's factory
    import yunying.storage.workspace as ws_mod

    truth = demo.generate(tmp_path / "data", users=20_000, days=60, seed=7)
    ex = truth["experiment"]
    ws = ws_mod.Workspace.in_memory()
    try:
        ws.import_events([str(f) for f in truth["files"]])
        res = analyze_workspace(ws.engine, {
            "exposure_event": ex["exposure_event"], "control": ex["control"], "variants": ex["variants"],
            "metrics": [{"name": "purchase", "kind": "conversion", "event": "purchase",
                         "window_days": ex["window_days"]}]})
    finally:
        ws.close()
    d = res.to_dict()
    assert d["srm"]["observed"] == ex["exposed_users"]
    t = d["metrics"][0]["variants"][1]
    assert t["ci_abs"][0] <= ex["true_effect_abs"] <= t["ci_abs"][1]
    assert t["ci_rel"][0] <= ex["true_effect_rel"] <= t["ci_rel"][1]


@pytest.mark.spark
def test_duckdb_and_spark_agree(tmp_path):
    import pyspark  # noqa: F401
    import yunying.demo as demo
    from yunying.config import WorkspaceConfig
    from yunying.engines.duckdb import DuckDBEngine
    from yunying.engines.spark import SparkEngine
    from yunying.storage.workspace import Workspace

    truth = demo.generate(tmp_path / "data", users=3000, days=40, seed=5)
    ws = Workspace.init(tmp_path / "ws", WorkspaceConfig(name="exp", timezone="Asia/Shanghai"))
    try:
        ws.import_events(truth["files"])
        spec = {"control": "control", "experiment": "new_checkout", "covariate": "pre",
                "metrics": [{"name": "buy", "kind": "conversion", "event": "purchase"},
                            {"name": "rev", "kind": "sum", "event": "purchase", "property": "revenue"},
                            {"name": "aov", "numerator": {"kind": "sum", "event": "purchase", "property": "revenue"},
                             "denominator": {"kind": "count", "event": "purchase"}},
                            {"name": "rev_p50", "kind": "sum", "event": "purchase", "property": "revenue",
                             "quantile": 0.5}],
                "exclude_incomplete_windows": True}
        a = experiment(DuckDBEngine(ws), spec).to_pandas()
        b = experiment(SparkEngine(ws), spec).to_pandas()
    finally:
        ws.close()
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert a["n"].min() > 0
