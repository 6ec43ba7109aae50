"""The sequence store's stamp (storage/store_stamp.py): a read-only process that finds the database's files as
a stamp recorded them reads the store without opening DuckDB, and a store whose events changed is never read
- after an import, a capture ingest, plain SQL, a commit left in the write-ahead log by a process that died
before anything else, a workspace deleted and imported anew, or a database file rewritten in place with its
size and modification time put back. Every answer is checked against the same analysis reading DuckDB."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.analyses import registry
from yunying.config import DATABASE_FILE
from yunying.engines.duckdb import DuckDBEngine
from yunying.storage import sequence_store as store
from yunying.storage import store_stamp

from analytics_helpers import T0, events_table
from test_sequence_store import disk_ws

SRC = str(Path(yunying.__file__).resolve().parents[1])
SPEC = dict(steps=["A", "B"], window="1h")


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch):
    """Files count as settled 50 ms after their last change (2 s in use): the tests wait that long instead."""
    monkeypatch.setattr(store_stamp, "SETTLE_NS", 50_000_000)


def settle():
    time.sleep(0.1)


def counts(ws, use_store=True) -> list[int]:
    eng = DuckDBEngine(ws, use_store=use_store)
    return registry.get("funnel").run(eng, SPEC).frame["count"].tolist()


def read(path) -> tuple[list[int], bool, bool]:
    """A read-only process's funnel: (counts, whether the store answered it, whether DuckDB was opened), after
    checking the counts against the funnel read from DuckDB."""
    ws = yunying.open(path, read_only=True)
    try:
        used = store.open_store(ws) is not None
        got = counts(ws)
        connected = ws._con is not None
        assert got == counts(ws, use_store=False)  # the oracle: the events in DuckDB
        return got, used, connected
    finally:
        ws.close()


def rows(n=20):
    out = [(f"u{i}", "A", T0 + dt.timedelta(hours=i)) for i in range(n)]
    return out + [(f"u{i}", "B", T0 + dt.timedelta(hours=i, minutes=5)) for i in range(0, n, 2)]


def captured(rows) -> pa.Table:
    """A capture batch (what the server's normaliser hands ``ingest_events``): the events table's columns."""
    from yunying.server.normalize import ARROW_SCHEMA

    cols = {f.name: [None] * len(rows) for f in ARROW_SCHEMA}
    cols.update(user_id=[r[0] for r in rows], distinct_id=[r[0] for r in rows], event=[r[1] for r in rows],
                ts=[r[2] for r in rows])
    return pa.Table.from_pydict(cols, schema=ARROW_SCHEMA)


def stamped_ws(tmp_path) -> Path:
    ws = disk_ws(tmp_path, rows())
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    settle()
    path = tmp_path / "ws"
    assert read(path) == ([20, 10], True, True)  # DuckDB asked once: then the stamp is written
    assert (path / store.STORE_DIR / store_stamp.STAMP).exists()
    assert read(path) == ([20, 10], True, False)  # no DuckDB
    return path


def test_the_stamp_answers_without_duckdb_until_the_events_change(tmp_path):
    path = stamped_ws(tmp_path)
    # a capture ingest (the server's way in): committed, the store is stale and the stamp no longer vouches
    ws = yunying.open(path)
    ws.ingest_events(captured([(f"u{i}", "B", T0 + dt.timedelta(hours=i, minutes=9)) for i in range(1, 20, 2)]))
    ws.close()
    settle()
    assert read(path) == ([20, 20], False, True)
    # rebuilt and stamped again, then a file import
    ws = yunying.open(path)
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    settle()
    assert read(path)[1:] == (True, True) and read(path) == ([20, 20], True, False)
    f = tmp_path / "more.parquet"
    pq.write_table(events_table([("u99", "A", T0)]), f)
    ws = yunying.open(path)
    ws.import_events([str(f)])
    ws.close()
    settle()
    assert read(path) == ([21, 20], False, True)


def test_plain_sql_behind_yunyings_back_is_noticed(tmp_path):
    path = stamped_ws(tmp_path)
    ws = yunying.open(path)
    ws.con.execute("DELETE FROM events WHERE user_id = 'u2'")  # no new events_version: the row count tells
    ws.close()
    settle()
    assert read(path) == ([19, 9], False, True)


def test_a_commit_left_in_the_log_by_a_process_that_died_is_noticed(tmp_path):
    """A writer commits (the change is in the write-ahead log, not yet checkpointed) and dies before anything
    else: no stamp written after the commit, the one before no longer matches."""
    path = stamped_ws(tmp_path)
    db = path / DATABASE_FILE
    code = f"""
import duckdb, os
con = duckdb.connect({str(db)!r})
con.execute("SET wal_autocheckpoint = '10GB'")
con.execute("UPDATE events SET event = 'B' WHERE user_id = 'u1'")
con.execute("INSERT OR REPLACE INTO meta VALUES ('events_version', 'changed-by-hand')")
os._exit(0)  # no close, no checkpoint
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    assert (path / f"{DATABASE_FILE}.wal").exists()
    settle()
    assert store_stamp.vouched(path / store.STORE_DIR, db) is None
    assert read(path) == ([19, 10], False, True)  # u1 has a B and no A now
    ws = yunying.open(path, read_only=True)
    assert ws.con.execute("SELECT count(*) FROM events WHERE user_id = 'u1' AND event = 'B'").fetchall()[0][0] == 1
    ws.close()


def test_a_workspace_deleted_and_imported_anew_is_noticed(tmp_path):
    """The database removed and the same number of events imported again (other events): the old store folder
    and its stamp stay, but name other files."""
    path = stamped_ws(tmp_path)
    kept = tmp_path / "kept"
    shutil.copytree(path / store.STORE_DIR, kept)
    (path / DATABASE_FILE).unlink()
    shutil.rmtree(path / store.STORE_DIR)
    other = [(u, "B" if e == "A" else "A", t) for u, e, t in rows()]
    f = tmp_path / "other.parquet"
    pq.write_table(events_table(other), f)
    ws = yunying.open(path)
    ws.import_events([str(f)])
    ws.close()
    shutil.rmtree(path / store.STORE_DIR, ignore_errors=True)
    shutil.copytree(kept, path / store.STORE_DIR)  # the old store and its stamp back in place
    settle()
    assert store_stamp.vouched(path / store.STORE_DIR, path / DATABASE_FILE) is None
    assert read(path) == ([10, 0], False, True)


def test_a_file_rewritten_with_its_size_and_modification_time_put_back_is_noticed(tmp_path):
    path = stamped_ws(tmp_path)
    db = path / DATABASE_FILE
    st = db.stat()
    data = bytearray(db.read_bytes())
    data[-1] ^= 0  # the same bytes: only the act of writing is to be noticed
    db.write_bytes(bytes(data))
    os.utime(db, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (db.stat().st_size, db.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert store_stamp.vouched(path / store.STORE_DIR, db) is None  # its change time moved
    settle()
    assert read(path) == ([20, 10], True, True)  # asked DuckDB, which says the store matches: stamped anew
    assert read(path) == ([20, 10], True, False)


def test_files_changed_too_recently_are_not_stamped(tmp_path, monkeypatch):
    monkeypatch.setattr(store_stamp, "SETTLE_NS", 3600 * 10**9)
    ws = disk_ws(tmp_path, rows())
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    assert read(tmp_path / "ws") == ([20, 10], True, True)
    assert not (tmp_path / "ws" / store.STORE_DIR / store_stamp.STAMP).exists()
    assert read(tmp_path / "ws") == ([20, 10], True, True)


@pytest.mark.parametrize("stamp", ['{"id": null}', "[]", "not json", '{"files": 1}'])
def test_a_damaged_stamp_vouches_for_nothing(tmp_path, stamp):
    path = stamped_ws(tmp_path)
    (path / store.STORE_DIR / store_stamp.STAMP).write_text(stamp)
    assert store_stamp.vouched(path / store.STORE_DIR) is None
    assert read(path) == ([20, 10], True, True)


def test_the_command_line_reads_a_stamped_store_without_opening_duckdb(tmp_path):
    """Nor importing it; without a stamp it is imported and opened on first use, and answers the same."""
    path = stamped_ws(tmp_path)
    code = f"""
import json, sys
sys.argv = ['yunying', 'funnel', '-w', {str(path)!r}, '--steps', 'A,B', '--window', '1h', '-f', 'json']
import yunying.cli
try:
    yunying.cli.main()
except SystemExit as e:
    assert not e.code, e.code
print('#OPENED', int('_duckdb' in sys.modules))  # DuckDB not even imported
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    text, opened = out.stdout.rsplit("#OPENED", 1)
    assert [s["count"] for s in json.loads(text)["steps"]] == [20, 10] and int(opened) == 0
    (path / store.STORE_DIR / store_stamp.STAMP).unlink()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "YUNYING_KERNELS": "jit"})
    assert out.returncode == 0, out.stderr
    text, opened = out.stdout.rsplit("#OPENED", 1)
    assert [s["count"] for s in json.loads(text)["steps"]] == [20, 10] and int(opened) == 1


def test_no_stamp_when_a_commit_lands_while_duckdb_is_asked(tmp_path, monkeypatch):
    """A thread of the same process commits between the stat of the files and DuckDB's answer: the answer is
    used once (it was right when given) but not stamped."""
    ws = disk_ws(tmp_path, rows())
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    settle()
    ws = yunying.open(tmp_path / "ws")
    real = store.fingerprint

    def fingerprint_then_commit(w):
        key = real(w)
        w.con.execute("INSERT OR REPLACE INTO meta VALUES ('unrelated', 'x')")
        return key

    monkeypatch.setattr(store, "fingerprint", fingerprint_then_commit)
    store.forget(ws)
    assert store.open_store(ws) is not None
    assert not (tmp_path / "ws" / store.STORE_DIR / store_stamp.STAMP).exists()
    ws.close()
