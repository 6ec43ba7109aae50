"""Constants the kernels and their callers share, in a module that loads no Numba (callers import them without
compiling or loading any kernel)."""
from __future__ import annotations

import numpy as np

# NumPy scalars, not Python ints: Numba types them int64 rather than as literals (the ahead-of-time build
# cannot unify a variable that starts as a literal I64_MAX and later holds an int64 time)
I64_MIN = np.int64(np.iinfo(np.int64).min)
I64_MAX = np.int64(np.iinfo(np.int64).max)

ORDERED, STRICT, UNORDERED = 0, 1, 2  # funnel modes (funnel_kernel's ``mode``)
