"""The content counts without Ibis (issue 13, start-up): on random workspaces in three time zones the plain SQL
of the DuckDB engine (content/data_sql.py) gives the frames the Ibis expressions give (the path of filters and
Spark) — counts per piece, the signups and purchases, the views of their users — with and without a date range,
and the content funnel and the referrals (per piece and per campaign) built on them are the same."""
from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from util import assert_same_rows, csv_workspace, write
from yunying.analyses.content import data as CD
from yunying.analyses.content.funnel import ContentSpec, content

EVENTS = ["view_content"] * 5 + ["share", "follow", "signup", "purchase", "app_open"]


def _workspace(tmp_path, tz: str, seed: int):
    rng = random.Random(seed)
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue,referrer,campaign"]
    start = dt.datetime(2026, 5, 1)
    for _ in range(1500):
        u = f"u{rng.randint(0, 90)}"
        ev = rng.choice(EVENTS)
        when = start + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        piece = rng.choice(["", f"c{rng.randint(1, 12)}"]) if ev in ("signup", "purchase") else \
            rng.choice(["", f"c{rng.randint(1, 12)}", f"c{rng.randint(1, 12)}"])
        rev = str(rng.randint(1, 800) / 4) if ev == "purchase" and rng.random() < 0.9 else ""
        referrer = f"u{rng.randint(0, 90)}" if ev == "signup" and rng.random() < 0.6 else ""
        camp = rng.choice(["", "spring", "invite"]) if ev == "signup" else ""
        lines.append(f"{u},{u},{ev},{when.isoformat()}Z,{piece},{rev},{referrer},{camp}")
    return csv_workspace(tmp_path, lines, tz)


@pytest.fixture(scope="module", params=[("UTC", 1), ("Asia/Shanghai", 2), ("America/Los_Angeles", 3)])
def ws(request, tmp_path_factory):
    with _workspace(tmp_path_factory.mktemp("content"), *request.param) as w:
        yield w


def _same(a: pd.DataFrame, b: pd.DataFrame, keys):
    a = a.sort_values(keys, kind="stable").reset_index(drop=True)
    b = b.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert len(a) > 5


RANGES = [(None, None), (dt.date(2026, 5, 8), dt.date(2026, 5, 20))]


@pytest.mark.parametrize("date_from,date_to", RANGES)
def test_frames_sql_equal_ibis(ws, date_from, date_to, monkeypatch):
    e, cfg = ws.engine, ws.config
    spec = ContentSpec.build(date_from=date_from, date_to=date_to)
    got_counts = CD.event_counts(e, spec)
    got_c, got_v = CD._conversion_frames(e, spec, cfg)
    got_conv = CD.conversions(e, spec, cfg)
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    _same(got_counts, CD.event_counts(e, spec), ["content_id"])
    exp_c, exp_v = CD._conversion_frames(e, spec, cfg)
    _same(got_c, exp_c, ["user_id", "ts", "event", "content_id", "__rev"])
    _same(got_v, exp_v, ["user_id", "ts", "content_id"])
    _same(got_conv, CD.conversions(e, spec, cfg), ["content_id"])


def test_content_same_on_both_paths(ws, monkeypatch):
    got = content(ws.engine, date_from=dt.date(2026, 5, 3)).to_dict()
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = content(ws.engine, date_from=dt.date(2026, 5, 3)).to_dict()
    assert len(got["rows"]) > 5
    assert_same_rows(got, exp)  # floats to 1e-9: DuckDB sums in parallel, in no fixed order


@pytest.mark.parametrize("by", ["piece", "campaign"])
def test_referrals_same_on_both_paths(ws, by, monkeypatch):
    from yunying.analyses.content.referrals import referrals

    got = referrals(ws.engine, by=by, date_from=dt.date(2026, 5, 2)).to_dict()
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    exp = referrals(ws.engine, by=by, date_from=dt.date(2026, 5, 2)).to_dict()
    assert len(got["rows"]) > 2
    assert_same_rows(got, exp)


def test_tied_views_credit_the_largest_piece_id(tmp_path):
    """Last-view attribution when one user viewed two pieces at the same instant: the larger id, every run."""
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue",
             "u1,u1,view_content,2026-05-01T10:00:00Z,c2,", "u1,u1,view_content,2026-05-01T10:00:00Z,c9,",
             "u1,u1,view_content,2026-05-01T10:00:00Z,c5,", "u1,u1,purchase,2026-05-01T12:00:00Z,,30"]
    with csv_workspace(tmp_path, lines) as w:
        for _ in range(5):
            conv = CD.conversions(w.engine, ContentSpec.build(), w.config)
            assert conv[["content_id", "purchases", "revenue"]].values.tolist() == [["c9", 1, 30.0]]


def _tied_workspace(tmp_path, tz: str, seed: int):
    """Conversions on a coarse clock (whole quarter hours): views of several pieces at one instant, conversions
    exactly a window after a view, conversions with and without a piece, views by users who never convert."""
    rng = random.Random(seed)
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue"]
    start = dt.datetime(2026, 5, 1)
    for _ in range(2500):
        u = f"u{rng.randint(0, 60)}"
        ev = rng.choice(["view_content"] * 6 + ["signup", "purchase", "purchase"])
        when = start + dt.timedelta(minutes=15 * rng.randint(0, 4 * 24 * 12))
        piece = f"c{rng.randint(1, 9)}" if ev == "view_content" or rng.random() < 0.3 else ""
        rev = str(rng.randint(1, 800) / 4) if ev == "purchase" and rng.random() < 0.9 else ""
        lines.append(f"{u},{u},{ev},{when.isoformat()}Z,{piece},{rev}")
    return csv_workspace(tmp_path, lines, tz)


@pytest.mark.parametrize("tz,seed", [("UTC", 21), ("Asia/Shanghai", 22), ("America/Los_Angeles", 23)])
def test_conversions_query_equals_pandas_merge_asof(tmp_path, tz, seed, monkeypatch):
    """The one-query conversions (ASOF join, ties to the largest piece id, the window inclusive) equal the pandas
    computation (merge_asof with a tolerance) for several windows and ranges."""
    with _tied_workspace(tmp_path, tz, seed) as w:
        cases = [(24.0, None, None), (1.5, None, None), (0.25, dt.date(2026, 5, 3), dt.date(2026, 5, 9)),
                 (0.5, dt.date(2026, 5, 4), None)]
        got = [CD.conversions(w.engine, ContentSpec.build(window_hours=h, date_from=a, date_to=b), w.config)
               for h, a, b in cases]
        monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
        for (h, a, b), g in zip(cases, got):
            exp = CD.conversions(w.engine, ContentSpec.build(window_hours=h, date_from=a, date_to=b), w.config)
            _same(g, exp, ["content_id"])
            assert g["converters"].sum() > 10 and g["new_users"].sum() > 0


@pytest.mark.parametrize("tz,seed", [("UTC", 31), ("Asia/Shanghai", 32), ("America/Los_Angeles", 33)])
def test_timing_pieces_without_conversion_counts(tmp_path, tz, seed, monkeypatch):
    """``content timing`` reads the pieces without attributing conversions: the same pieces (those only a
    signup or purchase carries included), readers, follows and publish times, on both paths."""
    from yunying.analyses.content.timing import TimingResult, timing, timing_table

    rng = random.Random(seed)
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue"]
    for i in range(900):
        u, ev = f"u{rng.randint(0, 50)}", rng.choice(["view_content"] * 4 + ["follow", "signup", "purchase"])
        when = dt.datetime(2026, 5, 1) + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 20))
        piece = f"c{rng.randint(1, 8)}" if ev in ("view_content", "follow") or rng.random() < 0.4 else ""
        lines.append(f"{u},{u},{ev},{when.isoformat()}Z,{piece},{'9.5' if ev == 'purchase' else ''}")
    lines.append("u1,u1,purchase,2026-05-10T12:00:00Z,only_bought,20")  # a piece no one viewed or followed
    with csv_workspace(tmp_path, lines, tz) as w:
        from yunying.storage import content as store

        cat = ["content_id,title,published_at"] + [f"{p},t {p},2026-05-{1 + 3 * k:02d}T{7 + 2 * k:02d}:30:00"
                                                   for k, p in enumerate(["only_bought"] + [f"c{i}" for i in range(1, 9)])]
        store.import_catalogue(w, [str(write(tmp_path / "cat.csv", "\n".join(cat) + "\n"))])
        for plain in (True, False):
            if not plain:
                monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
            for a, b in [(None, None), (dt.date(2026, 5, 4), dt.date(2026, 5, 15))]:
                spec = ContentSpec.build(date_from=a, date_to=b)
                full, lean = CD.piece_table(w.engine, spec), CD.piece_table(w.engine, spec, with_conversions=False)
                assert "only_bought" in set(lean.content_id)
                cols = ["content_id", "readers", "followers", "published_at"]
                pd.testing.assert_frame_equal(lean[cols], full[cols])
                got = timing(w.engine, date_from=a, date_to=b, dimension="weekday").records()
                when = [None if p is pd.NaT else p.to_pydatetime() for p in full.published_at]
                exp = TimingResult(None, timing_table(when, full.readers, full.followers, "weekday", 0.9, tz)).records()
                assert_same_rows(got, exp)
                assert len(got) >= 5


def test_the_longest_window_answers_and_a_longer_one_is_refused(tmp_path, monkeypatch):
    """A window is at most ten years (its microseconds would overflow the 64-bit comparison: the query API answered
    500 to a fuzzed 3.6e9 hours). Ten years answers on both paths alike; more is a spec error naming the field."""
    from yunying.analyses.content.data import MAX_WINDOW_HOURS
    from yunying.errors import SpecError

    with pytest.raises(SpecError, match="window_hours"):
        ContentSpec.build(window_hours=MAX_WINDOW_HOURS + 1)
    with _tied_workspace(tmp_path, "UTC", 41) as w:
        spec = ContentSpec.build(window_hours=MAX_WINDOW_HOURS)
        got = CD.conversions(w.engine, spec, w.config)
        monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
        _same(got, CD.conversions(w.engine, spec, w.config), ["content_id"])
        assert got["converters"].sum() > 10
