"""yunying.stats loads its names on first use: one submodule does not pull SciPy's statistics for the rest."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def test_every_public_name_is_the_submodules_own():
    import yunying.stats as S

    for name in S.__all__:
        value = getattr(S, name)
        if name == "messages":
            assert value is importlib.import_module("yunying.stats.messages")
            continue
        assert value is getattr(importlib.import_module(f"yunying.stats.{S._WHERE[name]}"), name), name
    assert callable(S.compare)            # the function, not the submodule of the same name
    with pytest.raises(AttributeError):
        S.no_such_name  # noqa: B018


def test_one_submodule_does_not_load_scipy_stats():
    # the CAC interval, the difference-in-differences and synthetic-control tails, the SRM check, the sufficient
    # statistics and content shrinkage use scipy.special (the same values) so that a command starts without
    # scipy.stats; the comparisons are loaded by name on first use
    code = ("import sys; import yunying.stats.acquisition, yunying.stats.causal.did, yunying.stats.causal.synth, "
            "yunying.stats.srm, yunying.stats.sufficient, yunying.stats.shrinkage; "
            "from yunying.stats import compare; "
            "print('scipy.stats' in sys.modules, callable(compare))")
    both = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert both.stdout.split() == ["False", "True"]
    power = subprocess.run([sys.executable, "-c", "import sys; import yunying.stats.power; "
                            "print('scipy.stats' in sys.modules)"], capture_output=True, text=True, check=True)
    assert power.stdout.split() == ["True"]  # the check can tell: power analysis still imports scipy.stats
