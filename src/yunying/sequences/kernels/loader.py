"""How callers obtain the sequence kernels: ahead-of-time compiled when a build exists, else Numba's JIT.

Importing Numba and setting up its JIT costs ≈ 0.6–1 s per process before a cached kernel runs (numba itself,
its registries, SciPy for BLAS checks); that is most of the time of an analysis on a small workspace. So the
same kernel sources (the ``@njit`` functions of this package) are also compiled once, ahead of time, into one
extension module (``numba.pycc``, with the GIL released as the JIT kernels do, for the engines' thread pool)
kept in a per-user cache folder. When it exists for exactly these sources, this Numba, NumPy, Python and
machine, a kernel call runs it and Numba is never imported; otherwise the call imports Numba and runs the JIT
kernel, and (mode ``auto``) a build starts in the background, at low priority, for the next commands.

``YUNYING_KERNELS``: ``auto`` (default), ``manual`` (use a build, never start one: ``yunying kernels build``
makes it), ``jit`` (never use or start a build). ``YUNYING_CACHE``: the cache folder (default: the platform's
user cache folder + ``/yunying``). Every kernel here has the signatures it is built for; a call with other
argument types (or non-contiguous arrays) runs the JIT kernel. Both give the same bits (tests/perf/test_kernels_aot.py).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import sysconfig
import threading
import time
from itertools import product
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODES = ("auto", "manual", "jit")
PREFIX = "yunying_kernels_"

# name: (module of this package, parameters). A parameter: a dtype (i8 int64, i4 int32, i1 int8, u8, u1,
# f8, ? bool) for a scalar, ``[]`` a C-contiguous 1-d array (``[,]`` 2-d) the kernel reads, ``[]w`` one it
# writes; ``{i1|i4}`` one signature per dtype (every combination of the parameter's alternatives is built).
SIGNATURES = {
    "funnel_kernel": ("funnel", "i8[] i8[] {i1|i4}[] i8[] i8[] i8 i8 i8 ? i8 i8 i8 i8[] i8[] i8[] i8[]"),
    "funnel_ordered_distinct": ("funnel", "i8[] i8[] {i1|i4}[] i8[] i8 i8 i8 i8 i8"),
    "funnel_ordered_users": ("funnel", "i8[] i8[] {i1|i2|i4}[] i8[] i8 i8 i8 i8 ?[] i8 i8 i8 i8 i8"),
    "funnel_ordered_into": ("funnel", "i8[] i8[] {i1|i2|i4}[] i8[] i8 i8 i8 i8 ?[] i8 i8 i8 i8 i8 i8[]w i1[]w i8[,]w "
                                      "i8[,]w"),
    "step_time_stats": ("funnel", "i8[] i8[,] i8 i8 f8[,]w"),
    "interval_kernel": ("intervals", "i8[] i8[] {i1|i4}[] ?[] ?[] i8 i8 i8 ?"),
    "lifecycle_kernel": ("lifecycle", "i8[] i8[] {i1|i4}[] ?[] ? i8[] i8[] i8 i8 i8"),
    "activity_kernel": ("activity", "i8[] i8[] {i1|i4}[] ?[] ? i8[] i8[] i8 i8 i8 i8 i8 i8"),
    "paths_kernel": ("paths", "i8[] i8[] i4[] i4 ? i8 i8 ? i8 i8 ?"),
    "retention_kernel": ("retention", "i8[] i8[] {i1|i4}[] ?[] ?[] ? ? i8[] i8[] i8 ? i8 i8 i8 i8[] i8[] i4[] i8 "
                                      "f8[] ?"),
    "local_ordinals": ("localtime", "i8[] i8[] i8[] i8"),
    "string_run_starts": ("runs", "{i4|i8}[] u1[] i8"),
    "key_runs": ("runs", "u8[]"),
    "fixed_width_runs": ("runs", "{i4|i8}[] u8[] i8"),
    "select_rows": ("store_rows", "i8[] i8[] {i2|i4}[] i4[] ? i8 i8 i8 i8 i8[]w {i1|i4}[]w i8[]w i8[]w ?[]"),
}


def mode() -> str:
    m = os.environ.get("YUNYING_KERNELS", "auto").strip().lower() or "auto"
    return m if m in MODES else "auto"


def cache_dir() -> Path:
    """Where built kernels are kept: ``$YUNYING_CACHE/kernels``, else the platform's user cache folder."""
    env = os.environ.get("YUNYING_CACHE")
    if env:
        base = Path(env).expanduser()
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "yunying" / "Cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "yunying"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yunying"
    return base / "kernels"


def variants(params: str) -> list[tuple[str, ...]]:
    """Every signature (a tuple of parameter tokens) a SIGNATURES entry expands to."""
    alts = []
    for tok in params.split():
        if tok.startswith("{"):
            close = tok.index("}")
            alts.append([a + tok[close + 1:] for a in tok[1:close].split("|")])
        else:
            alts.append([tok])
    return [tuple(v) for v in product(*alts)]


def _numba_version_bytes() -> bytes:
    """Numba's version file, found without importing Numba (≈ 0.2 s); empty when Numba is not installed."""
    spec = importlib.util.find_spec("numba")
    if spec is None or not spec.origin:
        return b""
    try:
        return (Path(spec.origin).parent / "_version.py").read_bytes()
    except OSError:
        return b""


def key() -> str:
    """What a build depends on: every source file of this package (kernels, signatures, build flags), Numba,
    NumPy, Python (the extension's ABI) and the machine (it is built for the host CPU)."""
    h = hashlib.blake2b(digest_size=10)
    for f in sorted(HERE.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(_numba_version_bytes())
    h.update(f"{np.__version__}|{sys.version}|{sysconfig.get_platform()}|{_cpu()}".encode())
    return h.hexdigest()


def _cpu() -> str:
    """The CPU model and feature flags (a build targets the host CPU; a cache folder shared between machines
    must not hand one machine another's build)."""
    try:
        with open("/proc/cpuinfo", "rb") as fh:
            head = fh.read(8192).decode(errors="replace")
    except OSError:
        import platform

        return f"{platform.machine()}|{platform.processor()}"
    keep = [ln for ln in head.splitlines()[:40] if ln.startswith(("model name", "flags", "Features", "CPU part"))]
    return "|".join(keep)


def module_path(k: str | None = None) -> Path:
    k = k or key()
    return cache_dir() / f"{PREFIX}{k}{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"


def failed_path(k: str | None = None) -> Path:
    return cache_dir() / f"{PREFIX}{k or key()}.failed"


_state: dict = {}
_lock = threading.Lock()


def compiled_module():
    """The built module for these sources, or None (not built, unusable, or mode ``jit``). Loaded once."""
    if "module" in _state:
        return _state["module"]
    with _lock:
        if "module" in _state:
            return _state["module"]
        mod = None
        if mode() != "jit":
            try:
                k = key()
                path = module_path(k)
                if path.exists():
                    mod = _load(k, path)
                elif mode() == "auto":
                    start_background_build(k)
            except Exception:  # a damaged file, an unreadable cache folder, no home: the JIT kernels
                mod = None
        _state["module"] = mod
        return mod


def _load(k: str, path: Path):
    """The module at ``path``, or None when it cannot be loaded (a damaged or foreign file): then it is removed
    and the reason kept as for a failed build (no background retry; ``yunying kernels build`` makes it anew).
    A module removed meanwhile (:func:`.build.prune`) is just missing: the JIT, and a build as for any other."""
    try:
        spec = importlib.util.spec_from_file_location(PREFIX + k, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except Exception as e:  # noqa: BLE001
        if not path.exists():
            return None
        failed_path(k).write_text(f"could not load {path}: {e!r}")
        path.unlink(missing_ok=True)
        return None
    mark_used(path)
    return mod


USE_STAMP_S = 86_400


def mark_used(path: Path) -> None:
    """Renew the module's modification time (at most once a day): the cache keeps the builds that some
    installation still loads, and :func:`.build.prune` removes those no process has loaded for a while."""
    try:
        if time.time() - path.stat().st_mtime > USE_STAMP_S:
            os.utime(path)
    except OSError:  # a read-only cache folder: then nothing is pruned by age either
        pass


def reset() -> None:
    """Forget the loaded module (after a build in this process, and for tests switching cache folders)."""
    with _lock:
        _state.clear()
        for k in KERNELS.values():
            k._aot = None


def start_background_build(k: str) -> bool:
    """Start ``python -m yunying.sequences.kernels.build --background`` detached (once per process): it
    takes the build lock without waiting (another build running: it exits), lowers its priority and writes
    the module atomically. Not after a failed build for this key (see ``yunying kernels status``)."""
    if _state.get("spawned") or failed_path(k).exists():
        return False
    _state["spawned"] = True
    import subprocess

    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        src = str(HERE.parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        with open(d / "build.log", "ab") as log:
            kw = {"creationflags": 0x00000008 | 0x00000200} if sys.platform == "win32" else {"start_new_session": True}
            subprocess.Popen([sys.executable, "-m", "yunying.sequences.kernels.build", "--background"],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                             close_fds=True, **kw)
    except OSError:
        return False
    return True


_CHECK = {"i8": np.dtype(np.int64), "i4": np.dtype(np.int32), "i2": np.dtype(np.int16), "i1": np.dtype(np.int8),
          "u8": np.dtype(np.uint64), "u1": np.dtype(np.uint8), "f8": np.dtype(np.float64), "?": np.dtype(np.bool_)}
_SCALAR = {"i8": (int, np.int64), "i4": (np.int32,), "f8": (float, np.float64), "?": (bool, np.bool_)}


def matches(sig: tuple[str, ...], args: tuple) -> bool:
    """Whether ``args`` have exactly the types ``sig`` was built for (the compiled wrapper checks only the
    item size of an array, so anything else must go to the JIT kernel)."""
    if len(args) != len(sig):
        return False
    for tok, a in zip(sig, args):
        if "[" in tok:
            if (not isinstance(a, np.ndarray) or a.dtype != _CHECK[tok[:tok.index("[")]]
                    or a.ndim != (2 if "," in tok else 1) or not (a.flags.c_contiguous and a.flags.aligned)):
                return False
            if tok.endswith("w") and not a.flags.writeable:
                return False
        elif type(a) not in _SCALAR[tok] or (tok == "i8" and type(a) is int and not -(2 ** 63) <= a < 2 ** 63):
            return False
    return True


class Kernel:
    """A kernel of this package by name: calls the built module's function for the arguments' signature,
    else the Numba JIT kernel (imported on first need). Picklable (by name), for Spark executors."""

    __slots__ = ("name", "module", "sigs", "_aot", "_jit")

    def __init__(self, name: str):
        self.name = name
        self.module, params = SIGNATURES[name]
        self.sigs = variants(params)
        self._aot = None
        self._jit = None

    def aot_functions(self) -> list:
        """(signature, compiled function) pairs of the built module ([] without one)."""
        if self._aot is None:
            mod = compiled_module()
            self._aot = [] if mod is None else [(s, getattr(mod, f"{self.name}__{i}"))
                                                 for i, s in enumerate(self.sigs)]
        return self._aot

    def jit(self):
        """The Numba dispatcher (imports Numba and the kernel's module)."""
        if self._jit is None:
            self._jit = getattr(importlib.import_module(f"{__package__}.{self.module}"), self.name)
        return self._jit

    def __call__(self, *args):
        for sig, fn in self.aot_functions():
            if matches(sig, args):
                return fn(*args)
        return self.jit()(*args)

    def __reduce__(self):
        return (_by_name, (self.name,))

    def __repr__(self):
        return f"<kernel {self.module}.{self.name}>"


KERNELS = {name: Kernel(name) for name in SIGNATURES}


def _by_name(name: str) -> Kernel:
    return KERNELS[name]


def status() -> dict:
    """The mode, the cache folder and the state of the build for these sources (for ``yunying kernels``)."""
    k = key()
    path, failed = module_path(k), failed_path(k)
    state = "built" if path.exists() else ("failed" if failed.exists() else "missing")
    out = {"mode": mode(), "cache": str(cache_dir()), "key": k, "state": state, "module": str(path)}
    if state == "failed":
        out["error"] = failed.read_text(errors="replace")[-2000:]
    return out


# What callers import (``from ..sequences.kernels.loader import funnel_kernel``): one name per kernel, in the
# order of SIGNATURES (tests/perf/test_kernels_aot.py checks that each name is its kernel).
(funnel_kernel, funnel_ordered_distinct, funnel_ordered_users, funnel_ordered_into, step_time_stats, interval_kernel,
 lifecycle_kernel, activity_kernel, paths_kernel, retention_kernel, local_ordinals, string_run_starts, key_runs, fixed_width_runs,
 select_rows) = KERNELS.values()
