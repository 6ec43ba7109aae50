"""Plain SQL over the DuckDB workspace for analyses on the CLI's hot path (trends, overview): what their Ibis
expressions compile to, written as SQL text with every value a parameter and column names read from the table
itself, so that no Ibis import (most of a second) is paid for it. The Ibis expressions stay for filters and
for other engines; tests check both give the same rows."""
from __future__ import annotations

from ..engines.duckdb import DuckDBEngine
from ..storage.event_scan import check_prop_name


def plain_duckdb(engine) -> bool:
    """The DuckDB engine over its whole events table (not a filtered view of it, not another engine)."""
    return isinstance(engine, DuckDBEngine) and engine._plain_events()


def _columns(engine) -> list[str]:
    cols = getattr(engine, "_event_columns", None)
    if cols is None:
        with engine.workspace.lock:
            cols = engine._event_columns = list(engine.con.table("events").columns)
    return cols


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Query:
    """SQL text and its parameters, built up together."""

    def __init__(self, engine):
        self.engine, self.params, self.columns = engine, [], _columns(engine)

    def value(self, v) -> str:
        self.params.append(v)
        return "?"

    def local(self, col: str = "ts") -> str:
        """A UTC timestamp column as wall-clock time in the workspace zone (``Engine.local_ts``)."""
        tz = self.engine.timezone
        return col if tz == "UTC" else f"from_utc_timestamp({col}, {self.value(tz)})"

    def values(self, vs) -> str:
        """``?, ?, …`` for a list of values (an ``IN`` list)."""
        return ", ".join(self.value(v) for v in vs)

    def prop(self, name: str) -> str:
        """A property: the typed column of that name, else the text under its key in ``properties``."""
        if name in self.columns and name != "properties":
            return _quote(name)
        return f"get_json_object(properties, {self.value('$.' + check_prop_name(name))})"

    def where(self, events: list[str] | None, date_from, date_to) -> str:
        conds = []
        if events is not None:
            conds.append(f"event IN ({self.values(events)})" if events else "FALSE")
        if date_from is not None:
            conds.append(f"CAST({self.local()} AS DATE) >= {self.value(date_from)}::DATE")
        if date_to is not None:
            conds.append(f"CAST({self.local()} AS DATE) <= {self.value(date_to)}::DATE")
        return (" WHERE " + " AND ".join(conds)) if conds else ""

    def run(self, sql: str) -> list[tuple]:
        with self.engine.workspace.lock:
            return self.engine.con.execute(sql, self.params).fetchall()

    def arrow(self, sql: str):
        """The result as an Arrow table (no Python object per row)."""
        with self.engine.workspace.lock:
            return self.engine.con.sql(sql, params=self.params or None).to_arrow_table()
