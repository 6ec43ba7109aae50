"""RFM's per-buyer aggregate as plain SQL on DuckDB (no Ibis import at start-up, issue 13) equals the Ibis
query it replaces, column for column and in the same row order, on the random shop of test_rfm_oracle.py (a
time zone whose local day differs from UTC, merged anonymous ids, missing revenue, revenue ties)."""
from __future__ import annotations

import datetime as dt

import pytest
from test_rfm_oracle import random_shop

from yunying.analyses import rfm as R


@pytest.mark.parametrize("seed", [5, 6])
def test_buyers_sql_equals_ibis(tmp_path, seed):
    ws, purchases = random_shop(tmp_path, seed)
    try:
        for as_of in (None, dt.date(2024, 2, 1), dt.date(2023, 1, 1)):
            spec = R.RfmSpec.build(as_of=as_of)
            sql, ibis = R._buyers_sql(ws.engine, spec), R._buyers_ibis(ws.engine, spec)
            assert sql.equals(ibis), as_of
            assert sql.num_rows == (purchases["user"].nunique() if as_of is None else sql.num_rows)
        assert R._buyers_sql(ws.engine, R.RfmSpec.build()).num_rows > 10
        # the whole result is the same on both paths (the Ibis one runs with a filter that keeps everything)
        a = R.rfm(ws.engine).to_dict()
        b = R.rfm(ws.engine, filters=["event.event = 'purchase'"]).to_dict()
        assert a["users"] == b["users"] and a["segments"] == b["segments"]
    finally:
        ws.close()


@pytest.mark.parametrize("seed", [7])
def test_repurchase_sql_equals_ibis(tmp_path, seed, monkeypatch):
    """repurchase's (buyer, period, repeat) rows in plain SQL equal the Ibis query's, and so do the results."""
    from yunying.analyses import repurchase as P

    ws, _ = random_shop(tmp_path, seed)
    try:
        for kw in ({}, {"period": "week"}, {"basis": "orders", "date_from": dt.date(2024, 1, 20)},
                   {"date_to": dt.date(2024, 2, 15), "period": "week", "basis": "days"}):
            spec = P.RepurchaseSpec.build(**kw)
            sql = P._user_periods_sql(ws.engine, spec).sort_by([("user_id", "ascending"), ("period", "ascending")])
            res = P.repurchase(ws.engine, spec).to_dict()
            monkeypatch.setattr(P, "plain_duckdb", lambda engine: False)
            ibis = P._user_periods(ws.engine, spec).sort_by([("user_id", "ascending"), ("period", "ascending")])
            assert sql.equals(ibis) and sql.num_rows > 10, kw
            assert P.repurchase(ws.engine, spec).to_dict() == res
            monkeypatch.undo()
    finally:
        ws.close()
