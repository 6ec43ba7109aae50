"""Every analysis is reachable through the registry by kind, from a JSON spec, and draws a chart."""
from __future__ import annotations

import json

import pytest

from yunying.analyses import registry

from analytics_helpers import make_ws

ROWS = [("u1", "signup", "2024-01-01 09:00", {"channel": "feed"}), ("u1", "view", "2024-01-01 09:10"),
        ("u1", "buy", "2024-01-02 09:00", {"revenue": 12}), ("u2", "signup", "2024-01-02 10:00"),
        ("u2", "view", "2024-01-09 10:00")]

SPECS = {
    "funnel": {"steps": ["signup", "view", "buy"], "window": "7d", "by": "channel", "interval": "day"},
    "retention": {"start_event": "signup", "period": "day", "periods": 3, "value": "revenue"},
    "lifecycle": {"period": "week"},
    "stickiness": {"period": "week"},
    "paths": {"event": "signup", "depth": 2, "min_share": 0},
    "trends": {"event": "buy", "measure": "p90", "property": "revenue", "compare": True},
}


@pytest.fixture(scope="module")
def engine():
    ws = make_ws(ROWS)
    yield ws.engine
    ws.close()


@pytest.mark.parametrize("kind", list(SPECS))
def test_registry_json_spec_and_chart(engine, kind):
    analysis = registry.get(kind)
    res = analysis.run(engine, json.dumps(SPECS[kind]))
    data = json.loads(res.to_json())
    assert data["kind"] == kind
    assert res.spec == analysis.spec_class.parse(res.spec.to_json().replace(f'"kind": "{kind}", ', ""))
    fig = res.chart()
    assert fig.data, kind
    assert res.to_csv()


def test_other_analyses_chart(engine):
    from yunying.analyses.distribution import distribution
    from yunying.analyses.intervals import intervals

    assert distribution(engine).chart().data
    assert intervals(engine, first_event="signup", then_event="view").chart().data
