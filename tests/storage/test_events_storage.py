"""How ``events`` is stored: the event id compressed with ZSTD where the database's storage version allows it
(``storage.connection.events_ddl_for``), DuckDB's default elsewhere; the table keeps its definition through the
rewrites in (user, time) order."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

import yunying
from yunying.config import DATABASE_FILE, WorkspaceConfig
from yunying.storage.connection import _storage_version, events_ddl_for


def _events_file(path, n=3000) -> str:
    rows = [{"user_id": f"u{i % 40}", "event": ["open", "buy"][i % 2], "ts": f"2026-06-{1 + i % 27:02d} 10:00:00",
             "event_uuid": f"{i:08x}-7b1c-4e2a-9d3f-{i * 7919:012x}" if i % 9 else None} for i in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), path)
    return str(path)


def _uuid_compression(con) -> set[str]:
    con.execute("CHECKPOINT")
    return {r[0] for r in con.execute("SELECT DISTINCT compression FROM pragma_storage_info('events') "
                                      "WHERE column_name = 'event_uuid' AND segment_type <> 'VALIDITY'").fetchall()}


def _definition(con) -> str:
    return con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'events'").fetchall()[0][0]


def test_a_new_workspace_stores_the_event_id_with_zstd_and_keeps_it_through_the_sorts(tmp_path):
    f = _events_file(tmp_path / "e.parquet")
    ws = yunying.Workspace.init(tmp_path / "ws")
    assert _storage_version(ws.con) >= (1, 2)  # a file DuckDB 2 makes
    ws.import_events([f])  # small: rewritten in (user, time) order by events_keys.rewrite_sorted
    assert "USING COMPRESSION ZSTD" in _definition(ws.con).upper()
    assert _uuid_compression(ws.con) == {"ZSTD"}
    ws.optimize()  # was CREATE OR REPLACE … AS, which dropped the definition
    definition = _definition(ws.con).upper()
    assert "USING COMPRESSION ZSTD" in definition and "EVENT_KEY UHUGEINT NOT NULL" in definition
    assert _uuid_compression(ws.con) == {"ZSTD"}
    ids = ws.con.execute("SELECT count(event_uuid), count(DISTINCT event_uuid), count(*) FROM events").fetchall()[0]
    assert ids == (3000 - 334, 3000 - 334, 3000)  # every 9th row without id (i % 9 == 0: 334 of 3000)
    ws.close()


def test_an_older_storage_version_gets_the_default_definition_and_imports_alike(tmp_path):
    """A workspace whose database file has storage version 1.0 (made by an older DuckDB): ZSTD is refused
    there, so the events table takes DuckDB's default; the import is the same."""
    f = _events_file(tmp_path / "e.parquet")
    (tmp_path / "old").mkdir()
    con = duckdb.connect()
    con.execute(f"ATTACH '{tmp_path / 'old' / DATABASE_FILE}' AS old (STORAGE_VERSION 'v1.0.0')")
    con.execute("DETACH old")
    con.close()
    old = yunying.Workspace.init(tmp_path / "old", exist_ok=True)
    assert _storage_version(old.con) == (1, 0)
    assert "COMPRESSION" not in _definition(old.con).upper()
    new = yunying.Workspace.init(tmp_path / "new")
    for ws in (old, new):
        ws.import_events([f])
        ws.optimize()
    assert "COMPRESSION" not in _definition(old.con).upper()
    assert _uuid_compression(old.con) != {"ZSTD"}
    rows = "SELECT user_id, event, ts, event_uuid, event_key FROM events ORDER BY ALL"
    assert old.con.execute(rows).fetchall() == new.con.execute(rows).fetchall()
    for ws in (old, new):
        ws.close()


def test_in_memory_the_default_definition():
    con = duckdb.connect()
    assert _storage_version(con) == ()
    assert "COMPRESSION" not in events_ddl_for(con).upper()
    ws = yunying.Workspace.in_memory(WorkspaceConfig(name="memory"))
    assert "COMPRESSION" not in _definition(ws.con).upper()
    ws.close()
