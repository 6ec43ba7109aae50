"""SciPy's compiled special-function ufuncs that the content priors need (``betaln``, ``expit``, ``logit``,
``betaincinv``), without running ``scipy.special``'s package ``__init__`` (issue 13, start-up: since SciPy 1.15
that ``__init__`` loads the array-API layer, which imports ``numpy.testing``, ``numpy.f2py`` and parses hundreds
of docstrings: ≈ 0.15-0.35 s of CPU before the first quantile; the compiled modules themselves take ≈ 10 ms).

The names below are the very ufunc objects that ``scipy.special`` exports (with NumPy inputs and
``SCIPY_ARRAY_API`` unset, ``scipy.special.betaln is scipy.special._special_ufuncs.betaln``), so every value is
SciPy's to the bit: tests/stats/test_ufuncs.py checks that a later ``import scipy.special`` hands out these same
objects. How they are loaded:

* ``scipy.special._ufuncs`` and its compiled siblings (``_ufuncs_cxx``, ``_special_ufuncs`` …) are imported
  under a bare stand-in for the ``scipy.special`` package (a module with the package's ``__path__`` and nothing
  else) that is removed again as soon as they are loaded. They stay in ``sys.modules`` under their own names, so
  a later ``import scipy.special`` runs its ``__init__`` on the same compiled modules.
* While the stand-in is in ``sys.modules``, this thread holds the import lock of ``scipy.special`` and the
  stand-in is marked as initialising, so an ``import scipy.special`` in another thread waits and then imports
  the real package.
* Where ``scipy.special`` is already imported, or anything in the above fails (another SciPy whose ``_ufuncs``
  imports Python parts of the package …), the names come from ``scipy.special`` itself: the same values, only
  slower to start.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ["betaln", "expit", "logit", "betaincinv", "FAST"]

_PACKAGE = "scipy.special"
_NAMES = ("betaln", "expit", "logit", "betaincinv")


def _stand_in(path: list[str]) -> types.ModuleType:
    """A bare package module for ``scipy.special``, marked as still initialising."""
    spec = importlib.machinery.ModuleSpec(_PACKAGE, None, is_package=True)
    spec.submodule_search_locations = list(path)
    spec._initializing = True
    return importlib.util.module_from_spec(spec)


def _submodules() -> list[str]:
    return [m for m in list(sys.modules) if m.startswith(_PACKAGE + ".")]


def _compiled() -> types.ModuleType | None:
    """``scipy.special._ufuncs`` loaded without the package ``__init__``; None where that is not possible."""
    from importlib import _bootstrap   # the import system's per-module locks (what ``import`` itself takes)

    import scipy  # noqa: F401  the top package (small: its submodules load lazily), imported before the lock

    if _PACKAGE in sys.modules:
        return None
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    with _bootstrap._ModuleLockManager(_PACKAGE):
        if _PACKAGE in sys.modules:        # another thread imported it meanwhile
            return None
        stand_in = sys.modules[_PACKAGE] = _stand_in(spec.submodule_search_locations)
        mod, alone = None, False
        try:
            mod = importlib.import_module(_PACKAGE + "._ufuncs")
            # another SciPy whose _ufuncs needs more than compiled siblings: the package loads them
            alone = all(isinstance(getattr(sys.modules[m], "__loader__", None), importlib.machinery.ExtensionFileLoader)
                        for m in _submodules())
        except Exception:
            mod, alone = None, False
        finally:
            if mod is None or not alone:
                for m in _submodules():   # (other threads' imports meanwhile are theirs: left alone)
                    sys.modules.pop(m, None)
            if sys.modules.get(_PACKAGE) is stand_in:
                del sys.modules[_PACKAGE]
    return mod if alone else None


def _load() -> tuple[dict, bool]:
    mod = None
    try:
        mod = _compiled()
    except Exception:   # whatever keeps the compiled modules from loading alone: the package does the work
        mod = None
    if mod is not None and all(hasattr(mod, n) for n in _NAMES):
        return {n: getattr(mod, n) for n in _NAMES}, True
    special = importlib.import_module(_PACKAGE)
    return {n: getattr(special, n) for n in _NAMES}, False


_found, FAST = _load()   #: FAST: loaded without scipy.special's package import
betaln = _found["betaln"]
expit = _found["expit"]
logit = _found["logit"]
betaincinv = _found["betaincinv"]
del _found
