"""Spark engine: the same analyses on Parquet data, for data beyond one machine.

Per-user work runs on the executors (:meth:`SparkEngine.map_sequences`): the events are repartitioned by a
hash of the user id and sorted by (user, time) within each partition; each executor cuts its partition into
chunks of whole users, runs the analysis's kernel on each and sends back only the pickled partial results,
which the analysis merges on the driver. No event row reaches the driver.

By default it reads a Parquet snapshot the workspace exports from its
database (refreshed whenever the data changed); ``[spark] events_path`` and
``spend_path`` point it at existing Parquet data instead.
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any, Callable, Iterator

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from ..errors import EngineError, UnsupportedOperation
from ..sequences.chunks import Chunk, runs
from .base import Engine
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
        raise EngineError("the spark engine needs PySpark: pip install 'yunying[spark]'") from None
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
    capabilities = frozenset({"sorted_scan", "sequences"})

    def __init__(self, workspace):
        super().__init__(workspace)
        cfg = workspace.config.spark
        self.session = spark_session(cfg.master, cfg.driver_memory, cfg.conf)
        self.backend = ibis.pyspark.connect(self.session)
        self._paths = self._resolve_paths()
        self._tables: dict[str, ibis.Table] = {}

    def _resolve_paths(self) -> dict[str, str]:
        cfg = self.workspace.config.spark
        if cfg.events_path:
            paths = {"events": cfg.events_path}
            if cfg.spend_path:
                paths["spend"] = cfg.spend_path
            return paths
        return self._snapshot()

    def _snapshot(self) -> dict[str, str]:
        ws = self.workspace
        if ws.path is None:
            import tempfile

            base = Path(tempfile.mkdtemp(prefix="yunying-spark-"))
        else:
            base = ws.path / ".spark"
        base.mkdir(parents=True, exist_ok=True)
        con = ws.con
        version = json.dumps(
            con.execute(
                "SELECT (SELECT coalesce(max(id), 0) FROM imports), (SELECT count(*) FROM events), "
                "(SELECT count(*) FROM identities), (SELECT count(*) FROM spend), "
                "(SELECT coalesce(sum(hash(user_id)), 0)::VARCHAR FROM events)"
            ).fetchall()[0]
        )
        stamp = base / "version.json"
        paths = {name: str(base / f"{name}.parquet") for name in ("events", "spend", "identities")}
        if not stamp.exists() or stamp.read_text() != version or not all(Path(p).exists() for p in paths.values()):
            with ws.lock:
                con.execute(f"COPY (SELECT * EXCLUDE (event_key) FROM events) TO '{paths['events']}' (FORMAT parquet)")
                con.execute(f"COPY spend TO '{paths['spend']}' (FORMAT parquet)")
                con.execute(f"COPY (SELECT distinct_id, user_id FROM identities) TO '{paths['identities']}' (FORMAT parquet)")
            stamp.write_text(version)
        return paths

    def _json_text_any(self, t: ibis.Table, name: str) -> ibis.Value:
        return _json_map(t.properties, "map<string,string>")[name]

    def _table(self, name: str) -> ibis.Table:
        if name not in self._tables:
            path = self._paths.get(name)
            if path is None:
                raise EngineError(f"spark engine: no Parquet path for table {name!r} (set [spark] {name}_path)")
            self._tables[name] = self.backend.read_parquet(path, table_name=f"yy_{name}_{id(self)}")
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
        return ((None, pickle.loads(row.part)) for row in parts)


    def _check_executors(self, kernel) -> None:
        """Fail before any work when the kernel cannot be shipped (it does not pickle) or the executors cannot
        import yunying (checked once per session with a one-task job)."""
        from pyspark import cloudpickle

        try:
            cloudpickle.dumps(kernel)
        except Exception as exc:  # noqa: BLE001 - any pickling failure means the same thing here
            raise UnsupportedOperation(f"the spark engine runs sequence kernels in its executors, and this kernel "
                                       f"cannot be sent there: {type(exc).__name__}: {exc}") from exc
        sc = self.session.sparkContext
        if getattr(sc, "_yunying_checked", None) != sc.applicationId:
            try:
                sc.parallelize([0], 1).map(_executor_probe).collect()
            except Exception as exc:  # noqa: BLE001
                text = str(exc)
                at = text.find("ModuleNotFoundError")
                raise EngineError("the Spark executors cannot import yunying (install it on every worker, or "
                                  "put it on their PYTHONPATH): "
                                  + (text[at: at + 200] if at >= 0 else text[:300])) from None
            sc._yunying_checked = sc.applicationId


def _executor_probe(_):
    import yunying.sequences.chunks  # noqa: F401 - what the kernels need on an executor (an import check)

    return 0


def _on_executor(kernel, names: list[str], columns, batch_rows: int):
    """The function ``mapInArrow`` runs on one partition: Arrow batches of (user, time)-ordered rows in, one
    pickled partial result per chunk of whole users out."""
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
            blob = pickle.dumps(kernel(ch), protocol=pickle.HIGHEST_PROTOCOL)
            yield pa.RecordBatch.from_arrays([pa.array([blob], pa.binary())], names=["part"])

    return run
