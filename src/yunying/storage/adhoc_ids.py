"""Ids numbered for ``--events FILE.parquet`` reading (``adhoc_parquet.py``): the interner of the typed user ids and
anonymous ids (a Numba hash table over their bytes, each kept once), and the identity-link candidates of every
batch. Both grow into memory mapped at once (``adhoc_memory.populated``): a fault per fresh page cost more than
the work itself."""
from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
from numba import njit

from .adhoc_hash import hash_one as _hash_one, prefetch
from .adhoc_memory import populated


class Links:
    """The identity-link candidates of every batch, appended to three arrays that grow into populated memory (a
    list of each batch's arrays joined at the end took ≈ 0.3 s of page faults at 100M events)."""

    def __init__(self):
        self.n = 0
        self.u = self.d = self.t = np.empty(0, np.int64)

    def add(self, u: np.ndarray, d: np.ndarray, t: np.ndarray, lock: threading.Lock) -> None:
        with lock:
            a, self.n = self.n, self.n + u.size
            if self.n > self.u.size:
                cap = max(self.n, 2 * self.u.size, 1 << 16)
                self.u, self.d, self.t = (_grown(x[:a], cap) for x in (self.u, self.d, self.t))
            self.u[a:self.n], self.d[a:self.n], self.t[a:self.n] = u, d, t

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.u[:self.n], self.d[:self.n], self.t[:self.n]


class Interner:
    """Distinct strings numbered in order of first sight: a hash table (Numba) over the bytes of the strings
    seen, kept once each — a few bytes per distinct id, however many rows repeat it."""

    def __init__(self):
        self.n = 0
        self.hashes = np.zeros(1 << 16, np.uint64)
        self.off = np.zeros((1 << 16) + 1, np.int64)
        self.data = np.zeros(1 << 20, np.uint8)
        self.table = np.full(1 << 17, -1, np.int64)

    def intern(self, strings: pa.Array, take: np.ndarray) -> np.ndarray:
        """The number of each string (-1 where ``take`` is False), new ones added. Its arrays grow into memory
        mapped at once (``populated``: a fault per fresh page was most of the interning's time)."""
        off, data = string_buffers(strings)
        n, size = self.n + len(strings), int(self.off[self.n]) + int(off[-1] - off[0])
        if n >= self.hashes.size:
            cap = max(n, 2 * self.hashes.size)
            self.hashes = _grown(self.hashes, cap)
            self.off = _grown(self.off, cap + 1)
        if size > self.data.size:
            self.data = _grown(self.data, max(size, 2 * self.data.size))
        if 2 * n > self.table.size:
            size = self.table.size
            while 2 * n > size:
                size *= 2
            self.table = populated(size, np.int64)
            self.table.fill(-1)
            _rehash(self.table, self.hashes, self.n)
        out = np.empty(len(strings), np.int64)
        self.n = _intern(off, data, take, self.table, self.hashes, self.off, self.data, self.n, out)
        return out

    def strings(self) -> pa.Array:
        """The strings in number order (over the interner's memory: no copy)."""
        return pa.LargeStringArray.from_buffers(self.n, pa.py_buffer(self.off[:self.n + 1]),
                                                pa.py_buffer(self.data[:int(self.off[self.n])]))


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    """``a``'s values at the start of a new array of ``size`` (the rest uninitialised)."""
    out = populated(size, a.dtype)
    out[:a.size] = a
    return out


_LOW = np.int64(0xFFFFFFFF)
_AHEAD = 16  # the interner asks for the table slot of the string this many ahead (its cache miss overlaps)


@njit(cache=True, nogil=True, inline="always")
def _entry(h, g):
    """A table entry: the hash's top 32 bits beside the string's number (below 2**31), so a probe that meets
    another string's entry rarely has to read that string's hash or bytes; -1 is never one."""
    return np.int64(h >> np.uint64(32)) << 32 | g


@njit(cache=True, nogil=True)
def _rehash(table, hashes, n):
    mask = table.size - 1
    for g in range(n):
        if g + _AHEAD < n:
            prefetch(table, np.int64(hashes[g + _AHEAD] & np.uint64(mask)))
        h = hashes[g]
        s = np.int64(h & np.uint64(mask))
        while table[s] != -1:
            s = (s + 1) & mask
        table[s] = _entry(h, g)


@njit(cache=True, nogil=True)
def _intern(off, data, take, table, hashes, aoff, adata, n, out):
    mask = table.size - 1
    m = off.size - 1
    hs = np.empty(m, np.uint64)
    for i in range(m):
        hs[i] = _hash_one(data, off[i], off[i + 1])
    for i in range(m):
        if i + _AHEAD < m:
            prefetch(table, np.int64(hs[i + _AHEAD] & np.uint64(mask)))
        if not take[i]:
            out[i] = -1
            continue
        a, e = off[i], off[i + 1]
        h = hs[i]
        s = np.int64(h & np.uint64(mask))
        tag = _entry(h, 0)
        while True:
            x = table[s]
            if x == -1:
                table[s] = tag | n
                hashes[n] = h
                p = aoff[n]
                for j in range(e - a):
                    adata[p + j] = data[a + j]
                aoff[n + 1] = p + e - a
                out[i] = n
                n += 1
                break
            g = x & _LOW
            if x ^ g == tag and aoff[g + 1] - aoff[g] == e - a:
                p = aoff[g]
                same = True
                for j in range(e - a):
                    if adata[p + j] != data[a + j]:
                        same = False
                        break
                if same:
                    out[i] = g
                    break
            s = (s + 1) & mask
    return n


def string_buffers(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (one more than values) and bytes of a string array, without copying."""
    bufs = a.buffers()
    wide = pa.types.is_large_string(a.type)
    off = np.frombuffer(bufs[1], np.int64 if wide else np.int32)[a.offset:a.offset + len(a) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None and len(bufs[2]) else np.zeros(1, np.uint8)
    return off, data
