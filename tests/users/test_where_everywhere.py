"""Filters on the analyses that took none before (docs/users.md#where-each-filter-applies), each against an
independent implementation of its documented definition:

* new users / revenue (``trends --new-users / --revenue``) and their ``by``: pandas on random events with
  anonymous ids merged into users, Chinese text, numbers stored as text, missing properties, an SQL keyword and
  hostile characters as property names and values, a time zone whose local day differs from UTC;
* attribution and budget: the same analysis run without filters on a copy of the workspace holding only the
  events the filter keeps (pandas picks them), plus the same spend;
* clv: the unfiltered scores of exactly the customers pandas picks; the model is the unfiltered one.
"""
from __future__ import annotations

import datetime as dt
import json
import random

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.analyses.acquisition import attribution, budget
from yunying.analyses.customer_value import customer_value
from yunying.analyses.users import NewUsersSpec, RevenueSpec, new_users, revenue
from yunying.config import WorkspaceConfig
from yunying.errors import SpecError
from users_helpers import thirds_demo

TZ = "Asia/Shanghai"
EVIL = "'; DROP TABLE events; --"


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def random_ws(tmp_path, seed=5):
    rnd = random.Random(seed)
    users = [f"u{i}" for i in range(30)] + ["用户甲", "x'; DROP TABLE users; --"]
    anons = {f"anon{i}": rnd.choice(users) for i in range(10)}
    rows, start = [], dt.datetime(2024, 1, 1)
    for k in range(700):
        who = rnd.choice(users + list(anons))
        ev = rnd.choice(["view", "signup", "purchase", "purchase"])
        props = {}
        for key, pool in (("platform", ["ios", "android", "12", 12, "苹果"]), ("select", ["v", EVIL]),
                          ("x`y;", ["1", "上"])):
            if rnd.random() < 0.7:
                props[key] = rnd.choice(pool)
        rows.append({"user_id": None if who in anons else who, "distinct_id": who, "event": ev,
                     "ts": start + dt.timedelta(seconds=rnd.randrange(40 * 86400)), "event_uuid": f"e{k}",
                     "revenue": rnd.choice([None, 10.0, 20.5, 99.0]) if ev == "purchase" else None,
                     "properties": json.dumps(props, ensure_ascii=False)})
    ev = pd.DataFrame(rows)
    path = tmp_path / "e.parquet"
    pq.write_table(pa.Table.from_pandas(ev, preserve_index=False).cast(pa.schema([
        ("user_id", pa.string()), ("distinct_id", pa.string()), ("event", pa.string()), ("ts", pa.timestamp("us")),
        ("event_uuid", pa.string()), ("revenue", pa.float64()), ("properties", pa.string())])), path)
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="t", timezone=TZ))
    ws.import_events(str(path))
    ws.identify(list(anons.items()))
    plan = {u: rnd.choice(["pro", "free", "团队"]) for u in rnd.sample(users, 20)}
    ws.set_profiles(pa.table({"id": list(plan), "key": ["plan"] * len(plan), "value": [json.dumps(v) for v in plan.values()],
                              "set_at": pa.array([dt.datetime(2024, 1, 1)] * len(plan), pa.timestamp("us")),
                              "once": [False] * len(plan)}))
    members = set(rnd.sample(users, 12))
    ws.save_segment("老客 'vip'", kind="static", static_ids=sorted(members))
    ws.save_segment("其他", kind="static", static_ids=sorted(set(users) - members)[:8])
    ev["user"] = [anons.get(d, d) for d in ev["distinct_id"]]
    ev["day"] = ev["ts"].dt.tz_localize("UTC").dt.tz_convert(TZ).dt.date
    for key in ("platform", "select", "x`y;"):
        ev[key] = [json.loads(p).get(key) for p in ev["properties"]]
    ev["plan"] = ev["user"].map(plan)
    ev["vip"] = ev["user"].isin(members)
    return ws, ev, members, set(sorted(set(users) - members)[:8])


def text(v):  # a property as the filter language reads it: JSON numbers as their text
    return None if v is None else v if isinstance(v, str) else json.dumps(v)


# filter -> the rows it keeps, in pandas (docs/users.md#filter-language)
CASES = {
    "event.platform = 'ios'": lambda e: e["platform"] == "ios",
    "event.platform >= 12": lambda e: e["platform"].map(lambda v: num(text(v))).fillna(-1) >= 12,
    "event.platform != '苹果'": lambda e: e["platform"].map(text) != "苹果",
    "user.plan = 'pro' or user.plan = '团队'": lambda e: e["plan"].isin(["pro", "团队"]),
    "user.plan is not set": lambda e: e["plan"].isna(),
    "segment = \"老客 'vip'\"": lambda e: e["vip"],
    f"event.select = \"{EVIL}\"": lambda e: e["select"] == EVIL,
    "event.\"x`y;\" is set and not segment = \"老客 'vip'\"": lambda e: e["x`y;"].notna() & ~e["vip"],
}


@pytest.fixture(scope="module")
def rnd_ws(tmp_path_factory):
    ws, ev, vip, other = random_ws(tmp_path_factory.mktemp("where"))
    yield ws, ev, vip, other
    ws.close()


def test_new_users_filters_and_breakdowns_match_pandas(rnd_ws):
    ws, ev, vip, other = rnd_ws
    s = ev[ev["event"] == "signup"]
    first = s[s["ts"] == s.groupby("user")["ts"].transform("min")]  # each user's first signup event
    for flt, keep in CASES.items():
        spec = NewUsersSpec.parse(NewUsersSpec.build(interval="week", filters=[flt]).to_json())
        got = new_users(ws.engine, spec).frame
        k = first[keep(first)]
        week = k["day"].map(lambda d: d - dt.timedelta(days=d.weekday()))
        want = k.groupby(week)["user"].nunique()
        assert {r["date"]: r["new_users"] for _, r in got.iterrows() if r["new_users"]} == want.to_dict(), flt
    got = new_users(ws.engine, interval="day", by="user.plan", filters=["event.platform = 'ios'"]).frame
    k = first[first["platform"] == "ios"]
    want = k.groupby([k["day"], k["plan"].fillna("(none)")])["user"].nunique().to_dict()
    assert {(r["date"], r["breakdown"]): r["new_users"] for _, r in got.iterrows() if r["new_users"]} == want
    got = new_users(ws.engine, interval="month", by="segment:老客 'vip',其他").frame
    want = {"老客 'vip'": first[first["user"].isin(vip)]["user"].nunique(),
            "其他": first[first["user"].isin(other)]["user"].nunique()}
    assert got.groupby("breakdown")["new_users"].sum().to_dict() == want


def test_revenue_filters_and_breakdowns_match_pandas(rnd_ws):
    ws, ev, vip, other = rnd_ws
    p = ev[ev["event"] == "purchase"]
    for flt, keep in CASES.items():
        spec = RevenueSpec.parse(RevenueSpec.build(interval="day", filters=[flt]).to_json())
        got = revenue(ws.engine, spec).frame
        k = p[keep(p)]
        want = k.groupby("day").agg(revenue=("revenue", "sum"), purchases=("user", "size"),
                                    paying_users=("user", "nunique"))
        got = got[got["purchases"] > 0].set_index("date")
        assert list(got.index) == list(want.index), flt
        assert got["revenue"].tolist() == pytest.approx(want["revenue"].tolist())
        assert got["purchases"].tolist() == want["purchases"].tolist()
        assert got["paying_users"].tolist() == want["paying_users"].tolist()
    # by the event's property (numbers stored as text and as JSON numbers are both the text '12') and by user
    for by, col in (("platform", p["platform"].map(text)), ("user.plan", p["plan"])):
        got = revenue(ws.engine, interval="week", by=by, filters=["segment = \"老客 'vip'\""]).frame
        k = p[p["user"].isin(vip)]
        key = col[k.index].fillna("(none)")
        want = k.groupby(key)["revenue"].sum()
        assert got.groupby("breakdown")["revenue"].sum().to_dict() == pytest.approx(want.to_dict()), by


def test_a_breakdown_that_is_all_none_is_an_error_not_a_chart(rnd_ws):
    ws, ev, _, _ = rnd_ws
    with pytest.raises(SpecError, match="user.\\$first_channel"):
        revenue(ws.engine, by="channel")  # no purchase carries a channel
    with pytest.raises(SpecError, match="did you mean"):
        revenue(ws.engine, by="platfrom")
    with pytest.raises(SpecError, match="no segment named"):
        new_users(ws.engine, filters=["segment = '老客'"])
    with pytest.raises(SpecError, match="either by_channel"):
        NewUsersSpec.build(by_channel=True, by="user.plan")


# -- acquisition and customer value, on the demo ------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheredemo")
    ws, members = thirds_demo(base, TZ, spend=True)
    ev = ws.con.execute("SELECT * EXCLUDE (event_key) FROM events").df()
    ev["platform"] = [None if p is None else json.loads(p).get("platform") for p in ev["properties"]]
    yield base, ws, ev, members, base / "data" / "spend.csv"
    ws.close()


def copy_of(base, name, ev, spend) -> yunying.Workspace:
    """A workspace holding only the events ``ev`` (and the same spend): the filter applied by hand."""
    path = base / f"{name}.parquet"
    ev.drop(columns=["platform"]).to_parquet(path, index=False)
    ws = yunying.Workspace.init(base / name, WorkspaceConfig(name=name, timezone=TZ))
    ws.import_events([str(path)])
    ws.import_spend([str(spend)])
    return ws


ACQ_CASES = {"segment = '三分之一'": lambda e, m: e["user_id"].isin(m),
             "event.platform = 'ios'": lambda e, m: e["platform"] == "ios"}


@pytest.mark.parametrize("flt", list(ACQ_CASES))
def test_attribution_and_budget_filtered_equal_the_hand_filtered_copy(demo, flt):
    base, ws, ev, members, spend = demo
    copy = copy_of(base, f"copy{list(ACQ_CASES).index(flt)}", ev[ACQ_CASES[flt](ev, members)], spend)
    try:
        got = attribution(ws.engine, filters=[flt])
        want = attribution(copy.engine)
        pd.testing.assert_frame_equal(got.frame, want.frame)
        assert 0 < got.meta["registrations"] == want.meta["registrations"] < attribution(ws.engine).meta["registrations"]
        assert got.meta["filters"] == got.spec.filters and not want.meta["filters"]
        got, want = budget(ws.engine, filters=[flt]), budget(copy.engine)
        pd.testing.assert_frame_equal(got.frame, want.frame)
        assert got.meta["summary"] == want.meta["summary"]
        assert any(n.startswith("filtered:") for n in got.meta["notes"])  # says what the filter restricts
    finally:
        copy.close()


def test_budget_refuses_filters_that_would_have_to_choose_spend(demo):
    _, ws, *_ = demo
    for flt in ("event.channel = 'kol'", "not event.utm_source in ('baidu')"):
        with pytest.raises(SpecError, match="cannot choose spend"):
            budget(ws.engine, filters=[flt])


def test_clv_scores_the_customers_the_filters_pick_with_the_unfiltered_model(demo):
    _, ws, ev, members, _ = demo
    full = customer_value(ws.engine)
    for flt, keep in ACQ_CASES.items():
        res = customer_value(ws.engine, filters=[flt])
        picked = set(ev[keep(ev, members)]["user_id"].dropna())
        want = full.frame[full.frame["user_id"].isin(picked)].reset_index(drop=True)
        assert 0 < len(want) < len(full.frame)
        pd.testing.assert_frame_equal(res.frame, want)
        assert res.meta["model"] == full.meta["model"] and res.meta["customers"] == full.meta["customers"]
        assert res.meta["scored"] == len(want)


def test_acquisition_by_is_the_attribution_key_and_says_how_to_compare_users():
    from yunying.analyses.acquisition import AttributionSpec, ChannelsSpec

    for cls in (ChannelsSpec, AttributionSpec):
        for by in ("user.plan", "segment:a,b"):
            with pytest.raises(SpecError, match="--segment NAME"):
                cls.build(by=by)
        assert cls.build(by="campaign").by == "campaign"
