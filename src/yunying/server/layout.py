"""Where the server keeps its files inside a workspace folder.

::

    WORKSPACE/
      yunying.toml, yunying.duckdb   the workspace (a read snapshot while a server runs)
      server.json                    host, port, pid of the running server (mode 0600)
      capture/capture.sqlite3        capture log and API keys (SQLite, WAL)
      capture/server.lock            held (flock) by the server that owns this workspace
      capture/live/yunying.duckdb    the server's working copy of the database
      saved/analyses/*.json          saved analyses
      saved/dashboards/*.json        saved dashboards
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import CONFIG_FILE, DATABASE_FILE
from ..errors import WorkspaceNotFound


@dataclass(frozen=True)
class WorkspacePaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def database(self) -> Path:
        return self.root / DATABASE_FILE

    @property
    def publish_tmp(self) -> Path:
        return self.root / f".{DATABASE_FILE}.publish"

    @property
    def server_json(self) -> Path:
        return self.root / "server.json"

    @property
    def capture(self) -> Path:
        return self.root / "capture"

    @property
    def capture_db(self) -> Path:
        return self.capture / "capture.sqlite3"

    @property
    def lock(self) -> Path:
        return self.capture / "server.lock"

    @property
    def live(self) -> Path:
        return self.capture / "live"

    @property
    def saved(self) -> Path:
        return self.root / "saved"


def project_dirs(path: str | Path, project: str | None = None) -> list[Path]:
    """Workspaces named by ``--workspace PATH [--project NAME]``.

    ``PATH`` is a workspace (has yunying.toml) or a projects folder whose
    sub-folders are workspaces; a project is named after its folder.
    """
    root = Path(path)
    if (root / CONFIG_FILE).exists():
        if project is not None and project != root.resolve().name:
            raise WorkspaceNotFound(
                key="layout.workspace_project", root=root, name=root.resolve().name, project=project)
        return [root]
    subs = sorted(p for p in root.iterdir() if (p / CONFIG_FILE).exists()) if root.is_dir() else []
    if not subs:
        raise WorkspaceNotFound(
            key="layout.neither_yunying_workspace_no", root=root.resolve(), CONFIG_FILE=CONFIG_FILE, root2=root)
    if project is None:
        return subs
    chosen = [p for p in subs if p.name == project]
    if not chosen:
        raise WorkspaceNotFound(key="layout.no_project_projects", project=project, root=root, value=', '.join(p.name for p in subs))
    return chosen


def single_project_dir(path: str | Path, project: str | None = None) -> Path:
    dirs = project_dirs(path, project)
    if len(dirs) > 1:
        raise WorkspaceNotFound(
            key="layout.holds_several_projects_choose", path=path, value=', '.join(p.name for p in dirs))
    return dirs[0]
