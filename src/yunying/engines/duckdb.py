"""DuckDB engine: the embedded default, querying the workspace database in place."""
from __future__ import annotations

import ibis
import pyarrow as pa

from .base import Engine


_READING = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET", "RELATION"}


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
        """Raw SQL on the workspace database (DuckDB only). A statement that may write counts as a change to
        the events (a new ``events_version``), so the sequence store is not read until it is rebuilt."""
        with self.workspace._lock:
            writes = any(str(st.type).rsplit(".", 1)[-1] not in _READING for st in self.con.extract_statements(query))
            if not writes:
                return self.con.sql(query, params=params or None).to_arrow_table()
            cur = self.con.execute(query, params or [])
            names = [d[0] for d in cur.description or []]
            rows = cur.fetchall() if names else []
            if not self.workspace.read_only:
                self.workspace.renew_events_version()
            return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

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
