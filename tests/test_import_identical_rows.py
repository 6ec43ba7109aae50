"""Rows identical in every field (no event id) are separate events: the k-th copy of a row in a file is the
same event on every re-import, so re-importing changes nothing and identical purchases all count.

Overlapping files (the same rows in two files, e.g. exports with overlapping windows) do not double count:
a row stored n times is the largest number of copies of it in any one file.
"""
from __future__ import annotations

import csv
import io

import pytest

from util import shared_file, write

HEAD = "user_id,event,timestamp,revenue\n"
BUY = "u1,buy,2026-06-01T10:00:00Z,9.5\n"


def _stored(ws):
    return ws.con.execute("SELECT count(*), sum(revenue) FROM events").fetchone()


def test_identical_rows_are_all_kept_and_reported(ws, tmp_path):
    f = write(tmp_path / "a.csv", HEAD + BUY * 3 + "u2,buy,2026-06-01T10:00:00Z,9.5\n")
    rep = ws.import_events(str(f))
    assert (rep.rows_read, rep.rows_added, rep.duplicates, rep.identical_rows) == (4, 4, 0, 2)
    assert any("2 row(s) identical to an earlier row of the same file" in m for m in rep.messages)
    assert _stored(ws) == (4, 38.0)
    again = ws.import_events(str(f))  # idempotent
    assert (again.rows_added, again.duplicates, again.identical_rows) == (0, 4, 0)
    assert _stored(ws) == (4, 38.0)


def test_more_copies_in_a_later_file_add_only_the_extra_ones(ws, tmp_path):
    ws.import_events(str(write(tmp_path / "a.csv", HEAD + BUY * 2)))
    rep = ws.import_events(str(write(tmp_path / "b.csv", HEAD + BUY * 3)))
    assert (rep.rows_added, rep.duplicates, rep.identical_rows) == (1, 2, 1)
    assert _stored(ws) == (3, 28.5)


def test_overlapping_files_in_one_import_do_not_double_count(ws, tmp_path):
    a = write(tmp_path / "a.csv", HEAD + BUY * 2 + "u2,buy,2026-06-02T10:00:00Z,1\n")
    b = write(tmp_path / "b.csv", HEAD + BUY + "u2,buy,2026-06-02T10:00:00Z,1\nu3,buy,2026-06-02T10:00:00Z,1\n")
    rep = ws.import_events([str(a), str(b)])
    assert (rep.rows_read, rep.rows_added, rep.duplicates) == (6, 4, 2)
    assert _stored(ws) == (4, 21.0)


def test_rows_with_an_event_id_deduplicate_on_it(ws, tmp_path):
    f = write(tmp_path / "a.csv", "uuid," + HEAD + ("e1," + BUY) * 2 + "e2," + BUY)
    rep = ws.import_events(str(f))
    assert (rep.rows_added, rep.duplicates, rep.identical_rows) == (2, 1, 0)


def test_keys_of_single_rows_do_not_change(ws, tmp_path):
    """A row that occurs once keeps the key earlier versions stored, so old workspaces stay idempotent."""
    ws.import_events(str(write(tmp_path / "a.csv", HEAD + BUY)))
    key = ws.con.execute("SELECT event_key FROM events").fetchone()[0]
    content = chr(31).join(["u1", "", "buy", "2026-06-01 10:00:00", "", "", "", "", "9.5", "", "", ""])
    expected = ws.con.execute("SELECT md5_number(?)", ["h" + content]).fetchone()[0]
    assert key == expected


def test_cdnow_published_total(ws, tmp_path):
    """CDNOW: 69,659 purchases, $2,500,315.63 (../shared/datasets/README.md); 255 rows repeat another row."""
    src = shared_file("datasets/CDNOW_master.txt")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["user_id", "event", "date", "cds", "revenue"])
    lines = src.read_text().split("\n")[1:]
    for line in lines:
        if line.strip():
            cid, date, cds, value = line.split()
            w.writerow([cid, "purchase", date, cds, value])
    f = write(tmp_path / "cdnow.csv", out.getvalue())
    rep = ws.import_events(str(f), mapping={"ts": "date"})
    assert rep.rows_added == 69_659 and rep.identical_rows == 255
    n, total, first, last, users = ws.con.execute(
        "SELECT count(*), sum(revenue), min(ts), max(ts), count(DISTINCT user_id) FROM events").fetchone()
    assert n == 69_659 and users == 23_570
    assert total == pytest.approx(2_500_315.63, abs=0.005)
    assert (str(first.date()), str(last.date())) == ("1997-01-01", "1998-06-30")


def _capture_table(parts):
    """Capture-style batch: the events columns (typed) plus the request number of each row."""
    import datetime as dt

    import pyarrow as pa

    from yunying.server.normalize import ARROW_SCHEMA

    rows = [(p, u) for p, users in enumerate(parts) for u in users]
    cols = {f.name: [None] * len(rows) for f in ARROW_SCHEMA}
    cols["distinct_id"] = [u for _, u in rows]
    cols["event"] = ["buy"] * len(rows)
    cols["ts"] = [dt.datetime(2026, 6, 1, 10)] * len(rows)
    cols["revenue"] = [9.5] * len(rows)
    table = pa.Table.from_pydict(cols, schema=ARROW_SCHEMA)
    return table.append_column("__file", pa.array([p for p, _ in rows], pa.int32()))


def test_capture_ingest_keeps_identical_events_of_one_request(ws):
    """Two identical events (no uuid) in one request are two; the same request sent again adds nothing."""
    rep = ws.ingest_events(_capture_table([["u1", "u1"], ["u1", "u1"]]), source="capture",
                           meta={"test_watermark": "7"})
    assert (rep.rows_read, rep.rows_added, rep.identical_rows) == (4, 2, 1)
    again = ws.ingest_events(_capture_table([["u1", "u1", "u1"]]), merges=[("u1", "p1")])
    assert (again.rows_added, again.identities_added, again.events_reassigned) == (1, 1, 2)  # the new one arrives as p1
    assert ws.meta("test_watermark") == "7"
    assert ws.con.execute("SELECT user_id, count(*) FROM events GROUP BY 1").fetchall() == [("p1", 3)]
    # one imports row per day for capture
    assert ws.con.execute("SELECT rows_read, rows_added FROM imports WHERE source = 'capture'").fetchall() == [(7, 3)]


def test_identical_spend_rows_are_one_row_and_reported(ws, tmp_path):
    row = "2026-06-01,search,brand,kw1,100\n"
    a = write(tmp_path / "s1.csv", "date,channel,campaign,placement,cost\n" + row * 2)
    b = write(tmp_path / "s2.csv", "date,channel,campaign,placement,cost\n" + row)
    rep = ws.import_spend([str(a), str(b)])
    assert (rep.rows_read, rep.rows_added) == (3, 1)
    assert any("2 row(s) identical to another row of this import counted once" in m for m in rep.messages)
    assert ws.con.execute("SELECT sum(cost) FROM spend").fetchone()[0] == 100
