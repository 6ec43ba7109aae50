"""Filters on the sequence analyses (funnel, retention, lifecycle, stickiness, paths, intervals):

* funnel and retention filtered by ``event.PROP``, ``user.PROP`` and ``segment`` against independent pandas
  implementations of the documented definitions, on random data with merged anonymous ids, Chinese strings,
  numbers stored as text and missing properties (Asia/Shanghai days);
* every read path gives the same result: the sequence store with a user mask, DuckDB's stream with the users
  picked out, DuckDB evaluating the filter on every row (docs/users.md#filters-on-analyses);
* names and values with quotes, ``;`` and SQL keywords are data.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest
from test_segments_oracle import build

from yunying.analyses import filtering, registry
from yunying.analyses.funnel import FunnelSpec, funnel
from yunying.analyses.retention import RetentionSpec, retention
from yunying.analyses.segments import evaluate
from yunying.engines.duckdb import DuckDBEngine
from yunying.errors import SpecError
from yunying.storage import sequence_store as store

DAY = pd.Timedelta(days=1)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seqf")
    ws, events, profiles = build(tmp, 23)
    ws.save_segment("recent", kind="dynamic", rule="did view in the last 30 days",
                    members=evaluate(ws.engine, "did view in the last 30 days", ws.segment, dt.date(2024, 3, 1)))
    ws.save_segment("x'; DROP TABLE events; --", kind="static", static_ids=["u1", "u2", "u3", "用户甲", "u7", "u9"])
    assert ws.refresh_sequence_store(force=True) and store.status(ws) == "fresh"
    recent = {r[0] for r in ws.con.execute("SELECT user_id FROM segment_members WHERE segment = 'recent'").fetchall()}
    plan = {u: p.get("plan") for u, p in profiles.items()}
    age = {u: num(p.get("age")) for u, p in profiles.items()}
    events = events.assign(plan=events.user.map(plan), age=events.user.map(age)).sort_values("ts", kind="stable")
    members = {"recent": recent, "evil": {"u1", "u2", "u3", "用户甲", "u7", "u9"}}
    yield ws, events, members
    ws.close()


def cases(e, members):
    """filter text -> the events it keeps (pandas, straight from docs/users.md#filter-language)."""
    return {
        "event.city = '上海'": e[e.city == "上海"],
        "event.city != '上海'": e[e.city != "上海"],
        "event.city >= 10": e[e.city.map(num).fillna(-1) >= 10],
        "user.plan = 'pro'": e[e.plan == "pro"],
        "user.age >= 30": e[e.age.fillna(-1) >= 30],
        "user.plan is not set or event.revenue > 50": e[e.plan.isna() | (e.revenue.fillna(-1) > 50)],
        "segment = 'recent'": e[e.user.isin(members["recent"])],
        "segment = 'x\\'; DROP TABLE events; --' and event.city in ('上海', '12')":
            e[e.user.isin(members["evil"]) & e.city.isin(["上海", "12"])],
        "not segment = 'recent' or user.plan = 'free'": e[~e.user.isin(members["recent"]) | (e.plan == "free")],
    }


# -- the references -------------------------------------------------------------------------------------------
def ref_funnel(e, steps, window, masks=None):
    """Ordered funnel, users: from each step-1 event, each later step is the earliest event of that step at or
    after the previous step (another event than the previous step's), within the window of step 1; a user counts
    at the furthest step. ``masks``: per step, the events its filter keeps (None: all)."""
    masks = masks or [None] * len(steps)
    ok = [(e.event == s) & (True if m is None else m) for s, m in zip(steps, masks)]
    best = {}
    for user, g in e.groupby("user"):
        g = g.sort_values("ts", kind="stable")
        level = 0
        for i0 in g.index[ok[0][g.index]]:
            t0 = g.ts[i0]
            reached, prev, prev_i = 1, t0, i0
            for k in range(1, len(steps)):
                nxt = g[ok[k][g.index] & (g.ts >= prev) & (g.ts <= t0 + window) & (g.index != prev_i)]
                if nxt.empty:
                    break
                prev, prev_i, reached = nxt.ts.iloc[0], nxt.index[0], reached + 1
            level = max(level, reached)
        if level:
            best[user] = level
    return [sum(1 for v in best.values() if v >= k + 1) for k in range(len(steps))]


def ref_retention(e, start, ret, periods):
    """First-time cohorts by local day: size, and members with a return event on day cohort + i."""
    first = e[e.event == start].groupby("user")["day"].min()
    back = e[e.event == ret].groupby("user")["day"].apply(set)
    out = {}
    for user, d in first.items():
        row = out.setdefault(d, [0] * (periods + 1))
        row[0] += 1
        for i in range(1, periods + 1):
            if d + dt.timedelta(days=i) in back.get(user, set()):
                row[i] += 1
    return out


def test_funnel_and_retention_filters_match_pandas(data):
    ws, events, members = data
    assert len(cases(events, members)) == 9
    for text, kept in cases(events, members).items():
        for steps, window in ((["view", "buy"], "7d"), (["signup", "view", "buy"], "30d")):
            spec = FunnelSpec.parse(FunnelSpec.build(steps=steps, window=window, filters=[text]).to_json())
            got = funnel(ws.engine, spec).frame["count"].tolist()
            assert got == ref_funnel(kept, steps, pd.Timedelta(window)), (text, steps)
        spec = RetentionSpec.build(start_event="view", return_event="buy", period="day", periods=5, filters=[text])
        res = retention(ws.engine, RetentionSpec.parse(spec.to_json()))
        got = {r["cohort"]: [r["size"]] + r["retained"][1:] for r in res.records()}
        want = {d.isoformat(): v for d, v in ref_retention(kept, "view", "buy", 5).items()}
        assert got == want, text
    # and the filters did filter something
    assert funnel(ws.engine, steps=["view", "buy"], window="7d").frame["count"].tolist() != \
        funnel(ws.engine, steps=["view", "buy"], window="7d", filters=["user.plan = 'pro'"]).frame["count"].tolist()


KINDS = [
    ("funnel", dict(steps=["signup", "view", "buy"], window="14d")),
    ("funnel", dict(steps=["view", "buy"], window="1d", order="strict")),
    ("retention", dict(start_event="view", return_event="buy", period="week", periods=3)),
    ("lifecycle", dict(period="week")),
    ("stickiness", dict(period="week")),
    ("paths", dict(event="view", depth=2)),
    ("intervals", dict(first_event="view", then_event="buy")),
]
FILTERS = ["user.plan = 'pro'", "segment = 'recent'", "event.city = '上海' or event.revenue > 50",
           "segment = 'recent' and event.city != '北京'"]


def _dump(res):
    return json.dumps(res.to_dict(), sort_keys=True, default=str)


@pytest.mark.parametrize("kind,spec", KINDS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(KINDS)])
def test_every_read_path_gives_the_same_filtered_result(data, monkeypatch, kind, spec):
    """Store + user mask == DuckDB stream with the users picked out == DuckDB testing every row; and a filtered
    run differs from the unfiltered one (the filter is applied, never ignored)."""
    ws, _, _ = data
    analysis = registry.get(kind)
    unfiltered = _dump(analysis.run(ws.engine, spec))
    real = filtering.event_filter
    for text in FILTERS:
        runs = []
        for use_store, per_row in ((True, False), (False, False), (True, True)):
            monkeypatch.setattr(DuckDBEngine, "use_store", use_store)
            if per_row:  # evaluate even a per-user filter on every event
                monkeypatch.setattr(filtering, "event_filter", lambda *a, **k: dataclasses.replace(
                    real(*a, **k), per_user=False))
            runs.append(_dump(analysis.run(ws.engine, dict(spec, filters=[text]))))
            monkeypatch.setattr(filtering, "event_filter", real)
        monkeypatch.setattr(DuckDBEngine, "use_store", True)
        assert runs[0] == runs[1] == runs[2], (kind, text)
        assert runs[0] != unfiltered, (kind, text)


def test_the_store_reads_only_the_kept_users(data, monkeypatch):
    ws, events, members = data
    seen = []
    real = store.StoreScan.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        seen.append(int(self.keep.sum()))

    monkeypatch.setattr(store.StoreScan, "__init__", spy)
    funnel(ws.engine, steps=["view", "buy"], window="7d", filters=["segment = 'recent'"])
    assert seen == [len(members["recent"] & set(events.user))]


def test_filters_are_data_and_errors_are_clear(data):
    ws, _, _ = data
    evil = "x'); DROP TABLE events; --"
    for text in (f"event.\"{evil}\" = 'a'", f"event.city = \"{evil}\"", f"user.plan in ('`', ';', \"{evil}\")",
                 "event.city matches 'select|union'"):
        try:
            res = funnel(ws.engine, steps=["view", "buy"], window="7d", filters=[text])
            assert res.frame["count"].tolist() == [0, 0] or "matches" in text
        except SpecError as exc:  # an unknown property, said so
            assert "is not a column" in str(exc)
    assert ws.con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 600
    with pytest.raises(SpecError, match="did you mean event.city"):
        funnel(ws.engine, steps=["view", "buy"], filters=["event.ctiy = 'a'"])
    with pytest.raises(SpecError, match="column"):
        FunnelSpec.build(steps=["view", "buy"], filters=["event.city = "])


def test_per_step_filters_match_pandas(data):
    """``purchase[event.revenue > 50]``: the step matches only the events of its name the filter keeps; a step
    name may repeat with and without a filter; the spec carries the filters as JSON, the CLI text splits right."""
    ws, e, members = data
    shanghai, big = e.city == "上海", e.revenue.fillna(-1) > 50
    cases = [
        (["view", "buy[event.revenue > 50]"], [None, big]),
        (["signup[user.plan = 'pro']", "view[event.city = '上海']", "buy"], [e.plan == "pro", shanghai, None]),
        (["view", "view[event.city = '上海']", "buy[event.revenue > 50]"], [None, shanghai, big]),
    ]
    for steps, masks in cases:
        spec = FunnelSpec.parse(FunnelSpec.build(steps=steps, window="10d").to_json())
        assert spec.steps == [s.split("[")[0] for s in steps] and spec.step_labels == steps
        got = funnel(ws.engine, spec)
        assert got.frame["count"].tolist() == ref_funnel(e, spec.steps, pd.Timedelta("10d"), masks), steps
        assert got.frame["name"].tolist() == steps
    # with a global filter too, on the store-less and the store paths alike
    both = funnel(ws.engine, steps=["view", "buy[event.revenue > 50]"], window="10d", filters=["segment = 'recent'"])
    keep = e.user.isin(members["recent"])
    assert both.frame["count"].tolist() == ref_funnel(e[keep], ["view", "buy"], pd.Timedelta("10d"), [None, big[keep]])
    from yunying.analyses.funnel_steps import split_steps
    assert split_steps("a, b[event.x in ('1,2', \"]\")],c[user.y = 1]") == ["a", "b[event.x in ('1,2', \"]\")]",
                                                                         "c[user.y = 1]"]
    with pytest.raises(SpecError, match="ordered or strict"):
        FunnelSpec.build(steps=["view", "buy[event.revenue > 1]"], order="unordered")
    with pytest.raises(SpecError, match="step 'buy'"):
        FunnelSpec.build(steps=["view", "buy[event.revenue >]"])


def test_breakdowns_by_user_property_and_segment_match_pandas(data):
    """``by user.plan``: each value's users (top by users, then (none)); ``by segment:A,B``: each listed segment's
    members, side by side (a user in both counts in both)."""
    ws, e, members = data
    evil = "x'; DROP TABLE events; --"
    groups = {
        "user.plan": {"pro": set(e.user[e.plan == "pro"]), "free": set(e.user[e.plan == "free"]),
                      "(none)": set(e.user[e.plan.isna()])},
        f"segment:recent,{evil}": {"recent": members["recent"], evil: members["evil"]},
    }
    for by, want in groups.items():
        spec = FunnelSpec.parse(FunnelSpec.build(steps=["view", "buy"], window="7d", by=by).to_json())
        res = funnel(ws.engine, spec)
        assert res.frame["count"].tolist() == ref_funnel(e, ["view", "buy"], pd.Timedelta("7d"))
        got = {b["value"]: [s["count"] for s in b["steps"]] for b in res.to_dict()["breakdown"]}
        assert got == {g: ref_funnel(e[e.user.isin(u)], ["view", "buy"], pd.Timedelta("7d")) for g, u in want.items()}

        spec = RetentionSpec.build(start_event="view", return_event="buy", period="day", periods=4, by=by)
        res = retention(ws.engine, spec)
        got = {(r["breakdown"], r["cohort"]): [r["size"]] + r["retained"][1:] for r in res.records()}
        ref = {(g, d.isoformat()): v for g, u in want.items()
               for d, v in ref_retention(e[e.user.isin(u)], "view", "buy", 4).items()}
        assert got == ref, by
    with pytest.raises(SpecError, match="no members stored for 'nope'"):
        funnel(ws.engine, steps=["view", "buy"], by="segment:recent,nope")
