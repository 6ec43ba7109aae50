"""Issue 13 start-up: on the DuckDB engine ``content`` and ``content flags`` build their piece table without pandas
(content/pieces.py: one query for the event and conversion counts, numpy columns). Oracle: the pandas piece table
(``data.piece_table``, its two queries) and the previous pandas flags code (kept here), on random workspaces with a
catalogue, daily and total platform exports, several time zones, date ranges, windows, tied views and
conversions exactly a window after a view. Everything is compared exactly: revenue is in quarters and the platform
counts whole, so every sum is exact in any order."""
from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pandas as pd
import pytest

from util import csv_workspace, write
from yunying.analyses.content import data as CD
from yunying.analyses.content.flags import FLAGS, RATE_NAMES, FlagsSpec, _evidence, flags, flags_from
from yunying.analyses.content.funnel import ContentSpec, content, content_from, shrink
from yunying.analyses.content.pieces import _tables, piece_columns

PIECES = [f"c{i}" for i in range(1, 15)]


def _build(tmp_path, tz: str, seed: int, catalogue: bool, stats: bool):
    """Events on a coarse clock (quarter hours: tied views, conversions a whole window after a view), some pieces
    only in the catalogue or only in an export, accounts with and without pieces, a piece only a purchase names."""
    from yunying.storage import content as store

    rng = random.Random(seed)
    lines = ["distinct_id,user_id,event,timestamp,content_id,revenue"]
    start = dt.datetime(2026, 5, 1)
    for _ in range(2500):
        u = f"u{rng.randint(0, 70)}"
        ev = rng.choice(["view_content"] * 8 + ["share", "follow", "signup", "purchase", "purchase", "app_open"])
        when = start + dt.timedelta(minutes=15 * rng.randint(0, 4 * 24 * 20))
        pool = {"follow": ["c1"] * 8 + PIECES[:11], "share": ["c2"] * 8 + PIECES[:11]}.get(ev, PIECES[:11])
        piece = rng.choice(pool) if ev in ("view_content", "share", "follow") or rng.random() < 0.3 else ""
        rev = str(rng.randint(1, 800) / 4) if ev == "purchase" and rng.random() < 0.9 else ""
        lines.append(f"{u},{u},{ev},{when.isoformat()}Z,{piece},{rev}")
    lines.append("u1,u1,purchase,2026-05-09T12:00:00Z,only_bought,20.25")
    w = csv_workspace(tmp_path, lines, tz)
    if catalogue:
        rows = ["content_id,title,account,topic,published_at"]
        for k, p in enumerate(PIECES):
            acc = rng.choice(["wx", "dy", "", "zh"]) if k != 3 else ""
            when = f"2026-05-{1 + k:02d}T{rng.randint(0, 23):02d}:15:00" if rng.random() < 0.8 else ""
            rows.append(f"{p},Title {p},{acc},{rng.choice(['a', 'b'])},{when}")
        store.import_catalogue(w, [str(write(tmp_path / "cat.csv", "\n".join(rows) + "\n"))])
    if stats:
        head = "content_id,date,published_at,reads,views,shares,follows,likes,delivered,read_through"
        daily = [head] + [f"{p},2026-05-{d:02d},,{rng.randint(0, 300)},{rng.choice(['', rng.randint(0, 400)])},"
                          f"{rng.randint(0, 20)},,{rng.choice(['', rng.randint(0, 9)])},,"
                          for p in ("c2", "c5", "c12", "c13") for d in range(1, 21, 3)]
        totals = [head, f"c5,,2026-05-03T10:00:00,900,1200,40,15,70,3000,0.5",
                  f"c7,,2026-05-12T10:00:00,50,,3,,,,0.25", "c14,,,77,80,1,2,,,", "c15,,,30,,1,,,,"]
        store.import_stats(w, [str(write(tmp_path / "daily.csv", "\n".join(daily) + "\n"))], platform="douyin")
        store.import_stats(w, [str(write(tmp_path / "totals.csv", "\n".join(totals) + "\n"))], platform="wechat")
    return w


CASES = [("UTC", 1, True, True), ("Asia/Shanghai", 2, True, False), ("America/Los_Angeles", 3, False, True),
         ("Europe/London", 4, False, False), ("Asia/Shanghai", 5, True, True)]
SPECS = [dict(), dict(window_hours=0.25), dict(window_hours=1.5, baseline="all"),
         dict(date_from=dt.date(2026, 5, 4), date_to=dt.date(2026, 5, 12)), dict(date_from=dt.date(2026, 5, 9)),
         dict(date_to=dt.date(2026, 5, 6), baseline="topic", method="mom", level=0.8)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def ws(request, tmp_path_factory):
    with _build(tmp_path_factory.mktemp("pieces"), *request.param) as w:
        yield w


def _old_find_flags(df: pd.DataFrame, spec) -> list[dict]:
    """The flags as computed before issue 13's column tables (a pandas ``iterrows`` per group)."""
    rows = []
    lo_f, hi_f = 1 - spec.margin, 1 + spec.margin
    for g, part in df.groupby("baseline_group"):
        part = part[part.readers >= spec.min_readers]
        if part.empty:
            continue
        reads = part.readers.to_numpy(float)
        cut, median = np.quantile(reads, 1 - spec.top_share), np.median(reads)
        for _, r in part.iterrows():
            base = {"content_id": r.content_id, "baseline_group": g, "reads": int(r.readers),
                    "reads_percentile": float((reads <= r.readers).mean()), "title": r.get("title"),
                    "account": r.get("account"), "rates": {m: r[m] for m in RATE_NAMES},
                    "shrunk_rates": {m: r[m + "_shrunk"] for m in RATE_NAMES},
                    "baselines": {m: r[m + "_baseline"] for m in RATE_NAMES}}
            below = [m for m in ("follow_rate", "conversion_rate")
                     if r[m + "_hi"] < lo_f * r[m + "_baseline"] and r[m + "_baseline"] > 0]
            above = [m for m in ("follow_rate", "share_rate") if r[m + "_lo"] > hi_f * r[m + "_baseline"]]
            if r.readers >= cut and below:
                rows.append({**base, "flag": "wrong_audience", **_evidence(r, below[0]),
                             "evidence": [_evidence(r, m) for m in below]})
            if r.readers <= median and above:
                rows.append({**base, "flag": "under_distributed", **_evidence(r, above[0]),
                             "evidence": [_evidence(r, m) for m in above]})
            if "share_rate" in above and r["follow_rate_hi"] < lo_f * r["follow_rate_baseline"]:
                rows.append({**base, "flag": "shares_without_follows", **_evidence(r, "share_rate"),
                             "evidence": [_evidence(r, "share_rate"), _evidence(r, "follow_rate")]})
    order = {f: i for i, f in enumerate(FLAGS)}
    return sorted(rows, key=lambda x: (order[x["flag"]], -x["reads"], x["content_id"]))


def _same_column(name: str, got, exp: pd.Series) -> None:
    if isinstance(got, np.ndarray):
        assert got.dtype == exp.dtype or exp.dtype == object and got.dtype.kind == "f", (name, got.dtype, exp.dtype)
        np.testing.assert_array_equal(got, exp.to_numpy(got.dtype), err_msg=name)  # NaN equal to NaN, bits else
    else:
        want = [None if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) else v for v in exp]
        want = [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in want]
        assert got == want, name


@pytest.mark.parametrize("kw", SPECS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_piece_columns_equal_the_pandas_table(ws, kw):
    spec = ContentSpec.build(**kw)
    t, df = piece_columns(ws.engine, spec), CD.piece_table(ws.engine, spec)
    keep = [c for c in df.columns if c != "first_view"]
    assert sorted(t) == sorted(keep)
    for c in keep:
        _same_column(c, t[c], df[c])
    assert t["converters"].sum() > 0 and len(t["content_id"]) > 5


@pytest.mark.parametrize("kw", SPECS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_content_and_flags_equal_the_pandas_path(ws, kw):
    spec = ContentSpec.build(**kw)
    got, exp = content(ws.engine, spec), content_from(CD.piece_table(ws.engine, spec), spec)
    assert got.to_dict() == exp.to_dict() and got.to_csv() == exp.to_csv()
    assert got.frame.columns.tolist() == exp.frame.columns.tolist()
    fspec = FlagsSpec.build(**kw, margin=0.2, min_readers=3)
    fgot = flags(ws.engine, fspec)
    base = CD.piece_table(ws.engine, fspec)
    df, priors = shrink(base, fspec)
    old = _old_find_flags(df, fspec)
    assert fgot.to_dict() == flags_from(base, fspec).to_dict()
    assert fgot.to_dict()["flags"] == flags_from(base, fspec).to_dict()["flags"] and fgot.meta["priors"] == priors
    from yunying.analyses.base import clean

    assert clean(fgot.flags) == clean(old)
    frame = pd.DataFrame([{k: (json.dumps(clean(v), ensure_ascii=False) if k == "interval" else v)
                           for k, v in f.items() if not isinstance(v, (dict, list)) or k == "interval"} for f in old])
    assert fgot.to_csv() == frame.to_csv(index=False)


def test_the_comparisons_meet_flags_and_platform_counts(ws):
    """Not vacuous: every workspace has flags (pieces followed or shared far more than others), and those with
    exports have pieces counted from the platform."""
    t = piece_columns(ws.engine, ContentSpec.build())
    assert flags(ws.engine, FlagsSpec.build(margin=0.2, min_readers=3)).flags
    has_stats = bool(_tables(ws.engine).get("content_stats"))
    assert ({"platform", "platform+events"} <= set(t["source"])) == has_stats


def test_no_event_and_no_piece_is_the_same_error(tmp_path):
    from yunying.errors import SpecError

    lines = ["distinct_id,user_id,event,timestamp", "u1,u1,app_open,2026-05-01T10:00:00Z"]
    with csv_workspace(tmp_path, lines) as w:
        with pytest.raises(SpecError) as new:
            piece_columns(w.engine, ContentSpec.build())
        with pytest.raises(SpecError) as old:
            CD.piece_table(w.engine, ContentSpec.build())
        assert str(new.value) == str(old.value)


@pytest.mark.parametrize("kw", SPECS[:1] + SPECS[3:5], ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items())
                         or "default")
def test_piece_columns_without_conversions_equal_the_pandas_table(ws, kw):
    """``content timing``'s pieces: event counts and the pieces conversions carry, no conversion counts (0)."""
    spec = ContentSpec.build(**kw)
    t, df = piece_columns(ws.engine, spec, with_conversions=False), CD.piece_table(ws.engine, spec, False)
    keep = [c for c in df.columns if c != "first_view"]
    assert sorted(t) == sorted(keep)
    for c in keep:
        _same_column(c, t[c], df[c])
    assert not t["converters"].any() and "only_bought" in t["content_id"]


def _old_timing_table(df: pd.DataFrame, dimension: str, level: float, tz: str, seed: int = 0) -> pd.DataFrame:
    """``content timing``'s table as computed before issue 13's column tables (pandas groupby)."""
    from yunying.analyses.content.timing import WEEKDAYS, _interval

    rng = np.random.default_rng(seed)
    when = pd.to_datetime(df["published_at"])
    if tz != "UTC":
        when = when.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    wd, hr = when.dt.weekday, when.dt.hour
    key = {"weekday": wd.map(lambda w: WEEKDAYS[int(w)] if pd.notna(w) else None),
           "hour": hr, "weekday_hour": wd.map(lambda w: WEEKDAYS[int(w)] if pd.notna(w) else None)
           + " " + hr.map(lambda h: f"{int(h):02d}:00" if pd.notna(h) else "")}[dimension]
    order = {"weekday": wd, "hour": hr, "weekday_hour": wd * 24 + hr}[dimension]
    rows = []
    for g, idx in df.groupby(key).indices.items():
        n = df["readers"].to_numpy(float)[idx]
        k = np.minimum(df["followers"].to_numpy(float)[idx], n)
        lo, hi = _interval(n, level, rng)
        flo, fhi = _interval(n, level, rng, k)
        rows.append({dimension: g, "_order": float(order.iloc[idx[0]]), "pieces": len(idx),
                     "readers_per_piece": float(n.mean()), "readers_per_piece_lo": lo, "readers_per_piece_hi": hi,
                     "follow_rate": k.sum() / n.sum() if n.sum() else None, "follow_rate_lo": flo,
                     "follow_rate_hi": fhi})
    out = pd.DataFrame(rows)
    return out.sort_values("_order").drop(columns="_order").reset_index(drop=True) if len(out) else out


@pytest.mark.parametrize("dimension", ["weekday", "hour", "weekday_hour"])
@pytest.mark.parametrize("kw", [dict(), dict(date_from=dt.date(2026, 5, 4), date_to=dt.date(2026, 5, 12), level=0.8)],
                         ids=["default", "range"])
def test_timing_equals_the_pandas_path(ws, kw, dimension, monkeypatch):
    """``content timing`` without pandas (DuckDB) and from the pandas piece table (other engines) give the table
    the pandas code gave: the same groups, bootstrap draws and intervals, to the bit."""
    from yunying.analyses.content.timing import TimingSpec, timing

    spec = TimingSpec.build(dimension=dimension, **kw)
    df = CD.piece_table(ws.engine, spec, with_conversions=False)
    df = df[df["published_at"].notnull()]
    exp = _old_timing_table(df, dimension, spec.level, ws.engine.timezone)
    got = timing(ws.engine, spec)
    assert got.records() == [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                             for r in exp.to_dict(orient="records")]
    assert got.to_csv() == exp.to_csv(index=False)
    pd.testing.assert_frame_equal(got.frame, exp, check_dtype=False)
    assert got.meta["pieces"] == len(df) > 5
    assert len(exp) > 1 or not _tables(ws.engine).get("content")  # (without one, first views bunch on day one)
    monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    other = timing(ws.engine, spec)
    assert other.to_dict() == got.to_dict() and other.to_csv() == got.to_csv()
