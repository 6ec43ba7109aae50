"""The demo data generator: determinism, schema, and truth.json checked against the files.

Everything the truth claims is recomputed here independently from the written files with
DuckDB SQL / pandas (not with the generator's own code).
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yunying.demo import generate
from yunying.demo import generator as gen

PAID = ("search", "feed", "wechat", "kol")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default-size data set (50k users, 90 days, seed 7), generated once."""
    out = tmp_path_factory.mktemp("demo")
    calls = []
    truth = generate(out, progress=lambda done, total: calls.append((done, total)))
    con = duckdb.connect()
    files = ", ".join(f"'{f}'" for f in truth["files"])
    con.execute(f"CREATE VIEW e AS SELECT * FROM read_parquet([{files}])")
    return {"out": out, "truth": truth, "con": con, "calls": calls}


def one(con, sql):
    return con.execute(sql).fetchone()


# ----------------------------------------------------------------------------- layout & schema

def test_files_and_returned_truth(demo):
    out, truth = demo["out"], demo["truth"]
    assert truth["files"] == [str(out / "events.parquet")]
    assert (out / "spend.csv").exists()
    on_disk = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert on_disk == {k: v for k, v in truth.items() if k != "files"}
    for key in ("seed", "users", "days", "start_date", "end_date", "timezone", "events", "channels", "placements",
                "experiment", "campaign", "content", "totals"):
        assert key in on_disk
    assert on_disk["seed"] == 7 and on_disk["users"] == 50_000 and on_disk["days"] == 90
    assert on_disk["start_date"] == "2026-06-01" and on_disk["end_date"] == "2026-08-29"
    assert on_disk["timezone"] == "UTC"
    assert on_disk["events"] == {"signup": "signup", "activation": "activate", "purchase": "purchase",
                                 "exposure": "$exposure"}
    assert set(on_disk["channels"]) == {"search", "feed", "wechat", "kol", "organic", "referral"}
    exp = on_disk["experiment"]
    for key in ("name", "exposure_event", "variants", "control", "split", "start_date", "window_days",
                "purchase_multiplier", "exposed_users", "true_rate_control", "true_rate_treatment",
                "true_effect_abs", "true_effect_rel"):
        assert key in exp
    for key in ("name", "start_date", "end_date", "cost", "purchase_lift", "target_purchases", "target_revenue",
                "expected_incremental_purchases", "expected_incremental_revenue"):
        assert key in on_disk["campaign"]
    assert len(on_disk["content"]) == 200
    # progress: called per chunk of users (one chunk at this size)
    assert demo["calls"] == [(1, 1)]


def test_schema(demo):
    schema = pq.read_schema(demo["truth"]["files"][0])
    expected = {
        "distinct_id": pa.string(), "user_id": pa.string(), "event": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"), "event_uuid": pa.string(), "utm_source": pa.string(),
        "utm_medium": pa.string(), "utm_campaign": pa.string(), "channel": pa.string(), "revenue": pa.float64(),
        "content_id": pa.string(), "variant": pa.string(), "properties": pa.string(),
    }
    assert schema.names == list(expected)
    for name, typ in expected.items():
        assert schema.field(name).type == typ, name


def test_columns_filled_where_they_should_be(demo):
    con = demo["con"]
    assert one(con, "SELECT count(*) FROM e WHERE distinct_id IS NULL OR event IS NULL OR timestamp IS NULL "
                    "OR event_uuid IS NULL OR properties IS NULL")[0] == 0
    assert one(con, "SELECT count(*), count(DISTINCT event_uuid) FROM e")[0] == \
        one(con, "SELECT count(DISTINCT event_uuid) FROM e")[0]
    # revenue only (and always) on purchases
    assert one(con, "SELECT count(*) FROM e WHERE (revenue IS NOT NULL) <> (event = 'purchase')")[0] == 0
    assert one(con, "SELECT min(revenue) FROM e")[0] > 0
    # channel / utm only on touches and signups
    assert one(con, "SELECT count(*) FROM e WHERE (channel IS NOT NULL) <> "
                    "(event IN ('ad_click', 'landing', 'signup'))")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE utm_source IS NOT NULL AND channel IS NULL")[0] == 0
    # content_id on content events, and on referral signups (the shared piece; docs/content.md)
    assert one(con, "SELECT count(*) FROM e WHERE (content_id IS NOT NULL) <> "
                    "(event IN ('view_content', 'share', 'follow') OR (event = 'signup' AND channel = 'referral' "
                    "AND json_extract_string(properties, '$.inviter') IS NOT NULL))")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE (variant IS NOT NULL) <> (event = '$exposure')")[0] == 0
    # properties are JSON objects
    assert one(con, "SELECT count(*) FROM e WHERE NOT json_valid(properties) "
                    "OR json_type(properties) <> 'OBJECT'")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE properties = '{}'")[0] > 0
    # channel naming and UTM conventions
    rows = con.execute("SELECT DISTINCT channel, utm_source, utm_medium FROM e WHERE channel IS NOT NULL").fetchall()
    allowed = {("search", "baidu", "cpc"), ("feed", "douyin", "feed"), ("wechat", "wechat", "article"),
               ("kol", "bilibili", "video"), ("kol", "xiaohongshu", "video"), ("organic", None, None),
               ("referral", "referral", "invite")}
    assert set(rows) <= allowed
    placements = {r[0] for r in con.execute(
        "SELECT DISTINCT json_extract_string(properties, '$.utm_content') FROM e WHERE event = 'ad_click'").fetchall()}
    assert placements == set(demo["truth"]["placements"])


def test_timestamps_in_range_with_evening_peak(demo):
    con, truth = demo["con"], demo["truth"]
    lo, hi = one(con, "SELECT min(timestamp), max(timestamp) FROM e")
    start = dt.datetime.fromisoformat(truth["start_date"]).replace(tzinfo=dt.timezone.utc)
    end = dt.datetime.fromisoformat(truth["end_date"]).replace(tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
    assert start <= lo and hi < end
    by_hour = dict(con.execute("SELECT hour(timezone('UTC', timestamp)) h, count(*) FROM e GROUP BY 1").fetchall())
    assert max(by_hour, key=by_hour.get) in (20, 21, 22)
    assert by_hour[21] > 5 * by_hour[4]


# ----------------------------------------------------------------------------- identity & funnel

def test_identity(demo):
    con, truth = demo["con"], demo["truth"]
    n, users, dup = one(con, "SELECT count(*), count(DISTINCT user_id), count(DISTINCT distinct_id) FROM e "
                             "WHERE event = 'signup'")
    assert n == users == dup == truth["totals"]["signups"]
    # anonymous events: null user_id, anon distinct_id, only touches
    assert one(con, "SELECT count(*) FROM e WHERE user_id IS NULL AND "
                    "(event NOT IN ('ad_click', 'landing') OR distinct_id NOT LIKE 'anon_%')")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE user_id IS NOT NULL AND distinct_id <> user_id "
                    "AND event <> 'signup'")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE event = 'signup' AND distinct_id NOT LIKE 'anon_%'")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE user_id IS NOT NULL AND NOT regexp_full_match(user_id, 'u[0-9]{7,}')"
               )[0] == 0
    assert one(con, "SELECT count(DISTINCT user_id) FROM e")[0] == truth["totals"]["users_with_events"]
    # nothing of a user happens before their signup; touches happen before it
    assert one(con, """
        WITH s AS (SELECT user_id, distinct_id AS anon, timestamp AS ts FROM e WHERE event = 'signup')
        SELECT count(*) FROM e JOIN s USING (user_id) WHERE e.event <> 'signup' AND e.timestamp <= s.ts""")[0] == 0
    assert one(con, """
        WITH s AS (SELECT distinct_id, timestamp AS ts FROM e WHERE event = 'signup')
        SELECT count(*) FROM e JOIN s USING (distinct_id) WHERE e.user_id IS NULL AND e.timestamp >= s.ts""")[0] == 0
    # every signed-up user has 1-3 touches
    lo, hi = one(con, """
        SELECT min(k), max(k) FROM (SELECT s.distinct_id, count(t.distinct_id) k
          FROM (SELECT distinct_id FROM e WHERE event = 'signup') s
          LEFT JOIN (SELECT distinct_id FROM e WHERE event IN ('ad_click', 'landing')) t USING (distinct_id)
          GROUP BY 1)""")
    assert (lo, hi) == (1, 3)


def test_first_touch_registrations_match_truth(demo):
    con, truth = demo["con"], demo["truth"]
    con.execute("""
        CREATE OR REPLACE TEMP TABLE touches AS
        SELECT s.user_id, s.channel AS signup_channel,
               json_extract_string(s.properties, '$.utm_content') AS signup_placement,
               arg_min(t.channel, t.timestamp) AS first_channel,
               nullif(arg_min(coalesce(json_extract_string(t.properties, '$.utm_content'), ''), t.timestamp), '')
                   AS first_placement,
               arg_max(t.channel, t.timestamp) AS last_channel
        FROM (SELECT * FROM e WHERE event = 'signup') s
        JOIN (SELECT * FROM e WHERE event IN ('ad_click', 'landing')) t USING (distinct_id)
        GROUP BY 1, 2, 3""")
    by_channel = dict(con.execute("SELECT first_channel, count(*) FROM touches GROUP BY 1").fetchall())
    assert by_channel == {c: v["registrations"] for c, v in truth["channels"].items()}
    by_place = dict(con.execute("SELECT first_placement, count(*) FROM touches "
                                "WHERE first_placement IS NOT NULL GROUP BY 1").fetchall())
    assert by_place == {p: v["registrations"] for p, v in truth["placements"].items()}
    # signup carries the acquiring (first-touch) channel
    assert one(con, "SELECT count(*) FROM touches WHERE signup_channel <> first_channel "
                    "OR signup_placement IS DISTINCT FROM first_placement")[0] == 0
    # ~25 % of users were last touched by another channel
    differ = one(con, "SELECT avg(CASE WHEN last_channel <> first_channel THEN 1 ELSE 0 END) FROM touches")[0]
    assert 0.2 < differ < 0.3
    # shares of signups: paid ~70 %, organic ~20 %, referral ~10 %
    total = sum(by_channel.values())
    assert abs(total - truth["users"]) < 5 * math.sqrt(truth["users"])
    assert abs(sum(by_channel[c] for c in PAID) / total - 0.7) < 0.02
    assert abs(by_channel["organic"] / total - 0.2) < 0.02
    assert abs(by_channel["referral"] / total - 0.1) < 0.02


def test_activation_within_three_days(demo):
    con, truth = demo["con"], demo["truth"]
    n, late, dup = one(con, """
        WITH s AS (SELECT user_id, timestamp AS ts FROM e WHERE event = 'signup'),
             a AS (SELECT user_id, count(*) k, min(timestamp) AS ta FROM e WHERE event = 'activate' GROUP BY 1)
        SELECT count(*), count(*) FILTER (WHERE date_diff('day', CAST(timezone('UTC', ts) AS DATE),
                                                         CAST(timezone('UTC', ta) AS DATE)) > 3),
               count(*) FILTER (WHERE k > 1)
        FROM a JOIN s USING (user_id)""")
    assert late == 0 and dup == 0
    # realised activation rate per channel close to the truth (a bit lower: late signups run out of days)
    rows = con.execute("""
        SELECT s.channel, avg(CASE WHEN a.user_id IS NULL THEN 0 ELSE 1 END)
        FROM (SELECT * FROM e WHERE event = 'signup') s
        LEFT JOIN (SELECT DISTINCT user_id FROM e WHERE event = 'activate') a USING (user_id) GROUP BY 1""").fetchall()
    for ch, rate in rows:
        assert truth["channels"][ch]["activation_rate"] - 0.04 < rate < truth["channels"][ch]["activation_rate"] + 0.02


# ----------------------------------------------------------------------------- spend

def _spend(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "spend.csv", dtype={"cost": str})


def test_spend_csv(demo):
    out, truth = demo["out"], demo["truth"]
    df = _spend(out)
    assert list(df.columns) == ["date", "channel", "campaign", "placement", "cost", "currency", "impressions",
                                "reads", "clicks"]
    assert (df["currency"] == "CNY").all()
    assert not df.duplicated(["date", "channel", "campaign", "placement"]).any()
    assert df["cost"].str.fullmatch(r"\d+\.\d\d").all()
    cents = df["cost"].str.replace(".", "", regex=False).astype(np.int64)
    assert (cents > 0).all()
    assert ((df["clicks"] <= df["reads"]) & (df["reads"] <= df["impressions"]) & (df["clicks"] >= 0)).all()
    by_channel = cents.groupby(df["channel"]).sum()
    for ch, v in truth["channels"].items():
        assert by_channel.get(ch, 0) == round(v["spend_total"] * 100), ch
    by_place = cents.groupby(df["placement"]).sum()
    assert set(by_place.index) == set(truth["placements"])
    for pid, v in truth["placements"].items():
        assert by_place[pid] == round(v["spend_total"] * 100), pid
        rows = df[df["placement"] == pid]
        assert (rows["channel"] == v["channel"]).all()
        if v["channel"] in ("wechat", "kol"):
            assert list(rows["date"]) == [v["date"]]      # single-day slots
        else:
            assert v["date"] is None
    assert pd.to_datetime(df["date"]).min() >= pd.Timestamp(truth["start_date"])
    assert pd.to_datetime(df["date"]).max() <= pd.Timestamp(truth["end_date"])


def test_cost_per_registration(demo):
    out, truth = demo["out"], demo["truth"]
    spend = _spend(out).assign(cost=lambda d: d["cost"].astype(float)).groupby("channel")["cost"].sum()
    by_channel = dict(demo["con"].execute("""
        SELECT first_channel, count(*) FROM (
          SELECT arg_min(t.channel, t.timestamp) AS first_channel FROM e s
          JOIN e t ON t.distinct_id = s.distinct_id AND t.event IN ('ad_click', 'landing')
          WHERE s.event = 'signup' GROUP BY s.user_id) GROUP BY 1""").fetchall())
    cprs = {}
    for ch in PAID:
        c = truth["channels"][ch]
        assert c["paid"] and c["response"]["model"] == "log" and c["response"]["a"] > 0 and c["response"]["h"] > 0
        realised = spend[ch] / by_channel[ch]
        assert abs(realised / c["true_cost_per_registration"] - 1) < 0.10, (ch, realised)
        cprs[ch] = c["true_cost_per_registration"]
    # clearly different true CPRs: feed < search < wechat < kol
    assert cprs["feed"] < cprs["search"] < cprs["wechat"] < cprs["kol"]
    assert cprs["kol"] / cprs["feed"] > 1.8
    for ch in ("organic", "referral"):
        c = truth["channels"][ch]
        assert not c["paid"] and c["response"] is None and c["true_cost_per_registration"] is None
        assert c["spend_total"] == 0


# ----------------------------------------------------------------------------- experiment

def test_exposure_once_on_or_after_start(demo):
    con, truth = demo["con"], demo["truth"]
    exp = truth["experiment"]
    start = exp["start_date"]
    assert one(con, "SELECT count(*) - count(DISTINCT user_id) FROM e WHERE event = '$exposure'")[0] == 0
    assert one(con, f"SELECT count(*) FROM e WHERE event = '$exposure' AND timestamp < TIMESTAMPTZ '{start} 00:00:00+00'"
               )[0] == 0
    counts = dict(con.execute("SELECT variant, count(*) FROM e WHERE event = '$exposure' GROUP BY 1").fetchall())
    assert counts == exp["exposed_users"]
    n = sum(counts.values())
    assert abs(counts["treatment"] / n - 0.5) < 4 * math.sqrt(0.25 / n)
    assert one(con, "SELECT count(*) FROM e WHERE event = '$exposure' "
                    "AND json_extract_string(properties, '$.experiment') <> 'new_checkout'")[0] == 0
    # every user with an event on/after the start day is exposed, on their first such day, before other events
    missing = one(con, f"""
        SELECT count(*) FROM (SELECT DISTINCT user_id FROM e WHERE user_id IS NOT NULL
                              AND timestamp >= TIMESTAMPTZ '{start} 00:00:00+00') a
        ANTI JOIN (SELECT user_id FROM e WHERE event = '$exposure') x USING (user_id)""")[0]
    assert missing == 0
    not_first_day = one(con, f"""
        WITH x AS (SELECT user_id, timestamp AS tx FROM e WHERE event = '$exposure')
        SELECT count(*) FROM e JOIN x USING (user_id)
        WHERE e.timestamp >= TIMESTAMPTZ '{start} 00:00:00+00'
          AND CAST(timezone('UTC', e.timestamp) AS DATE) < CAST(timezone('UTC', x.tx) AS DATE)""")[0]
    assert not_first_day == 0
    # purchases on the exposure day come after the exposure
    assert one(con, """
        WITH x AS (SELECT user_id, timestamp AS tx FROM e WHERE event = '$exposure')
        SELECT count(*) FROM e JOIN x USING (user_id) WHERE e.event = 'purchase' AND e.timestamp < x.tx
          AND CAST(timezone('UTC', e.timestamp) AS DATE) = CAST(timezone('UTC', x.tx) AS DATE)""")[0] == 0


def test_experiment_effect_matches_truth(demo):
    con, truth = demo["con"], demo["truth"]
    exp = truth["experiment"]
    rows = con.execute("""
        WITH x AS (SELECT user_id, variant, timestamp AS tx FROM e WHERE event = '$exposure'),
             c AS (SELECT x.user_id, x.variant,
                          max(CASE WHEN p.user_id IS NULL THEN 0 ELSE 1 END) AS conv
                   FROM x LEFT JOIN (SELECT user_id, timestamp FROM e WHERE event = 'purchase') p
                     ON p.user_id = x.user_id AND p.timestamp >= x.tx AND p.timestamp <= x.tx + INTERVAL 14 DAY
                   GROUP BY 1, 2)
        SELECT variant, count(*), avg(conv) FROM c GROUP BY 1""").fetchall()
    r = {v: (n, rate) for v, n, rate in rows}
    (nc, rc), (nt, rt) = r["control"], r["treatment"]
    se = math.sqrt(rc * (1 - rc) / nc + rt * (1 - rt) / nt)
    assert abs((rt - rc) - exp["true_effect_abs"]) < 4 * se
    assert abs(rc - exp["true_rate_control"]) < 4 * math.sqrt(rc * (1 - rc) / nc)
    assert abs(rt - exp["true_rate_treatment"]) < 4 * math.sqrt(rt * (1 - rt) / nt)
    assert exp["true_effect_abs"] == pytest.approx(exp["true_rate_treatment"] - exp["true_rate_control"])
    assert exp["true_effect_rel"] == pytest.approx(exp["true_effect_abs"] / exp["true_rate_control"])
    assert 0 < exp["true_effect_rel"] < exp["purchase_multiplier"] - 1
    assert exp["true_effect_abs"] > 3 * se           # detectable at the default size


# ----------------------------------------------------------------------------- campaign, content, totals

def test_campaign(demo):
    con, truth = demo["con"], demo["truth"]
    camp = truth["campaign"]
    lo = f"TIMESTAMPTZ '{camp['start_date']} 00:00:00+00'"
    hi = f"TIMESTAMPTZ '{camp['end_date']} 00:00:00+00' + INTERVAL 1 DAY"
    assert one(con, f"SELECT count(*) FROM e WHERE event = 'campaign_view' AND NOT (timestamp >= {lo} "
                    f"AND timestamp < {hi})")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE event = 'campaign_view' "
                    "AND json_extract_string(properties, '$.campaign') <> 'summer_sale'")[0] == 0
    assert one(con, "SELECT count(*) FROM e WHERE event = 'campaign_view'")[0] > 0
    # realised purchases in the window ~ expected baseline + expected increment
    purchases = one(con, f"SELECT count(*) FROM e WHERE event = 'purchase' AND timestamp >= {lo} AND timestamp < {hi}"
                    )[0]
    expected = camp["expected_baseline_purchases"] + camp["expected_incremental_purchases"]
    assert abs(purchases - expected) < 5 * math.sqrt(1.5 * expected)
    assert camp["expected_incremental_purchases"] > 0
    assert camp["expected_incremental_revenue"] == pytest.approx(camp["expected_incremental_purchases"] * 60.0)
    assert camp["cost"] > 0 and camp["target_purchases"] > 0 and camp["target_revenue"] > 0
    # purchases on a campaign-view day carry the campaign
    tagged = one(con, "SELECT count(*) FROM e WHERE event = 'purchase' "
                      "AND json_extract_string(properties, '$.campaign') = 'summer_sale'")[0]
    assert 0 < tagged < purchases


def test_content_rates(demo):
    con, truth = demo["con"], demo["truth"]
    views = dict(con.execute("SELECT content_id, count(*) FROM e WHERE event = 'view_content' GROUP BY 1").fetchall())
    shares = dict(con.execute("SELECT content_id, count(*) FROM e WHERE event = 'share' GROUP BY 1").fetchall())
    follows = dict(con.execute("SELECT content_id, count(*) FROM e WHERE event = 'follow' GROUP BY 1").fetchall())
    content = truth["content"]
    assert set(views) <= set(content)
    for name, counts, key in (("share", shares, "share_rate"), ("follow", follows, "follow_rate")):
        exp_total = sum(views[c] * content[c][key] for c in views)
        assert abs(sum(counts.values()) - exp_total) < 5 * math.sqrt(exp_total), name
        top = max(views, key=views.get)   # the most viewed piece: its own rate is recovered
        rate = counts.get(top, 0) / views[top]
        assert abs(rate - content[top][key]) < 5 * math.sqrt(content[top][key] / views[top]) + 1e-3


def test_totals(demo):
    con, truth = demo["con"], demo["truth"]
    t = truth["totals"]
    n, purchases, revenue, signups = one(con, """
        SELECT count(*), count(*) FILTER (WHERE event = 'purchase'), sum(revenue),
               count(*) FILTER (WHERE event = 'signup') FROM e""")
    assert n == t["events"] and purchases == t["purchases"] and signups == t["signups"]
    assert revenue == pytest.approx(t["revenue"], abs=0.01)
    aov = revenue / purchases
    assert 55 < aov < 65


# ----------------------------------------------------------------------------- determinism & chunking

def _read(files):
    return pa.concat_tables([pq.read_table(f) for f in files])


def test_deterministic(tmp_path):
    kw = dict(users=3000, days=30, seed=11)
    a = generate(tmp_path / "a", **kw)
    b = generate(tmp_path / "b", **kw)
    c = generate(tmp_path / "c", **{**kw, "seed": 12})
    for name in ("spend.csv", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    ta, tb = _read(a["files"]), _read(b["files"])
    assert ta.equals(tb)
    assert not _read(c["files"]).equals(ta)
    assert (tmp_path / "a" / "spend.csv").read_bytes() != (tmp_path / "c" / "spend.csv").read_bytes()
    # event_uuid: deterministic and unique, uuid-4 shaped
    ids = ta.column("event_uuid").to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(len(s) == 36 and s[14] == "4" for s in ids[:100])
    # a small, short data set still honours the date ranges
    assert a["experiment"]["start_date"] == "2026-06-16" and a["end_date"] == "2026-06-30"


def test_chunked_output(tmp_path, monkeypatch):
    monkeypatch.setattr(gen, "CHUNK_USERS", 700)
    monkeypatch.setattr(gen, "SINGLE_FILE_MAX_USERS", 1000)
    calls = []
    truth = generate(tmp_path, users=2500, days=20, seed=3, start=dt.date(2026, 1, 5),
                     progress=lambda d, t: calls.append((d, t)))
    files = truth["files"]
    assert len(files) == len(calls) >= 3
    assert files == [str(tmp_path / "events" / f"part-{i:05d}.parquet") for i in range(len(files))]
    assert not (tmp_path / "events.parquet").exists()
    assert calls == [(i + 1, len(files)) for i in range(len(files))]
    table = _read(files)
    assert table.num_rows == truth["totals"]["events"]
    ev = table.column("event").to_numpy(zero_copy_only=False)
    uid = table.column("user_id").to_numpy(zero_copy_only=False)
    assert (ev == "signup").sum() == truth["totals"]["signups"] == len(set(uid[ev == "signup"]))
    assert len(table.column("event_uuid").unique()) == table.num_rows
    anon = table.column("distinct_id").to_numpy(zero_copy_only=False)
    assert len(set(anon[ev == "signup"])) == truth["totals"]["signups"]
    # a later, single-file run into the same folder replaces the parts
    monkeypatch.setattr(gen, "SINGLE_FILE_MAX_USERS", 200_000)
    again = generate(tmp_path, users=2500, days=20, seed=3, start=dt.date(2026, 1, 5))
    assert again["files"] == [str(tmp_path / "events.parquet")]
    assert not list((tmp_path / "events").glob("part-*.parquet"))
    assert _read(again["files"]).num_rows == truth["totals"]["events"]


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, users=0)
    with pytest.raises(ValueError):
        generate(tmp_path, users=100, days=7)


def test_set_rows_replaces_only_those_rows():
    # add_referrals rewrites a few thousand of 2M rows with one take; a Python list edited row by row is the oracle
    from yunying.demo.content import _set_rows

    rng = np.random.default_rng(3)
    vals = [None if rng.random() < 0.2 else f"v{i}" for i in range(500)]
    col = pa.chunked_array([pa.array(vals[:123], pa.string()), pa.array(vals[123:], pa.string())])
    table = pa.table({"a": pa.array(np.arange(500)), "s": col})
    rows = np.sort(rng.choice(500, 37, replace=False))
    new = [f"new{j}" if j % 5 else None for j in range(rows.size)]
    out = _set_rows(table, "s", rows, pa.array(new, pa.string()))
    expected = list(vals)
    for j, r in enumerate(rows):
        expected[r] = new[j]
    assert out["s"].to_pylist() == expected
    assert out["a"].equals(table["a"]) and out.schema == table.schema
