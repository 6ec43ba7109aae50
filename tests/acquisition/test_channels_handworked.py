"""The channel table on a hand-worked example (issue #19: verdict of a paid row with no payer,
`observed_days` and payback at an exact 20 % boundary under position-based attribution).

Data (UTC; the end of the data is 2026-03-20 12:00):

* A signs up 03-15 00:00 (observed 5 full days), touches sem, fa, fb (3, 2, 1 days before);
* B signs up 03-14 00:00 (observed 6 days), touches fa, sem, fb; buys 10.00 on day 5 after signup;
* C signs up 03-16 00:00 (observed 4 days), touches fa, fb, sem.

Position-based (40 % first, 20 % middle, 40 % last) gives campaign sem A 0.4, B 0.2, C 0.4:
1.0 registration, of which B's 0.2 (= 20 %) is observed 6 days, so `observed_days` = 6. Spend on sem
is 10 → CPR 10; ARPU(d) is 0 until day 5 and B's purchase on day 5 counts from d = 6 on:
ARPU(6) = 0.2 × 10 / 0.2 = 10 ≥ CPR → payback 6 days.

Campaign k of channel kol spent 1 and brought nobody: 0 paying users, CAC interval
[1 / 3.689, open). Benchmark = paid spend / paid payers = 11 / 0.2 = 55 > 0.271, and the
interval is open → "too early to tell" (docs/acquisition.md, "Too early to tell").
"""
from __future__ import annotations

import pandas as pd
import pytest

END = pd.Timestamp("2026-03-20 12:00", tz="UTC")
TOUCH = {"sem": ("search", "p1"), "fa": ("feed", "f1"), "fb": ("feed", "f2")}
USERS = {"A": (5.5, ["sem", "fa", "fb"]), "B": (6.5, ["fa", "sem", "fb"]), "C": (4.5, ["fa", "fb", "sem"])}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    import yunying
    from yunying.config import WorkspaceConfig

    path = tmp_path_factory.mktemp("acq_hand")
    rows = []
    for uid, (age, camps) in USERS.items():
        signup = END - pd.Timedelta(days=age)
        for back, camp in zip((3, 2, 1), camps):
            ch, pl = TOUCH[camp]
            rows.append({"user_id": uid, "event": "ad_click", "ts": signup - pd.Timedelta(days=back),
                         "channel": ch, "utm_campaign": camp, "utm_content": pl, "revenue": None})
        rows.append({"user_id": uid, "event": "signup", "ts": signup, "channel": None, "utm_campaign": None,
                     "utm_content": None, "revenue": None})
    rows.append({"user_id": "B", "event": "purchase", "ts": END - pd.Timedelta(days=6.5) + pd.Timedelta(days=5, hours=1),
                 "channel": None, "utm_campaign": None, "utm_content": None, "revenue": 10.0})
    rows.append({"user_id": "z", "event": "ping", "ts": END, "channel": None, "utm_campaign": None,
                 "utm_content": None, "revenue": None})
    pd.DataFrame(rows).to_parquet(path / "e.parquet")
    pd.DataFrame([{"date": "2026-03-10", "channel": "search", "campaign": "sem", "placement": "p1", "cost": 10.0,
                   "currency": "CNY"},
                  {"date": "2026-03-10", "channel": "kol", "campaign": "k", "placement": "k1", "cost": 1.0,
                   "currency": "CNY"}]).to_csv(path / "s.csv", index=False)
    w = yunying.Workspace.init(path / "ws", WorkspaceConfig(name="t", timezone="UTC"))
    w.import_events([str(path / "e.parquet")])
    w.import_spend([str(path / "s.csv")])
    yield w
    w.close()


def _rows(ws, **kw):
    from yunying.analyses.acquisition import channels

    res = channels(ws.engine, attribution="position", **kw).to_dict()
    return res, {tuple(r[k] for k in ("channel", "campaign") if k in r): r for r in res["rows"]}


def test_position_by_campaign_observed_days_and_payback_at_the_20_percent_boundary(ws):
    res, rows = _rows(ws, by="campaign")
    sem = rows[("search", "sem")]
    assert sem["registrations"] == pytest.approx(1.0) and sem["paying_users"] == pytest.approx(0.2)
    assert sem["cost_per_registration"] == pytest.approx(10.0)
    assert sem["observed_days"] == 6
    assert sem["payback_days"] == 6
    assert rows[("feed", "fa")]["observed_days"] == 6 and rows[("feed", "fb")]["observed_days"] == 6


def test_paid_row_without_a_payer_is_too_early_to_tell(ws):
    res, rows = _rows(ws, by="campaign")
    assert res["benchmark_cac"] == pytest.approx(55.0)
    kol = rows[("kol", "k")]
    assert kol["paying_users"] == 0 and kol["cac_high"] is None
    assert kol["cac_low"] == pytest.approx(1 / 3.6889, rel=1e-4)
    assert kol["verdict"] == "too early to tell"
    assert kol["observed_days"] is None
    # the same row by channel and in the placement funnel
    _, by_channel = _rows(ws, by="channel")
    assert by_channel[("kol",)]["verdict"] == "too early to tell"
    assert by_channel[("search",)]["observed_days"] == 6 and by_channel[("search",)]["payback_days"] == 6
    from yunying.analyses.acquisition import placements

    pl = {r["placement"]: r for r in placements(ws.engine, attribution="position").to_dict()["rows"]}
    assert pl["k1"]["verdict"] == "too early to tell"


def test_verdict_treats_a_missing_bound_as_open():
    import math

    from yunying.analyses.acquisition import verdict

    # a table cell without an upper limit may arrive as NaN: still an open interval
    assert verdict(0.271, math.nan, 55.0, 1.0) == "too early to tell"
    assert verdict(math.nan, math.nan, 55.0, 1.0) == "too early to tell"
    assert verdict(60.0, math.nan, 55.0, 1.0) == "worse"
