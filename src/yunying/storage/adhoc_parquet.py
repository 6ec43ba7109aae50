"""``--events FILE.parquet``: the sequence store in ONE read of the file, with PyArrow, typing distinct values only.

``adhoc_store.py`` reads any file twice with DuckDB and types every row with the import's SQL. A Parquet file
with string ids and names and a timestamp column needs far less: its string columns come dictionary-encoded
(each row group stores each distinct value once), so the import's typing SQL runs on the dictionaries — tens of
thousands of values per million rows — and each row only carries small integers:

* **ids**: each row's user id (its ``user_id`` when the typed value is not NULL, else its ``distinct_id``)
  numbered by :class:`Interner` (a Numba hash table over the typed dictionaries' bytes); rows with both ids
  whose typed values differ give the identity links (their user id, anonymous id and time), resolved by the
  import's rules (``identities.py``: the earliest link of an id, loops cut at their newest link, chains followed)
  on the id numbers (``adhoc_kernels.earliest_links``, ``resolve_links``);
* **names**: the typed dictionary of the batch mapped to codes; **times**: the column's integers in µs (UTC:
  a column with a time zone, or naive times imported as UTC); each batch's rows go to the file's arrays in one
  kernel (``adhoc_kernels.fill_rows``);
* **event_uuid**: a 64-bit hash of each value, straight from the column's PLAIN pages where ``adhoc_pages``
  reads them (else Numba over the Arrow buffers); when hashes repeat, only the uuid column is read again (on
  ``THREADS`` threads), and of each repeated uuid (compared as text) the earliest row is kept.

Nothing is written to disk: each row's id number, time and code go to arrays the size of the file (its row
count is in the footer; mapped at once, ``adhoc_memory.populated``), at the row's place, so ``THREADS`` threads
read the row groups in any order; each row group's uuid hashes go to its range of a fourth array, ordered by top
byte (``adhoc_kernels.partition_top_into``: only their values matter from there on).
Then the repeated hashes are found in place (``adhoc_kernels.repeated_parts`` over those runs, on ``THREADS``
threads), the users numbered (in id order: one sort of the final users' strings), and the rows moved to their
final user's slots (a counting sort, ``THREADS`` runs of rows at once; the times into the hashes' memory; not at
all when they come grouped by user in user order and none is dropped) and ordered per user: the store, held in
memory. Anything
this reader does not type exactly as an import (a naive time with another import time zone, non-string ids, a
uuid with edge spaces, a row an import refuses) makes :func:`build` return None and the caller falls back to
``adhoc_store.build``, which decides.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit

from . import adhoc_kernels, adhoc_pages
from .adhoc_hash import hash_one as _hash_one
from .adhoc_ids import Interner, Links, string_buffers as _buffers
from .adhoc_memory import heap_reused, populated
from .adhoc_store import FileStore

BATCH_ROWS = 1 << 20
THREADS = max(1, min(2, os.cpu_count() or 1))  # row groups read and users ordered at once
DUCKDB_MEMORY = "512MB"  # DuckDB's share while it resolves identities beside the file's columns in memory
PAGE_HASHES = True  # event_uuid hashed from the Parquet pages where ``adhoc_pages`` reads them
_END_US = 4_102_444_800_000_000  # 2100-01-01 (model/typing.TS_END) in µs since 1970
_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": -1_000}  # negative: divide


@dataclass
class Plan:
    """The source columns (``None``: absent), the SQL typing each string column's values (over a column of the
    source's name), and the time column's unit factor."""
    path: str
    cols: dict[str, str | None]
    exprs: dict[str, str]
    unit: int


def plan(path: str, src: str, plain_src: str, mapping: dict[str, str], types: dict[str, str], exprs: dict[str, str],
         import_tz: str) -> Plan | None:
    """The plan for reading ``path`` with PyArrow, or None when only ``adhoc_store`` reads it exactly."""
    if not src.startswith("read_parquet(") or src != plain_src or "ts" not in mapping or "event" not in mapping:
        return None
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return None
    cols = {c: mapping.get(c) for c in ("user_id", "distinct_id", "event", "ts", "event_uuid")}
    for c, s in cols.items():
        if s is None:
            continue
        if s not in schema.names or schema.get_field_index(s) < 0:
            return None
        t = schema.field(s).type
        if c == "ts":
            if not pa.types.is_timestamp(t) or not types[s].upper().startswith("TIMESTAMP"):
                return None
            aware = types[s].upper() == "TIMESTAMP WITH TIME ZONE"
            if aware != (t.tz is not None) or (not aware and import_tz != "UTC"):
                return None
        elif not (pa.types.is_string(t) or pa.types.is_large_string(t)) or types[s].upper() != "VARCHAR":
            return None
    if cols["user_id"] is None and cols["distinct_id"] is None:
        return None
    return Plan(path, cols, exprs, _UNIT[schema.field(cols["ts"]).type.unit])


# ----------------------------------------------------------------------------- the scan

class _Scan:
    """What one read of the file gathers, in memory, each row at its place in the file (row groups are read by
    ``THREADS`` threads in any order): its id's number in the interner (``k``), time (``t``), event code
    (``c``, in order of first sight) and ``event_uuid`` hash (``h``, 0: none); the identity-link candidates."""

    def __init__(self, con, p: Plan, n: int, names: dict[str, int]):
        self.con, self.p, self.names = con, p, names
        self.k = populated(n, np.int32)
        self.t = populated(n, np.int64)
        self.c = populated(n, np.int16)
        self.h = populated(n, np.uint64) if p.cols["event_uuid"] is not None else None
        self.spare = None  # the hashes' memory once they are done with (for the store's times)
        self.runs = None  # of each row group, the bounds of its hashes' parts by top byte (``partition_top``)
        self.ids = Interner()  # every typed user id / anonymous id -> its number, in order of first sight
        self.used = np.zeros(1 << 16, np.bool_)  # the ids some row's user is
        self.links = Links()  # the identity-link candidates (user id, anonymous id, time)
        self.lock = threading.Lock()  # the interner, ``used``, ``names``, the DuckDB connection
        self.failed = False
        # the first raw time value at or after 2100 (``_END_US``) in the column's unit
        self.raw_end = -(-_END_US // p.unit) if p.unit > 0 else _END_US * -p.unit

    def run(self, groups: list[int]) -> bool:
        """Read every row group; False when a row is one this reader does not decide (the caller falls back)."""
        offsets = np.concatenate([[0], np.cumsum(groups)]).tolist()
        todo = iter(range(len(groups)))
        if self.h is not None:
            self.runs = np.zeros((len(groups), 257), np.int64)

        def work():
            try:
                pf = pq.ParquetFile(self.p.path, pre_buffer=False, read_dictionary=[
                    self.p.cols[c] for c in ("user_id", "distinct_id", "event") if self.p.cols[c] is not None])
                uuid_col = _column(pf, self.p.cols["event_uuid"])
                bufs = adhoc_pages.Buffers()  # this thread's memory for the uuid pages, reused
                while not self.failed:
                    i = next(todo, None)  # one row group at a time (``next`` on an iterator holds the GIL)
                    if i is None:
                        return
                    if not self._group(pf, i, offsets[i], groups[i], uuid_col, bufs):
                        self.failed = True
                        return
            except BaseException:
                self.failed = True  # the other threads stop; ``_on_threads`` raises it again
                raise

        _on_threads([work] * max(1, min(THREADS, len(groups))))
        return not self.failed

    def _group(self, pf: pq.ParquetFile, i: int, o: int, n: int, uuid_col: tuple[int, int] | None,
               bufs: adhoc_pages.Buffers) -> bool:
        """Row group ``i`` (rows ``o .. o + n - 1`` of the file); its uuids hashed from the pages when
        ``adhoc_pages`` reads them, then reordered by top byte while they are in the CPU's cache (the first
        half of the search for repeats, :func:`repeated_hashes`: only the hashes' values matter from here on)."""
        hashes = bufs.hashes(n) if self.h is not None else None
        if not self._read_group(pf, i, o, n, uuid_col, bufs, hashes):
            return False
        if hashes is not None:
            adhoc_kernels.partition_top_into(hashes, self.h, o, self.runs[i])
        return True

    def _read_group(self, pf: pq.ParquetFile, i: int, o: int, n: int, uuid_col: tuple[int, int] | None,
                    bufs: adhoc_pages.Buffers, hashes: np.ndarray | None) -> bool:
        """Row group ``i``'s rows into the file's arrays, their uuid hashes into ``hashes`` (this thread's)."""
        hashed = None
        if uuid_col is not None and PAGE_HASHES:
            hashed = adhoc_pages.chunk_hashes(self.p.path, pf.metadata.row_group(i), *uuid_col, hashes, bufs)
            if hashed is False:
                return False
        cols = [s for c, s in self.p.cols.items() if s is not None and not (hashed and c == "event_uuid")]
        first = o
        for b in pf.iter_batches(min(max(n, 1), 4 * BATCH_ROWS), row_groups=[i], columns=cols, use_threads=False):
            if self.failed or not self.add(b, o):
                return False
            if not hashed and hashes is not None and _uuid_hashes_into(
                    b.column(self.p.cols["event_uuid"]), hashes[o - first:o - first + b.num_rows]) is None:
                return False
            o += b.num_rows
        return True

    def typed(self, col: str, values: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """The values of a dictionary typed by the import's rule for canonical column ``col`` (a string:
        ``ingest.trimmed``), and a mask of those it makes NULL. Values without an edge space are kept as they
        are (NULL when empty); only a dictionary holding another goes through the import's SQL."""
        off, data = _buffers(values)
        valid = values.is_valid().to_numpy(zero_copy_only=False) if values.null_count else np.ones(len(values), bool)
        if not _edges(off, data, valid):
            return values, ~(valid & (np.diff(off) > 0))
        src = self.p.cols[col]
        with self.lock:
            self.con.register("_yy_dict", pa.table({src: values, "__i": np.arange(len(values))}))
            try:
                out = self.con.sql(f"SELECT {self.p.exprs[col]} FROM _yy_dict ORDER BY __i").to_arrow_table(
                ).column(0).combine_chunks()
            finally:
                self.con.unregister("_yy_dict")
        return out, out.is_null().to_numpy(zero_copy_only=False)

    def dictionary(self, b: pa.RecordBatch, col: str):
        """(row indices with -1 for NULL, typed dictionary, its NULL mask with one more entry for -1) of a string
        column; None if absent."""
        s = self.p.cols[col]
        if s is None:
            return None
        a = b.column(s)
        if not pa.types.is_dictionary(a.type):
            a = pc.dictionary_encode(a)
        idx = a.indices.fill_null(-1).to_numpy() if a.null_count else a.indices.to_numpy()
        typed, null = self.typed(col, a.dictionary)
        return idx, typed, np.append(null, True)

    def add(self, b: pa.RecordBatch, o: int) -> bool:
        """Take a batch whose first row is row ``o`` of the file (its ids, names and times; the caller hashes
        its uuids); False when a row is one this reader does not decide. The dictionaries are typed and numbered here (under
        the lock: the interner and the names are shared); each row's id number, time and code go to the file's
        arrays in one kernel (``adhoc_kernels.fill_rows``: no temporary the size of the batch)."""
        n = b.num_rows
        ts = b.column(self.p.cols["ts"])
        if ts.null_count:
            return False
        ev, u, d = (self.dictionary(b, c) for c in ("event", "user_id", "distinct_id"))
        with self.lock:
            lut = np.array([self.names.setdefault(e, len(self.names)) if e is not None else -1
                            for e in ev[1].to_pylist()] + [-1], np.int16)
            if len(self.names) > 32_767:
                return False
            gu, gd = (np.full(1, -1, np.int64) if x is None else np.append(self.ids.intern(x[1], ~x[2][:-1]), -1)
                      for x in (u, d))
        none = np.full(1, -1, np.int32)  # a missing id column: every row reads its one entry, -1
        ui, di = (none if x is None else x[0] for x in (u, d))
        links = np.empty(n, np.int64)
        used_u, used_d = np.zeros(gu.size, np.bool_), np.zeros(gd.size, np.bool_)
        m = adhoc_kernels.fill_rows(ts.view(pa.int64()).to_numpy(), self.p.unit, self.raw_end, ev[0], lut, ui, di,
                                    u is None, d is None, gu, gd, self.t[o:o + n], self.c[o:o + n],
                                    self.k[o:o + n], used_u, used_d, links)
        if m < 0:
            return False
        with self.lock:
            if self.used.size < self.ids.n:
                self.used = np.concatenate([self.used, np.zeros(max(self.ids.n, 2 * self.used.size)
                                                                - self.used.size, np.bool_)])
            self.used[gu[used_u]] = True
            self.used[gd[used_d]] = True
        if m:
            links = links[:m]
            self.links.add(gu[ui[links]], gd[di[links]], self.t[o + links], self.lock)
        return True


def uuid_hashes(a: pa.Array):
    """(64-bit hash of each value, never 0; mask of the values that are not NULL or empty) of a string column;
    (None, None) when a value has an edge character ``trim`` could remove (the import's typing would change it)."""
    h = np.empty(len(a), np.uint64)
    if _uuid_hashes_into(a, h) is None:
        return None, None
    return h, h != 0


def _uuid_hashes_into(a: pa.Array, out: np.ndarray):
    """Each value's hash into ``out`` (0 for NULL or empty); None when a value has an edge character."""
    off, data = _buffers(a)
    valid = a.is_valid().to_numpy(zero_copy_only=False) if a.null_count else np.ones(len(a), np.bool_)
    return None if _hash_strings(off, data, valid, out) else out


@njit(cache=True, nogil=True)
def _edges(off, data, valid):
    """Whether a valid string starts or ends with a space or a byte above 127 (``ingest.trimmed``'s test)."""
    for i in range(off.size - 1):
        a, e = off[i], off[i + 1]
        if valid[i] and e > a and (data[a] == 32 or data[a] > 127 or data[e - 1] == 32 or data[e - 1] > 127):
            return True
    return False


@njit(cache=True, nogil=True)
def _hash_strings(off, data, valid, out):
    """Hash each valid string (8 bytes a step, murmur's finaliser; never 0, which NULL and empty strings get);
    True when one starts or ends with a space or a byte above 127 (``ingest.trimmed``'s test)."""
    for i in range(off.size - 1):
        a, e = off[i], off[i + 1]
        if not valid[i] or e == a:
            out[i] = 0
            continue
        if data[a] == 32 or data[a] > 127 or data[e - 1] == 32 or data[e - 1] > 127:
            return True
        h = _hash_one(data, a, e)
        out[i] = h if h != 0 else np.uint64(1)  # 0 stands for "no uuid"
    return False


# ----------------------------------------------------------------------------- after the scan

def build(ws, p: Plan) -> FileStore | None:
    """The store of the file (in memory: nothing written), or None when a row needs ``adhoc_store.build``'s
    reading."""
    con = ws.con
    meta = pq.ParquetFile(p.path).metadata
    groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    if not sum(groups):
        return None
    names: dict[str, int] = {}
    scan = _Scan(con, p, sum(groups), names)
    try:
        with heap_reused(arrow=True):  # the batches' memory reused from row group to row group
            if not scan.run(groups):
                return None
        drops = _duplicates(p, scan)
        users, n_of = _number_users(con, scan)
        scan.links = scan.used = None  # numbered: only the rows' arrays are needed now
        st = _regroup(scan, n_of, drops, users, names)
        st.reader = "pyarrow"
        return st
    finally:
        con.execute("DROP TABLE IF EXISTS _yy_base")


def _number_users(con, scan: _Scan) -> tuple[pa.Array, np.ndarray]:
    """Identity links resolved by the import's rules on the id numbers (``adhoc_kernels.resolve_links``: of each
    anonymous id the link of its earliest row, ties by the smallest user id; of each loop the newest link
    dropped — one insert, so the greatest ``distinct_id`` —; chains followed to their end, as
    ``identities.resolve``); the final users in id order and,
    for each id number, its final user's number (-1: an id no row's user is)."""
    ids, scan.ids = scan.ids, None
    n = ids.n
    nxt = np.full(n, -1, np.int64)  # each anonymous id's link: the user id it was first sent with
    if scan.links.n:
        gu, gd, lt = scan.links.arrays()
        scan.links = Links()
        gd, gu, _ = adhoc_kernels.earliest_links(gd, gu, lt, n, ids.off, ids.data)
        nxt[gd] = gu
    final = adhoc_kernels.resolve_links(nxt, ids.off, ids.data)
    del nxt
    used = np.flatnonzero(scan.used[:n])
    f = final[used]
    final_seen = np.zeros(n, np.bool_)  # (np.unique sorts: seconds at millions of ids)
    final_seen[f] = True
    finals = np.flatnonzero(final_seen)
    users = ids.strings().take(pa.array(finals)).cast(pa.string())
    del ids
    order = pc.sort_indices(users).to_numpy()  # byte order, as DuckDB's ORDER BY
    finals, users = finals[order], users.take(pa.array(order))
    number = np.empty(n, np.int32)
    number[finals] = np.arange(finals.size, dtype=np.int32)
    n_of = np.full(n, -1, np.int32)
    n_of[used] = number[f]
    return users, n_of


def repeated_hashes(h: np.ndarray, b1: np.ndarray | None = None) -> np.ndarray:
    """The nonzero hashes occurring more than once in ``h`` (reordered: its contents are lost), on ``THREADS``
    threads: each partitions a run of ``h`` by top byte (unless ``b1`` gives the bounds of runs partitioned so
    already, ``partition_top``), then each searches the parts of a range of top bytes (about equal rows) in every
    run."""
    if b1 is None:
        cuts = np.linspace(0, h.size, THREADS + 1).astype(np.int64).tolist()
        b1 = np.zeros((THREADS, 257), np.int64)
        _on_threads([lambda j=j: adhoc_kernels.partition_top(h, cuts[j], cuts[j + 1], b1[j])
                     for j in range(THREADS)])
    per_byte = np.diff(b1, axis=1).sum(axis=0)
    xs = np.searchsorted(np.cumsum(per_byte), np.linspace(0, h.size, THREADS + 1)[1:-1]).tolist()
    xs = [0, *xs, 256]
    out: list = [None] * THREADS
    _on_threads([lambda j=j: out.__setitem__(j, adhoc_kernels.repeated_parts(h, b1, xs[j], max(xs[j], xs[j + 1])))
                 for j in range(THREADS)])
    return np.concatenate(out)


def _duplicates(p: Plan, scan: _Scan) -> np.ndarray:
    """File row numbers of the rows to drop as repeats of an earlier event with the same ``event_uuid``
    (sorted). Rows whose hash repeats are read again by their uuid column only; the uuids decide. The hashes'
    memory becomes ``scan.spare``: the store's times are written there (memory already mapped: a fresh block
    costs a page fault per page, seconds at 100M rows in a VM)."""
    h, scan.h = scan.h, None
    if h is None:
        return np.empty(0, np.int64)
    dup = repeated_hashes(h, scan.runs)
    scan.spare = h
    del h
    if not dup.size:
        return np.empty(0, np.int64)
    dup.sort()
    meta = pq.ParquetFile(p.path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    rows: list = [np.empty(0, np.int64)] * len(sizes)
    uuids: list = [pa.array([], pa.large_string())] * len(sizes)
    todo = iter(range(len(sizes)))

    def work():  # row groups read again on THREADS threads, each keeping its rows whose hash repeats
        pf = pq.ParquetFile(p.path, pre_buffer=False)
        while (i := next(todo, None)) is not None:
            a = pf.read_row_group(i, columns=[p.cols["event_uuid"]], use_threads=False).column(0).combine_chunks()
            h, ok = uuid_hashes(a)
            hit = np.flatnonzero(ok & (dup[np.minimum(np.searchsorted(dup, h), dup.size - 1)] == h))
            rows[i] = starts[i] + hit
            uuids[i] = a.take(pa.array(hit)).cast(pa.large_string())

    _on_threads([work] * max(1, min(THREADS, len(sizes))))
    rows = np.concatenate(rows)
    u = pc.dictionary_encode(pa.concat_arrays(uuids)).indices.to_numpy()
    rank = np.zeros(max(len(scan.names), 1), np.int64)
    for i, name in enumerate(sorted(scan.names)):
        rank[scan.names[name]] = i
    order = np.lexsort((rank[scan.c[rows]], scan.t[rows], u))  # of each uuid: its earliest row first (ties: by name)
    u, rows = u[order], rows[order]
    return np.sort(rows[np.concatenate([[False], u[1:] == u[:-1]])])


def _regroup(scan: _Scan, n_of: np.ndarray, drops: np.ndarray, users: pa.Array, names: dict[str, int]) -> FileStore:
    """The rows grouped by final user (a counting sort), each user's ordered by (time, event): the store."""
    k, scan.k = scan.k, None
    if drops.size:
        k[drops] = -1
    # the rows in THREADS runs, each counted and scattered on its own thread: of each user, the rows of the
    # first run come first (the order of the file, as one pass would give)
    runs = np.linspace(0, k.size, THREADS + 1).astype(np.int64).tolist()
    runs = list(zip(runs[:-1], runs[1:]))
    per = [None] * len(runs)
    edges = np.zeros((len(runs), 3), np.int64)
    _on_threads([lambda j=j, a=a, b=b: per.__setitem__(j, adhoc_kernels.count_users(k[a:b], n_of, len(users),
                                                                                   edges[j]))
                 for j, (a, b) in enumerate(runs)])
    counts = np.sum(per, axis=0)
    met = edges[edges[:, 0] >= 0]
    # rows already grouped by user in user order (a file ordered by user), none dropped: nothing to move
    grouped = not drops.size and bool(met[:, 2].all()) and bool((met[1:, 0] >= met[:-1, 1]).all())
    if drops.size and not counts.all():  # every event of some user was a repeat of another's
        have = counts > 0
        renum = (np.cumsum(have) - 1).astype(np.int32)
        n_of = np.where(n_of >= 0, renum[np.maximum(n_of, 0)], -1).astype(np.int32)
        users, counts, per = users.filter(pa.array(have)), counts[have], [x[have] for x in per]
    starts = np.zeros(len(users) + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    events = sorted(names)
    remap = np.zeros(max(len(names), 1), np.int16)
    for i, name in enumerate(events):
        remap[names[name]] = i
    m = int(starts[-1])
    spare, scan.spare = scan.spare, None
    t, c = scan.t, scan.c
    scan.t = scan.c = None
    if grouped:
        ts, code = t, c
        del spare, per
        adhoc_kernels.remap_codes(code, remap)
    else:
        ts = spare.view(np.int64)[:m] if spare is not None else populated(m, np.int64)
        code = populated(m, np.int16)  # mapped at once: a fault per fresh page was ≈ 0.3 s at 100M events
        pos = [starts[:-1] + x for x in np.cumsum([np.zeros_like(counts)] + per[:-1], axis=0)]
        del per, spare
        _on_threads([lambda a=a, b=b, q=q: adhoc_kernels.scatter_users(k[a:b], n_of, t[a:b], c[a:b], remap, q, ts,
                                                                       code) for (a, b), q in zip(runs, pos)])
        del pos
    del k, t, c
    # users split in parts of about equal rows, ordered on threads
    cuts = np.unique(np.searchsorted(starts, np.linspace(0, starts[-1], THREADS + 1)[1:-1]).tolist() + [0, len(users)])
    lo = np.full((len(cuts) - 1, len(events)), np.iinfo(np.int64).max, np.int64)
    hi = np.full((len(cuts) - 1, len(events)), np.iinfo(np.int64).min, np.int64)
    _on_threads([lambda a=a, b=b, j=j: adhoc_kernels.order_users(starts, ts, code, a, b, lo[j], hi[j])
                 for j, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))])
    lo, hi = lo.min(axis=0), hi.max(axis=0)
    bounds = {e: (int(lo[i]), int(hi[i])) for i, e in enumerate(events) if lo[i] <= hi[i]}
    return FileStore.in_memory(ts, code, starts, users, events, bounds)


def _column(pf: pq.ParquetFile, name: str | None) -> tuple[int, int] | None:
    """(index, highest definition level) of a flat column without repetition; None otherwise."""
    if name is None:
        return None
    schema = pf.metadata.schema
    for j in range(len(schema)):
        c = schema.column(j)
        if c.path == name and c.max_repetition_level == 0:
            return j, c.max_definition_level
    return None


def _on_threads(calls: list) -> None:
    """Run the calls (Numba kernels and PyArrow reads release the GIL) each on its own thread; the first
    exception is raised again here."""
    if len(calls) == 1:
        calls[0]()
        return
    errors: list[BaseException] = []

    def run(f):
        try:
            f()
        except BaseException as exc:  # noqa: BLE001 - raised again below
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(f,), name="yunying-file-store", daemon=True) for f in calls]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors:
        raise errors[0]
