"""Numba kernels, one module per analysis; ``common`` holds what they share."""
