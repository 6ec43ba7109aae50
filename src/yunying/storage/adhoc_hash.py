"""The 64-bit hash of a byte range that ``--events FILE`` reading gives ids and ``event_uuid`` s (Numba, inlined
into the kernels of ``adhoc_parquet.py`` and ``adhoc_pages.py``, so both hash a value alike)."""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _load_u64(typingctx, data, p):
    """The 8 bytes ``data[p:p + 8]`` as one little-endian 64-bit word, in one unaligned load (the caller keeps
    ``p + 8`` within the array; x86 and ARM64 are little-endian). ``data``: a contiguous uint8 array."""
    if not (isinstance(data, types.Array) and data.dtype == types.uint8 and data.ndim == 1 and data.layout == "C"):
        return None  # no signature for other arguments: Numba's own typing error names the call (a kernel bug)
    sig = types.uint64(data, p)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [context.cast(builder, args[1], sig.args[1], types.intp)])
        return builder.load(builder.bitcast(ptr, ir.IntType(64).as_pointer()), align=1)

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def hash_one(data, a, e):
    """A 64-bit hash of ``data[a:e]`` (8 bytes a step, murmur's finaliser)."""
    k = np.uint64(0x9E3779B97F4A7C15)
    h = np.uint64(e - a) * k
    p = a
    while p + 8 <= e:
        h = (h ^ _load_u64(data, p)) * k
        h ^= h >> np.uint64(31)
        p += 8
    if p < e:  # the last 1-7 bytes as the low bytes of a word (the rest zero), in one load where 8 bytes lie there
        r = e - p
        if p + 8 <= data.size:
            w = _load_u64(data, p) & ((np.uint64(1) << np.uint64(8 * r)) - np.uint64(1))
        elif e >= 8:
            w = _load_u64(data, e - 8) >> np.uint64(8 * (8 - r))
        else:
            w = np.uint64(0)
            for j in range(r):
                w |= np.uint64(data[p + j]) << np.uint64(8 * j)
        h = (h ^ w) * k
        h ^= h >> np.uint64(31)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h


@intrinsic
def prefetch(typingctx, arr, i):
    """A hint to bring ``arr[i]``'s cache line in (LLVM's ``prefetch``: no fault, nothing read if ``i`` is past
    the end); lets a kernel overlap the cache misses of the random slots it will probe next. ``arr``: a
    contiguous one-dimensional array."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"):
        return None  # no signature for other arguments (a kernel bug): Numba's own typing error names the call
    sig = types.void(arr, i)

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [context.cast(builder, args[1], sig.args[1], types.intp)])
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [byte],
                                              ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]))
        builder.call(fn, [builder.bitcast(ptr, byte), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen
