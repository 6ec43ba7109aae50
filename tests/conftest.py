from __future__ import annotations

import os

import pytest

# Kernels: Numba's JIT in every test (the suite never starts a background build of the ahead-of-time kernels in
# the user's cache); tests/perf/test_kernels_aot.py builds them in a temporary folder and checks both paths.
os.environ["YUNYING_KERNELS"] = "jit"


@pytest.fixture
def ws(tmp_path):
    import yunying

    w = yunying.Workspace.init(tmp_path / "ws")
    yield w
    w.close()
