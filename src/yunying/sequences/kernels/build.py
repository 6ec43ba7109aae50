"""Ahead-of-time build of the sequence kernels into one extension module (see :mod:`.loader`).

``python -m yunying.sequences.kernels.build [--background]`` (or ``yunying kernels build``): compiles every
kernel of :data:`.loader.SIGNATURES` from the same ``@njit`` sources with ``numba.pycc`` for the host CPU,
with the GIL released during a call (as the JIT kernels' ``nogil``), into the cache folder. One build at a
time (a file lock; ``--background`` does not wait for it and runs at low priority); the module is written
under a temporary name and renamed into place, so a reader never sees half a file. A failed build (no C
compiler, a Numba without ``pycc``) leaves ``<module>.failed`` with the reason: the kernels keep running on the
JIT, and no background build is tried again for these sources until ``yunying kernels build`` succeeds.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from . import loader


@contextlib.contextmanager
def _locked(path: Path, wait: bool):
    """An exclusive lock on ``path`` (yields False when ``wait`` is off and another process holds it)."""
    fh = open(path, "a+b")
    try:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if not wait:
                        yield False
                        return
                    time.sleep(0.5)
        else:
            import fcntl

            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        fh.close()  # closing releases the lock


def _numba_type(tok: str):
    from numba import types

    base = {"i8": types.int64, "i4": types.int32, "i2": types.int16, "i1": types.int8, "u8": types.uint64,
            "u1": types.uint8, "f8": types.float64, "?": types.boolean}
    if "[" not in tok:
        return base[tok]
    return types.Array(base[tok[:tok.index("[")]], 2 if "," in tok else 1, "C", readonly=not tok.endswith("w"))


def _compile(name: str, out_dir: Path) -> Path:
    """Compile every kernel variant into ``out_dir/<name><EXT_SUFFIX>``; returns that path."""
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation notice
        import llvmlite.binding as llvm
        import numba.pycc.compiler as pcc
        from numba.pycc import CC

    class _NogilFlags(pcc.Flags):  # the exported wrappers release the GIL around the kernel (nogil=True)
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.release_gil = True

    pcc.Flags = _NogilFlags
    cc = CC(name)
    cc.output_dir = str(out_dir)
    cc.target_cpu = llvm.get_host_cpu_name()
    for kname, (module, params) in loader.SIGNATURES.items():
        fn = getattr(importlib.import_module(f"{__package__}.{module}"), kname).py_func
        for i, sig in enumerate(loader.variants(params)):
            cc.export(f"{kname}__{i}", tuple(_numba_type(t) for t in sig))(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc.compile()
    return out_dir / cc.output_file


#: A build (or failure note) of other sources that no process has loaded for this long is removed by the next build.
UNUSED_DAYS = 14


def prune(d: Path, current: str, now: float | None = None) -> list[Path]:
    """Remove from the cache folder ``d`` - with the build lock held - the folders of builds that were stopped
    (a running build holds the lock), and the modules and failure notes of other keys (older kernel sources,
    another Numba, NumPy or Python) that no process has loaded for :data:`UNUSED_DAYS` days: a module's
    modification time is renewed when a process loads it (:func:`.loader.mark_used`), so an installation
    still in use keeps its build. A module a running process has loaded stays usable there (it is mapped; where
    the system will not remove a file in use, it is left for a later build). Returns what was removed."""
    cutoff = (time.time() if now is None else now) - UNUSED_DAYS * 86_400
    gone = []
    for p in sorted(d.iterdir()):
        try:
            if p.name.startswith("build-") and p.is_dir():
                shutil.rmtree(p)
            elif (p.name.startswith(loader.PREFIX) and not p.name.startswith(loader.PREFIX + current)
                    and p.is_file() and p.stat().st_mtime < cutoff):
                p.unlink()
            else:
                continue
        except OSError:
            continue
        gone.append(p)
    return gone


def build(wait: bool = True, force: bool = False, say=print) -> str:
    """Build the module for the current sources unless it exists. Returns ``built``, ``exists``, ``busy``
    (another build holds the lock and ``wait`` is off), ``skipped`` (an earlier build failed and not
    ``force``) or raises after writing the ``.failed`` note."""
    k = loader.key()
    target, failed = loader.module_path(k), loader.failed_path(k)
    d = loader.cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    with _locked(d / "build.lock", wait) as got:
        if not got:
            return "busy"
        if target.exists():
            return "exists"
        if failed.exists() and not force:
            return "skipped"
        prune(d, k)
        t0 = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix="build-", dir=d))
        try:
            out = _compile(loader.PREFIX + k, tmp)
            os.replace(out, target)
            failed.unlink(missing_ok=True)
        except BaseException:
            failed.write_text(traceback.format_exc())
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        say(f"built {target} in {time.perf_counter() - t0:.0f} s")
        return "built"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    background = "--background" in argv
    if background and hasattr(os, "nice"):
        os.nice(10)
    try:
        build(wait=not background, force=not background)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
