"""The engine interface every analysis is written against."""
from __future__ import annotations

import difflib
import json
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import pyarrow as pa

from ..errors import Either, SpecError, UnsupportedOperation, did_you_mean
from ..model.schema import EVENT_COLUMNS
from ..sequences.chunks import Chunk, runs
from ..storage.event_scan import BATCH_ROWS, check_prop_name
from .sequences import SequenceQuery, ibis_batches, map_chunks, time_bounds

if TYPE_CHECKING:  # pragma: no cover - Ibis loads when an expression is first built (engines/udfs.py)
    import ibis

TYPED_EVENT_COLUMNS = {c.name for c in EVENT_COLUMNS} - {"properties"}


def __getattr__(name: str):
    if name in ("from_utc_timestamp", "get_json_object"):
        from . import udfs

        return getattr(udfs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SIMPLE_NAME = re.compile(r"[A-Za-z0-9_$]+")
INTERVAL_UNITS = {"day": "D", "week": "W", "month": "M"}


class Engine:
    """Base class: subclasses set ``self.backend`` (an Ibis backend) and implement ``_table``.

    Capabilities are declared up front so an unsupported operation fails early
    with a clear error instead of half-way through a query.
    """

    name = "base"
    #: ``sequences``: runs sequence kernels (``map_sequences``); ``hashed_ids``: can hand out hashed user ids;
    #: ``row_ids``: can fetch the ids of rows later (``row_ids``); ``sql``: raw SQL; ``write``: changes data;
    #: ``reduce_rows``: aggregates a kernel's per-attempt rows on its workers (``reduce_rows``, Spark).
    capabilities: frozenset[str] = frozenset()
    batch_rows: int = BATCH_ROWS   # rows per record batch read for the kernels
    kernel_threads: int = 0        # threads running kernels; 0: one per core

    def __init__(self, workspace):
        self.workspace = workspace
        self.timezone = workspace.config.timezone
        self.backend = None

    # -- tables -------------------------------------------------------------------
    #: the workspace's user tables an engine may also offer (profiles, segment members: docs/users.md)
    USER_TABLES = ("users", "segment_members", "segment_static")

    def table(self, name: str) -> ibis.Table:
        if name not in ("events", "spend", "identities") + self.USER_TABLES:
            raise SpecError(key="base.unknown_table", name=name)
        return self._table(name)

    def has_table(self, name: str) -> bool:
        """Whether this engine can read the workspace table ``name`` (the user tables may be missing)."""
        return name in ("events", "spend", "identities")

    def _table(self, name: str) -> ibis.Table:  # pragma: no cover - abstract
        raise NotImplementedError

    def events(self) -> ibis.Table:
        return self.table("events")

    def execute(self, expr) -> pa.Table:
        """Run an Ibis expression and return an Arrow table."""
        out = expr.to_pyarrow()
        if isinstance(out, pa.ChunkedArray):
            out = pa.table({"value": out})
        elif not isinstance(out, pa.Table):
            out = pa.table({"value": [out.as_py() if hasattr(out, "as_py") else out]})
        return out

    def scalar(self, expr):
        out = expr.to_pyarrow()
        return out.as_py() if hasattr(out, "as_py") else out

    # -- expression helpers -----------------------------------------------------------
    def local_ts(self, ts: ibis.Value) -> ibis.Value:
        """Wall-clock time in the workspace time zone (ts is stored as UTC)."""
        if self.timezone == "UTC":
            return ts
        from .udfs import from_utc_timestamp

        return from_utc_timestamp(ts, self.timezone)

    def period(self, ts: ibis.Value, interval: str) -> ibis.Value:
        """Start date of the day/week (ISO, Monday)/month containing ``ts``, in the workspace zone."""
        try:
            unit = INTERVAL_UNITS[interval]
        except KeyError:
            raise SpecError(key="base.interval_must_one_day", interval=interval) from None
        return self.local_ts(ts).truncate(unit).date()

    def prop(self, t: ibis.Table, name: str) -> ibis.Value:
        """A property as an expression: a typed column if it has one, else text from ``properties``."""
        if name in t.columns and name != "properties":
            return t[name]
        from .udfs import get_json_object

        return get_json_object(t.properties, f"$.{check_prop_name(name)}")

    def json_text(self, t: ibis.Table, name: str) -> ibis.Value:
        """The text under key ``name`` of ``properties``, for any key (quotes, dots, ``;`` …): the key is
        passed as data, never pasted into SQL. Simple names go through :meth:`prop`."""
        if SIMPLE_NAME.fullmatch(name):
            return self.prop(t, name)
        return self._json_text_any(t, name)

    def _json_text_any(self, t: ibis.Table, name: str) -> ibis.Value:
        raise UnsupportedOperation(key="base.property_names_with_characters", name=name, name2=self.name)

    # -- checks ----------------------------------------------------------------------------
    def known_events(self, refresh: bool = False) -> list[str]:
        """Distinct event names in the data (cached for this engine)."""
        if refresh or getattr(self, "_known_events", None) is None:
            t = self.events()
            self._known_events = sorted(self.execute(t.select("event").distinct())["event"].to_pylist())
        return self._known_events

    def check_events(self, names) -> list[str]:
        """Catch typos: an event name that never occurs but is close to one that does is an error.

        Names that never occur and resemble nothing (a step nobody has reached yet) are allowed and
        returned, so the caller can say so instead of failing.
        """
        import difflib

        names = [n for n in names if n]
        known = set(self.known_events())
        if all(n in known for n in names):
            return []
        known = set(self.known_events(refresh=True))
        missing = []
        for n in names:
            if n in known:
                continue
            close = difflib.get_close_matches(n, sorted(known), n=3, cutoff=0.75)
            if close:
                raise SpecError(key="base.event_does_occur_this", n=n, value=Either(repr(c) for c in close))
            missing.append(n)
        return missing

    def property_keys(self, t: ibis.Table) -> set[str]:
        """The columns of ``t`` and the keys found in a sample of its ``properties`` (enough to suggest a
        spelling for a property that does not exist)."""
        keys = {c for c in t.columns if c not in ("properties", "event_key")}
        if "properties" in t.columns:
            sample = self.execute(t.filter(t.properties.notnull()).select("properties").limit(20_000))
            for text in sample["properties"].to_pylist():
                try:
                    obj = json.loads(text)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    keys.update(obj)
        return keys

    def check_properties(self, names) -> None:
        """A property that is neither a column nor in any event's ``properties`` is an error (a breakdown by
        it would put every user under "(none)", a sum of it would read 0), with the names that come close."""
        seen = getattr(self, "_known_props", None)
        if seen is None:
            seen = self._known_props = set()
        if not any(names):
            return
        t = self.events()
        for name in dict.fromkeys(n for n in names if n):
            if name in seen or (name in t.columns and name != "properties"):
                continue
            expr = self.prop(t, name)  # also checks the name's characters
            if self.execute(t.filter(expr.notnull()).select(x=expr).limit(1)).num_rows:
                seen.add(name)
                continue
            if not self.execute(t.select("event").limit(1)).num_rows:
                return  # no events at all: nothing to check against (the result is empty anyway)
            keys = self.property_keys(t)
            if name in keys:  # present, though null wherever it was seen
                seen.add(name)
                continue
            close = difflib.get_close_matches(name, sorted(keys), n=3, cutoff=0.7)
            hint = did_you_mean(close, sorted(keys)[:25])
            raise SpecError(key="base.property_column_no_event", name=name, hint=hint)

    # -- sequences: the per-user hot path ------------------------------------------------
    def require(self, *capabilities: str) -> None:
        """Raise :class:`UnsupportedOperation` before any work when the engine lacks a capability."""
        missing = [c for c in capabilities if c not in self.capabilities]
        if missing:
            raise UnsupportedOperation(key="base.engine_does_support_it", name=self.name, missing=', '.join(missing), self_=', '.join(sorted(self.capabilities)) or 'nothing')

    def sequences(self, query: SequenceQuery) -> Iterable[Chunk]:
        """Chunks of complete user runs for ``query``, ordered by (user, time). The portable way: the
        events through Ibis, sorted by the engine, collected on the driver."""
        cols = query.columns
        return runs(ibis_batches(self, query.names, query.all_events, cols, query.ts_lo, query.ts_hi,
                                 self.batch_rows, query.where, query.flags), cols)

    def map_sequences(self, kernel: Callable[[Chunk], Any], query: SequenceQuery) -> Iterator[tuple[Chunk, Any]]:
        """``(chunk, kernel(chunk))`` for every chunk of ``query``, in reading order: the analysis merges the
        partial results (they are per whole users, so sums and concatenations are exact). The kernels run on
        ``kernel_threads`` threads (0: one per core), or one chunk at a time with ``query.in_order``."""
        self.require("sequences")
        workers = 1 if query.in_order else self.kernel_threads
        return map_chunks(kernel, self.sequences(query), workers)

    def reduce_rows(self, kernel: Callable[[Chunk], pa.RecordBatch], query: SequenceQuery, schema: pa.Schema):
        """For engines with ``reduce_rows``: the kernel's Arrow rows, aggregated where they are computed (see the
        Spark engine); the others merge partial results with :meth:`map_sequences`."""
        self.require("reduce_rows")

    def time_bounds(self, names: list[str] | None = None) -> tuple[int | None, int | None]:
        """(first, last) timestamp in µs UTC of the named events (None: all events); (None, None) if none."""
        return time_bounds(self, names)

    def row_ids(self, events: list[str], ts_lo: int | None = None, ts_hi: int | None = None):
        """For engines with ``hashed_ids``: a function ``(ordinals, keys) -> ids`` giving the user ids of rows
        of ``events`` picked by their ordinal in scan order (see the DuckDB engine)."""
        self.require("row_ids")

    def close(self) -> None:
        pass
