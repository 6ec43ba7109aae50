"""Imports: column mapping, typing, transactional failure, idempotency, identity merges."""
from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.errors import InputFileError, ValidationError

from util import write

GOOD = """uid,anonymous_id,event_name,time,utm_source,amount,plan
,a1,ad_click,2026-06-01T08:00:00Z,baidu,,
u1,a1,signup,2026-06-01 09:00:00,baidu,,free
u1,,purchase,1780300800,,12.5,pro
u2,,signup,2026-06-02T10:00:00+08:00,,,
u2,,purchase,1780452000000,,"1,200",
"""


def events(ws):
    return ws.con.execute(
        "SELECT user_id, distinct_id, event, ts, utm_source, revenue, properties FROM events ORDER BY ts, event"
    ).fetchall()


def test_aliases_types_and_time_zones(ws, tmp_path):
    rep = ws.import_events(str(write(tmp_path / "e.csv", GOOD)))
    assert rep.rows_read == 5 and rep.rows_added == 5
    rows = events(ws)
    import datetime as dt

    ts = {(r[0], r[2]): r[3] for r in rows}
    assert ts[("u1", "purchase")] == dt.datetime(2026, 6, 1, 8, 0)          # epoch seconds
    assert ts[("u2", "signup")] == dt.datetime(2026, 6, 2, 2, 0)            # +08:00 -> UTC
    assert ts[("u2", "purchase")] == dt.datetime(2026, 6, 3, 2, 0)          # epoch milliseconds
    rev = {(r[0], r[2]): r[5] for r in rows}
    assert rev[("u1", "purchase")] == 12.5 and rev[("u2", "purchase")] == 1200.0
    # the anonymous click was merged into u1 through the signup row carrying both ids
    assert ("u1", "ad_click") in ts
    props = {(r[0], r[2]): json.loads(r[6]) for r in rows}
    assert props[("u1", "signup")] == {"plan": "free"}
    assert props[("u2", "signup")] == {}


def test_reimport_changes_nothing(ws, tmp_path):
    f = str(write(tmp_path / "e.csv", GOOD))
    ws.import_events(f)
    before = events(ws)
    rep = ws.import_events(f)
    assert rep.rows_added == 0 and rep.duplicates == 5
    assert events(ws) == before


def test_overlapping_files_deduplicate_on_uuid(ws, tmp_path):
    a = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in [
        {"uuid": "e1", "user_id": "u1", "event": "open", "timestamp": "2026-06-01T00:00:00Z"},
        {"uuid": "e2", "user_id": "u1", "event": "open", "timestamp": "2026-06-01T01:00:00Z"},
    ]))
    b = write(tmp_path / "b.jsonl", "\n".join(json.dumps(r) for r in [
        {"uuid": "e2", "user_id": "u1", "event": "open", "timestamp": "2026-06-01T01:00:00Z", "extra": 1},
        {"uuid": "e3", "user_id": "u2", "event": "open", "timestamp": "2026-06-01T02:00:00Z"},
    ]))
    ws.import_events([str(a)])
    rep = ws.import_events([str(b)])
    assert rep.rows_added == 1
    assert ws.counts()["events"] == 3


@pytest.mark.parametrize("body,needle", [
    ("user_id,event,timestamp\nu1,open,2026-06-01\nu2,open,yesterday\nu3,open,2026-13-45\n",
     "2 of 3 row(s) are invalid"),
    ("user_id,event,timestamp,revenue\nu1,buy,2026-06-01,12\nu2,buy,2026-06-01,twelve\n",
     'revenue (column "revenue"): expected a number, got "twelve"'),
    ("user_id,event,timestamp\nu1,,2026-06-01\n", "event: missing"),
    ("user_id,name_of_thing,when\nu1,open,2026-06-01\n", "missing required column(s): event"),
    ("", "file is empty"),
    ("user_id,event,timestamp\n", "no data rows"),
])
def test_bad_files_import_nothing(ws, tmp_path, body, needle):
    ws.import_events(str(write(tmp_path / "ok.csv", "user_id,event,timestamp\nu0,open,2026-06-01\n")))
    with pytest.raises((ValidationError, InputFileError)) as err:
        ws.import_events(str(write(tmp_path / "bad.csv", body)))
    assert needle in str(err.value)
    assert "bad.csv" in str(err.value)
    assert ws.counts()["events"] == 1


def test_error_names_row_and_line(ws, tmp_path):
    body = "user_id,event,timestamp\n" + "".join(f"u{i},open,2026-06-01\n" for i in range(10)) + "u10,open,nope\n"
    with pytest.raises(ValidationError) as err:
        ws.import_events(str(write(tmp_path / "bad.csv", body)))
    assert "row 11 (line 12)" in str(err.value)
    assert err.value.details["examples"][0]["row"] == 11


def test_wrong_encoding(ws, tmp_path):
    # GBK text is detected and read (tests/test_import_encodings.py); bytes that are neither UTF-8 nor
    # GB18030 are refused, naming the file and --encoding
    p = tmp_path / "bad.csv"
    p.write_bytes(b"user_id,event,timestamp\n\xff\xfe\xff1,open,2026-06-01\n")
    with pytest.raises(InputFileError) as err:
        ws.import_events(str(p))
    assert "bad.csv" in str(err.value) and "--encoding" in str(err.value)
    assert ws.counts()["events"] == 0


def test_multi_file_import_is_all_or_nothing(ws, tmp_path):
    ok = write(tmp_path / "ok.csv", "user_id,event,timestamp\nu1,open,2026-06-01\n")
    bad = write(tmp_path / "bad.csv", "user_id,event,timestamp\nu1,open,never\n")
    with pytest.raises(ValidationError):
        ws.import_events([str(ok), str(bad)])
    assert ws.counts()["events"] == 0


def test_parquet_gzip_and_glob(ws, tmp_path):
    tbl = pa.table({"distinct_id": ["d1", "d2"], "event": ["open", "open"],
                    "timestamp": pa.array([1780300800_000000, 1780304400_000000], pa.timestamp("us", "UTC")),
                    "revenue": [None, 3.0]})
    pq.write_table(tbl, tmp_path / "p1.parquet")
    with gzip.open(tmp_path / "p2.csv.gz", "wt") as fh:
        fh.write("distinct_id,event,timestamp\nd3,open,2026-06-01T00:00:00Z\n")
    rep = ws.import_events([str(tmp_path / "p*")])
    assert rep.rows_added == 3
    assert ws.con.execute("SELECT count(DISTINCT user_id) FROM events").fetchone()[0] == 3


def test_mixed_types_in_json_lines(ws, tmp_path):
    p = write(tmp_path / "m.jsonl", '{"user_id": "u1", "event": "buy", "timestamp": "2026-06-01", "revenue": 5}\n'
                                   '{"user_id": "u2", "event": "buy", "timestamp": "2026-06-01", "revenue": "lots"}\n')
    with pytest.raises(ValidationError) as err:
        ws.import_events(str(p))
    assert "row 2" in str(err.value) and "revenue" in str(err.value)


def test_explicit_mapping(ws, tmp_path):
    p = write(tmp_path / "m.csv", "member_no,what,at\nm1,open,2026-06-01\n")
    ws.import_events(str(p), mapping={"user_id": "member_no", "event": "what", "ts": "at"})
    assert ws.con.execute("SELECT user_id, event FROM events").fetchall() == [("m1", "open")]
    with pytest.raises(InputFileError) as err:
        ws.import_events(str(p), mapping={"user_id": "nope"})
    assert "no column 'nope'" in str(err.value)


def test_later_identify_merges_history(ws, tmp_path):
    ws.import_events(str(write(tmp_path / "a.csv", "distinct_id,event,timestamp\nanon9,open,2026-06-01\n")))
    ws.import_events(str(write(tmp_path / "b.csv", "user_id,event,timestamp\nu9,buy,2026-06-02\n")))
    assert ws.con.execute("SELECT count(DISTINCT user_id) FROM events").fetchone()[0] == 2
    moved = ws.identify([("anon9", "u9")])
    assert moved == 1
    assert ws.con.execute("SELECT DISTINCT user_id FROM events").fetchall() == [("u9",)]
    assert ws.clustered  # rewritten in (user_id, ts) order after the merge


def test_spend_import_replaces_same_key(ws, tmp_path):
    a = write(tmp_path / "s1.csv", "date,channel,campaign,placement,cost,clicks\n2026-06-01,search,brand,kw1,100,10\n"
                                  "2026-06-01,feed,main,slot1,50,5\n")
    b = write(tmp_path / "s2.csv", "date,channel,campaign,placement,cost,clicks\n2026-06-01,search,brand,kw1,120,12\n")
    ws.import_spend(str(a))
    ws.import_spend(str(a))
    assert ws.con.execute("SELECT sum(cost) FROM spend").fetchone()[0] == 150
    ws.import_spend(str(b))
    assert ws.con.execute("SELECT sum(cost), sum(clicks) FROM spend").fetchone() == (170, 17)
    assert ws.con.execute("SELECT DISTINCT currency FROM spend").fetchall() == [("CNY",)]


def test_spend_bad_rows(ws, tmp_path):
    p = write(tmp_path / "s.csv", "date,channel,cost\n2026-06-01,search,-5\n2026-06-02,search,abc\n")
    with pytest.raises(ValidationError) as err:
        ws.import_spend(str(p))
    assert "2 of 2" in str(err.value) and "non-negative" in str(err.value)
    assert ws.con.execute("SELECT count(*) FROM spend").fetchone()[0] == 0


def test_clustered_layout(ws, tmp_path):
    rows = "".join(f"u{i % 7},e,2026-06-{1 + i % 20:02d}T{i % 24:02d}:00:00Z\n" for i in range(200))
    ws.import_events(str(write(tmp_path / "a.csv", "user_id,event,timestamp\n" + rows)))
    rows2 = "".join(f"u{i % 5},f,2026-06-{1 + i % 25:02d}T{i % 24:02d}:30:00Z\n" for i in range(100))
    ws.import_events(str(write(tmp_path / "b.csv", "user_id,event,timestamp\n" + rows2)))
    stored = ws.con.execute("SELECT user_id, ts FROM events").fetchall()
    assert stored == sorted(stored)
    assert ws.clustered


def test_duplicates_within_one_import(ws, tmp_path):
    a = write(tmp_path / "a.csv", "user_id,event,timestamp\nu1,open,2026-06-01\nu1,open,2026-06-01\nu2,open,2026-06-01\n")
    b = write(tmp_path / "b.csv", "user_id,event,timestamp\nu2,open,2026-06-01\nu3,open,2026-06-01\n")
    rep = ws.import_events([str(a), str(b)])
    # u1's two identical rows in a.csv are two events (see test_import_identical_rows.py); u2's row in b.csv
    # is the one in a.csv (overlapping files)
    assert rep.rows_read == 5 and rep.rows_added == 4 and rep.duplicates == 1 and rep.identical_rows == 1
    assert ws.con.execute("SELECT user_id FROM events ORDER BY 1").fetchall() == [("u1",), ("u1",), ("u2",), ("u3",)]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_non_finite_amounts_are_rejected(ws, tmp_path, value):
    p = write(tmp_path / "s.csv", f"date,channel,cost\n2026-06-01,search,10\n2026-06-02,search,{value}\n")
    with pytest.raises(ValidationError) as err:
        ws.import_spend(str(p))
    assert "row 2 (line 3)" in str(err.value) and "cost" in str(err.value) and value in str(err.value)
    assert ws.con.execute("SELECT count(*) FROM spend").fetchall()[0][0] == 0


def test_non_finite_parquet_revenue_is_rejected(ws, tmp_path):
    tbl = pa.table({"user_id": ["u1", "u2"], "event": ["buy", "buy"],
                    "timestamp": ["2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z"], "revenue": [1.0, float("nan")]})
    pq.write_table(tbl, tmp_path / "r.parquet")
    with pytest.raises(ValidationError) as err:
        ws.import_events(str(tmp_path / "r.parquet"))
    assert "row 2" in str(err.value) and "revenue" in str(err.value)


def test_fractional_counts_are_rejected(ws, tmp_path):
    p = write(tmp_path / "s.csv", "date,channel,cost,clicks\n2026-06-01,search,10,12.5\n")
    with pytest.raises(ValidationError, match="clicks .*whole number"):
        ws.import_spend(str(p))


def test_ragged_csv_names_the_line(ws, tmp_path):
    p = write(tmp_path / "r.csv", "user_id,event,timestamp\nu1,open,2026-06-01\nu2,open\nu3,open,2026-06-01\n")
    with pytest.raises(InputFileError) as err:
        ws.import_events(str(p))
    assert "r.csv" in str(err.value) and "Columns found" not in str(err.value)
    assert ws.counts()["events"] == 0


def test_bad_json_line_is_named(ws, tmp_path):
    p = write(tmp_path / "b.jsonl", '{"user_id":"u1","event":"a","timestamp":"2026-06-01"}\n'
                                   '{"user_id":"u2","event":"a","timestamp":"2026-06-01"}\n{"user_id": oops}\n')
    with pytest.raises(InputFileError, match="line 3 is not valid JSON"):
        ws.import_events(str(p))


def test_identity_cycle_collapses(ws, tmp_path):
    ws.import_events(str(write(tmp_path / "a.csv", "distinct_id,event,timestamp\nx1,open,2026-06-01\nx2,open,2026-06-02\n")))
    ws.identify([("x1", "x2")])
    ws.identify([("x2", "x1")])
    assert ws.con.execute("SELECT count(DISTINCT user_id) FROM events").fetchall()[0][0] == 1
    assert ws.con.execute("SELECT count(*) FROM identities WHERE distinct_id = user_id").fetchall()[0][0] == 0
