"""复购率 / 回购率 against the hand-worked example of docs/users.md#repurchase and a brute-force reference."""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from users_helpers import make_ws, purchases

from yunying.analyses import registry
from yunying.analyses.repurchase import RepurchaseSpec, repurchase
from yunying.engines.duckdb import DuckDBEngine
from yunying.errors import SpecError

# docs/users.md#repurchase, the worked example
EXAMPLE = [
    ("A", "2024-01-05 09:00", 10, "a1"), ("A", "2024-01-05 18:00", 10, "a2"), ("A", "2024-02-02 10:00", 10, "a3"),
    ("B", "2024-01-03 10:00", 10, "b1"), ("B", "2024-01-20 10:00", 10, "b2"),
    ("C", "2024-01-10 10:00", 10, "c1"), ("C", "2024-02-14 10:00", 10, "c2"), ("C", "2024-02-15 10:00", 10, "c2"),
    ("D", "2024-02-28 10:00", 10, "d1"), ("D", "2024-03-01 10:00", 10, "d2"), ("D", "2024-03-02 10:00", 10, "d3"),
]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    ws = make_ws(purchases(EXAMPLE), directory=tmp_path_factory.mktemp("rep"))
    yield DuckDBEngine(ws)
    ws.close()


def table(res):
    return [(r["period"], r["buyers"], r["repeat_buyers"], r["repeat_rate"], r["returning_buyers"], r["return_rate"])
            for r in res.records()]


def test_hand_worked_month_by_days(example):
    assert table(repurchase(example, period="month")) == [
        ("2024-01-01", 3, 1, 1 / 3, 2, 2 / 3),   # Jan: B bought on 2 days; A and C come back in Feb
        ("2024-02-01", 3, 1, 1 / 3, 1, 1 / 3),   # Feb: C bought on 2 days; D comes back in March
        ("2024-03-01", 1, 1, 1.0, None, None),   # March: D twice; no next month in the data
    ]


def test_hand_worked_month_by_orders(example):
    assert [r[2] for r in table(repurchase(example, period="month", basis="orders"))] == [2, 1, 1]
    # with order ids, C's two February purchases are one order (c2)
    assert [r[2] for r in table(repurchase(example, period="month", basis="orders",
                                           order_property="order_id"))] == [2, 0, 1]


def test_weeks_and_range(example):
    rows = table(repurchase(example, period="week", date_from=dt.date(2024, 2, 1), date_to=dt.date(2024, 3, 3)))
    assert [r[0] for r in rows] == ["2024-01-29", "2024-02-05", "2024-02-12", "2024-02-19", "2024-02-26"]
    assert rows[0] == ("2024-01-29", 1, 0, 0.0, 0, 0.0)          # A on Feb 2 (Jan purchases are outside the range)
    assert rows[1] == ("2024-02-05", 0, 0, None, 0, None)        # nobody bought: rates n/a
    assert rows[2] == ("2024-02-12", 1, 1, 1.0, 0, 0.0)
    assert rows[4] == ("2024-02-26", 1, 1, 1.0, None, None)      # D: Feb 28 and Mar 1 in one ISO week


def test_periods_are_local(tmp_path):
    # 2024-01-31 20:00 UTC is February 1st in Shanghai
    rows = purchases([("A", "2024-01-31 20:00", 1), ("A", "2024-02-01 10:00", 1)])
    eng = DuckDBEngine(make_ws(rows, tz="Asia/Shanghai", directory=tmp_path))
    assert table(repurchase(eng)) == [("2024-02-01", 1, 0, 0.0, None, None)]


def brute(rows, tz, period):
    """(period start, buyers, repeat buyers by days, returning buyers) straight from the purchase list."""
    zone = ZoneInfo(tz)
    days = {}
    for user, when, _ in rows:
        local = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
        start = local.replace(day=1) if period == "month" else local - dt.timedelta(days=local.weekday())
        days.setdefault((user, start), set()).add(local)
    starts = sorted({p for _, p in days})
    out = {}
    for p in starts:
        nxt = (p.replace(day=28) + dt.timedelta(days=4)).replace(day=1) if period == "month" else p + dt.timedelta(7)
        users = [u for (u, q) in days if q == p]
        out[p.isoformat()] = (len(users), sum(len(days[(u, p)]) >= 2 for u in users),
                              sum((u, nxt) in days for u in users))
    return out


@pytest.mark.parametrize("period", ["month", "week"])
def test_random_data_matches_brute_force(tmp_path, period):
    rng = random.Random(11)
    t0 = dt.datetime(2024, 1, 1)
    rows = [(f"u{rng.randrange(40)}", (t0 + dt.timedelta(minutes=rng.randrange(120 * 1440))).isoformat(" "), 1)
            for _ in range(600)]
    eng = DuckDBEngine(make_ws(purchases(rows), tz="America/New_York", directory=tmp_path))
    ref = brute(rows, "America/New_York", period)
    res = repurchase(eng, period=period).records()
    for r in res:
        b, rep, ret = ref.get(r["period"], (0, 0, 0))
        assert (r["buyers"], r["repeat_buyers"]) == (b, rep)
        if r is not res[-1]:
            assert r["returning_buyers"] == ret


def test_spec_checks_and_registry(example):
    with pytest.raises(SpecError, match="basis='orders'"):
        RepurchaseSpec.build(order_property="order_id")
    with pytest.raises(SpecError):
        RepurchaseSpec.build(period="day")
    spec = RepurchaseSpec.build(period="week", filters="event.revenue >= 10")
    assert RepurchaseSpec.parse(spec.to_json()) == spec
    assert registry.get("repurchase").run(example, {"period": "month"}).to_dict()["periods"][0]["buyers"] == 3


def test_charts_for_the_dashboard(example):
    from yunying.analyses.rfm import rfm

    fig = repurchase(example).chart()
    assert [tr.name for tr in fig.data] == ["repeat_rate", "return_rate"]
    assert list(fig.data[0].y) == pytest.approx([1 / 3, 1 / 3, 1.0])
    bars = rfm(example, as_of=dt.date(2024, 3, 31)).chart()
    assert sum(bars.data[0].y) == 4  # four buyers, one bar per class
