"""Pure compute on per-user event sequences, no I/O: the calendar, chunks of user runs, the Numba kernels."""
