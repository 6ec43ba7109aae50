"""Named metrics: the parser (errors name the metric and the column), evaluation against pandas on the
same generated rows, [metrics] / [metric_trees] in yunying.toml, trends --metric."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest

from explain_helpers import events_frame, workspace_from
from yunying.analyses import metrics as am
from yunying.errors import SpecError
from yunying.model import filters as F
from yunying.model import metrics as M

D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 14)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    df = events_frame()
    ws = workspace_from(tmp, df, '[metrics]\ngmv = "sum(purchase.revenue)"\n'
                                 'feed_buyers = "users(purchase where event.channel = \'feed\')"\n'
                                 'per_buyer = "count(purchase) / buyers"\n'
                                 'net = { expr = "revenue * 0.9 - 10", label = "Net", good = "up" }\n'
                                 '[metric_trees]\nnew_gmv = "sum over channel"\n'.replace("new_gmv", "gmv"))
    ws.close()
    df["day"] = df["timestamp"].str[:10].map(dt.date.fromisoformat)
    return tmp, df


@pytest.fixture
def ws(data):
    import yunying

    w = yunying.open(data[0] / "ws", read_only=True)
    yield w
    w.close()


def test_parser_reads_the_language():
    e = M.parse_metric("x", "users(purchase where event.channel in ('feed', 'kol')) / users(any)")
    assert e.op == "/" and e.left.func == "users" and e.left.where is not None and e.right.event is None
    assert M.to_text(M.parse_metric("x", "sum('order paid'.amount)")) == "sum('order paid'.amount)"
    assert M.parse_metric("x", "-(a + 2) * b").op == "*"
    assert M.parse_tree("r", "a*b*c").factors == ("a", "b", "c")
    assert M.parse_tree("r", "a + b").op == "+"


@pytest.mark.parametrize("text, message, column", [
    ("sum(purchase)", "sum needs EVENT.PROPERTY", 1),
    ("users(purchase", "expected ')'", 15),
    ("count(purchase.revenue)", "count counts events", 1),
    ("users(purchase where event.x = )", "expected a value", 32),
    ("revenue / / buyers", "unexpected '/'", 11),
    ("", "empty definition", 1),
])
def test_parser_errors_name_metric_and_column(text, message, column):
    with pytest.raises(SpecError) as exc:
        M.parse_metric("gmv", text)
    msg = exc.value.message
    assert msg.startswith("metric 'gmv': ") and message in msg and f"at column {column}" in msg, msg


def test_metric_text_is_read_by_the_filter_lexer():
    """Names, strings and numbers are read as in the filter language; arithmetic keeps its operators."""
    for name in ["order paid", "it's", 'say "hi"', "back\\slash", "tab\there", "any", "where"]:
        e = M.parse_metric("x", f"count({M.name_text(name)})")
        assert e.event == name, (name, M.name_text(name))
    assert M.parse_metric("x", "count('it\\'s')").event == "it's"  # the filter language's escape
    e = M.parse_metric("x", "2-1")  # not 2 and a signed -1
    assert (e.op, e.left.value, e.right.value) == ("-", 2.0, 1.0)
    assert M.parse_metric("x", ".5 * a").left.value == 0.5
    assert M.parse_metric("x", "2024-01-01").op == "-"  # arithmetic, not a date
    with pytest.raises(SpecError, match="'a-1' is not a metric name"):  # one name, as in filters
        M.parse_metric("x", "a-1")
    # the same errors, with the metric named and the column pointed at
    for text, message, column in [("count('x)", "string not closed", 7), ("count('\\q')", "unknown escape", 8),
                                  ("1e999", "not a finite number", 1)]:
        with pytest.raises(SpecError) as exc:
            M.parse_metric("gmv", text)
        assert exc.value.message.startswith("metric 'gmv': ") and message in exc.value.message, exc.value.message
        assert exc.value.details["column"] == column and f"\n  {text}\n  {' ' * (column - 1)}^" in exc.value.message
    with pytest.raises(SpecError, match="filter: string not closed .* at column 11"):
        F.parse("event.a = 'x")


def test_tree_errors():
    with pytest.raises(SpecError, match="tree of 'r'.*mix of"):
        M.parse_tree("r", "a * b + c")
    with pytest.raises(SpecError, match="at least two"):
        M.parse_tree("r", "a")


def test_builtins_follow_the_event_settings():
    from yunying.config import EventSettings, WorkspaceConfig

    cfg = WorkspaceConfig(events=EventSettings(purchase="order paid", revenue="amount"))
    cat = am.catalog(cfg)
    assert cat.get("revenue").text == "sum('order paid'.amount)"
    assert {m: cat.get(m).kind for m in ("revenue", "active_users", "buyers", "pay_rate", "arppu")} == \
        {"revenue": "money", "active_users": "count", "buyers": "count", "pay_rate": "rate", "arppu": "money"}
    assert cat.tree("revenue").factors == ("active_users", "pay_rate", "arppu")


def test_unknown_and_cyclic_metrics_are_errors():
    from yunying.config import WorkspaceConfig

    with pytest.raises(SpecError, match="uses 'buyer', which is not a metric; did you mean 'buyers'"):
        am.catalog(WorkspaceConfig(metrics={"x": "revenue / buyer"}))
    with pytest.raises(SpecError, match="refers to itself"):
        am.catalog(WorkspaceConfig(metrics={"a": "b + 1", "b": "a * 2"}))
    with pytest.raises(SpecError, match="did you mean 'arppu'"):
        am.catalog(WorkspaceConfig()).get("arpu")


def test_values_match_pandas(data, ws):
    df = data[1]
    w = df[(df["day"] >= D1) & (df["day"] <= D2)]
    p = w[w["event"] == "purchase"]
    want = {"revenue": p["revenue"].sum(), "gmv": p["revenue"].sum(), "active_users": w["user_id"].nunique(),
            "buyers": p["user_id"].nunique(), "feed_buyers": p.loc[p["channel"] == "feed", "user_id"].nunique(),
            "per_buyer": len(p) / p["user_id"].nunique(), "net": p["revenue"].sum() * 0.9 - 10}
    want["pay_rate"] = want["buyers"] / want["active_users"]
    want["arppu"] = want["revenue"] / want["buyers"]
    got = am.frame(ws.engine, list(want), D1, D2).iloc[0]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12), k
    assert am.evaluate(ws.engine, "pay_rate", D1, D2) == pytest.approx(want["pay_rate"])
    # a filter on top applies to every aggregate
    f = w[w["platform"] == "ios"]
    fp = f[f["event"] == "purchase"]
    assert am.evaluate(ws.engine, "arppu", D1, D2, filters=["event.platform = 'ios'"]) == \
        pytest.approx(fp["revenue"].sum() / fp["user_id"].nunique())


def test_weekly_users_are_distinct_over_the_week_and_split_by(data, ws):
    df = data[1]
    s = am.series(ws.engine, "active_users", D1, dt.date(2024, 1, 31), interval="week", by="channel")
    df = df.assign(week=df["day"].map(lambda d: d - dt.timedelta(days=d.weekday())))
    want = df.groupby(["week", "channel"])["user_id"].nunique()
    for r in s.itertuples():
        assert r.value == want.get((r.date, r.breakdown), 0), r
    # the week of 2024-01-29 has no events: 0 users, and a ratio there is n/a
    assert set(s.loc[s["date"] == dt.date(2024, 1, 29), "value"]) == {0}
    r = am.series(ws.engine, "pay_rate", D1, dt.date(2024, 1, 31), interval="week")
    assert np.isnan(r["value"].iloc[-1]) and len(r) == 5


def test_metric_analysis(data, ws):
    df = data[1]
    res = am.metric(ws.engine, metric="gmv", interval="month")
    assert res.to_dict()["rows"] == [{"date": "2024-01-01", "value": float(df.loc[df.event == "purchase", "revenue"].sum())}]


def test_cli_metrics_and_trends_metric(data):
    tmp, df = data
    run = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *a, "-w", str(tmp / "ws"), "--format", "json"],  # noqa: E731
                                    capture_output=True, text=True)
    out = run("trends", "--metric", "net", "--interval", "month")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"][0]["value"] == pytest.approx(
        df.loc[df.event == "purchase", "revenue"].sum() * 0.9 - 10)
    listed = json.loads(run("metrics").stdout)["metrics"]
    assert {"gmv", "net", "revenue", "arppu"} <= {m["name"] for m in listed}
    assert next(m for m in listed if m["name"] == "gmv")["tree"] == "sum over channel"
    bad = run("trends", "--metric", "gmv", "--event", "purchase")
    assert bad.returncode == 1 and "--event" in bad.stderr and "Traceback" not in bad.stderr


def test_overview_lists_the_workspace_metrics_week_over_week(data, ws):
    from yunying.analyses.overview import overview

    df = data[1]
    d = overview(ws.engine).to_dict()
    assert d["week"] == "2024-01-22"   # the last complete ISO week of the data
    custom = {m["key"]: m for m in d["custom_metrics"]}
    assert set(custom) == {"gmv", "feed_buyers", "per_buyer", "net"}   # the built-ins are in the overview already
    p = df[df["event"] == "purchase"]
    week = p[(p["day"] >= dt.date(2024, 1, 22)) & (p["day"] <= dt.date(2024, 1, 28))]
    before = p[(p["day"] >= dt.date(2024, 1, 15)) & (p["day"] <= dt.date(2024, 1, 21))]
    assert custom["gmv"]["current"] == pytest.approx(week["revenue"].sum())
    assert custom["gmv"]["previous"] == pytest.approx(before["revenue"].sum())
    assert custom["gmv"]["current"] == next(r for r in d["metrics"] if r["key"] == "revenue")["current"]
    assert custom["feed_buyers"]["current"] == week.loc[week["channel"] == "feed", "user_id"].nunique()
