"""``event_uuid`` hashes straight from a Parquet column chunk's pages, never built into an Arrow string array.

The ``event_uuid`` column is most of an events file's bytes (36 of about 50 per row) and the store needs only a
64-bit hash of each value (repeats are then read again and compared as text, ``adhoc_parquet._duplicates``). PyArrow
would decompress each page, then copy every value into a new string array with offsets; here the decompressed page
is hashed where it lies (a Numba kernel walking PLAIN's length-prefixed values), with the same hash as
``adhoc_parquet.uuid_hashes``.

Only the common layout is read so: data pages (v1 or v2) in PLAIN encoding, compressed with ZSTD or Snappy or not
at all, of a BYTE_ARRAY column without repetition whose pages hold no NULL (a page holding fewer values than its
header counts has NULLs). Anything else (dictionary pages, other encodings or codecs, NULLs) answers None and the
caller reads the column with PyArrow.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os

import numpy as np
import pyarrow as pa
from numba import njit

from .adhoc_hash import _load_u64, hash_one as _hash_one

_CODECS = {"ZSTD": "zstd", "SNAPPY": "snappy", "UNCOMPRESSED": None}
_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3
_PLAIN = 0


class _NotAHeader(Exception):
    """A page header this reader cannot read (an internal signal: the chunk is then read by PyArrow)."""


class _Reader:
    """Thrift compact protocol, just enough for a page header (other fields are skipped)."""

    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def byte(self) -> int:
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if b < 0x80:
                return out
            shift += 7

    def zigzag(self) -> int:
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def struct(self) -> dict:
        """The struct's integer, bool and struct fields by field id (others skipped)."""
        out: dict = {}
        fid = 0
        while True:
            head = self.byte()
            kind = head & 0x0F
            if kind == 0:
                return out
            fid = fid + (head >> 4) if head >> 4 else self.zigzag()
            out[fid] = self.value(kind)

    def value(self, kind: int):
        if kind in (1, 2):
            return kind == 1
        if kind == 3:
            return self.byte()
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            self.pos += 8
            return None
        if kind == 8:
            n = self.varint()
            self.pos += n
            return None
        if kind in (9, 10):
            head = self.byte()
            n = head >> 4 if head >> 4 != 15 else self.varint()
            for _ in range(n):
                self.value(head & 0x0F)
            return None
        if kind == 11:
            n = self.varint()
            if n:
                kv = self.byte()
                for _ in range(n):
                    self.value(kv >> 4)
                    self.value(kv & 0x0F)
            return None
        if kind == 12:
            return self.struct()
        raise _NotAHeader(kind)


class Buffers:
    """One thread's memory for reading chunks: a page's decompressed bytes and a row group's hashes, grown as
    needed and reused from row group to row group (a fresh block each time costs a page fault per 4 KiB page,
    seconds of system time over a 100M-event file)."""

    def __init__(self):
        self.page = np.empty(0, np.uint8)
        self.hash_room = np.empty(0, np.uint64)

    def hashes(self, n: int) -> np.ndarray:
        """Room for ``n`` 64-bit hashes (a row group's uuids, before they are sorted into the file's array)."""
        if self.hash_room.size < n:
            self.hash_room = np.empty(n, np.uint64)
        return self.hash_room[:n]

    def take(self, name: str, size: int) -> np.ndarray:
        buf = getattr(self, name)
        if buf.size < size:
            buf = np.empty(max(size, buf.size + buf.size // 2), np.uint8)
            setattr(self, name, buf)
        return buf[:size]


def chunk_hashes(path: str, meta, column: int, max_def: int, out: np.ndarray, bufs: Buffers | None = None
                 ) -> bool | None:
    """Each value's hash of column ``column`` (no repetition, definition levels up to ``max_def``) of row group
    ``meta`` (``pq.RowGroupMetaData``) into ``out`` (one per row); None when this reader does not read the chunk
    (PyArrow must), False when a value has an edge character (as ``adhoc_parquet.uuid_hashes``). ``bufs``: the
    calling thread's reusable memory."""
    col = meta.column(column)
    codec = _CODECS.get(col.compression, "?")
    if codec == "?" or col.physical_type != "BYTE_ARRAY" or col.has_dictionary_page:
        return None
    bufs = bufs or Buffers()
    raw = _mapped(path, col.data_page_offset, col.total_compressed_size)
    if raw is None:
        return None
    view = memoryview(raw)
    pos = row = 0
    while pos < raw.size:
        r = _Reader(view, pos)
        try:
            head = r.struct()
        except (IndexError, _NotAHeader):
            return None
        kind, size, csize = head.get(1), head.get(2), head.get(3)
        if size is None or csize is None or r.pos + csize > raw.size:
            return None
        body = raw[r.pos:r.pos + csize]
        pos = r.pos + csize
        v1, v2 = head.get(5), head.get(8)
        if kind == _DATA_PAGE and isinstance(v1, dict) and v1.get(2) == _PLAIN:
            n = v1.get(1)
            data = _decompress(codec, body, size, bufs)
            skip = 4 + int(data[:4].view("<u4")[0]) if max_def and data is not None and data.size >= 4 else 0
        elif kind == _DATA_PAGE_V2 and isinstance(v2, dict) and v2.get(4) == _PLAIN and not v2.get(2) \
                and not v2.get(6):
            n, levels = v2.get(1), v2.get(5, 0)
            data = _decompress(codec if v2.get(7, True) else None, body[levels:], size - levels, bufs)
            skip = 0
        else:
            return None
        if data is None or n is None or row + n > out.size:
            return None
        got = _hash_plain(data, skip, out[row:row + n])
        if got == -2:
            return False
        if got != n:
            return None  # NULLs (fewer values than the page counts), or a damaged page: PyArrow decides
        row += n
    return True if row == out.size else None


def _mapped(path: str, offset: int, size: int) -> np.ndarray | None:
    """The file's bytes ``offset .. offset + size - 1``, mapped read-only with their pages mapped at once
    (``MAP_POPULATE``: the page cache's pages themselves, no copy — copying 2 GB of uuid chunks was ≈ 1 s of
    system time at 100M events); None when the file is shorter. Unmapped when the last view goes."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size < offset + size or size <= 0:
            return None
        start = offset - offset % mmap.ALLOCATIONGRANULARITY
        m = mmap.mmap(f.fileno(), offset + size - start, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                      prot=mmap.PROT_READ, offset=start)
    return np.frombuffer(m, np.uint8)[offset - start:]


def _libzstd():
    """``ZSTD_decompress`` and ``ZSTD_isError`` of the system's libzstd (ctypes calls release the GIL), or None:
    PyArrow's codec then decompresses (into a fresh buffer each page)."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
        run, is_error = lib.ZSTD_decompress, lib.ZSTD_isError
    except (OSError, AttributeError, TypeError):
        return None
    run.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
    run.restype = ctypes.c_size_t
    is_error.argtypes = [ctypes.c_size_t]
    is_error.restype = ctypes.c_uint
    return run, is_error


_ZSTD = _libzstd()


def _decompress(codec, body: np.ndarray, size: int, bufs: Buffers) -> np.ndarray | None:
    """The page's bytes (ZSTD: into ``bufs`` with libzstd where there is one); None when they do not decompress
    (PyArrow then reads the chunk and says what is wrong)."""
    if codec is None:
        return body if body.size == size else None
    if codec == "zstd" and _ZSTD is not None:
        out = bufs.take("page", size)
        got = _ZSTD[0](out.ctypes.data, size, body.ctypes.data, body.size)
        return out if not _ZSTD[1](got) and got == size else None
    try:
        buf = pa.Codec(codec).decompress(body, decompressed_size=size)
    except (OSError, ValueError, pa.ArrowException):
        return None
    return np.frombuffer(buf, np.uint8)


@njit(cache=True, nogil=True)
def _hash_plain(data, p, out):
    """PLAIN byte arrays (4-byte little-endian length, then the bytes) from ``data[p:]``, each one's hash into
    ``out`` (0 for an empty one, as ``adhoc_parquet._hash_strings``); how many values (-1: more than ``out``
    holds or a value past the end; -2: a value with an edge character)."""
    n = 0
    end = data.size
    while p < end:
        if p + 4 > end or n >= out.size:
            return -1
        if p + 8 <= end:
            m = np.int64(_load_u64(data, p) & np.uint64(0xFFFFFFFF))
        else:
            m = np.int64(data[p]) | np.int64(data[p + 1]) << 8 | np.int64(data[p + 2]) << 16 | np.int64(data[p + 3]) << 24
        a = p + 4
        e = a + m
        if e > end:
            return -1
        if e == a:
            out[n] = 0
        else:
            if data[a] == 32 or data[a] > 127 or data[e - 1] == 32 or data[e - 1] > 127:
                return -2
            h = _hash_one(data, a, e)
            out[n] = h if h != 0 else np.uint64(1)
        n += 1
        p = e
    return n
