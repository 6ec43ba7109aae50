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
    code = ("import sys; import yunying.stats.acquisition, yunying.stats.causal.did; "
            "from yunying.stats import compare; "
            "print('scipy.stats' in sys.modules, callable(compare))")
    # causal.did imports scipy.stats itself: only stats.acquisition is checked before it
    first = subprocess.run([sys.executable, "-c", "import sys; import yunying.stats.acquisition; "
                            "print('scipy.stats' in sys.modules)"], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["False"]
    both = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert both.stdout.split() == ["True", "True"]
