"""The campaign data without Ibis (issue 13, start-up): on random workspaces in three time zones, the plain SQL the
DuckDB engine runs (campaigns/data_sql.py) gives what the Ibis expressions give (the path of filtered engines and
Spark) — audiences of every kind, the holdout assignment, per-user sums, coupons and media totals, the daily
metrics, the acquired / reactivated cohorts and their activity, the difference-in-differences panel and the donor
groups — and the plan, pacing, review (holdout, DiD, synthetic control) and portfolio built on them are equal.
The holdout lift, computed without a DataFrame, equals ``analyze_table`` on the same rows."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from util import assert_same_rows
from yunying.analyses.campaigns import assign_holdout, data
from yunying.analyses.campaigns.lift import _experiment, holdout_rows, holdout_spec
from yunying.analyses.campaigns.pacing import pacing
from yunying.analyses.campaigns.plan import plan
from yunying.analyses.campaigns.portfolio import portfolio
from yunying.analyses.campaigns.review import review
from yunying.analyses.sql import plain_duckdb
from yunying.config import WorkspaceConfig
from yunying.storage import campaigns as store
from yunying.storage.workspace import Workspace

START = dt.datetime(2026, 4, 1)
D = dt.date


def _write(root, rng):
    lines = ["user_id,event,timestamp,revenue,coupon,platform,channel"]
    for u in range(160):
        first = START + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 70))
        plat, ch = rng.choice(["ios", "android", "web"]), rng.choice(["push", "seo", "kol", ""])
        lines.append(f"u{u},signup,{first.isoformat()}Z,,,{plat},{ch}")
        for _ in range(rng.randint(0, 14)):
            when = first + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 50))
            if rng.random() < 0.4:
                coupon = rng.choice(["", "5", "10"])
                lines.append(f"u{u},purchase,{when.isoformat()}Z,{rng.randint(1, 400) / 4},{coupon},{plat},")
            else:
                lines.append(f"u{u},app_open,{when.isoformat()}Z,,,{plat},{rng.choice(['', ch])}")
    lines.append("x0,app_open,2026-04-02T00:00:00Z,,,ios,push")
    (root / "e.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spend = ["date,channel,campaign,cost"] + [f"2026-05-{d:02d},push,{c},{rng.randint(10, 90)}"
                                              for d in range(1, 29) for c in ("may_sale", "other")]
    (root / "s.csv").write_text("\n".join(spend) + "\n", encoding="utf-8")


@pytest.fixture(scope="module", params=[("UTC", 11), ("Asia/Shanghai", 12), ("America/Los_Angeles", 13)])
def ws(request, tmp_path_factory):
    tz, seed = request.param
    root = tmp_path_factory.mktemp("campsql")
    _write(root, random.Random(seed))
    w = Workspace.init(root / "ws", WorkspaceConfig(name="c", timezone=tz))
    w.import_events([str(root / "e.csv")])
    w.import_spend([str(root / "s.csv")])
    w.save_segment("some", kind="static", static_ids=[f"u{i}" for i in range(0, 160, 3)])
    for c in CAMPAIGNS.values():
        store.save(w.path, c)
        if c.holdout is not None:
            assign_holdout(w, c)
    yield w
    w.close()


def _camp(name, start, end, audience, holdout=None, budget=None):
    return store.parse({"name": name, "start": start, "end": end, "audience": audience, "margin": 0.5,
                        "goals": [{"metric": m, "target": 50} for m in store.METRICS],
                        "budget": budget or [{"kind": "fees", "amount": 100}],
                        **({"holdout": holdout} if holdout else {})}, "test")


CAMPAIGNS = {
    "may_sale": _camp("may_sale", "2026-05-10", "2026-05-20", {"all_users": True}, {"share": 0.3, "seed": 4},
                      [{"kind": "coupons", "amount": 500, "property": "coupon"}, {"kind": "media", "amount": 900}]),
    "ios_push": _camp("ios_push", "2026-05-24", "2026-06-02", {"event": "signup", "property": "platform",
                                                               "value": "ios"}),
    "seg": _camp("seg", "2026-05-05", "2026-05-12", {"segment": "some"}, {"share": 0.5, "seed": 1}),
    "opened": _camp("opened", "2026-05-15", "2026-05-25", {"event": "app_open"}),
}


def both(fn):
    """(plain SQL, Ibis) results of ``fn()``."""
    got = fn()
    mp = pytest.MonkeyPatch()
    mp.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    try:
        return got, fn()
    finally:
        mp.undo()


def _panel(p: dict) -> dict:
    """The panel by user id (row order is free): each user's treatment, each cell's (user, day, values)."""
    users = list(p["user_id"])
    return {"treated": sorted(zip(users, p["treated"].tolist())),
            "cells": sorted((users[i], int(j), float(n), float(r)) for i, j, n, r in
                            zip(p["i"], p["j"], p["purchases"], p["revenue"]))}


def _ids(engine, users):
    return sorted(data.user_ids(engine, users))


@pytest.mark.parametrize("name", list(CAMPAIGNS))
def test_user_sets_equal(ws, name):
    e, c = ws.engine, CAMPAIGNS[name]
    assert plain_duckdb(e)
    a, b = both(lambda: _ids(e, data.audience(e, c)))
    assert a == b and len(a) > 10
    for fn, d0, d1 in ((data.new_in, D(2026, 4, 20), D(2026, 5, 20)), (data.reactivated_in, D(2026, 5, 10),
                                                                          D(2026, 6, 10))):
        a, b = both(lambda: (_ids(e, fn(e, d0, d1, data.audience(e, c))), _ids(e, fn(e, d0, d1))))
        assert a == b and len(a[1]) > 0
    if c.holdout is not None:
        a, b = both(lambda: sorted(zip(*holdout_rows(e, c, data.assignment(e, c), c.end).values())))
        assert_same_rows(a, b)
        assert len(a) > 10 and {r[1] for r in a} == {"target", "holdout"}


@pytest.mark.parametrize("name", list(CAMPAIGNS))
def test_sums_equal(ws, name):
    e, c = ws.engine, CAMPAIGNS[name]

    def sums():
        aud = data.audience(e, c)
        pu = data.per_user(e, c, D(2026, 5, 1), D(2026, 5, 31))
        return {"daily": {k: list(v) for k, v in data.daily(e, c, D(2026, 4, 25), D(2026, 6, 5), aud).items()},
                "everyone": {k: list(v) for k, v in data.daily(e, c, D(2026, 5, 3), D(2026, 5, 9)).items()},
                "per_user": sorted(zip(*pu.values())), "coupons": data.coupons_total(e, c, c.start, c.end),
                "media": data.media_total(e, c, c.start, c.end), "last": data.last_day(e),
                "panel": _panel(data.panel(e, c, c.end, D(2026, 5, 1))),
                "donors": data.first_values(e, "channel"), "platform": data.first_values(e, "platform")}

    a, b = both(sums)
    assert_same_rows(a, b)
    assert sum(a["daily"]["purchases"]) > 0 and sum(a["daily"]["new_users"]) > 0 and a["per_user"] and a["panel"]["cells"]
    assert sum(a["daily"]["reactivated_users"]) + sum(a["everyone"]["reactivated_users"]) >= 0


def test_cohort_activity_equal(ws):
    e, c = ws.engine, CAMPAIGNS["opened"]

    def act():
        out = []
        for fn in (data.new_in, data.reactivated_in):
            got = data.cohort_activity(e, fn(e, D(2026, 4, 15), D(2026, 5, 15), data.audience(e, c)), D(2026, 5, 15), 3)
            order = np.argsort(got["user_id"])
            out.append({k: [v[i] for i in order] for k, v in got.items()})
        return out

    a, b = both(act)
    assert_same_rows(a, b)
    assert len(a[0]["user_id"]) > 5 and sum(a[0]["active_w1"]) > 0 and sum(a[0]["repeat"]) > 0


@pytest.mark.parametrize("name,method", [("may_sale", "auto"), ("seg", "holdout"), ("ios_push", "did"),
                                         ("ios_push", "sc"), ("opened", "did")])
def test_results_equal(ws, name, method):
    c = CAMPAIGNS[name]
    a, b = both(lambda: review(ws, c, method=method, as_of=D(2026, 6, 30), donors_by="channel").to_dict())
    assert_same_rows(a, b)
    assert a["lift"]["method"] == (method if method != "auto" else "holdout")
    c = c.model_copy(update={"goals": c.goals[:4]})  # reactivated users are too rare for a shape
    a, b = both(lambda: pacing(ws, c, as_of=c.start + dt.timedelta(days=3), like=(D(2026, 5, 1), D(2026, 5, 25))))
    assert_same_rows(a, b)
    a, b = both(lambda: plan(ws, c, like=(D(2026, 5, 1), D(2026, 5, 25))))
    assert_same_rows(a, b)


def test_portfolio_equal(ws):
    a, b = both(lambda: portfolio(ws))
    assert_same_rows(a, b)
    assert {r["campaign"] for r in a} == set(CAMPAIGNS)
    # the rows without the goals (the list) = the rows of the reviews with them (the reports), and those reviews
    # are the campaigns' own reviews
    reviews: dict = {}
    assert_same_rows(portfolio(ws, reviews), a)
    assert set(reviews) == set(CAMPAIGNS)
    for name, r in reviews.items():
        assert_same_rows(r, review(ws, CAMPAIGNS[name], after=False).data)
        assert len(r["goals"]) == len(CAMPAIGNS[name].goals)


@pytest.mark.parametrize("name", ["may_sale", "seg"])
def test_holdout_lift_is_analyze_table(ws, name):
    """The lift's statistics without a DataFrame are ``analyze_table``'s on the same rows (the old path)."""
    from yunying.analyses.experiment import analyze_table

    e, c = ws.engine, CAMPAIGNS[name]
    rows = holdout_rows(e, c, data.assignment(e, c), c.end)
    got = _experiment(rows, holdout_spec(c))
    exp = analyze_table(pd.DataFrame(rows), holdout_spec(c))
    assert got.counts == exp.counts and sum(got.counts.values()) > 10
    assert_same_rows(got.srm.to_dict(), exp.srm.to_dict())
    assert_same_rows([m.to_dict(got.method) for m in got.metrics], [m.to_dict(exp.method) for m in exp.metrics])


def test_cohorts_in_one_query_equal(ws):
    """The afterwards cohorts read in one query (SQL) = each cohort on its own (Ibis)."""
    e, c = ws.engine, CAMPAIGNS["may_sale"]
    spec = [(k, d0, d1, d1) for k in ("acquired", "reactivated")
            for d0, d1 in ((D(2026, 5, 10), D(2026, 5, 20)), (D(2026, 4, 29), D(2026, 5, 9)))]

    def act():
        out = []
        for got in data.cohorts_activity(e, data.audience(e, c), spec, 2):
            order = np.argsort(np.asarray(got["user_id"], dtype=object))
            out.append({k: [v[i] for i in order] for k, v in got.items()})
        return out

    a, b = both(act)
    assert_same_rows(a, b)
    assert len(a[0]["user_id"]) > 5 and len(a[2]["user_id"]) > 0 and sum(a[0]["active_w1"]) > 0


@pytest.mark.parametrize("name", list(CAMPAIGNS))
def test_panel_in_one_pass_equal(ws, name):
    """The DiD panel's users, treatment and cells read in one pass (SQL) = the audience, the users seen and the
    comparison group each on its own (Ibis), also while the campaign runs (data up to a day before its end, the
    audience still up to its end) and with the first day after the end of the data read."""
    e, c = ws.engine, CAMPAIGNS[name]
    for end, first in ((c.end - dt.timedelta(days=1), c.start - dt.timedelta(days=9)),
                       (c.start + dt.timedelta(days=2), c.start - dt.timedelta(days=20)),
                       (c.start - dt.timedelta(days=3), c.start - dt.timedelta(days=30))):
        a, b = both(lambda: _panel(data.panel(e, c, end, first)))
        assert_same_rows(a, b)
        assert a["treated"] and a["cells"]
        if c.audience.segment is not None or c.audience.event is not None:
            assert {t for _, t in a["treated"]} == {True, False}


def test_all_users_audience_needs_no_filter(ws):
    """An audience of every user seen up to the end filters nothing in days up to the end: the daily metrics and
    the coupons read without it (``audience_filter`` is None) = those of the audience's users, on both paths."""
    e, c = ws.engine, CAMPAIGNS["may_sale"]
    assert data.audience_filter(e, c, c.end) is None and data.audience_filter(e, c, c.end + dt.timedelta(days=1))
    for d0, d1 in ((c.start, c.end), (D(2026, 4, 1), c.start + dt.timedelta(days=2))):
        def got():
            aud = data.audience(e, c)
            with_aud = {k: list(v) for k, v in data.daily(e, c, d0, d1, aud).items()}
            without = {k: list(v) for k, v in data.daily(e, c, d0, d1, None).items()}
            by_user = float(data.per_user(e, c, d0, d1, aud)["coupons"].sum())
            return with_aud, without, by_user, data.coupons_total(e, c, d0, d1)

        for with_aud, without, by_user, coupons in both(got):
            assert with_aud == without and sum(without["purchases"]) > 0 and sum(without["new_users"]) > 0
            assert coupons == pytest.approx(by_user, rel=1e-12) and coupons > 0


def _cells_by_id(p: dict) -> dict:
    """The sparse panel by user id: the listed users' treatment, their cells, the group sizes."""
    users = list(p["user_id"])
    return {"treated": sorted(zip(users, p["treated"].tolist())), "n": (p["n_treated"], p["n_control"]),
            "cells": sorted((users[i], int(j), float(n), float(r)) for i, j, n, r in
                            zip(p["i"], p["j"], p["purchases"], p["revenue"]))}


@pytest.mark.parametrize("name", list(CAMPAIGNS))
def test_panel_cells_are_the_panel_without_its_rows_of_zeros(ws, name):
    """The sparse DiD panel (users with a purchase in its days, the group sizes) read in one query (SQL) = the one
    derived from the whole panel (Ibis), and = the whole panel's users with a cell, its cells and group sizes."""
    e, c = ws.engine, CAMPAIGNS[name]
    for end, first in ((c.end, c.start - dt.timedelta(days=28)), (c.start + dt.timedelta(days=2),
                                                                  c.start - dt.timedelta(days=9))):
        a, b = both(lambda: _cells_by_id(data.panel_cells(e, c, end, first)))
        assert_same_rows(a, b)
        whole = _panel(data.panel(e, c, end, first))
        with_cell = {u for u, *_ in whole["cells"]}
        assert a["cells"] == whole["cells"] and a["cells"]
        assert a["treated"] == [(u, t) for u, t in whole["treated"] if u in with_cell]
        assert a["n"] == (sum(t for _, t in whole["treated"]), sum(not t for _, t in whole["treated"]))
        assert len(with_cell) < sum(a["n"])            # some users have no purchase: left out, counted


def _did_dense(e, c, end, pre_days):
    """The former route of ``did_lift``: ``did_panel`` on the whole users × days panel, rows of zeros included."""
    from yunying.stats.causal import did_panel

    first = c.start - dt.timedelta(days=pre_days)
    p = data.panel(e, c, end, first)
    days = (end - first).days + 1
    post = np.array([first + dt.timedelta(days=k) >= c.start for k in range(days)])
    out = {}
    for m in ("purchases", "revenue"):
        y = np.zeros((len(p["user_id"]), days))
        y[p["i"], p["j"]] = p[m]
        out[m] = did_panel(y, p["treated"], post).to_dict()
    return out


@pytest.mark.parametrize("name", ["ios_push", "opened", "seg"])
def test_did_lift_on_the_sparse_panel_equals_the_whole_panel(ws, name):
    """``did_lift`` (the users without a purchase counted, not written out) = ``did_panel`` on the whole panel, on
    both paths, for a finished campaign and one still running, with 28 and 9 days before the start."""
    from yunying.analyses.campaigns.lift import did_lift

    e, c = ws.engine, CAMPAIGNS[name]
    for end, pre in ((c.end, 28), (c.start + dt.timedelta(days=2), 9)):
        got, ibis_got = both(lambda: did_lift(e, c, end, pre))
        exp = _did_dense(e, c, end, pre)
        assert_same_rows(got["did"], exp)
        assert_same_rows(ibis_got["did"], exp)
        assert got["groups"] == {"audience": exp["purchases"]["n_treated"], "comparison": exp["purchases"]["n_control"]}
        assert_same_rows(got["metrics"]["revenue"]["per_unit"], exp["revenue"]["estimate"])


@pytest.mark.parametrize("name", ["ios_push", "may_sale", "seg"])
def test_purchase_metrics_alone_equal(ws, name):
    """The daily purchase metrics asked for alone (the SQL reads only the window's purchases then) = the same
    metrics read with the others (every event read) = the Ibis path, for the audience and for everyone."""
    e, c = ws.engine, CAMPAIGNS[name]
    d0, d1 = c.start - dt.timedelta(days=6), c.end

    def days(metrics, users):
        got = data.daily(e, c, d0, d1, users, metrics)
        return {k: list(v) for k, v in got.items()}

    for metrics in (["purchases"], ["revenue", "purchasers"], ["purchases", "revenue", "purchasers"]):
        for users in (None, "audience"):
            get = lambda: days(metrics, None if users is None else data.audience(e, c))  # noqa: E731
            alone, ibis_alone = both(get)
            full = days(None, None if users is None else data.audience(e, c))
            assert_same_rows(alone, ibis_alone)
            assert_same_rows(alone, {k: full[k] for k in alone})
            assert set(alone) == {"date", *metrics} and sum(alone[metrics[0]]) > 0
