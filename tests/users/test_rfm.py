"""RFM against the hand-worked example of docs/users.md#rfm and a brute-force scoring reference."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from users_helpers import make_ws, purchases

from yunying.analyses import registry
from yunying.analyses.rfm import SEGMENTS, RfmSpec, quantile_scores, rfm
from yunying.engines.duckdb import DuckDBEngine
from yunying.errors import SpecError

# The worked example of docs/users.md (as of 2024-03-31; the April purchase comes after it).
EXAMPLE = [
    ("A", "2024-02-01 10:00", 50), ("A", "2024-03-20 10:00", 50), ("A", "2024-03-30 10:00", 100),
    ("A", "2024-04-02 10:00", 999),
    ("B", "2024-03-01 10:00", 500),
    ("C", "2024-03-25 10:00", 30), ("C", "2024-03-28 10:00", 30),
    ("D", "2024-01-01 10:00", 10),
    ("E", "2024-02-15 10:00", 80), ("E", "2024-02-20 10:00", 80), ("E", "2024-03-05 10:00", 80),
    ("E", "2024-03-10 10:00", 60),
]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    rows = purchases(EXAMPLE) + [{"user_id": "F", "event": "view", "ts": "2024-03-01 10:00"}]
    ws = make_ws(rows, directory=tmp_path_factory.mktemp("rfm"))
    yield DuckDBEngine(ws)
    ws.close()


def by_user(res):
    return {r["user_id"]: r for r in res.records()}


def test_hand_worked_quantile(example):
    res = rfm(example, as_of=dt.date(2024, 3, 31))
    u = by_user(res)
    assert set(u) == set("ABCDE")  # F never bought: not scored
    assert [(u[k]["recency_days"], u[k]["frequency"], u[k]["monetary"]) for k in "ABCDE"] == [
        (1, 3, 200.0), (30, 1, 500.0), (3, 2, 60.0), (90, 1, 10.0), (21, 4, 300.0)]
    assert [(u[k]["r_score"], u[k]["f_score"], u[k]["m_score"]) for k in "ABCDE"] == [
        (5, 4, 3), (2, 1, 5), (4, 3, 2), (1, 1, 1), (3, 5, 4)]
    assert [u[k]["segment"] for k in "ABCDE"] == [
        "general_value", "important_winback", "general_value", "general_winback", "important_retention"]
    d = res.to_dict()
    assert d["as_of"] == "2024-03-31" and d["thresholds"] == {"r_score_mean": 3.0, "f_score_mean": 2.8,
                                                               "m_score_mean": 3.0}
    seg = {s["segment"]: s for s in d["segments"]}
    assert list(seg) == list(SEGMENTS)
    assert seg["general_value"]["users"] == 2 and seg["general_value"]["share"] == pytest.approx(0.4)
    assert seg["general_value"]["revenue_share"] == pytest.approx(260 / 1070)
    assert seg["important_value"]["users"] == 0 and seg["important_value"]["revenue_share"] == 0
    assert seg["important_retention"]["labels"] == {"en": "Important retention", "zh-Hans": "重要保持客户",
                                                    "zh-Hant": "重要保持客戶"}
    assert [r["user_id"] for r in d["users"]] == ["B", "E", "A", "C", "D"]  # by revenue


def test_hand_worked_mean8(example):
    res = rfm(example, as_of=dt.date(2024, 3, 31), model="mean8", lang="zh-Hant")
    u = by_user(res)
    assert [u[k]["segment_name"] for k in "ABCDE"] == ["一般價值客戶", "重要挽留客戶", "一般發展客戶", "一般挽留客戶",
                                                       "重要價值客戶"]
    assert [(u[k]["r_score"], u[k]["f_score"], u[k]["m_score"]) for k in "ABCDE"] == [
        (1, 1, 0), (0, 0, 1), (1, 0, 0), (0, 0, 0), (1, 1, 1)]
    assert res.meta["thresholds"] == {"recency_days_mean": 29.0, "frequency_mean": 2.2, "monetary_mean": 214.0}


def test_default_as_of_is_the_last_purchase_day_and_later_days_shift_recency(example):
    res = rfm(example)
    assert res.meta["as_of"] == dt.date(2024, 4, 2)
    assert by_user(res)["A"]["monetary"] == 1199.0 and by_user(res)["A"]["recency_days"] == 0
    assert by_user(rfm(example, as_of=dt.date(2024, 4, 30)))["D"]["recency_days"] == 120


def test_order_property_counts_distinct_orders(tmp_path):
    rows = purchases([("A", "2024-01-01 10:00", 10, "o1"), ("A", "2024-01-01 10:00", 5, "o1"),
                      ("A", "2024-01-02 10:00", 5, "o2"), ("A", "2024-01-03 10:00", 5, None),
                      ("B", "2024-01-03 10:00", 1, "o9")])
    eng = DuckDBEngine(make_ws(rows, directory=tmp_path))
    u = by_user(rfm(eng, order_property="order_id"))
    assert (u["A"]["frequency"], u["B"]["frequency"]) == (3, 1)  # o1, o2 and the purchase without an id
    assert by_user(rfm(eng))["A"]["frequency"] == 4
    with pytest.raises(SpecError, match="did you mean event.order_id"):
        rfm(eng, order_property="orderid")


def test_recency_uses_the_local_date(tmp_path):
    rows = purchases([("A", "2024-03-30 20:00", 1), ("B", "2024-03-30 10:00", 1)])  # 20:00 UTC = 04:00 +08:00
    eng = DuckDBEngine(make_ws(rows, tz="Asia/Shanghai", directory=tmp_path))
    u = by_user(rfm(eng, as_of=dt.date(2024, 3, 31)))
    assert (u["A"]["recency_days"], u["B"]["recency_days"]) == (0, 1)


def test_filters_restrict_the_purchases(tmp_path):
    rows = purchases([("A", "2024-01-01", 10), ("A", "2024-01-05", 90), ("B", "2024-01-02", 20)])
    rows[1]["props"] = {"store": "上海店"}
    eng = DuckDBEngine(make_ws(rows, directory=tmp_path))
    res = rfm(eng, filters=["event.store = '上海店'"], as_of=dt.date(2024, 1, 10))
    assert [(r["user_id"], r["monetary"], r["recency_days"]) for r in res.records()] == [("A", 90.0, 5)]
    assert res.spec.filters[0]["field"] == {"scope": "event", "name": "store"}
    with pytest.raises(SpecError, match="column"):
        RfmSpec.build(filters=["event.store = "])


def brute_scores(values, bins):
    n = len(values)
    return [1 + (bins * sum(1 for w in values if w < v)) // n for v in values]


@pytest.mark.parametrize("seed", range(20))
def test_quantile_scores_match_brute_force_and_ignore_order(seed):
    rng = random.Random(seed)
    n = rng.randrange(1, 60)
    values = [float(rng.choice([0, 1, 1, 2, 3, 5, 8, rng.random() * 10])) for _ in range(n)]
    bins = rng.randrange(2, 11)
    got = quantile_scores(np.array(values), bins)
    assert list(got) == brute_scores(values, bins)
    assert got.min() >= 1 and got.max() <= bins
    perm = list(range(n))
    rng.shuffle(perm)
    shuffled = quantile_scores(np.array([values[i] for i in perm]), bins)
    assert [shuffled[perm.index(i)] for i in range(n)] == list(got)  # ties and order: same score per value


def test_spec_round_trips_and_is_registered(example):
    spec = RfmSpec.build(model="mean8", as_of="2024-03-31", filters=["event.revenue > 10"])
    assert RfmSpec.parse(spec.to_json()) == spec
    res = registry.get("rfm").run(example, spec.to_json())
    assert res.to_dict()["kind"] == "rfm"
    with pytest.raises(SpecError, match="bins"):
        RfmSpec.build(bins=1)
    with pytest.raises(SpecError):
        RfmSpec.build(model="kmeans")


@pytest.mark.parametrize("kind", ["whole", "float", "wide"])
def test_quantile_scores_both_paths_on_large_inputs(kind):
    rng = np.random.default_rng(3)
    values = {"whole": rng.integers(0, 400, 20_000).astype(float),
              "float": rng.gamma(2, 50, 20_000).round(1),
              "wide": rng.integers(0, 10**12, 20_000).astype(float)}[kind]
    below = np.searchsorted(np.sort(values), values, side="left")  # an independent count of values below
    assert (quantile_scores(values, 7) == 1 + (7 * below) // len(values)).all()


def test_no_purchases_gives_no_buyers_not_an_error(tmp_path):
    eng = DuckDBEngine(make_ws([{"user_id": "a", "event": "view", "ts": "2024-01-01 10:00"}], directory=tmp_path))
    d = rfm(eng).to_dict()
    assert d["users"] == [] and d["buyers"] == 0
    assert [s["users"] for s in d["segments"]] == [0] * 8 and all(s["share"] is None for s in d["segments"])
    from yunying.analyses.repurchase import repurchase

    assert repurchase(eng).to_dict()["periods"] == []
