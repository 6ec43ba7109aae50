"""RFM and repurchase against figures others published on real data (../shared/datasets/README.md)."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from util import shared_file

import yunying
from yunying.analyses.repurchase import repurchase
from yunying.analyses.rfm import rfm
from yunying.config import WorkspaceConfig


def _workspace(tmp, df: pd.DataFrame) -> yunying.Workspace:
    path = tmp / "events.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    ws = yunying.Workspace.init(tmp / "ws", WorkspaceConfig(name="published"))
    ws.import_events([str(path)])
    return ws


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    raw = pd.read_csv(shared_file("datasets/CDNOW_master.txt"), sep=r"\s+", dtype={"customer_id": str, "date": str})
    df = pd.DataFrame({
        "user_id": raw["customer_id"], "event": "purchase",
        "ts": pd.to_datetime(raw["date"], format="%Y%m%d"), "revenue": raw["dollar_value"].astype(float),
        "properties": [json.dumps({"order_day": d}) for d in raw["date"]],
        "event_uuid": [f"cdnow-{i}" for i in range(len(raw))],  # identical lines are separate purchases
    })
    ws = _workspace(tmp_path_factory.mktemp("cdnow"), df)
    yield ws.engine
    ws.close()


def test_cdnow_once_and_repeat_buyers(cdnow):
    # "12,054 customers bought once and 11,516 more than once" (purchases on one day are one transaction)
    users = rfm(cdnow, order_property="order_day").frame
    assert len(users) == 23_570
    assert int((users["frequency"] == 1).sum()) == 12_054
    assert int((users["frequency"] > 1).sum()) == 11_516


def test_cdnow_monthly_revenue_through_rfm_monetary(cdnow):
    published = [299_060.17, 379_590.03, 393_155.27, 142_824.49, 107_933.30]
    ends = [dt.date(1997, 1, 31), dt.date(1997, 2, 28), dt.date(1997, 3, 31), dt.date(1997, 4, 30),
            dt.date(1997, 5, 31)]
    cumulative = [round(float(rfm(cdnow, as_of=d).frame["monetary"].sum()), 2) for d in ends]
    monthly = [cumulative[0]] + [round(b - a, 2) for a, b in zip(cumulative, cumulative[1:])]
    assert monthly == pytest.approx(published, abs=0.01)


@pytest.fixture(scope="module")
def retail_uk(tmp_path_factory):
    raw = pd.read_parquet(shared_file("datasets/online_retail.parquet"))
    raw = raw[(raw["Country"] == "United Kingdom") & raw["CustomerID"].notna()]
    df = pd.DataFrame({
        "user_id": raw["CustomerID"].astype("int64").astype(str), "event": "purchase",
        "ts": pd.to_datetime(raw["InvoiceDate"]), "revenue": raw["Quantity"] * raw["UnitPrice"],
        "properties": ['{"invoice": "%s"}' % i for i in raw["InvoiceNo"]],
        "event_uuid": [f"retail-{i}" for i in range(len(raw))],
    })
    ws = _workspace(tmp_path_factory.mktemp("retail"), df)
    yield ws.engine
    ws.close()


def test_online_retail_uk_monthly_active_customers_are_the_buyers(retail_uk):
    # Karaman (2019): UK monthly active customers, all rows (cancellations included), 2010-12 … 2011-12
    published = [871, 684, 714, 923, 817, 985, 943, 899, 867, 1177, 1285, 1548, 617]
    res = repurchase(retail_uk, period="month").records()
    assert [r["period"] for r in res][:2] == ["2010-12-01", "2011-01-01"] and len(res) == 13
    assert [r["buyers"] for r in res] == published
    # 回购率 of April 2011 = April buyers who bought again in May, a number the buyers above bound
    april = res[4]
    assert 0 < april["returning_buyers"] <= min(817, 985)
    assert res[-1]["return_rate"] is None
