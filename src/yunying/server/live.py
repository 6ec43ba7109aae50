"""The server's working database and the read snapshot it publishes for other processes.

DuckDB lets one process write a database file and no other process open it
while it does. So while a server runs:

* it works on a private copy, ``capture/live/yunying.duckdb`` (ingest, queries);
* every ``publish_interval`` seconds (when something changed) it checkpoints that
  copy and atomically replaces ``yunying.duckdb`` with a fresh copy of it. Other
  processes (``yunying trends``, ``yunying info`` …) open ``yunying.duckdb``
  read-only as usual and see data at most a few seconds old;
* it holds a shared POSIX lock on the published file. DuckDB takes the same kind
  of lock, shared for read-only connections and exclusive for writers, so readers
  work while any other writer (``yunying import`` …) fails at once instead of
  writing into a file the next snapshot would replace;
* on shutdown the working copy is moved into place. After a crash the working
  copy is discarded: the last published snapshot plus the capture log after its
  watermark rebuild it (capture log rows are kept until a snapshot holds them).
"""
from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import shutil
import time
from pathlib import Path

import duckdb

from ..config import DATABASE_FILE, WorkspaceConfig
from ..errors import YunyingError
from ..storage.workspace import Workspace
from .errors import ServerRunning
from .layout import WorkspacePaths

log = logging.getLogger("yunying.server")
WATERMARK_KEY = "capture_seq"
OLD_SNAPSHOT_GRACE = 60.0  # seconds a replaced snapshot stays locked (a reader may still be opening it)


def _copy_fd(src_fd: int, dst_fd: int) -> None:
    os.lseek(src_fd, 0, os.SEEK_SET)
    size = os.fstat(src_fd).st_size
    offset = 0
    while offset < size:
        try:
            n = os.copy_file_range(src_fd, dst_fd, size - offset, offset, offset)
        except OSError:  # filesystems without copy_file_range
            n = os.sendfile(dst_fd, src_fd, offset, size - offset)
        if n == 0:
            break
        offset += n


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_server_json(paths: WorkspacePaths) -> dict | None:
    try:
        return json.loads(paths.server_json.read_text())
    except (OSError, ValueError):
        return None


def server_lock_held(paths: WorkspacePaths) -> bool:
    """Whether a server process holds this workspace (its lock file is locked)."""
    if not paths.lock.exists():
        return False
    fd = os.open(paths.lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class LiveDatabase:
    """Owns a workspace's database for the lifetime of a server."""

    def __init__(self, paths: WorkspacePaths, config: WorkspaceConfig):
        self.paths = paths
        self.config = config
        self.ws: Workspace | None = None
        self._lock_fd: int | None = None
        self._published_fd: int | None = None
        self._old_fds: collections.deque = collections.deque()
        self.published_seq = 0
        self.published_at: float | None = None

    @property
    def live_db(self) -> Path:
        return self.paths.live / DATABASE_FILE

    # -- start ----------------------------------------------------------------------
    def open(self) -> Workspace:
        paths = self.paths
        paths.capture.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            info = read_server_json(paths) or {}
            raise ServerRunning(key="live.yunying_server_already_serves", root=paths.root, info=info.get('pid', '?'), info2=info.get('url', 'unknown address')) from None
        try:
            self._take_database()
        except BaseException:
            self.release()
            raise
        return self.ws

    def _take_database(self) -> None:
        paths = self.paths
        if paths.publish_tmp.exists():  # a crash during a publish
            paths.publish_tmp.unlink()
        # Fold any WAL into the file and make sure the tables exist, then hold the reader lock.
        try:
            ws = Workspace(paths.root, self.config)
            ws.con.execute("CHECKPOINT")
            ws.close()
        except YunyingError as exc:
            raise YunyingError(key="live.cannot_take_over_another", database=paths.database, message_=exc) from None
        fd = os.open(paths.database, os.O_RDONLY)
        try:
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise YunyingError(key="live.cannot_take_over_another_2", database=paths.database) from None
        self._published_fd = fd
        # The working copy always starts from the published file: after a crash the old copy may hold
        # ingested events the log will replay anyway, and the file may have been changed since.
        if paths.live.exists():
            shutil.rmtree(paths.live)
        paths.live.mkdir(parents=True)
        out = os.open(self.live_db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _copy_fd(fd, out)
        finally:
            os.close(out)
        self.ws = Workspace(paths.live, self.config)
        # Captured events change the data every few seconds: a sequence store would be stale at once.
        self.ws.sequence_store = False
        self.published_seq = self.watermark()
        self.published_at = time.time()

    def watermark(self) -> int:
        return int(self.ws.meta(WATERMARK_KEY, "0") or 0)

    # -- publish --------------------------------------------------------------------
    def publish(self, durable: bool = False) -> bool:
        """Replace the published snapshot with the current working copy.

        The caller holds the write side of the project's read/write lock (no query
        runs) and no transaction is open. Returns False when the checkpoint could
        not fold the WAL (tried again next time).
        """
        ws, paths = self.ws, self.paths
        with ws.lock:
            ws.con.execute("CHECKPOINT")
            seq = self.watermark()
            wal = Path(str(self.live_db) + ".wal")
            if wal.exists() and wal.stat().st_size > 0:
                log.warning("checkpoint left %s bytes of WAL; publishing later", wal.stat().st_size)
                return False
            src = os.open(self.live_db, os.O_RDONLY)
            tmp = os.open(paths.publish_tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _copy_fd(src, tmp)
                if durable:
                    os.fsync(tmp)
                # Lock the new file before its name is the database: no writer can slip in between.
                fcntl.lockf(tmp, fcntl.LOCK_SH | fcntl.LOCK_NB)
                os.replace(paths.publish_tmp, paths.database)
            except BaseException:
                os.close(tmp)
                raise
            finally:
                os.close(src)
        if durable:
            _fsync_dir(paths.root)
        now = time.monotonic()
        self._old_fds.append((now, self._published_fd))
        self._published_fd = tmp
        while self._old_fds and now - self._old_fds[0][0] > OLD_SNAPSHOT_GRACE:
            os.close(self._old_fds.popleft()[1])
        self.published_seq = seq
        self.published_at = time.time()
        return True

    # -- stop -----------------------------------------------------------------------
    def close(self) -> None:
        """Move the working copy into place as the workspace database and let go of everything."""
        paths = self.paths
        if self.ws is not None:
            try:
                self.ws.con.execute("CHECKPOINT")
                self.published_seq = self.watermark()
            finally:
                self.ws.close()
                self.ws = None
            if Path(str(self.live_db) + ".wal").exists():  # fold a WAL that close left, if any
                duckdb.connect(str(self.live_db)).close()
            fd = os.open(self.live_db, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            os.replace(self.live_db, paths.database)
            _fsync_dir(paths.root)
            shutil.rmtree(paths.live, ignore_errors=True)
        self.release()

    def release(self) -> None:
        for fd in [self._published_fd, *(fd for _, fd in self._old_fds)]:
            if fd is not None:
                os.close(fd)
        self._published_fd = None
        self._old_fds.clear()
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
