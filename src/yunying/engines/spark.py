"""Spark engine: the same analyses on Parquet data, for data beyond one machine.

Per-user work runs on the executors (:meth:`SparkEngine.map_sequences`): the events are repartitioned by a
hash of the user id and sorted by (user, time) within each partition; each executor cuts its partition into
chunks of whole users, runs the analysis's kernel on each and sends back only the pickled partial results,
which the analysis merges on the driver. No event row reaches the driver.

By default it reads a Parquet snapshot the workspace exports from its database: the events partitioned by
date and exported incrementally (only new or changed dates are written, storage/parquet_export.py), spend
and identities as single files (rewritten when they changed). ``[spark] events_path`` and ``spend_path``
point it at existing Parquet data instead: a file, a glob or a folder (Hive-style ``key=value`` folders
such as ``event_date=2026-06-01/`` are read as partitions, e.g. what the server's ``land_parquet`` setting writes).
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Callable, Iterator

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from ..errors import EngineError, UnsupportedOperation
from ..sequences.chunks import Chunk, runs
from ..storage.parquet_export import PARTITION, export_events, export_tables
from .base import Engine

USER_TABLES = Engine.USER_TABLES
from .sequences import SequenceQuery, kernel_table, sequence_expr

_SESSION = None


def spark_session(master: str = "local[*]", driver_memory: str = "2g", conf: dict | None = None):
    """One shared SparkSession per process (starting one costs ~10 s). ``master``: ``local[*]`` or a cluster
    such as ``spark://host:7077`` (an engine asking for another master than the running session's replaces
    it); ``conf``: more settings, applied when a session starts (the first engine's apply)."""
    global _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(key="spark.spark_engine_needs_pyspark") from None
    if _SESSION is not None and _SESSION.sparkContext.master != master:
        _SESSION.stop()  # another master (a cluster instead of local mode): a new session
        _SESSION = None
    if _SESSION is None:
        os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
        builder = (
            SparkSession.builder.master(master)
            .appName("yunying")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", driver_memory)
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        )
        for k, v in (conf or {}).items():  # the workspace's own settings win
            builder = builder.config(k, str(v))
        _SESSION = builder.getOrCreate()
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


@ibis.udf.scalar.builtin(name="from_json")
def _json_map(j: str, schema: str) -> dt.Map(dt.string, dt.string):  # pragma: no cover - builtin
    """A JSON object as a map of key -> value text (any key can be looked up as data)."""


class SparkEngine(Engine):
    name = "spark"
    #: no ``hashed_ids``/``row_ids`` (analyses then put the user ids they need into their partial results),
    #: no ``sql``, no ``write``
    #: ``reduce_rows``: kernels emit small per-attempt rows that are aggregated on the executors
    capabilities = frozenset({"sorted_scan", "sequences", "reduce_rows"})

    def __init__(self, workspace):
        super().__init__(workspace)
        cfg = workspace.config.spark
        self.session = spark_session(cfg.master, cfg.driver_memory, cfg.conf)
        self.backend = ibis.pyspark.connect(self.session)
        self._paths = self._resolve_paths()
        self._tables: dict[str, ibis.Table] = {}

    def _resolve_paths(self) -> dict[str, str]:
        cfg = self.workspace.config.spark
        if not cfg.events_path:
            return self._snapshot()
        paths = {"events": cfg.events_path}
        if cfg.spend_path:
            paths["spend"] = cfg.spend_path
        return paths

    def _base(self) -> Path:
        ws = self.workspace
        if ws.path is None:
            import tempfile

            return Path(tempfile.mkdtemp(prefix="yunying-spark-"))
        return ws.path / ".spark"

    def _snapshot(self) -> dict[str, str]:
        """The workspace as Parquet under ``<workspace>/.spark``: the events date-partitioned and exported
        incrementally; spend and identities as single files, rewritten when changed (the user tables: when
        first needed, :meth:`_user_tables`)."""
        ws = self.workspace
        base = self._base()
        with ws.lock:
            # events: date-partitioned, only new or changed dates written (storage/parquet_export.py)
            self.export = export_events(ws.con, base / "events")
            paths = export_tables(ws.con, base, ("spend", "identities"))
        paths["events"] = str(base / "events")
        return paths

    def has_table(self, name: str) -> bool:
        if name in USER_TABLES and name not in self._paths:
            self._user_tables()
        return name in self._paths

    def _user_tables(self) -> None:
        """The workspace's user tables (profiles, segments), exported next to the events when first needed -
        also with ``[spark] events_path``: they live in the workspace, whatever Parquet the events come from."""
        with self.workspace.lock:
            self._paths.update(export_tables(self.workspace.con, self._base(), USER_TABLES))

    def _json_text_any(self, t: ibis.Table, name: str) -> ibis.Value:
        return _json_map(t.properties, "map<string,string>")[name]

    def _table(self, name: str) -> ibis.Table:
        if name not in self._tables:
            if name in USER_TABLES:
                self.has_table(name)
            path = self._paths.get(name)
            if path is None:
                raise EngineError(key="spark.spark_engine_no_parquet", name=name)
            t = self.backend.read_parquet(path, table_name=f"yy_{name}_{id(self)}")
            if name == "events" and PARTITION in t.columns:  # the folders' partition column, not event data
                t = t.drop(PARTITION)
            self._tables[name] = t
        return self._tables[name]

    # -- sequences: kernels on the executors -------------------------------------------------
    def sequence_frame(self, query: SequenceQuery):
        """The Spark DataFrame of the query's rows (``user_id, ts, event, p0..``), hash-partitioned by user
        and sorted by (user, time) within each partition: every user's rows in one partition, in order."""
        expr = sequence_expr(self, list(query.names), query.all_events, query.columns, query.ts_lo, query.ts_hi,
                             query.where, query.flags)
        df = self.session.sql(self.backend.compile(expr))
        return df.repartition("user_id").sortWithinPartitions("user_id", "ts")

    def map_sequences(self, kernel: Callable[[Chunk], Any], query: SequenceQuery) -> Iterator[tuple[None, Any]]:
        """``(None, partial)`` for every chunk: the kernel runs inside the executors (``mapInArrow``) and only
        its pickled partial results come back to the driver (no chunk does). The kernel and what it returns
        must pickle (cloudpickle: closures are fine) and must not need the engine."""
        self.require("sequences")
        self._check_executors(kernel)
        fn = _on_executor(kernel, list(query.names), query.columns, self.batch_rows)
        parts = self.sequence_frame(query).mapInArrow(fn, "part binary").collect()
        self.bytes_to_driver = sum(len(row.part) for row in parts)  # the pickled partials collected
        return ((None, pickle.loads(row.part)) for row in parts)

    def reduce_rows(self, kernel: Callable[[Chunk], pa.RecordBatch], query: SequenceQuery,
                    schema: pa.Schema) -> "RowAggregates":
        """The kernel's Arrow rows (one batch per chunk, of ``schema``: no user ids needed) as a cached Spark
        DataFrame that :class:`RowAggregates` (``sums``, ``binned``) groups and aggregates *on the executors*:
        only the aggregated rows reach the driver. Use as a context manager (the cache is released on exit)."""
        self.require("sequences")
        self._check_executors(kernel)
        fn = _on_executor(kernel, list(query.names), query.columns, self.batch_rows, as_rows=True)
        df = self.sequence_frame(query).mapInArrow(fn, _spark_schema(schema))
        return RowAggregates(df.persist())

    def _check_executors(self, kernel) -> None:
        """Fail before any work when the kernel cannot be shipped (it does not pickle) or the executors cannot
        import yunying (checked once per session with a one-task job)."""
        from pyspark import cloudpickle

        try:
            cloudpickle.dumps(kernel)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means the same thing here
            raise UnsupportedOperation(key="spark.spark_engine_runs_sequence", __name__=type(exc).__name__, exc=exc) from exc
        sc = self.session.sparkContext
        if getattr(sc, "_yunying_checked", None) != sc.applicationId:
            try:
                sc.parallelize([0], 1).map(_executor_probe).collect()
            except Exception as exc:  # noqa: BLE001
                text = str(exc)
                at = text.find("ModuleNotFoundError")
                raise EngineError(key="spark.executors_cannot_import",
                                  detail=text[at: at + 200] if at >= 0 else text[:300]) from None
            sc._yunying_checked = sc.applicationId


def _executor_probe(_):
    import yunying.sequences.chunks  # noqa: F401 - what the kernels need on an executor (an import check)

    return 0


def _on_executor(kernel, names: list[str], columns, batch_rows: int, as_rows: bool = False):
    """The function ``mapInArrow`` runs on one partition: Arrow batches of (user, time)-ordered rows in, one
    pickled partial result per chunk of whole users out (``as_rows``: the kernel's own Arrow batch instead)."""
    n_props = len(columns)

    def regroup(batches):  # Spark's Arrow batches are small (10k rows): kernels like ~a million
        held, rows = [], 0
        for b in batches:
            held.append(b)
            rows += b.num_rows
            if rows >= batch_rows:
                yield from kernel_table(pa.Table.from_batches(held), names, n_props).combine_chunks().to_batches()
                held, rows = [], 0
        if held:
            yield from kernel_table(pa.Table.from_batches(held), names, n_props).combine_chunks().to_batches()

    def run(batches):
        for ch in runs(regroup(batches), columns):
            if as_rows:
                out = kernel(ch)
                if out.num_rows:
                    yield out
                continue
            blob = pickle.dumps(kernel(ch), protocol=pickle.HIGHEST_PROTOCOL)
            yield pa.RecordBatch.from_arrays([pa.array([blob], pa.binary())], names=["part"])

    return run


def _spark_schema(schema: pa.Schema) -> str:
    kinds = {pa.int64(): "bigint", pa.string(): "string", pa.float64(): "double"}
    return ", ".join(f"`{f.name}` {kinds[f.type]}" for f in schema)


class RowAggregates:
    """A cached DataFrame of kernel rows, aggregated on the executors (see :meth:`SparkEngine.reduce_rows`): every
    method is one Spark job over the cached rows whose result - the aggregates only - comes to the driver."""

    def __init__(self, df):
        self.df = df
        self.bytes_to_driver = 0  # Arrow bytes of the aggregated results collected so far
        self.jobs = 0             # Spark jobs run (the first one also computes and caches the rows)

    def _collect(self, df) -> pa.Table:
        table = df.toArrow()
        self.bytes_to_driver += table.nbytes
        self.jobs += 1
        return table

    def sums(self, keys: list[str], columns: list[str], only: tuple[str, list] | None = None) -> pa.Table:
        """The integer ``columns`` summed (exactly) per distinct ``keys``, over the rows whose column ``only[0]``
        is one of ``only[1]`` (all rows without ``only``)."""
        from pyspark.sql import functions as F

        df = self.df if only is None else self.df.filter(F.col(only[0]).isin(list(only[1])))
        return self._collect(df.groupBy(*keys).agg(*[F.sum(c).alias(c) for c in columns]))

    def binned(self, targets: list[dict], value: str, count: str) -> pa.Table:
        """Counts of ``value`` in bins, per target, in one job (one scan of the cached rows): each target ``{"id",
        "where": {column: [values]}, "exclude": {column: [values]}, "lo", "hi", "width"}`` takes the rows matching
        ``where`` and not ``exclude`` with ``lo <= value < hi``, and sums ``count`` per bin ``(value - lo) //
        width`` (width 1: per distinct value). A row may count in several targets. Columns ``target, bin, n``."""
        from pyspark.sql import functions as F

        if not targets:
            return pa.table({c: pa.array([], pa.int64()) for c in ("target", "bin", "n")})
        picks, lo, width = [], None, None
        for t in targets:
            cond = (F.col(value) >= F.lit(int(t["lo"]))) & (F.col(value) < F.lit(int(t["hi"])))
            for col, vals in t.get("where", {}).items():
                cond = cond & F.col(col).isin(list(vals))
            for col, vals in t.get("exclude", {}).items():
                cond = cond & ~F.coalesce(F.col(col).isin(list(vals)), F.lit(False))
            picks.append(F.when(cond, F.lit(int(t["id"]))))
            is_t = F.col("target") == F.lit(int(t["id"]))
            lo = (F if lo is None else lo).when(is_t, F.lit(int(t["lo"])))
            width = (F if width is None else width).when(is_t, F.lit(int(t["width"])))
        df = (self.df.select(F.col(value), F.col(count), F.explode(F.array(*picks)).alias("target"))
              .filter(F.col("target").isNotNull())
              .withColumn("_lo", lo.cast("bigint")).withColumn("_width", width.cast("bigint")))
        # integer division (value >= lo): exact for any int64, unlike a floor of doubles
        df = df.select(F.col("target").cast("bigint").alias("target"),
                       F.expr(f"(`{value}` - `_lo`) div `_width`").cast("bigint").alias("bin"), F.col(count).alias("n"))
        return self._collect(df.groupBy("target", "bin").agg(F.sum("n").alias("n")))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.df.unpersist()
