"""Vectorised helpers of the demo generator: the intra-day time profile, and NumPy → Arrow strings
(decimal and hex digits, UUIDs, dictionary takes) built without Python loops over rows."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

HOUR_WEIGHTS = np.array([1.2, 0.6, 0.35, 0.25, 0.2, 0.3, 0.8, 1.8, 2.6, 2.6, 2.4, 2.6,
                         3.4, 3.0, 2.4, 2.3, 2.4, 2.8, 3.4, 4.2, 5.2, 5.6, 4.4, 2.6])
_HW = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
_HCDF = np.concatenate([[0.0], np.cumsum(_HW)])
_HCDF[-1] = 1.0
DAY_S = 86_400.0
DAY_US = 86_400_000_000
_DAY_MAX = DAY_S - 1e-6


def _cdf_tod(x: np.ndarray) -> np.ndarray:
    """CDF of the intra-day profile at x seconds after midnight."""
    h = np.clip((x // 3600).astype(np.int64), 0, 23)
    return np.minimum(_HCDF[h] + _HW[h] * (x - h * 3600.0) / 3600.0, 1.0)


def _inv_tod(u: np.ndarray) -> np.ndarray:
    h = np.clip(np.searchsorted(_HCDF, u, side="right") - 1, 0, 23)
    return h * 3600.0 + (u - _HCDF[h]) / _HW[h] * 3600.0


def _sample_tod(rng: np.random.Generator, n: int, lb: np.ndarray | None = None) -> np.ndarray:
    """Seconds after midnight from the intra-day profile, conditioned on being > lb."""
    u = rng.random(n)
    if lb is None:
        return np.minimum(_inv_tod(u), _DAY_MAX)
    flo = _cdf_tod(lb)
    x = _inv_tod(flo + u * (1.0 - flo))
    return np.minimum(np.maximum(x, lb + 1e-6), _DAY_MAX)


def _to_us(seconds: np.ndarray) -> np.ndarray:
    return (seconds * 1e6).astype(np.int64)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 ASCII matrix of zero-padded decimals."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values.astype(np.int64)[:, None] // powers[None, :]) % 10 + 48).astype(np.uint8)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte -> its two hex digits, as one little-endian uint16 ("ab" -> 0x6261)
_HEX16 = (_HEX[np.arange(256) >> 4].astype(np.uint16) | (_HEX[np.arange(256) & 15].astype(np.uint16) << 8))


def _hex(raw: np.ndarray) -> np.ndarray:
    """(n, k) uint8 bytes -> (n, 2k) ASCII hex."""
    pairs = _HEX16.astype("<u2")[raw]
    return np.ascontiguousarray(pairs).view(np.uint8).reshape(raw.shape[0], raw.shape[1] * 2)


def _strings(mat: np.ndarray) -> pa.Array:
    """Arrow string array from an (n, w) matrix of ASCII bytes (every string w long)."""
    n, w = mat.shape
    data = np.ascontiguousarray(mat, dtype=np.uint8)
    if n * w < 2**31 - 1:
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return arr.cast(pa.string())


def _prefixed(prefix: str, body: np.ndarray) -> np.ndarray:
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    return np.hstack([np.broadcast_to(pre, (body.shape[0], pre.size)), body])


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """n random (version 4) UUID strings."""
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40      # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80      # RFC 4122 variant
    h = _hex(raw)
    out = np.empty((n, 36), dtype=np.uint8)
    pos = 0
    for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)):
        out[:, pos:pos + b - a] = h[:, a:b]
        pos += b - a
        if pos < 36:
            out[:, pos] = ord("-")
            pos += 1
    return _strings(out)


def _take(dictionary: pa.Array, idx: np.ndarray) -> pa.Array:
    """dictionary[idx] with nulls where idx < 0."""
    idx = idx.astype(np.int32, copy=False)
    neg = idx < 0
    indices = pa.array(idx, mask=neg) if neg.any() else pa.array(idx)
    return dictionary.take(indices)
