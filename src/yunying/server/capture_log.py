"""The capture log: every accepted request, durable before capture answers 2xx.

A SQLite database in WAL mode with ``synchronous=FULL`` (``capture/capture.sqlite3``).
One row per accepted request holds its events as an Arrow IPC stream (already
typed by :mod:`.normalize`) and its identity merges as JSON. One writer thread
commits whatever requests are waiting in one transaction (group commit), so
many concurrent requests share one fsync. The ingester reads rows after its
watermark and moves them into DuckDB; rows are deleted only once a published
snapshot contains them (and ``log_retention_hours`` have passed).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .errors import Unavailable
from .keys import connect_sqlite

log = logging.getLogger("yunying.server")

LOG_DDL = (
    "CREATE TABLE IF NOT EXISTS capture_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL, "
    "source TEXT NOT NULL, events INTEGER NOT NULL, data BLOB, merges TEXT)"
)
FAILED_DDL = "CREATE TABLE IF NOT EXISTS capture_failed (seq INTEGER PRIMARY KEY, failed_at REAL NOT NULL, error TEXT)"
_MAX_GROUP = 2000  # requests per commit


@dataclass
class LogBatch:
    seq: int
    events: int
    table: pa.Table | None
    merges: list[tuple[str, str]]
    profiles: list[list] = field(default_factory=list)  # [id, key, JSON value, set_at µs, once]


def to_ipc(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


class CaptureLog:
    """Append accepted requests durably; read them back in order.

    >>> import tempfile, pathlib
    >>> cl = CaptureLog(pathlib.Path(tempfile.mkdtemp()) / "capture.sqlite3"); cl.start()
    >>> cl.append("posthog", None, [("anon-1", "user-1")]).result()
    1
    >>> [b.merges for b in cl.read_after(0)]
    [[('anon-1', 'user-1')]]
    >>> cl.close()
    """

    def __init__(self, path: Path, max_pending: int = 1_000_000):
        self.path = path
        self.max_pending = max_pending
        self._con = connect_sqlite(path)
        self._con.execute(LOG_DDL)
        self._con.execute(FAILED_DDL)
        self._reader = connect_sqlite(path)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.on_commit = lambda: None
        self.last_seq = self.max_seq()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"capture-log:{self.path.parent.parent.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then stop taking requests (reading still works)."""
        with self._pending_lock:
            self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._con.close()
        self._reader.close()

    def ensure_after(self, seq: int) -> None:
        """Make new rows number after ``seq`` (the database's watermark), even if this log was recreated."""
        if self.max_seq() < seq:
            self._con.execute("INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('capture_log', ?)", [seq])
            self.last_seq = seq

    # -- writing ---------------------------------------------------------------------
    def append(self, source: str, table: pa.Table | None, merges: list[tuple[str, str]],
               profiles: list[list] = ()) -> Future:
        """Queue one request's events (merges and profile updates); the future resolves to its sequence number
        once committed. Merges are stored as a JSON list, or with profile updates as
        ``{"merges": [...], "profiles": [...]}``."""
        n = table.num_rows if table is not None else 0
        with self._pending_lock:
            if self._closed:
                raise Unavailable(key="capture_log.server_shutting_down_retry")
            if self._pending and self._pending + n > self.max_pending:
                raise Unavailable(key="capture_log.events_are_waiting_stored", _pending=self._pending)
            self._pending += n
        data = to_ipc(table) if table is not None else None
        fut: Future = Future()
        extra = (json.dumps({"merges": list(merges), "profiles": list(profiles)}, ensure_ascii=False) if profiles
                 else json.dumps(merges) if merges else None)
        self._queue.put((source, n, data, extra, fut))
        return fut

    def _run(self) -> None:
        con = self._con
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            items = [item]
            while len(items) < _MAX_GROUP:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                items.append(nxt)
            now = time.time()
            try:
                con.execute("BEGIN IMMEDIATE")
                seqs = [con.execute("INSERT INTO capture_log (received_at, source, events, data, merges) "
                                    "VALUES (?, ?, ?, ?, ?)", [now, src, n, data, merges]).lastrowid
                        for src, n, data, merges, _ in items]
                con.execute("COMMIT")
            except Exception as exc:  # disk full, I/O error: the clients retry (503)
                log.exception("capture log commit failed")
                try:
                    con.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - already rolled back
                    pass
                error = Unavailable(key="capture_log.could_store_events_retry", __name__=type(exc).__name__, exc=exc)
                for *_, fut in items:
                    fut.set_exception(error)
            else:
                self.last_seq = seqs[-1]
                for seq, (*_, fut) in zip(seqs, items):
                    fut.set_result(seq)
                self.on_commit()
            finally:
                with self._pending_lock:
                    self._pending -= sum(it[1] for it in items)

    # -- reading (the ingester's thread) -----------------------------------------------
    def max_seq(self) -> int:
        row = self._reader.execute("SELECT max(seq) FROM capture_log").fetchone()
        seq_row = self._reader.execute("SELECT seq FROM sqlite_sequence WHERE name = 'capture_log'").fetchone()
        return max(row[0] or 0, seq_row[0] if seq_row else 0)

    def read_after(self, seq: int, max_events: int = 200_000, max_rows: int | None = None) -> list[LogBatch]:
        """Rows after ``seq`` in order, up to about ``max_events`` events (at least one row)."""
        out: list[LogBatch] = []
        total = 0
        cur = self._reader.execute(
            "SELECT seq, events, data, merges FROM capture_log WHERE seq > ? ORDER BY seq", [seq])
        for s, n, data, merges in cur:
            table = from_ipc(data) if data is not None else None
            extra = json.loads(merges) if merges else []
            if isinstance(extra, dict):
                out.append(LogBatch(s, n, table, [tuple(p) for p in extra["merges"]], extra["profiles"]))
            else:
                out.append(LogBatch(s, n, table, [tuple(p) for p in extra]))
            total += n
            if total >= max_events or (max_rows is not None and len(out) >= max_rows):
                break
        cur.close()
        return out

    def record_failure(self, seq: int, error: str) -> None:
        self._reader.execute("INSERT OR REPLACE INTO capture_failed VALUES (?, ?, ?)", [seq, time.time(), error])

    def failures(self) -> int:
        return self._reader.execute("SELECT count(*) FROM capture_failed").fetchone()[0]

    def prune(self, upto_seq: int, older_than_hours: float) -> int:
        """Delete rows a published snapshot holds and that are older than the retention."""
        cutoff = time.time() - older_than_hours * 3600
        return self._reader.execute("DELETE FROM capture_log WHERE seq <= ? AND received_at < ?",
                                    [upto_seq, cutoff]).rowcount
