"""Helpers for the server tests: workspaces with keys, servers in a subprocess or a thread."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from yunying.config import WorkspaceConfig
from yunying.server.client import ServerClient
from yunying.server.keys import KeyStore
from yunying.server.layout import WorkspacePaths
from yunying.storage.workspace import Workspace

PYTHON_CLI = [sys.executable, "-c", "from yunying.cli import main; main()"]


def make_workspace(path: Path, **config) -> Path:
    Workspace.init(path, WorkspaceConfig(name=path.name, **config)).close()
    return path


def create_key(ws: Path, kind: str = "write") -> str:
    paths = WorkspacePaths(Path(ws).resolve())
    store = KeyStore(paths.capture_db, paths.root.name)
    try:
        return store.create(kind)[1]
    finally:
        store.close()


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def run_cli(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*PYTHON_CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


class ServerProcess:
    """`yunying serve` in a subprocess on a free port (server.json says which)."""

    def __init__(self, *workspaces: Path, settings: tuple[str, ...] = ()):
        self.workspaces = [Path(w) for w in workspaces]
        self.settings = settings
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}

    def start(self, timeout: float = 90.0) -> "ServerProcess":
        for ws in self.workspaces:
            (ws / "server.json").unlink(missing_ok=True)
        args = [a for w in self.workspaces for a in ("--workspace", str(w))]
        args += [a for s in self.settings for a in ("--setting", s)]
        self.proc = subprocess.Popen([*PYTHON_CLI, "serve", "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        info_path = self.workspaces[0] / "server.json"

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited ({self.proc.returncode}): {self.proc.stdout.read()}")
            if info_path.exists():
                try:
                    return json.loads(info_path.read_text())
                except ValueError:
                    return None
            return None

        self.info = wait_until(ready, timeout, what="the server to start")
        return self

    @property
    def url(self) -> str:
        return self.info["url"]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, project: str | None = None, token: str | None = None) -> ServerClient:
        info = dict(self.info)
        if project:
            info["project"] = project
        return ServerClient(info, token=token)

    def stop(self, timeout: float = 60.0) -> str:
        """SIGTERM (graceful: everything accepted is stored and the database put back)."""
        if self.proc is None or self.proc.poll() is not None:
            return ""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        return out

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()


class ServerThread:
    """The app under uvicorn in a thread of the test process (browser tests)."""

    def __init__(self, *workspaces: Path):
        from yunying.server.app import create_app

        import uvicorn

        self.app = create_app(list(workspaces))
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), 60, what="uvicorn")
        assert self.server.started, "uvicorn did not start"
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=60)
