"""Spark engine: the same analyses on Parquet data, for data beyond one machine.

By default it reads a Parquet snapshot the workspace exports from its
database (refreshed whenever the data changed); ``[spark] events_path`` and
``spend_path`` point it at existing Parquet data instead.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from ..errors import EngineError
from .base import Engine

_SESSION = None


def spark_session(master: str = "local[*]", driver_memory: str = "2g"):
    """One shared local SparkSession per process (starting one costs ~10 s)."""
    global _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError("the spark engine needs PySpark: pip install 'yunying[spark]'") from None
    if _SESSION is None:
        os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
        _SESSION = (
            SparkSession.builder.master(master)
            .appName("yunying")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", driver_memory)
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


@ibis.udf.scalar.builtin(name="from_json")
def _json_map(j: str, schema: str) -> dt.Map(dt.string, dt.string):  # pragma: no cover - builtin
    """A JSON object as a map of key -> value text (any key can be looked up as data)."""


class SparkEngine(Engine):
    name = "spark"
    capabilities = frozenset({"sorted_scan", "sequences"})  # kernels on the driver, for now

    def __init__(self, workspace):
        super().__init__(workspace)
        cfg = workspace.config.spark
        self.session = spark_session(cfg.master, cfg.driver_memory)
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
