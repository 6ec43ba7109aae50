"""One set of typing rules (model/typing.py) for file imports and capture: the same value gives the same
stored time — or an error naming the field — on both paths.

Expected values are worked by hand: 19970101 is 1997-01-01 00:00 in the import time zone (never
1970-08-20 05:48:21, its reading as epoch seconds); 1780300800 s = 2026-06-01 08:00 UTC.
"""
from __future__ import annotations

import datetime as dt
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.errors import ValidationError
from yunying.server.normalize import COLUMNS, Normalizer
from yunying.server.settings import ServerSettings

from util import write

NOW = int(dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
SHANGHAI = "Asia/Shanghai"

# (value as JSON, import time zone, expected UTC time or None for an error)
CASES = [
    (19970101, "UTC", dt.datetime(1997, 1, 1)),
    ("19970101", "UTC", dt.datetime(1997, 1, 1)),
    ("20260601", SHANGHAI, dt.datetime(2026, 5, 31, 16)),      # midnight in Shanghai
    (20260601, SHANGHAI, dt.datetime(2026, 5, 31, 16)),
    ("20261345", "UTC", None),                                  # 8 digits, no such date
    (20261345, "UTC", None),
    (10000101, "UTC", None),                                    # year 1000
    (19970101.5, "UTC", None),                                  # 8 digits, not whole
    (1780300800, "UTC", dt.datetime(2026, 6, 1, 8)),            # epoch seconds
    (1780300800000, "UTC", dt.datetime(2026, 6, 1, 8)),         # epoch milliseconds
    ("1780300800", "UTC", dt.datetime(2026, 6, 1, 8)),
    (-5, "UTC", None),                                          # 1969
    (10 ** 400, "UTC", None),                                   # beyond the float range
    ("1e300", "UTC", None),
    (4102444800, "UTC", None),                                  # 2100-01-01 00:00 UTC: outside 1970-2099
    (4102444799, "UTC", dt.datetime(2099, 12, 31, 23, 59, 59)),
    ("2100-01-01T00:00:00Z", "UTC", None),
    ("1710-05-01T00:00:00Z", "UTC", None),
    ("2026-06-01T08:30:00+08:00", "UTC", dt.datetime(2026, 6, 1, 0, 30)),
    ("2026-06-01 08:30:00", SHANGHAI, dt.datetime(2026, 6, 1, 0, 30)),
]


def _capture(value, tz):
    n = Normalizer(WorkspaceConfig(import_timezone=tz), ServerSettings(max_future_seconds=1e12))
    batch = n.posthog({"event": "e", "distinct_id": "u", "timestamp": value}, NOW)
    if batch.rejected:
        assert batch.rejected[0]["error"].startswith("timestamp: "), batch.rejected
        return None
    row = dict(zip(COLUMNS, [c[0] for c in batch.columns]))
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=row["ts"])


def _import(tmp_path, value, tz):
    ws = yunying.Workspace.init(tmp_path / "ws", WorkspaceConfig(import_timezone=tz))
    try:
        f = write(tmp_path / "e.jsonl", json.dumps({"user_id": "u", "event": "e", "timestamp": value}) + "\n")
        try:
            ws.import_events(str(f))
        except ValidationError as exc:
            assert "ts (column \"timestamp\")" in str(exc) and "1970-2099" in str(exc), str(exc)
            return None
        return ws.con.execute("SELECT ts FROM events").fetchone()[0]
    finally:
        ws.close()


@pytest.mark.parametrize("value, tz, expected", CASES)
def test_file_import_and_capture_read_a_timestamp_alike(tmp_path, value, tz, expected):
    assert _capture(value, tz) == expected
    assert _import(tmp_path, value, tz) == expected


def test_yyyymmdd_column_in_csv_with_map(ws, tmp_path):
    """`import events --map ts=date` on a Hive-style dt column."""
    f = write(tmp_path / "e.csv", "uid,event,date\n1,buy,19970101\n2,buy,19980630\n")
    ws.import_events(str(f), mapping={"ts": "date"})
    assert [r[0] for r in ws.con.execute("SELECT ts FROM events ORDER BY ts").fetchall()] == [
        dt.datetime(1997, 1, 1), dt.datetime(1998, 6, 30)]


def test_yyyymmdd_parquet_integers(ws, tmp_path):
    pq.write_table(pa.table({"user_id": ["u"], "event": ["e"], "dt": pa.array([20260601], pa.int32())}),
                   tmp_path / "e.parquet")
    ws.import_events(str(tmp_path / "e.parquet"), mapping={"ts": "dt"})
    assert ws.con.execute("SELECT ts FROM events").fetchone()[0] == dt.datetime(2026, 6, 1)


def test_native_timestamps_outside_the_years_are_rejected(ws, tmp_path):
    pq.write_table(pa.table({"user_id": ["u", "u"], "event": ["e", "e"],
                             "ts": pa.array([dt.datetime(2026, 1, 1), dt.datetime(1710, 5, 1)], pa.timestamp("us"))}),
                   tmp_path / "e.parquet")
    with pytest.raises(ValidationError, match="row 2: ts"):
        ws.import_events(str(tmp_path / "e.parquet"))


def test_spend_dates_outside_the_years_are_rejected(ws, tmp_path):
    f = write(tmp_path / "s.csv", "date,channel,cost\n2026-06-01,search,1\n1710-06-01,search,1\n")
    with pytest.raises(ValidationError, match=r"row 2 \(line 3\): date .*1970-2099"):
        ws.import_spend(str(f))


# -- capture: offset, revenue, nesting (issue 19 items 6 and 10) ------------------------------------------------
def _reject(event):
    n = Normalizer(WorkspaceConfig(), ServerSettings())
    batch = n.posthog({"batch": [event]}, NOW)
    assert batch.events == 0, "accepted"
    return batch.rejected[0]["error"]


@pytest.mark.parametrize("offset", [1e300, 2e13, float("inf"), -1, "5"])
def test_offset_outside_the_years_is_rejected(offset):
    # 2e13 ms before 2026-06-01 is 1392: the event dated 1710 of issue 19 came this way
    err = _reject({"event": "e", "distinct_id": "u", "offset": offset})
    assert err.startswith("batch[0]: offset: ")


def test_small_offset_is_accepted():
    n = Normalizer(WorkspaceConfig(), ServerSettings())
    batch = n.posthog({"event": "e", "distinct_id": "u", "offset": 1500}, NOW)
    assert batch.columns[3] == [NOW - 1_500_000]


@pytest.mark.parametrize("revenue", [float("inf"), float("-inf"), float("nan"), "1e400", "inf", 10 ** 400])
def test_revenue_must_be_finite(revenue):
    err = _reject({"event": "buy", "distinct_id": "u", "properties": {"revenue": revenue}})
    assert "properties.revenue: expected a" in err


def test_revenue_1e400_from_json_text():
    event = json.loads('{"event": "buy", "distinct_id": "u", "properties": {"revenue": 1e400}}')
    assert "finite number" in _reject(event)


def _nested(depth):
    v = "x"
    for _ in range(depth):
        v = [v]
    return v


@pytest.mark.parametrize("key", ["utm_source", "other"])
def test_values_nested_too_deeply_are_this_events_error(key):
    deep = _nested(sys.getrecursionlimit() + 10)
    err = _reject({"event": "e", "distinct_id": "u", "properties": {key: deep}})
    assert "nested too deeply" in err

