"""DuckDB engine: the embedded default, querying the workspace database in place."""
from __future__ import annotations

import ibis
import pyarrow as pa

from .base import Engine


class DuckDBEngine(Engine):
    name = "duckdb"
    capabilities = frozenset({"sql", "sorted_scan", "write"})

    def __init__(self, workspace):
        super().__init__(workspace)
        self.con = workspace.con
        self.backend = ibis.duckdb.from_connection(self.con)

    def _table(self, name: str) -> ibis.Table:
        return self.backend.table(name)

    def sql(self, query: str, params: list | None = None) -> pa.Table:
        """Raw SQL on the workspace database (DuckDB only)."""
        with self.workspace._lock:
            return self.con.execute(query, params or []).to_arrow_table()

    def execute(self, expr) -> pa.Table:
        with self.workspace._lock:
            return super().execute(expr)

    def scalar(self, expr):
        with self.workspace._lock:
            return super().scalar(expr)

    def sorted_events(self, columns, events=None, where=None) -> pa.Table:
        t = self.events()
        if events is not None:
            t = t.filter(t.event.isin(list(events)))
        if where is not None:
            t = t.filter(where(t))
        t = t.select(*columns)
        if not self.workspace.clustered:
            t = t.order_by(["user_id", "ts"])
        # Clustered storage + preserve_insertion_order: a filtered scan comes back in (user_id, ts) order.
        return self.execute(t)
