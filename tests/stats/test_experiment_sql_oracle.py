"""The workspace experiment without Ibis (issue 13, start-up): on real DuckDB workspaces in three time zones the
plain SQL (experiment/workspace_sql.py) gives the result the Ibis expressions give (the path of filters and
Spark) for every kind of metric — conversion, count, sum of a column and of a JSON property, ratio, quantile,
guardrails — with the pre-period covariate, incomplete windows left out, a period and an experiment name; and
on the SQL path the per-user means equal an independent pandas computation."""
from __future__ import annotations

import pytest

from test_experiment_workspace import METRICS, assert_means_match, expected_per_user, make_events
from util import assert_same_rows
from yunying.analyses.experiment import analyze_workspace
from yunying.analyses.sql import plain_duckdb
from yunying.config import WorkspaceConfig


@pytest.fixture(scope="module")
def events():
    return make_events(seed=5, n=1500)


@pytest.fixture(scope="module", params=["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def ws(request, events, tmp_path_factory):
    import yunying.engines  # noqa: F401 - registers the engines
    from yunying.storage.workspace import Workspace

    root = tmp_path_factory.mktemp("expsql")
    events.rename(columns={"ts": "timestamp"}).to_csv(root / "events.csv", index=False)
    w = Workspace.init(root / "ws", WorkspaceConfig(name="e", timezone=request.param))
    w.import_events([str(root / "events.csv")])
    yield w
    w.close()


BASE = {"exposure_event": "$exposure", "control": "control", "variants": ["control", "treatment"]}
SPECS = [
    {"experiment": "exp1", "metrics": METRICS},
    {"metrics": METRICS[:3], "covariate": "pre", "cuped_pre_days": 7},
    {"experiment": "exp1", "metrics": METRICS[:2] + METRICS[4:], "window_days": 30, "exclude_incomplete_windows": True},
    {"experiment": "exp1", "metrics": METRICS[:1], "guardrails": [METRICS[1]], "start": "2026-03-05",
     "end": "2026-03-09"},
    {"metrics": [{"name": "opened", "kind": "conversion", "event": "app_open", "window_days": 0.5}], "window_days": None},
    {"control": "control", "variants": None, "metrics": METRICS[:2]},
]


@pytest.mark.parametrize("i", range(len(SPECS)))
def test_sql_equals_ibis(ws, i, monkeypatch):
    assert plain_duckdb(ws.engine)
    spec = {**BASE, **SPECS[i]}
    got = analyze_workspace(ws.engine, spec).to_dict()
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = analyze_workspace(ws.engine, spec).to_dict()
    assert_same_rows(got, exp)
    assert sum(got["srm"]["observed"].values()) > 100 and got["metrics"]


def test_sql_path_equals_pandas(ws, events):
    d = analyze_workspace(ws.engine, {**BASE, "experiment": "exp1", "metrics": METRICS}).to_dict()
    exp = expected_per_user(events)
    assert d["excluded"]["multiple_variants"] == 3
    assert_means_match(d, exp)
