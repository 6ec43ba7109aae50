"""Running analyses for the query API: worker threads, one DuckDB cursor each, a time limit.

A query gets its own cursor (a connection to the server's working database),
so it runs beside ingest thanks to DuckDB's MVCC; it holds the read side of the
project's lock so a snapshot publish or re-cluster waits for it. When the time
limit passes the cursor is interrupted and the caller gets a 408 JSON error.
"""
from __future__ import annotations

import asyncio
import json
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import duckdb
import plotly.io as pio

from ..engines.duckdb import DuckDBEngine
from ..errors import QueryTimeout
from ..storage.workspace import Workspace

class Reader:
    """A cursor on the working database, dressed as a read-only Workspace for the analyses."""

    def __init__(self, live: Workspace, root: Path | None = None):
        self.cursor = live.con.cursor()
        self.workspace = Workspace.over_connection(self.cursor, live.config, live.path)
        self.root = root  # the workspace folder: a Spark engine's Parquet goes to root/.spark
        self._engine: DuckDBEngine | None = None

    @property
    def engine(self):
        if self.workspace.config.engine == "spark" and self.root is not None:
            # engine = "spark" in yunying.toml: a Spark engine per query, on the events committed so far
            # (exported incrementally to root/.spark/events, the folder capture lands in)
            from ..engines.spark import SparkEngine

            return SparkEngine(Workspace.over_connection(self.cursor, self.workspace.config, self.root))
        # otherwise the embedded engine
        if self._engine is None:
            self._engine = self.workspace._engine = DuckDBEngine(self.workspace)
        return self._engine

    def close(self) -> None:
        self.cursor.close()


class _Job:
    def __init__(self):
        self.cancelled = False
        self.reader: Reader | None = None
        self._lock = threading.Lock()

    def start(self, reader: Reader) -> None:
        with self._lock:
            if self.cancelled:
                raise QueryTimeout(key="query.query_cancelled_its_time")
            self.reader = reader

    def finish(self) -> None:
        with self._lock:
            self.reader = None

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self.reader is not None:
                self.reader.cursor.interrupt()


class QueryRunner:
    def __init__(self, project):
        self.project = project
        workers = project.settings.query_workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=f"query:{project.name}")
        self._readers: queue.Queue[Reader] = queue.Queue()
        self._jobs: set[_Job] = set()
        live = project.live.ws
        with live._lock:
            for _ in range(workers):
                self._readers.put(Reader(live, project.paths.root))

    def close(self) -> None:
        for job in list(self._jobs):  # stop what still runs (answers nobody waits for any more)
            job.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        while not self._readers.empty():
            self._readers.get_nowait().close()

    async def run(self, fn: Callable[[Reader], object], timeout: float | None = None):
        """``fn(reader)`` in a worker thread under the time limit; returns what it returns."""
        limit = self.project.settings.query_timeout if timeout is None else min(
            timeout, self.project.settings.query_timeout)
        job = _Job()
        self._jobs.add(job)
        fut = asyncio.get_running_loop().run_in_executor(self._pool, self._call, job, fn)
        fut.add_done_callback(lambda _: self._jobs.discard(job))
        fut.add_done_callback(_retrieve)  # a query abandoned at its time limit still ends; nobody awaits it
        try:
            return await asyncio.wait_for(asyncio.shield(fut), limit)
        except asyncio.TimeoutError:
            job.cancel()
            raise QueryTimeout(key="query.query_took_longer_than", limit=limit,
                               details={"timeout_s": limit}) from None

    def _call(self, job: _Job, fn):
        reader = self._readers.get()
        try:
            with self.project.rw.read():
                job.start(reader)
                try:
                    return fn(reader)
                finally:
                    job.finish()
        except duckdb.InterruptException:
            raise QueryTimeout(key="query.query_was_stopped_at") from None
        finally:
            self._readers.put(reader)


def _retrieve(fut) -> None:
    if not fut.cancelled():
        fut.exception()


def analysis_json(analysis, spec, chart: bool = False) -> Callable[[Reader], str]:
    """A runner function: compute, then serialise in the worker thread (not on the event loop)."""

    def run(reader: Reader) -> str:
        result = analysis.compute(reader.engine, spec)
        text = json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False)
        if not chart:
            return text
        try:
            figure = pio.to_json(result.chart(), validate=False)
        except Exception as exc:  # noqa: BLE001 - a result without a chart still has its numbers
            figure = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        rows_key = json.dumps(getattr(result, "rows_key", None))
        return '{"result":' + text + ',"rows_key":' + rows_key + ',"figure":' + figure + "}"

    return run


def workspace_schema(reader: Reader) -> dict:
    """Event names (most frequent first) and property names, for the dashboard's pickers."""
    con = reader.cursor
    events = con.execute("SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY n DESC, event "
                         "LIMIT 500").fetchall()
    keys = con.execute(
        "SELECT k, count(*) AS n FROM (SELECT unnest(json_keys(properties)) AS k FROM "
        "(SELECT properties FROM events WHERE properties IS NOT NULL LIMIT 20000)) GROUP BY k "
        "ORDER BY n DESC, k LIMIT 200").fetchall()
    typed = ["utm_source", "utm_medium", "utm_campaign", "channel", "revenue", "content_id", "variant"]
    return {"events": [{"event": e, "count": n} for e, n in events],
            "properties": typed + [k for k, _ in keys if k not in typed], **user_schema(con)}


def user_schema(con) -> dict:
    """Profile property names (typed columns, sent ones, then the derived ``$…`` ones) and segment names, for
    the filter bar's and the segment builder's pickers. A workspace without profiles has the derived ones."""
    from ..analyses.profiles import DERIVED
    from ..storage.users import TYPED

    try:
        keys = [k for (k,) in con.execute(
            "SELECT k FROM (SELECT unnest(json_keys(properties)) AS k FROM (SELECT properties FROM users WHERE "
            "properties IS NOT NULL LIMIT 20000)) GROUP BY k ORDER BY count(*) DESC, k LIMIT 200").fetchall()]
        segments = [n for (n,) in con.execute("SELECT name FROM segments ORDER BY name").fetchall()]
    except duckdb.CatalogException:
        keys, segments = [], []
    typed = list(TYPED)
    return {"user_properties": typed + [k for k in keys if k not in typed] + list(DERIVED), "segments": segments}
