"""``--events FILE`` funnels and retention: a sequence store built straight from the file, never a table of rows.

A funnel or a retention table reads each event's user, name and time, in per-user time order. The workspace
gets that order from a sort of its rows; here the file is read twice by DuckDB, typed and checked exactly as
an import types and checks it (``model/ingest.py``), and only narrow numbers leave it:

1. **pass 1** (an aggregate): each distinct pair of raw (user_id, distinct_id) values with its first time,
   typed afterwards (a few million pairs, not every row). Identity links and their resolution run through the
   import's own SQL (``identities.py``) on these pairs - the earliest row of an id wins either way - so each
   event's final user is ``R(coalesce(user_id, distinct_id))``, ``R`` the resolved links; final users are
   numbered in id order (the order of a workspace's store).
2. **pass 2** (streamed): each row typed and checked (a bad row stops the build: the caller imports the file,
   which names it), its user number (a join on the small id table), time (µs), event name and a hash of its
   ``event_uuid``. Rows are scattered by user number into ``PARTS`` partition files in this process's spill
   folder (``tempfiles.py``); the uuid hashes by their top bits into others.
3. Duplicate ``event_uuid`` s: each uuid-hash partition is checked with a hash set; rows whose hash repeats are
   read again with their uuids, and of each repeated uuid the earliest row is kept, as an import does.
4. Each user partition (about ``1/PARTS`` of the rows) is grouped by user (a counting sort), each user's rows
   ordered by (time, event) and appended to the store files (``sequence_store.py``'s format), which the
   analysis then maps like a workspace's store.

Memory stays bounded by a partition and DuckDB's batches; the files live in the spill folder and go with it.
The store equals what a full import's events give (``tests/perf/test_file_store.py``).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from . import identities
from .event_scan import prefetched
from .sequence_store import FORMAT, SequenceStore

PART_BITS = 8
PARTS = 1 << PART_BITS
BATCH_ROWS = 1 << 20
DUCKDB_MEMORY = "2GB"
ROW = np.dtype([("k", "<i8"), ("t", "<i8"), ("c", "<i4")])
_SHIFT = np.uint64(64 - PART_BITS)
_MORE = " /*more columns*/"


class FileStore(SequenceStore):
    """A store built from one file (not a workspace's cache: it is the only copy of the events read), with the
    first and last time of each event name; ``reader``: which scan built it (``adhoc_parquet``'s sets "pyarrow")."""

    reader = "duckdb"

    def __init__(self, path: Path, meta: dict, bounds: dict[str, tuple[int, int]]):
        super().__init__(path, meta)
        self.bounds = bounds

    @classmethod
    def in_memory(cls, ts: np.ndarray, code: np.ndarray, starts: np.ndarray, users: pa.Array, events: list[str],
                  bounds: dict[str, tuple[int, int]]) -> "FileStore":
        """A store over arrays in this process's memory (no files: nothing to read ahead or map)."""
        st = cls.__new__(cls)
        st.path, st.bounds, st.events = None, bounds, events
        st.meta = {"format": FORMAT, "id": uuid.uuid4().hex, "version": "file", "rows": int(ts.size),
                   "users": len(users), "code_dtype": np.dtype(code.dtype).name, "events": events}
        st.n_rows, st.n_users = int(ts.size), len(users)
        st.ts, st.code, st.starts = ts, code, starts
        st._users_file, st._ids = None, pa.chunked_array([users], pa.string())
        st._reading_ahead = True  # nothing on disk to read ahead
        return st

    def time_bounds(self, names: list[str] | None = None) -> tuple[int | None, int | None]:
        got = [self.bounds[n] for n in (self.bounds if names is None else names) if n in self.bounds]
        if not got:
            return None, None
        return min(lo for lo, _ in got), max(hi for _, hi in got)


# ----------------------------------------------------------------------------- the passes

@dataclass
class Typed:
    """A file's scan (``src``), each needed column's typing SQL over it (``exprs``), the SQL of "this row has
    a problem an import refuses" (``bad``) and the source columns the user ids come from (``user_cols``)."""
    src: str
    exprs: dict[str, str]
    bad: str
    user_cols: list[str]


def build(ws, typed: Typed, folder: Path) -> FileStore | None:
    """The store of the file ``typed`` reads, or None when a row is bad, the file is empty or two ids share a
    hash (then the caller imports the file)."""
    con = ws.con
    x = typed.exprs
    cols = typed.user_cols
    alias = [f"__c{i}" for i in range(len(cols))]
    # the pairs of raw id values first (no per-row string work), typed afterwards: millions of rows, not 100M
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_raw AS SELECT {', '.join(f'{c} AS {a}' for c, a in zip(cols, alias))}, "
                f"min({x['ts']}) AS ts FROM {typed.src} GROUP BY ALL")
    raw = f"(SELECT {', '.join(f'{a} AS {c}' for c, a in zip(cols, alias))}, {', '.join(alias)}, ts FROM _yy_raw)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_pairs AS SELECT {x['user_id']} AS user_id, "
                f"{x['distinct_id']} AS distinct_id, min(ts) AS ts FROM {raw} GROUP BY ALL")
    identities.insert_row_links(con, "_yy_pairs")
    identities.resolve(con)  # the events table is empty: only the links are resolved
    # every id events come with -> the number of its final user (numbered in id order, as a workspace's store)
    con.execute("CREATE OR REPLACE TEMP TABLE _yy_base AS SELECT b.id AS b, coalesce(i.user_id, b.id) AS f FROM "
                "(SELECT DISTINCT coalesce(user_id, distinct_id) AS id FROM _yy_pairs WHERE id IS NOT NULL) b "
                "LEFT JOIN identities i ON i.distinct_id = b.id")
    con.execute("CREATE OR REPLACE TEMP TABLE _yy_final AS SELECT f, CAST(row_number() OVER (ORDER BY f) - 1 "
                "AS BIGINT) AS n FROM (SELECT DISTINCT f FROM _yy_base)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_map AS SELECT {', '.join(alias)}, n FROM (SELECT {', '.join(alias)}, "
                f"coalesce({x['user_id']}, {x['distinct_id']}) AS b FROM {raw}) JOIN _yy_base USING (b) "
                "JOIN _yy_final USING (f)")
    users = con.sql("SELECT f FROM _yy_final ORDER BY n").to_arrow_table().column(0).combine_chunks()
    con.execute("DROP TABLE _yy_raw; DROP TABLE _yy_pairs; DROP TABLE _yy_base; DROP TABLE _yy_final")
    # each row's user by its raw ids (a join on the small table: no per-row trimming of ids)
    on = " AND ".join(f"r.{c} IS NOT DISTINCT FROM m.{a}" for c, a in zip(cols, alias))
    narrow = (f"SELECT coalesce(m.n, -1) AS k, epoch_us({x['ts']}) AS t, {x['event']} AS e, "
              f"CASE WHEN ({x['event_uuid']}) IS NOT NULL THEN hash({x['event_uuid']}) END AS h, "
              f"({typed.bad}) OR m.n IS NULL AS bad{_MORE} FROM {typed.src} r LEFT JOIN _yy_map m ON {on}")
    parts = _Partitions(folder, len(users))
    names: dict[str, int] = {}
    try:
        reader = con.sql(narrow.replace(_MORE, "")).to_arrow_reader(BATCH_ROWS)
        batches = prefetched(reader, depth=2)
        try:
            ok = all(parts.add(batch, names) for batch in batches)
        finally:
            batches.close()  # stops the reading thread before the reader goes
            reader.close()
        parts.close()
        if not ok:
            return None
        if not parts.rows_read:
            return None
        drops = _duplicates(con, narrow.replace(_MORE, f", {x['event_uuid']} AS u"), parts, names)
        return _write_store(parts, names, drops, users, folder)
    finally:
        parts.close()
        parts.remove()
        con.execute("DROP TABLE IF EXISTS _yy_map")


class _Partitions:
    """Rows scattered into partition files by user number (``PARTS`` ranges of users); the hashes of their
    ``event_uuid`` s by their top bits."""

    def __init__(self, folder: Path, n_users: int):
        self.folder, self.n_users = folder, max(n_users, 1)
        folder.mkdir(parents=True, exist_ok=True)
        self.rows = [open(folder / f"r{p:03d}", "wb") for p in range(PARTS)]
        self.uuids = [open(folder / f"u{p:03d}", "wb") for p in range(PARTS)]
        self.rows_read = 0

    def part(self, k: np.ndarray) -> np.ndarray:
        return (k * PARTS // self.n_users).astype(np.intp)

    def first_user(self, p: int) -> int:
        return -(-p * self.n_users // PARTS)

    def add(self, batch: pa.RecordBatch, names: dict[str, int]) -> bool:
        """Scatter a batch; False when one of its rows is bad."""
        if pc.any(batch.column(4)).as_py():
            return False
        self.rows_read += batch.num_rows
        k = batch.column(0).to_numpy()
        rec = np.empty(len(k), ROW)
        rec["k"], rec["t"] = k, batch.column(1).to_numpy()
        rec["c"] = codes(batch.column(2), names)
        _scatter(rec, self.part(k), self.rows)
        h = batch.column(3)
        if h.null_count:
            h = h.drop_null()
        h = h.to_numpy()
        _scatter(h, (h >> _SHIFT).astype(np.intp), self.uuids)
        return True

    def close(self) -> None:
        for f in self.rows + self.uuids:
            f.close()

    def remove(self) -> None:
        for p in range(PARTS):
            for name in (f"r{p:03d}", f"u{p:03d}"):
                (self.folder / name).unlink(missing_ok=True)


def codes(names_col: pa.Array, names: dict[str, int]) -> np.ndarray:
    """Event codes of a column of names (numbered in order of first appearance in ``names``)."""
    enc = pc.dictionary_encode(names_col)
    lut = np.array([names.setdefault(e, len(names)) for e in enc.dictionary.to_pylist()] or [0], np.int32)
    return lut[enc.indices.to_numpy()]


def _scatter(values: np.ndarray, part: np.ndarray, files: list) -> None:
    """Append each partition's values to its file (one counting-sort pass over the batch)."""
    bounds = np.zeros(PARTS + 1, np.int64)
    np.cumsum(np.bincount(part, minlength=PARTS), out=bounds[1:])
    out = np.empty_like(values)
    if values.dtype == ROW:
        _scatter_rows(values["k"], values["t"], values["c"], part, bounds[:-1].copy(), out["k"], out["t"], out["c"])
    else:
        _scatter_rows(values, values, values, part, bounds[:-1].copy(), out, out, out)
    for p in np.flatnonzero(np.diff(bounds)):
        files[p].write(memoryview(out[bounds[p]:bounds[p + 1]]).cast("B"))


@njit(cache=True, nogil=True)
def _scatter_rows(k, t, c, part, pos, ok, ot, oc):
    for i in range(part.size):
        j = pos[part[i]]
        ok[j] = k[i]
        ot[j] = t[i]
        oc[j] = c[i]
        pos[part[i]] = j + 1


def _duplicates(con, narrow: str, parts: _Partitions, names: dict[str, int]) -> np.ndarray:
    """Rows to drop as repeats of an earlier event with the same ``event_uuid`` (an import keeps each uuid's
    earliest row; ``narrow``: the rows' query with their uuids as ``u``): ``(k, t, c)`` records, empty when no uuid repeats. Rows whose uuid hash repeats are read
    again with their uuids, which decide (a hash shared by two uuids drops nothing)."""
    dup = np.concatenate([_repeated(np.fromfile(parts.folder / f"u{p:03d}", np.uint64)) for p in range(PARTS)])
    if not dup.size:
        return np.empty(0, ROW)
    con.register("_yy_dup", pa.table({"h": dup}))
    try:
        rows = con.sql(f"SELECT k, t, e, u FROM ({narrow}) "
                       "WHERE h IN (SELECT h FROM _yy_dup)").to_arrow_table()
    finally:
        con.unregister("_yy_dup")
    rec = np.empty(rows.num_rows, ROW)
    rec["k"], rec["t"] = rows.column("k").to_numpy(), rows.column("t").to_numpy()
    rec["c"] = codes(rows.column("e").combine_chunks(), names)
    u = pc.dictionary_encode(rows.column("u").combine_chunks()).indices.to_numpy()
    order = np.lexsort((rec["c"], rec["t"], u))  # of each uuid: its earliest row first (ties: by name)
    u, rec = u[order], rec[order]
    return rec[np.concatenate([[False], u[1:] == u[:-1]])]


# ----------------------------------------------------------------------------- per-partition order

def _write_store(parts: _Partitions, names: dict[str, int], drops: np.ndarray, users: pa.Array,
                 folder: Path) -> FileStore:
    """Each partition grouped by user and ordered, appended to the store's files."""
    events = sorted(names)
    remap = np.zeros(max(len(names), 1), np.int32)
    for name, code in names.items():
        remap[code] = events.index(name)
    code_type = np.int16 if len(events) < 32_767 else np.int32
    lo = np.full(len(events), np.iinfo(np.int64).max, np.int64)
    hi = np.full(len(events), np.iinfo(np.int64).min, np.int64)
    drop_part = parts.part(drops["k"])
    store = folder / "store"
    store.mkdir()
    n_rows = n_users = 0
    schema = pa.schema([("user_id", pa.string())])
    with open(store / "ts.bin", "wb") as fts, open(store / "code.bin", "wb") as fcode, \
            open(store / "starts.bin", "wb") as fstarts, pa.OSFile(str(store / "users.arrow"), "wb") as fusers, \
            pa.ipc.new_file(fusers, schema) as out_users:
        for p in range(PARTS):
            rec = np.fromfile(parts.folder / f"r{p:03d}", ROW)
            (parts.folder / f"r{p:03d}").unlink()
            if not rec.size:
                continue
            mine = drops[drop_part == p]
            if mine.size:
                rec = rec[~_dropped(*(np.ascontiguousarray(rec[f]) for f in "ktc"),
                                    *(np.ascontiguousarray(mine[f]) for f in "ktc"))]
            k, t, c = np.ascontiguousarray(rec["k"]), np.ascontiguousarray(rec["t"]), remap[rec["c"]]
            first = parts.first_user(p)
            starts, order, ukeys = group_users(k, t, c, first, parts.first_user(p + 1) - first)
            ts, code = t[order], c[order]
            event_bounds(ts, code, lo, hi)
            fts.write(memoryview(ts).cast("B"))
            fcode.write(code.astype(code_type).tobytes())
            fstarts.write((starts[:-1] + n_rows).tobytes())
            out_users.write_batch(pa.record_batch([users.take(pa.array(ukeys))], schema=schema))
            n_rows += ts.size
            n_users += ukeys.size
        fstarts.write(np.array([n_rows], np.int64).tobytes())
    meta = {"format": FORMAT, "id": uuid.uuid4().hex, "version": "file", "rows": n_rows, "users": n_users,
            "code_dtype": np.dtype(code_type).name, "events": events}
    (store / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
    bounds = {e: (int(lo[i]), int(hi[i])) for i, e in enumerate(events) if lo[i] <= hi[i]}
    return FileStore(store, meta, bounds)


@njit(cache=True, nogil=True)
def _repeated(h):
    """The values occurring more than once in ``h`` (each once), with an open-addressing hash set."""
    n = h.size
    size = 16
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    used = np.zeros(size, np.bool_)
    keys = np.zeros(size, np.uint64)
    seen = np.zeros(size, np.int8)
    out = np.empty(n, np.uint64)
    m = 0
    for i in range(n):
        s = np.int64(h[i] & mask)
        while used[s] and keys[s] != h[i]:
            s = (s + 1) & (size - 1)
        if not used[s]:
            used[s] = True
            keys[s] = h[i]
        elif seen[s] == 0:
            seen[s] = 1
            out[m] = h[i]
            m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def group_users(k, t, c, first, n):
    """Rows of users ``first .. first + n - 1`` (``k``: each row's user) grouped by user (a counting sort) and
    each user's rows ordered by (time, code). Returns (starts, order of the rows, the users with rows)."""
    counts = np.zeros(n + 1, np.int64)
    for i in range(k.size):
        counts[k[i] - first + 1] += 1
    for u in range(n):
        counts[u + 1] += counts[u]
    pos = counts[:-1].copy()
    order = np.empty(k.size, np.int64)
    for i in range(k.size):
        u = k[i] - first
        order[pos[u]] = i
        pos[u] += 1
    present = 0
    for u in range(n):
        present += counts[u + 1] > counts[u]
    starts = np.empty(present + 1, np.int64)
    users = np.empty(present, np.int64)
    j = 0
    for u in range(n):
        if counts[u + 1] > counts[u]:
            _order_user(order, counts[u], counts[u + 1], t, c)
            starts[j] = counts[u]
            users[j] = first + u
            j += 1
    starts[present] = k.size
    return starts, order, users


@njit(cache=True, nogil=True)
def _order_user(order, a, b, t, c):
    """Sort ``order[a:b]`` by (t, c): insertion sort for short runs (rows mostly come in time order), two stable
    merge sorts for long ones."""
    if b - a <= 48:
        for i in range(a + 1, b):
            r = order[i]
            j = i - 1
            while j >= a and (t[order[j]] > t[r] or (t[order[j]] == t[r] and c[order[j]] > c[r])):
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = r
        return
    seg = order[a:b].copy()
    by_code = seg[np.argsort(c[seg], kind="mergesort")]
    order[a:b] = by_code[np.argsort(t[by_code], kind="mergesort")]


@njit(cache=True, nogil=True)
def event_bounds(ts, code, lo, hi):
    for i in range(ts.size):
        e = code[i]
        if ts[i] < lo[e]:
            lo[e] = ts[i]
        if ts[i] > hi[e]:
            hi[e] = ts[i]


@njit(cache=True, nogil=True)
def _dropped(k, t, c, dk, dt, dc):
    """A mask of rows to drop: for each (dk, dt, dc) record one row with those values (records may repeat)."""
    order = np.argsort(dt)
    taken = np.zeros(dk.size, np.bool_)
    out = np.zeros(k.size, np.bool_)
    sorted_t = dt[order]
    for i in range(k.size):
        j = np.searchsorted(sorted_t, t[i])
        while j < sorted_t.size and sorted_t[j] == t[i]:
            d = order[j]
            if not taken[d] and dk[d] == k[i] and dc[d] == c[i]:
                taken[d] = True
                out[i] = True
                break
            j += 1
    return out

