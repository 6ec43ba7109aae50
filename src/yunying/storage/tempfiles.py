"""Where DuckDB spills: a folder that belongs to yunying, never the user's current directory.

A workspace spills into ``<workspace>/.yunying-tmp/<pid>-<random>``; in-memory work (``--events FILE``) into
``<system temp>/yunying-tmp-<user>/<pid>-<random>`` (``tempfile.gettempdir()``, i.e. ``$TMPDIR``). Each
process's folder is removed when its connection closes, when the process exits (also after Ctrl-C: the
finaliser runs at interpreter exit), and - when the process was killed and could not clean up - by the next
process that opens a connection there: a folder whose process no longer runs is removed.
A workspace folder that cannot be written (a read-only copy) spills into the system temp directory instead.
"""
from __future__ import annotations

import getpass
import os
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path

WORKSPACE_TEMP = ".yunying-tmp"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its folder alone
    return True


def _user() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (containers): the uid will do
        name = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return "".join(ch for ch in name if ch.isalnum() or ch in "-_") or "user"


def system_root() -> Path:
    """The folder under the system temp directory that holds in-memory work's spill folders."""
    return Path(tempfile.gettempdir()) / f"yunying-tmp-{_user()}"


def sweep(root: Path) -> int:
    """Remove the spill folders under ``root`` of processes that no longer run. Returns how many."""
    removed = 0
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for p in entries:
        pid = p.name.split("-", 1)[0]
        if p.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed += 1
    return removed


def _writable_root(root: Path) -> bool:
    try:
        root.mkdir(exist_ok=True)
        return os.access(root, os.W_OK | os.X_OK)
    except OSError:
        return False


class SpillDir:
    """This process's spill folder for one connection; removed by :meth:`remove`, at exit or on garbage collection."""

    def __init__(self, workspace: Path | None = None):
        root = Path(workspace).resolve() / WORKSPACE_TEMP if workspace is not None else None
        if root is None or not _writable_root(root):
            root = system_root()
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        sweep(root)
        self.root = root
        self.path = root / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.path.mkdir(mode=0o700, parents=True)  # parents: another process may just have removed an empty root
        self._finalizer = weakref.finalize(self, _remove, self.path, root if workspace is not None else None)

    def remove(self) -> None:
        self._finalizer()


def _remove(path: Path, root: Path | None) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if root is not None and root.name == WORKSPACE_TEMP:
        try:
            root.rmdir()  # only when empty: other processes may be spilling beside us
        except OSError:
            pass


def sql_literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
