"""Captured events in the command line's view: a snapshot that holds what the server acknowledged.

While ``yunying serve`` runs, other processes read the snapshot it publishes (``live.py``). A command that opens
the workspace first compares the snapshot's watermark with the capture log:

* a server runs and has acknowledged events the snapshot lacks: the command asks it to publish now (it touches
  ``capture/publish.request``; the ingester looks every quarter second) and waits for the new snapshot, so an
  acknowledged event is in the answer within about a second on a small or medium database;
* no server runs (it was killed, or the machine stopped) and the capture log holds events the database lacks: the
  command says so — ``yunying ingest`` moves them in — instead of silently showing fewer events.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .layout import WorkspacePaths

WAIT_SECONDS = 10.0   # how long a command waits for the snapshot a running server was asked for
POLL_SECONDS = 0.05


@dataclass
class Freshness:
    pending_events: int   # events acknowledged (in the capture log) but not in the database the command reads
    server_running: bool
    waited: float = 0.0
    pending_rows: int = 0  # capture log rows (requests) after the database's watermark, merges-only ones too

    def note(self, lang: str = "en") -> str | None:
        """What a reader is told about captured events the answer leaves out, in ``lang``; None when none."""
        from ..reports.format import count
        from ..reports.i18n import say

        if not self.pending_events:
            return None
        n = count(self.pending_events, lang)
        if self.server_running:
            return say("fresh.pending_running", lang, n=n, s=f"{self.waited:.0f}")
        return say("fresh.pending_stopped", lang, n=n)


def publish_request(paths: WorkspacePaths) -> Path:
    return paths.capture / "publish.request"


def _log_after(paths: WorkspacePaths, seq: int) -> tuple[int, int, int]:
    """(last sequence number, rows after ``seq``, events after ``seq``) of the capture log; zeros without one."""
    try:
        con = sqlite3.connect(f"file:{paths.capture_db}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return 0, 0, 0
    try:
        last, rows, events = con.execute(
            "SELECT max(seq), count(*) FILTER (WHERE seq > ?1), sum(events) FILTER (WHERE seq > ?1) "
            "FROM capture_log", [seq]).fetchone()
    except sqlite3.Error:  # no log table yet
        return 0, 0, 0
    finally:
        con.close()
    return int(last or 0), int(rows or 0), int(events or 0)


def snapshot_seq(paths: WorkspacePaths) -> int:
    """The capture watermark of the database file other processes read (0: never ingested anything)."""
    import duckdb

    from .live import WATERMARK_KEY

    try:
        con = duckdb.connect(str(paths.database), read_only=True)
    except duckdb.Error:
        return 0
    try:
        row = con.execute("SELECT value FROM meta WHERE key = ?", [WATERMARK_KEY]).fetchall()
    except duckdb.Error:
        return 0
    finally:
        con.close()
    return int(row[0][0]) if row and row[0][0] else 0


def check(root: str | Path, wait: float = WAIT_SECONDS) -> Freshness:
    """Make the snapshot of workspace ``root`` hold every acknowledged event when a server runs (asking it to
    publish and waiting up to ``wait`` seconds); report what is still missing."""
    paths = WorkspacePaths(Path(root).resolve())
    if not paths.capture_db.exists():
        return Freshness(0, False)
    from .live import server_lock_held

    seq = snapshot_seq(paths)
    last, rows, pending = _log_after(paths, seq)
    running = server_lock_held(paths)
    if not rows or not running:
        return Freshness(pending, running, pending_rows=rows)
    t0 = time.monotonic()
    publish_request(paths).touch()
    while time.monotonic() - t0 < wait:
        time.sleep(POLL_SECONDS)
        if snapshot_seq(paths) >= last:
            return Freshness(0, True, time.monotonic() - t0, 0)
        if not server_lock_held(paths):
            break
    seq = snapshot_seq(paths)
    _, rows, pending = _log_after(paths, seq)
    return Freshness(pending, server_lock_held(paths), time.monotonic() - t0, rows)
