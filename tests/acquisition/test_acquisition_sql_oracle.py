"""The acquisition data without Ibis (issue 13, start-up): on random workspaces in three time zones, the plain SQL
that the DuckDB engine runs (acquisition/data_sql.py) loads exactly the data the portable Ibis expressions load
(the path filters and Spark take): signups, collapsed touches, touches of users who never signed up, activation,
purchases per day since signup, first-purchase revenue, the latest event and the spend — with and without a
period, and the channels / placements / attribution results built on them are equal too."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from acq_helpers import build_workspace
from util import assert_same_rows, workspaces_by_zone
from yunying.analyses.acquisition import data as D
from yunying.analyses.acquisition.data_sql import load_frames
from yunying.analyses.acquisition.specs import ChannelsSpec
from yunying.analyses.sql import plain_duckdb


ws = workspaces_by_zone(lambda folder, tz, seed: build_workspace(folder, seed, 220, tz)[0],
                        [("UTC", 3), ("Asia/Shanghai", 4), ("America/Los_Angeles", 5)], "acqsql")


def _equal(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]):
    """Same rows (in any order), same values; floats to 1e-9."""
    a = a.sort_values(keys, kind="stable").reset_index(drop=True)
    b = b.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=True, rtol=1e-9)


SPECS = [{}, {"date_from": dt.date(2026, 6, 5), "date_to": dt.date(2026, 6, 14)},
         {"date_from": dt.date(2026, 6, 10)}, {"date_to": dt.date(2026, 6, 8), "lookback_days": 7}]


@pytest.mark.parametrize("opts", SPECS)
def test_sql_data_equals_ibis(ws, opts):
    e = ws.engine
    assert plain_duckdb(e)
    spec = ChannelsSpec.build(attribution="markov", channel_map={"baidu": "search"}, **opts)
    for all_signups in (False, True):
        kw = {"all_signups": all_signups, "nonconverting": True, "with_spend": True}
        sql = D._data(e, spec, load_frames(e, spec, **kw))
        ibis = D._data(e, spec, D._ibis_frames(e, spec, **kw))
        assert len(ibis.signups) > 0 and len(ibis.touches) > 0 and len(ibis.purchases) > 0
        assert len(ibis.nonconverting) > 0 and len(ibis.spend) > 0
        _equal(sql.signups, ibis.signups, ["user_id"])
        _equal(sql.touches, ibis.touches, ["user_id", "ts", "channel", "campaign", "placement"])
        _equal(sql.nonconverting, ibis.nonconverting, ["user_id", "ts", "channel", "campaign", "placement"])
        _equal(sql.purchases, ibis.purchases, ["user_id", "day"])
        _equal(sql.firsts, ibis.firsts, ["user_id"])
        _equal(sql.spend, ibis.spend, ["date", "channel", "campaign", "placement"])
        assert sql.activated == ibis.activated and len(sql.activated) > 0
        assert sql.as_of == ibis.as_of and sql.currency == ibis.currency and sql.warnings == ibis.warnings


def test_results_equal_on_both_paths(ws, monkeypatch):
    """channels (every model), placements and attribution: the same table whichever path loaded the data."""
    from yunying.analyses import acquisition as A

    e = ws.engine

    def both(fn, **kw):
        got = fn(e, **kw).to_dict()
        with monkeypatch.context() as m:
            m.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
            exp = fn(e, **kw).to_dict()
        assert got["rows"]
        assert_same_rows(got, exp)  # floats to 1e-9: DuckDB sums in parallel, in no fixed order

    for model in ("first", "last", "linear", "markov"):
        both(A.channels, attribution=model, channel_map={"baidu": "search"})
    both(A.placements)
    both(A.attribution, date_from=dt.date(2026, 6, 3))


def test_channel_condition_selects_the_rows_with_a_channel():
    """HAS_CH (a condition the scan takes) keeps exactly the rows whose channel — COALESCE(NULLIF(channel, ''),
    NULLIF(utm_source, '')) — is not missing, for every mix of missing, empty and set values."""
    import itertools

    import duckdb

    from yunying.analyses.acquisition.data_sql import _CH, HAS_CH

    values = [None, "", " ", "kol"]
    con = duckdb.connect()
    con.execute("CREATE TABLE events (i INTEGER, channel VARCHAR, utm_source VARCHAR)")
    con.executemany("INSERT INTO events VALUES (?, ?, ?)",
                    [(i, c, u) for i, (c, u) in enumerate(itertools.product(values, values))])
    kept = con.execute(f"SELECT i FROM events WHERE {HAS_CH} ORDER BY i").fetchall()
    assert kept == con.execute(f"SELECT i FROM events WHERE {_CH} IS NOT NULL ORDER BY i").fetchall()
    assert len(kept) == 12     # by hand: 16 mixes less the 4 with channel and source both missing or empty
