"""Alert state in the workspace folder: ``alerts/state.sqlite3`` and the run lock ``alerts/run.lock``.

Why SQLite beside the DuckDB file: ``yunying alerts run`` is called from cron every few minutes, while a
server may own the DuckDB file (readers only) or an import may be writing it. The run reads events
read-only and keeps its own state in a small SQLite database, in transactions:

* ``checks``: each (rule, rule fingerprint, period) evaluated, with its outcome — a period is evaluated once
  per rule definition (editing a rule's condition re-checks it);
* ``fired``: each alert that fired, unique on (rule, period, period start) — the same alert is never
  recorded (or sent) twice, whatever the fingerprint;
* ``deliveries``: one row per (fired alert, channel): pending | sent | failed, attempts, the last error
  (never a secret), when it was sent. A delivery is marked sent in its own transaction right after the
  receiver accepted it;
* ``runs``: one row per run, with what it did and the errors it met.

Runs exclude each other with an exclusive ``flock`` on ``alerts/run.lock`` (a second run started while one
is going returns at once, reporting that); inside a process, the workspace lock orders the use of the
DuckDB connection as everywhere else.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from ..errors import restored

SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (rule TEXT NOT NULL, fingerprint TEXT NOT NULL, period TEXT NOT NULL,
  period_start TEXT NOT NULL, checked_at TEXT NOT NULL, outcome TEXT NOT NULL, value REAL,
  PRIMARY KEY (rule, fingerprint, period, period_start));
CREATE TABLE IF NOT EXISTS fired (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, period TEXT NOT NULL,
  period_start TEXT NOT NULL, fired_at TEXT NOT NULL, metric TEXT NOT NULL, value REAL, reference REAL,
  detail TEXT NOT NULL, UNIQUE (rule, period, period_start));
CREATE TABLE IF NOT EXISTS deliveries (fired_id INTEGER NOT NULL REFERENCES fired(id), channel TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT,
  updated_at TEXT NOT NULL, PRIMARY KEY (fired_id, channel));
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
  checked INTEGER, fired INTEGER, sent INTEGER, failed INTEGER, errors TEXT);
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class RunLocked(Exception):
    """Another ``alerts run`` holds the lock."""


class AlertState:
    """The alert state of one workspace folder. Use as a context manager."""

    def __init__(self, root: str | Path):
        self.dir = Path(root) / "alerts"
        self.dir.mkdir(parents=True, exist_ok=True)
        # Two runs started together (cron) would both switch the new file to WAL and create its tables;
        # SQLite answers one of them "database is locked" without waiting (the busy handler is not used for
        # a read snapshot turned stale), so opening is serialised by a file lock held for a moment.
        fd = os.open(self.dir / "open.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.con = sqlite3.connect(self.dir / "state.sqlite3", timeout=30, isolation_level=None)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.executescript(SCHEMA)
        finally:
            os.close(fd)
        self._lock_fd: int | None = None

    def close(self) -> None:
        self.unlock()
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the run lock -------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run lock or raise :class:`RunLocked` at once."""
        fd = os.open(self.dir / "run.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked("another `yunying alerts run` is in progress on this workspace") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    @contextmanager
    def transaction(self):
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    # -- checks and fired alerts --------------------------------------------------------------
    def checked(self, rule: str, fingerprint: str, period: str, start: dt.date) -> bool:
        return self.con.execute("SELECT 1 FROM checks WHERE rule=? AND fingerprint=? AND period=? AND period_start=?",
                                [rule, fingerprint, period, start.isoformat()]).fetchone() is not None

    def record(self, rule: str, fingerprint: str, period: str, start: dt.date, outcome: str, value,
               fired: dict | None, channels: list[str]) -> int | None:
        """Record a check, and when ``fired`` (metric, value, reference, detail) the alert and one pending
        delivery per channel, in one transaction. Returns the new alert's id, or None when it was not new."""
        now = _now()
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO checks VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [rule, fingerprint, period, start.isoformat(), now, outcome, value])
            if fired is None:
                return None
            cur = con.execute("INSERT OR IGNORE INTO fired (rule, period, period_start, fired_at, metric, value, "
                              "reference, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              [rule, period, start.isoformat(), now, fired["metric"], fired.get("value"),
                               fired.get("reference"), json.dumps(fired.get("detail", {}), ensure_ascii=False)])
            if cur.rowcount == 0:
                return None
            fid = cur.lastrowid
            con.executemany("INSERT INTO deliveries (fired_id, channel, status, updated_at) VALUES (?, ?, 'pending', ?)",
                            [(fid, c, now) for c in channels])
            return fid

    def pending(self, max_age_hours: float = 24.0) -> list[dict]:
        """Deliveries not yet sent, of alerts fired less than ``max_age_hours`` ago (older ones are given up)."""
        since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=max_age_hours)).isoformat(timespec="seconds")
        rows = self.con.execute(
            "SELECT d.fired_id, d.channel, d.attempts FROM deliveries d JOIN fired f ON f.id = d.fired_id "
            "WHERE d.status != 'sent' AND f.fired_at >= ? ORDER BY d.fired_id, d.channel", [since]).fetchall()
        return [{"fired_id": f, "channel": c, "attempts": a} for f, c, a in rows]

    def alert(self, fired_id: int) -> dict:
        row = self.con.execute("SELECT id, rule, period, period_start, fired_at, metric, value, reference, detail "
                               "FROM fired WHERE id = ?", [fired_id]).fetchone()
        return _fired_dict(row)

    def delivered(self, fired_id: int, channel: str, attempts: int, error: str | None) -> None:
        now = _now()
        with self.transaction() as con:
            con.execute("UPDATE deliveries SET status=?, attempts=attempts+?, last_error=?, sent_at=?, updated_at=? "
                        "WHERE fired_id=? AND channel=?",
                        ["failed" if error else "sent", attempts, error, None if error else now, now, fired_id, channel])

    # -- runs and history ---------------------------------------------------------------------
    def start_run(self) -> int:
        with self.transaction() as con:
            return con.execute("INSERT INTO runs (started_at) VALUES (?)", [_now()]).lastrowid

    def finish_run(self, run_id: int, checked: int, fired: int, sent: int, failed: int, errors: list[str]) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET finished_at=?, checked=?, fired=?, sent=?, failed=?, errors=? WHERE id=?",
                        [_now(), checked, fired, sent, failed, json.dumps(errors, ensure_ascii=False), run_id])

    def history(self, *, rule: str | None = None, since: dt.date | None = None, limit: int = 100) -> list[dict]:
        """Fired alerts, newest first, each with its deliveries."""
        sql = "SELECT id, rule, period, period_start, fired_at, metric, value, reference, detail FROM fired WHERE 1=1"
        args: list = []
        if rule is not None:
            sql, args = sql + " AND rule = ?", args + [rule]
        if since is not None:
            sql, args = sql + " AND period_start >= ?", args + [since.isoformat()]
        rows = self.con.execute(sql + " ORDER BY period_start DESC, id DESC LIMIT ?", args + [limit]).fetchall()
        out = []
        for row in rows:
            d = _fired_dict(row)
            d["deliveries"] = [
                {"channel": c, "status": s, "attempts": a, "last_error": restored(e), "sent_at": t}  # Text or text
                for c, s, a, e, t in self.con.execute(
                    "SELECT channel, status, attempts, last_error, sent_at FROM deliveries WHERE fired_id = ? "
                    "ORDER BY channel", [d["id"]]).fetchall()]
            out.append(d)
        return out


def _fired_dict(row) -> dict:
    fid, rule, period, start, fired_at, metric, value, reference, detail = row
    return {"id": fid, "rule": rule, "period": period, "period_start": start, "fired_at": fired_at,
            "metric": metric, "value": value, "reference": reference, "detail": json.loads(detail)}


def history(root: str | Path, **kwargs) -> list[dict]:
    """Fired alerts of a workspace folder (empty when alerts never ran)."""
    if not (Path(root) / "alerts" / "state.sqlite3").exists():
        return []
    with AlertState(root) as state:
        return state.history(**kwargs)
