"""One served workspace ("project"): its keys, capture log, working database, ingester and queries."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from ..config import WorkspaceConfig
from ..errors import Said, Text, WorkspaceNotFound, YunyingError
from ..model import readers
from ..storage.imports import import_files
from ..storage.users import UPDATE_SCHEMA
from ..storage.workspace import RECLUSTER_LIMIT, ImportReport
from .keys import KeyStore
from .landing import Lander
from .layout import WorkspacePaths
from .live import WATERMARK_KEY, LiveDatabase
from .normalize import Normalized, Normalizer
from .query import QueryRunner
from .settings import ServerSettings
from .capture_log import CaptureLog, LogBatch
from .freshness import publish_request

log = logging.getLogger("yunying.server")
PRUNE_EVERY = 300.0  # seconds
# Errors of the database itself (not of a batch's content): retried, never skipped.
_TRANSIENT = (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.InterruptException)


def profile_table(profiles: list[list]) -> pa.Table:
    """Capture's profile updates ``[id, key, JSON value, set_at µs, once]`` as ``storage.users.UPDATE_SCHEMA``."""
    cols = list(zip(*profiles))
    return pa.table([pa.array(cols[0], pa.string()), pa.array(cols[1], pa.string()), pa.array(cols[2], pa.string()),
                     pa.array(cols[3], pa.int64()).cast(pa.timestamp("us")), pa.array(cols[4], pa.bool_())],
                    schema=UPDATE_SCHEMA)


def _swap(value, shown: dict[str, str]):
    """``value`` (text, or dicts and lists of it) with each upload's path replaced by the path the user gave."""
    if isinstance(value, str):
        for path, name in shown.items():
            value = value.replace(path, name)
        return value
    if isinstance(value, dict):
        return {k: _swap(v, shown) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, shown) for v in value]
    return value


def _with_names(exc: YunyingError, shown: dict[str, str]) -> YunyingError:
    """The error with each upload's path replaced by the path the user gave (never a server path)."""
    def swap(value):
        return _swap(value, shown)

    exc.message = swap(exc.message)
    exc.args = (exc.message,)
    exc.details = swap(exc.details)
    if exc.text is not None:  # the sentence said in other languages names the same paths
        exc.text = _swap_text(exc.text, shown)
    return exc


def _swap_text(text: Text, shown: dict[str, str]) -> Text:
    def one(value):
        if isinstance(value, Text):
            return _swap_text(value, shown)
        if isinstance(value, list):
            return type(value)(one(v) for v in value)
        if isinstance(value, (str, Path)):
            swapped = _swap(str(value), shown)
            return swapped if swapped != str(value) else value
        return value

    return Text(text.key, **{k: one(v) for k, v in text.params.items()})


class RWLock:
    """Many readers (queries) or one writer (publish, re-cluster, import); writers go first."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextlib.contextmanager
    def read(self):
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def write(self):
        with self._cond:
            self._waiting_writers += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class Ingester(threading.Thread):
    """Moves capture log rows into the events table, publishes snapshots, re-clusters when idle."""

    def __init__(self, project: "Project"):
        super().__init__(name=f"ingester:{project.name}", daemon=True)
        self.project = project
        self.settings = project.settings
        self.wake = threading.Event()
        self._stopping = threading.Event()
        self.watermark = project.live.watermark()
        now = time.monotonic()
        self.last_publish = now
        self.last_publish_wall = time.time()
        self.last_ingest = now
        self.last_prune = 0.0
        self.failed_batches = 0
        self.events_ingested = 0
        self.publish_seconds = 0.0
        every = self.settings.land_parquet  # capture lands in Parquet for Spark (server/landing.py)
        self.lander = Lander(project.live.ws, project.paths.root, every) if every > 0 else None

    # -- thread ---------------------------------------------------------------------
    def run(self) -> None:
        while not self._stopping.is_set():
            self.wake.wait(0.25)  # short: a command waiting for a snapshot (publish.request) is seen at once
            self.wake.clear()
            try:
                self.step()
            except Exception:  # noqa: BLE001 - keep ingesting; the log keeps every event meanwhile
                log.exception("ingest failed; retrying in 2 s")
                self._stopping.wait(2.0)

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        if self.is_alive():
            self.join()
        self.catch_up()
        if self.lander is not None:
            self.lander.maybe_land(self.watermark, force=True)

    def step(self) -> None:
        self.catch_up(stop=self._stopping)
        live = self.project.live
        if self.lander is not None:
            self.lander.maybe_land(self.watermark)
        now = time.monotonic()
        if self.watermark != live.published_seq and (now - self.last_publish >= self.publish_every()
                                                     or self._publish_requested()):
            self.publish()
        if now - self.last_ingest >= self.settings.recluster_idle:
            with live.ws.lock:  # the connection is shared with imports: one thread at a time
                clustered = live.ws.clustered
            if not clustered:
                self.recluster()
        if now - self.last_prune >= PRUNE_EVERY:
            self.last_prune = now
            self.project.log.prune(live.published_seq, self.settings.log_retention_hours)

    # -- work -----------------------------------------------------------------------
    def catch_up(self, stop: threading.Event | None = None) -> int:
        """Ingest everything committed so far (publishing on the way under sustained load)."""
        done = 0
        while stop is None or not stop.is_set():
            batches = self.project.log.read_after(self.watermark, self.settings.ingest_batch_events)
            if not batches:
                break
            self._ingest(batches)
            done += sum(b.events for b in batches)
            if stop is not None and time.monotonic() - self.last_publish >= self.publish_every():
                self.publish()
        return done

    def _ingest(self, batches: list[LogBatch]) -> None:
        try:
            self._merge(batches)
        except _TRANSIENT:
            raise
        except Exception as exc:  # a batch the database refuses: find it, set it aside, go on
            if len(batches) > 1:
                for b in batches:
                    self._ingest([b])
                return
            seq = batches[0].seq
            log.exception("capture batch %s cannot be ingested; recorded in capture_failed", seq)
            self.project.log.record_failure(seq, f"{type(exc).__name__}: {exc}")
            self.failed_batches += 1
            self._merge([LogBatch(seq, 0, None, [])])

    def _merge(self, batches: list[LogBatch]) -> None:
        """Batches from the capture log into the events table, with the watermark, in one transaction."""
        # Each request is one part: the k-th identical event (no uuid) of a request is the same event when
        # the request is sent again.
        tables = [b.table.append_column("__file", pa.array([i] * b.table.num_rows, pa.int32()))
                  for i, b in enumerate(batches) if b.table is not None and b.table.num_rows]
        data = (pa.concat_tables(tables) if len(tables) > 1 else tables[0]) if tables else None
        merges = [pair for b in batches for pair in b.merges]
        profiles = [p for b in batches for p in b.profiles]
        self.project.live.ws.ingest_events(data, merges=merges, source="capture",
                                           meta={WATERMARK_KEY: str(batches[-1].seq)},
                                           profiles=profile_table(profiles) if profiles else None)
        if data is not None:
            self.events_ingested += data.num_rows
        self.watermark = batches[-1].seq
        self.last_ingest = time.monotonic()

    def _publish_requested(self) -> bool:
        """A command asked for a snapshot holding every acknowledged event (``server/freshness.py``) since the
        last publish."""
        try:
            asked = publish_request(self.project.paths).stat().st_mtime
        except OSError:
            return False
        return asked >= self.last_publish_wall

    def publish_every(self) -> float:
        """``publish_interval``, stretched so copying a large database takes at most a tenth of the time."""
        return max(self.settings.publish_interval, 10 * self.publish_seconds)

    def publish(self, durable: bool = False) -> None:
        t0 = time.monotonic()
        self.last_publish_wall = time.time()  # before the copy: a request arriving during it gets another
        with self.project.rw.write():
            if self.project.live.publish(durable):
                self.last_publish = time.monotonic()
                self.publish_seconds = self.last_publish - t0

    def recluster(self) -> None:
        ws = self.project.live.ws
        with ws.lock:
            if ws.con.execute("SELECT count(*) FROM events").fetchall()[0][0] > RECLUSTER_LIMIT:
                return
        with self.project.rw.write():
            ws.optimize()
            self.project.live.publish()
        self.last_publish = time.monotonic()


class Project:
    """A workspace served by this process; its name is its folder's name."""

    def __init__(self, path: str | Path, settings: ServerSettings):
        self.paths = WorkspacePaths(Path(path).resolve())
        if not self.paths.config.exists():
            raise WorkspaceNotFound(key="project.yunying_workspace_no_yunying", root=self.paths.root, path=path)
        self.name = self.paths.root.name
        self.settings = settings
        self.config = WorkspaceConfig.load(self.paths.config)
        self.normalizer = Normalizer(self.config, settings)
        self.keys = KeyStore(self.paths.capture_db, self.name)
        self.live = LiveDatabase(self.paths, self.config)
        self.rw = RWLock()
        self.log: CaptureLog | None = None
        self.ingester: Ingester | None = None
        self.queries = None
        self.started_at: float | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        if self.keys is None:  # started again after a stop
            self.keys = KeyStore(self.paths.capture_db, self.name)
        self.live.open()
        try:
            self.log = CaptureLog(self.paths.capture_db, self.settings.max_pending_events)
            self.log.ensure_after(self.live.watermark())
            self.ingester = Ingester(self)
            self.log.on_commit = self.ingester.wake.set
            self.log.start()
            # Events acknowledged before a crash are replayed by the ingester thread's first step, while
            # capture already takes (and durably logs) new requests: a restart answers SDKs at once.
            self.ingester.wake.set()
            self.ingester.start()
            self.queries = QueryRunner(self)
            self.started_at = time.time()
        except BaseException:
            if self.log is not None:
                self.log.close()
            self.live.release()
            raise

    def stop(self) -> None:
        """Store what was accepted, move it into the events table, put the database back in place."""
        try:
            if self.log is not None:
                self.log.stop()
            if self.ingester is not None:
                self.ingester.stop()
            if self.queries is not None:
                self.queries.close()
        finally:
            if self.log is not None:
                self.log.close()
            self.live.close()
            self.keys.close()
            self.keys = None
            self.log = self.ingester = self.queries = None

    # -- capture ---------------------------------------------------------------------
    async def store(self, batch: Normalized, source: str) -> None:
        """Return once the accepted events and merges are durably in the capture log."""
        table = batch.arrow()
        if table is None and not batch.merges and not batch.profiles:
            return
        await asyncio.wrap_future(self.log.append(source, table, batch.merges, batch.profiles))

    # -- imports through the server -------------------------------------------------
    def import_files(self, kind: str, files: list[str], mapping: dict | None = None,
                     names: list[str] | None = None, once: bool = False, read=None) -> ImportReport:
        """``yunying import`` for a running server: all ``files`` in one transaction in the working copy (all
        or nothing, as without a server), then published durably. ``names`` are the paths the user gave
        (the files here are uploads): reports and errors show those."""
        ws = self.live.ws
        shown = dict(zip(files, names or files))
        try:
            with self.rw.write(), ws.lock:
                report = import_files(ws, kind, files, mapping=mapping, once=once, read=read)
                self.live.publish(durable=True)
        except YunyingError as exc:
            raise _with_names(exc, shown) from None
        finally:
            readers.release(files)  # UTF-8 / sheet copies of the uploads
        self.ingester.last_publish = time.monotonic()
        report.files = [shown.get(f, f) for f in report.files]
        report.messages = [Said(_swap_text(m.text, shown)) if isinstance(m, Said) else _swap(m, shown)
                           for m in report.messages]
        report.sources = _swap(report.sources, shown)
        return report

    def status(self) -> dict:
        published = self.live.published_at
        return {
            "project": self.name,
            "workspace": str(self.paths.root),
            "captured_seq": self.log.last_seq,
            "ingested_seq": self.ingester.watermark,
            "published_seq": self.live.published_seq,
            "published_at": dt.datetime.fromtimestamp(published, dt.timezone.utc).isoformat() if published else None,
            "events_ingested": self.ingester.events_ingested,
            "failed_batches": self.ingester.failed_batches,
            "started_at": dt.datetime.fromtimestamp(self.started_at, dt.timezone.utc).isoformat()
            if self.started_at else None,
        }
