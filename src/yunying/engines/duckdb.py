"""DuckDB engine: the embedded default, querying the workspace database in place."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np
import pyarrow as pa

from ..sequences.chunks import Chunk, runs
from ..storage.event_scan import STREAM_BUFFER, check_prop_name, scan_batches, scan_query
from .base import Engine
from .sequences import SequenceQuery, kernel_table, sequence_expr


def open_store(ws):
    """The workspace's fresh sequence store, or None (its module loads Numba: imported on first use)."""
    from ..storage.sequence_store import open_store as _open

    return _open(ws)


def store_to_read(ws):
    """The store a sequence read uses: :func:`open_store`, built first where an import asked for it and none is
    fresh yet (the first analysis after an import pays the build: ``sequence_store.open_or_build``)."""
    from ..storage.sequence_store import open_or_build

    return open_or_build(ws)


_READING = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET", "RELATION"}

if TYPE_CHECKING:  # pragma: no cover
    import ibis


class DuckDBEngine(Engine):
    name = "duckdb"
    capabilities = frozenset({"sql", "sorted_scan", "write", "sequences", "hashed_ids", "row_ids"})

    #: settings of the sequence reads (class defaults; each engine may be given its own)
    use_store: bool = True               # read the sequence store when it is fresh (off: always scan DuckDB)
    prefetch: bool = True                # read batches ahead on a helper thread while kernels run
    stream_buffer: str = STREAM_BUFFER   # DuckDB's scan-ahead buffer

    def __init__(self, workspace, *, use_store: bool | None = None, prefetch: bool | None = None,
                 stream_buffer: str | None = None):
        super().__init__(workspace)
        for name, value in (("use_store", use_store), ("prefetch", prefetch), ("stream_buffer", stream_buffer)):
            if value is not None:
                setattr(self, name, value)

    @property
    def con(self):
        """The workspace's connection (made on first use: an analysis the sequence store answers needs none)."""
        return self.workspace.con

    @property
    def backend(self):
        """The Ibis backend over the workspace connection, made when an analysis first builds an Ibis expression
        (importing Ibis costs about half a second; funnels and retention on the sequence store never need it)."""
        if self._backend is None:
            import ibis

            self._backend = ibis.duckdb.from_connection(self.con)
        return self._backend

    @backend.setter
    def backend(self, value) -> None:
        self._backend = value

    def _json_text_any(self, t: ibis.Table, name: str) -> ibis.Value:
        from .udfs import json_pointer_text as _json_pointer_text

        return _json_pointer_text(t.properties, "/" + name.replace("~", "~0").replace("/", "~1"))

    def _table(self, name: str) -> ibis.Table:
        return self.backend.table(name)

    def has_table(self, name: str) -> bool:
        with self.workspace.lock:
            return self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                    [name]).fetchall()[0][0] > 0

    def sql(self, query: str, params: list | None = None) -> pa.Table:
        """Raw SQL on the workspace database (DuckDB only). A statement that may write counts as a change to
        the events (a new ``events_version``), so the sequence store is not read until it is rebuilt."""
        with self.workspace.lock:
            writes = any(str(st.type).rsplit(".", 1)[-1] not in _READING for st in self.con.extract_statements(query))
            if not writes:
                return self.con.sql(query, params=params or None).to_arrow_table()
            cur = self.con.execute(query, params or [])
            names = [d[0] for d in cur.description or []]
            rows = cur.fetchall() if names else []
            if not self.workspace.read_only:
                self.workspace.renew_events_version()
            return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

    def _plain_events(self) -> bool:
        """Whether ``events()`` is the whole events table (a subclass may narrow it): then plain SQL answers."""
        return type(self).events is Engine.events

    def known_events(self, refresh: bool = False) -> list[str]:
        """Distinct event names: the fresh sequence store's list, else one SQL query (no Ibis)."""
        if not self._plain_events():
            return super().known_events(refresh)
        if refresh or getattr(self, "_known_events", None) is None:
            st = open_store(self.workspace) if self.use_store else None
            if st is not None:
                names = st.events
            else:
                with self.workspace.lock:
                    names = [r[0] for r in self.con.execute("SELECT DISTINCT event FROM events").fetchall()]
            self._known_events = sorted(n for n in names if n is not None)
        return self._known_events

    def check_properties(self, names) -> None:
        """As :meth:`Engine.check_properties`, answered in plain SQL (no Ibis) when each name is a column of the
        events table or a key some event's ``properties`` has; anything else (an error to explain) goes the
        portable way."""
        if not self._plain_events() or not any(names):
            return super().check_properties(names)
        seen = getattr(self, "_known_props", None)
        if seen is None:
            seen = self._known_props = set()
        with self.workspace.lock:
            cols = set(self.con.table("events").columns) - {"properties"}
            rest = []
            for name in dict.fromkeys(n for n in names if n):
                if name in seen or name in cols:
                    continue
                path = "$." + check_prop_name(name)
                if self.con.execute("SELECT 1 FROM events WHERE get_json_object(properties, ?) IS NOT NULL LIMIT 1",
                                    [path]).fetchall():
                    seen.add(name)
                else:
                    rest.append(name)
        if rest:
            super().check_properties(rest)

    def time_bounds(self, names: list[str] | None = None) -> tuple[int | None, int | None]:
        if not self._plain_events():
            return super().time_bounds(names)
        if names is not None and not names:
            return None, None
        built = getattr(self.workspace, "file_store", None)
        if built is not None:  # --events FILE: the store read from the file holds the events
            return built.time_bounds(names)
        where, params = ("", []) if names is None else ("WHERE list_contains(?, event)", [list(names)])
        with self.workspace.lock:
            lo, hi = self.con.execute(f"SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM events {where}",
                                      params).fetchall()[0]
        return (None, None) if lo is None else (int(lo), int(hi))

    def execute(self, expr) -> pa.Table:
        with self.workspace.lock:
            return super().execute(expr)

    def scalar(self, expr):
        with self.workspace.lock:
            return super().scalar(expr)

    # -- sequences --------------------------------------------------------------------------
    def sequences(self, query: SequenceQuery) -> Iterable[Chunk]:
        """Chunks for the kernels: from the sequence store when it is fresh (or an import asked for it: built
        first, :func:`store_to_read`) and no property column is asked for (no export out of DuckDB at all), else
        streamed from a scan of the events table."""
        ws = self.workspace
        if query.where is not None or query.flags:
            return self._filtered(query)
        if self.use_store and not query.columns:
            st = store_to_read(ws)
            if st is not None:
                return st.scan(list(query.names), query.all_events, query.ts_lo, query.ts_hi, self.prefetch,
                               self.batch_rows)
        return self._stream(query)

    def _stream(self, query: SequenceQuery) -> Iterator[Chunk]:
        key = "hash" if query.hashed_ids else "user_id"
        batches = scan_batches(self.workspace, list(query.names), query.all_events, query.columns, query.ts_lo,
                               query.ts_hi, key, batch_rows=self.batch_rows, prefetch=self.prefetch,
                               stream_buffer=self.stream_buffer)
        yield from runs(batches, query.columns)

    def _filtered(self, query: SequenceQuery) -> Iterable[Chunk]:
        """Chunks of the events a filter keeps (and of per-row flags). A filter on the user only selects whole users: a mask over the
        sequence store's users (computed by DuckDB), or the users kept out of the stream. Any other filter is
        evaluated on every row by DuckDB: a filter on the event's own columns keeps the clustered table's scan
        order (ties included, as the store); one that also reads the users or segments is sorted by (user_id,
        ts), events at the same time in no set order (as on Spark)."""
        import pyarrow.compute as pc  # loaded on first use (start-up time)

        w, ws = query.where, self.workspace
        if w is not None and w.per_user and not query.flags:
            st = store_to_read(ws) if self.use_store and not query.columns else None
            if st is not None:
                kept = pc.is_in(st._users, value_set=self._kept_users(w, st._users))
                return st.scan(list(query.names), query.all_events, query.ts_lo, query.ts_hi, self.prefetch,
                               self.batch_rows, users=kept.to_numpy(zero_copy_only=False))
            kept = self._kept_users(w, None)
            batches = scan_batches(ws, list(query.names), query.all_events, query.columns, query.ts_lo,
                                   query.ts_hi, "user_id", batch_rows=self.batch_rows, prefetch=self.prefetch,
                                   stream_buffer=self.stream_buffer)
            return runs((b.filter(pc.is_in(b.column(0), value_set=kept)) for b in batches), query.columns)
        return runs(self._filtered_rows(query), query.columns)

    def _kept_users(self, where, ids: pa.Array | None) -> pa.Array:
        """The user ids (of ``ids``, else of the events) that a per-user filter keeps."""
        import ibis  # loaded on first use (start-up time)

        u = (ibis.memtable(pa.table({"user_id": ids.cast(pa.string())})) if ids is not None
             else self.events().select("user_id").distinct())
        return self.execute(u.filter(where.rows(u)).select("user_id")).column("user_id").combine_chunks()

    def _filtered_rows(self, query: SequenceQuery):
        expr = sequence_expr(self, list(query.names), query.all_events, query.columns, query.ts_lo, query.ts_hi,
                             query.where, query.flags)
        row_only = all(f.per_event for f in query.flags + ((query.where,) if query.where is not None else ()))
        if not (self.workspace.clustered and row_only):
            expr = expr.order_by(["user_id", "ts"])
        n = len(query.columns)
        with self.workspace.lock:
            bar = self.con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
            self.con.execute("SET enable_progress_bar = false")  # no bar on the terminal inside an analysis
            reader = None
            try:
                # Ibis compiles every value of the filter into a quoted SQL literal (never text pasted in)
                reader = self.con.sql(self.backend.compile(expr)).to_arrow_reader(self.batch_rows)
                for b in reader:
                    yield from kernel_table(pa.Table.from_batches([b]), list(query.names), n).to_batches()
            finally:
                if reader is not None:
                    reader.close()
                self.con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")

    def row_ids(self, events, ts_lo=None, ts_hi=None):
        """A function ``(ordinals, keys) -> ids``: the user ids of rows of the given ``events`` (in
        ``ts_lo``..``ts_hi``), picked by their ordinal among those rows in scan order - the order ``sequences``
        streams them in. ``keys`` are the rows' hashed ids (``SequenceQuery(hashed_ids=True)``); they are
        checked, so a table changed in between raises instead of mislabelling users. The function may run
        after the workspace was closed (the CLI closes it before printing): it then reads the file again."""
        self.require("row_ids")
        q, params = scan_query(self.workspace, list(dict.fromkeys(events)), False, (), ts_lo, ts_hi, key="ids")
        ws0 = self.workspace

        def fetch(ordinals: np.ndarray, keys: np.ndarray) -> pa.Array:
            import duckdb

            try:
                with ws0.lock:
                    tab = ws0.con.sql(q, params=params).to_arrow_table()
            except duckdb.ConnectionException:
                from ..storage.workspace import Workspace  # noqa: PLC0415 - the storage layer below

                if getattr(ws0, "path", None) is None:
                    raise
                with Workspace.open(ws0.path, read_only=True) as ws:
                    tab = ws.con.sql(q, params=params).to_arrow_table()
            take = pa.array(np.asarray(ordinals, np.int64))
            if len(take) and (int(ordinals.max()) >= tab.num_rows or not np.array_equal(
                    tab.column(1).take(take).to_numpy(), np.asarray(keys, np.uint64))):
                raise RuntimeError("the events changed since the analysis read them; run it again")
            return tab.column(0).take(take).combine_chunks()

        return fetch
