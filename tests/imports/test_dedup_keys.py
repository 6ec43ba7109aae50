"""De-duplication keys (``storage/events_keys.py``): events with an id de-duplicate on the id compared in full,
the 64-bit hash (``PREFILTER``) only picks the rows to compare, so a hash that collides for every row (forced
here) drops no distinct event; workspaces whose events carry the keys of earlier versions stay idempotent.
The expected counts come from the files themselves (distinct ids and distinct rows counted in Python)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.model.schema import EVENT_COLUMNS
from yunying.storage import event_import, events_keys

COLLIDE = "CAST(42 AS UBIGINT)"  # every row gets the same 64-bit hash


def _write(path, rows: list[dict]) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema(
        [("user_id", pa.string()), ("event", pa.string()), ("ts", pa.string()), ("event_uuid", pa.string())])), path)
    return str(path)


def _rows(prefix: str, n: int, with_id: bool) -> list[dict]:
    return [{"user_id": f"u{i % 7}", "event": "view", "ts": f"2026-06-01 00:{i // 60:02d}:{i % 60:02d}",
             "event_uuid": f"{prefix}{i}" if with_id else None} for i in range(n)]


def _distinct(rows: list[dict]) -> int:
    """Distinct events of one file by the documented rule: the id when there is one, else the whole row."""
    return len({r["event_uuid"] or tuple(sorted(r.items())) for r in rows})


def _ws(tmp_path, name="w"):
    return yunying.Workspace.init(tmp_path / name, WorkspaceConfig(name=name))


@pytest.fixture
def colliding(monkeypatch):
    monkeypatch.setattr(events_keys, "PREFILTER", COLLIDE)
    taken = []
    monkeypatch.setattr(event_import, "Repeats", type("Repeats", (event_import.Repeats,), {
        "__init__": lambda self: (taken.append(True), Exception.__init__(self))[1]}))
    return taken


def test_a_colliding_hash_drops_no_distinct_event(tmp_path, colliding):
    rows = _rows("e", 150, True) + _rows("x", 40, False)  # ids, and content-keyed rows (distinct times)
    rep = _ws(tmp_path).import_events(_write(tmp_path / "a.parquet", rows))
    assert rep.rows_added == _distinct(rows) == 190
    assert colliding == []  # every hash equal, yet the full comparison found no repeat: the one-scan path


def test_a_colliding_hash_still_finds_real_repeats(tmp_path, colliding):
    a = _rows("e", 100, True)
    b = [dict(r, ts="2026-06-02 00:00:00") for r in a[:30]] + _rows("f", 20, True)  # 30 ids sent again
    ws = _ws(tmp_path)
    rep = ws.import_events([_write(tmp_path / "a.parquet", a), _write(tmp_path / "b.parquet", b)])
    assert colliding == [True]  # the batch repeats ids: the staged rules keep one row per id
    assert rep.rows_added == len({r["event_uuid"] for r in a + b}) == 120
    assert ws.con.execute("SELECT count(DISTINCT event_uuid), count(*) FROM events").fetchall() == [(120, 120)]
    # one row per id, the earliest (the staged rule): none of the re-sent copies is kept
    assert ws.con.execute("SELECT count(*) FROM events WHERE ts >= '2026-06-02'").fetchall() == [(0,)]


def test_reimport_and_overlap_with_colliding_hash(tmp_path, colliding):
    a = _rows("e", 80, True) + _rows("x", 20, False)
    ws = _ws(tmp_path)
    first = _write(tmp_path / "a.parquet", a)
    assert ws.import_events(first).rows_added == 100
    assert ws.import_events(first).rows_added == 0
    b = a[:50] + _rows("g", 25, True)  # half stored already, 25 new ids
    rep = ws.import_events(_write(tmp_path / "b.parquet", b))
    assert (rep.rows_read, rep.rows_added, rep.duplicates) == (75, 25, 50)
    assert ws.counts()["events"] == _distinct(a + _rows("g", 25, True)) == 125


def test_identity_is_the_id_then_the_content_key():
    """Rows with the same id are one event whatever their content; rows without id are one event only when
    their content keys match; an id row and a content row never match (hand-worked with DuckDB)."""
    import duckdb

    con = duckdb.connect()
    cols = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in EVENT_COLUMNS
                     if c.name not in ("user_id", "event", "ts", "event_uuid"))
    rows = ("SELECT *, " + cols + " FROM (VALUES ('u1', 'a', TIMESTAMP '2026-06-01', 'id1'), "
            "('u2', 'b', TIMESTAMP '2026-06-02', 'id1'), ('u1', 'a', TIMESTAMP '2026-06-01', NULL), "
            "('u1', 'a', TIMESTAMP '2026-06-01', NULL), ('u1', 'a', TIMESTAMP '2026-06-03', NULL)) "
            "v(user_id, event, ts, event_uuid)")
    distinct = con.execute(f"SELECT count(DISTINCT {events_keys.IDENTITY}) FROM "
                           f"(SELECT event_uuid, {events_keys.KEY_SQL} AS event_key FROM ({rows}))").fetchall()
    assert distinct == [(3,)]  # id1; the two identical content rows; the later one


def test_workspace_with_earlier_keys_stays_idempotent(tmp_path):
    """Earlier versions stored md5('u' || event_uuid) as the key of an event with an id: a re-import into such a
    workspace adds nothing, and a capture batch re-sending those events adds nothing."""
    a = _rows("e", 60, True) + _rows("x", 10, False)
    ws = _ws(tmp_path)
    path = _write(tmp_path / "a.parquet", a)
    ws.import_events(path)
    ws.con.execute("UPDATE events SET event_key = md5_number('u' || event_uuid) WHERE event_uuid IS NOT NULL")
    assert ws.import_events(path).rows_added == 0
    b = a[:5] + _rows("n", 3, True)
    assert ws.import_events(_write(tmp_path / "b.parquet", b)).rows_added == 3
    captured = {c.name: pa.nulls(4, pa.float64() if c.sql_type == "DOUBLE" else pa.string()) for c in EVENT_COLUMNS}
    captured.update(user_id=pa.array(["u1"] * 4), distinct_id=pa.array(["u1"] * 4), event=pa.array(["view"] * 4),
                    ts=pa.array([1780272000000000] * 4, pa.timestamp("us")),
                    event_uuid=pa.array(["e1", "e2", "n0", "c9"]))
    assert ws.ingest_events(pa.table(captured)).rows_added == 1  # only c9 is new
    assert ws.counts()["events"] == 60 + 10 + 3 + 1
