"""Users merged from anonymous ids: their anonymous events count for the user in derived properties,
filters and RFM; relative dates in an RFM filter count back from the as-of day."""
from __future__ import annotations

import datetime as dt

from users_helpers import make_ws

from yunying.analyses import filtering
from yunying.analyses.profiles import derived_users
from yunying.analyses.rfm import rfm
from yunying.engines.duckdb import DuckDBEngine

ROWS = [
    {"user_id": "anon1", "distinct_id": "anon1", "event": "view", "ts": "2024-01-01 10:00", "channel": "kol",
     "event_uuid": "a1"},
    {"user_id": "anon1", "distinct_id": "anon1", "event": "purchase", "ts": "2024-01-01 11:00", "revenue": 30,
     "event_uuid": "a2"},
    {"user_id": "u1", "distinct_id": "u1", "event": "signup", "ts": "2024-01-02 10:00", "channel": "search",
     "event_uuid": "u1"},
    {"user_id": "u1", "distinct_id": "u1", "event": "purchase", "ts": "2024-01-20 10:00", "revenue": 70,
     "event_uuid": "u2"},
    {"user_id": "u2", "distinct_id": "u2", "event": "purchase", "ts": "2024-01-05 10:00", "revenue": 5,
     "event_uuid": "v1"},
]


def test_anonymous_events_belong_to_the_merged_user(tmp_path):
    ws = make_ws(ROWS, directory=tmp_path)
    ws.identify([("anon1", "u1")])
    eng = DuckDBEngine(ws)
    d = eng.execute(derived_users(eng)).to_pandas().set_index("user_id")
    assert sorted(d.index) == ["u1", "u2"]
    assert d.loc["u1", "first_channel"] == "kol"                    # the anonymous touch came first
    assert str(d.loc["u1", "first_seen"]) == "2024-01-01 10:00:00"
    assert (d.loc["u1", "purchase_count"], d.loc["u1", "lifetime_revenue"]) == (2, 100.0)
    t = filtering.apply(eng, eng.events(), "user.$first_channel = 'kol'")
    assert sorted(eng.execute(t.select("event_uuid"))["event_uuid"].to_pylist()) == ["a1", "a2", "u1", "u2"]
    u = {r["user_id"]: r for r in rfm(eng, as_of=dt.date(2024, 1, 31)).records()}
    assert (u["u1"]["frequency"], u["u1"]["monetary"]) == (2, 100.0)
    # -11d counts back from the as-of day (Jan 20), not from today: only u1's purchase of Jan 20 is inside
    recent = rfm(eng, as_of=dt.date(2024, 1, 31), filters="event.ts >= -11d").records()
    assert [(r["user_id"], r["monetary"]) for r in recent] == [("u1", 70.0)]
    ws.close()
