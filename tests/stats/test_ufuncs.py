"""stats/ufuncs hands out scipy.special's own ufunc objects (so every value is SciPy's to the bit) without importing
the scipy.special package, leaves that package importable afterwards (on the same compiled modules), and falls back
to the package where it is already imported or where the compiled modules cannot be loaded alone. Each case runs in
a fresh interpreter (what is imported is the point)."""
from __future__ import annotations

import subprocess
import sys

NAMES = ("betaln", "expit", "logit", "betaincinv")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


SAME = f"""
import scipy.special, scipy.stats
assert all(getattr(scipy.special, n) is getattr(ufuncs, n) for n in {NAMES!r})
import numpy as np
a, b = np.array([0.5, 3.0, 40.0, 2e4]), np.array([1.5, 7.0, 900.0, 3e5])
lg = scipy.special.gammaln
assert np.allclose(ufuncs.betaln(a, b), lg(a) + lg(b) - lg(a + b), rtol=1e-10)
q = ufuncs.betaincinv(a, b, 0.05)
assert np.allclose(scipy.special.betainc(a, b, q), 0.05, rtol=1e-10), q
assert np.allclose(scipy.stats.beta.ppf(0.05, a, b), q, rtol=1e-10)
assert ufuncs.expit(ufuncs.logit(0.25)) == 0.25 and scipy.special.gammaln(5.0) == np.log(24.0)
"""


def test_loaded_without_the_package_then_the_package_shares_them():
    code = f"""
import sys
from yunying.stats import ufuncs
assert ufuncs.FAST and 'scipy.special' not in sys.modules and 'scipy.special._ufuncs' in sys.modules
assert 'special' not in vars(sys.modules['scipy'])  # (scipy's lazy __getattr__ imports the real package)
{SAME}
print(sys.modules['scipy.special'].__file__.endswith('__init__.py'))
"""
    assert _run(code) == "True"


def test_package_already_imported():
    code = f"""
import scipy.special
from yunying.stats import ufuncs
assert not ufuncs.FAST
{SAME}
"""
    _run(code)


def test_compiled_modules_not_loadable_alone_fall_back_to_the_package():
    """A _ufuncs that cannot be imported alone (here: blocked) leaves no half-loaded scipy.special behind."""
    code = f"""
import sys
sys.modules['scipy.special._ufuncs'] = None
from yunying.stats import ufuncs
assert not ufuncs.FAST and sys.modules['scipy.special'].__file__.endswith('__init__.py')
{SAME}
"""
    _run(code)


def test_python_parts_of_the_package_among_them_fall_back_to_the_package():
    """A SciPy whose _ufuncs brings Python modules of the package along (here: one planted) is not used alone: the
    package is imported, and the planted module is gone."""
    code = f"""
import sys, types
sys.modules['scipy.special._planted'] = types.ModuleType('scipy.special._planted')
from yunying.stats import ufuncs
assert not ufuncs.FAST and 'scipy.special._planted' not in sys.modules
{SAME}
"""
    _run(code)


def test_another_thread_importing_the_package_meanwhile():
    """One thread imports scipy.special while another loads stats/ufuncs: both end with the real package and the
    same ufuncs, whichever comes first."""
    code = f"""
import sys, threading
import numpy, scipy
seen = []
t = threading.Thread(target=lambda: seen.append(__import__('scipy.special', fromlist=['x'])))
t.start()
from yunying.stats import ufuncs
t.join()
assert seen[0] is sys.modules['scipy.special'] and seen[0].__file__.endswith('__init__.py')
{SAME}
"""
    for _ in range(3):
        _run(code)
