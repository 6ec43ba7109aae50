"""The CLI runs OpenBLAS on one thread unless told otherwise (its threads made each tiny fit 10-40x slower on
the 2-core machine: benchmarks/README.md, "yunying demo and the acquisition commands")."""
from __future__ import annotations

import os
import subprocess
import sys

CODE = "import os, sys, yunying.cli; print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)"


def _run(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                          check=True).stdout.split()


def test_cli_sets_one_blas_thread_before_numpy_loads():
    assert _run(None) == ["1", "False"]   # set before NumPy (and its OpenBLAS) is loaded, so it takes effect


def test_a_users_setting_is_kept():
    assert _run("2") == ["2", "False"]
