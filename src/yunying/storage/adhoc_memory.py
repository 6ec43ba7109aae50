"""Memory for the ``--events FILE`` store build: arrays mapped at once, freed blocks kept for reuse.

In this project's VM every fresh page of memory costs the kernel a fault and zeroing (measured: seconds of system
time over a 100M-event file); these helpers keep the build from asking for fresh pages more than once.
"""
from __future__ import annotations

import contextlib
import ctypes
import mmap

import numpy as np


def populated(n: int, dtype) -> np.ndarray:
    """An uninitialised array of ``n`` values whose memory is mapped at once (``MAP_POPULATE``: the kernel maps
    every page in one call instead of one fault per page on first touch), in small pages: NumPy's large arrays ask
    for huge pages, which on a busy machine cost the kernel's compaction of memory (measured: 0.9–1.2 s of system
    time per 800 MB against 0.26 s so). Where ``mmap`` cannot, a NumPy array."""
    size = max(int(n), 1) * np.dtype(dtype).itemsize
    try:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0))
    except (OSError, ValueError, AttributeError):
        return np.empty(n, dtype)
    return np.frombuffer(buf, dtype, count=n)


@contextlib.contextmanager
def heap_reused(arrow: bool = False):
    """While the store is built, large blocks freed by NumPy (``arrow``: and PyArrow, whose buffers then come
    from the C heap instead of its own allocator) stay in the C heap for the next batch instead of going back to
    the system: in a VM each fresh page costs a fault (measured: 18% of the CPU of a 10M-event build; reading the
    ids, names and times of 10M events with PyArrow, 0.09–0.10 s of system time so against 0.26–0.31 with its
    own allocator). glibc only (``mallopt``); the defaults (128 KiB, PyArrow's pool) come back after, and the
    heap's free memory goes back to the system (``malloc_trim``: it would otherwise add to the peak of the steps
    that follow)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        yield
        return
    import pyarrow as pa

    pool = pa.default_memory_pool()
    mmap_threshold, trim_threshold = -3, -1
    mallopt(mmap_threshold, 1 << 30)
    mallopt(trim_threshold, (1 << 31) - 1)
    if arrow:
        pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(pool)
        mallopt(mmap_threshold, 128 * 1024)
        mallopt(trim_threshold, 128 * 1024)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
