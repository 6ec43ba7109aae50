"""`yunying serve` (capture + query API + dashboard in one process) and `yunying keys`."""
from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..server.errors import NotFound
from ..server.settings import ServerSettings
# server.client, keys, layout (DuckDB, asyncio …) load inside the commands that use them: `yunying --help` stays fast
from ..reports.i18n import label as _label, say
from .common import _Lang, check_format, console, emit, err_console, print_rows

keys_app = typer.Typer(help="API keys: write keys send events, read tokens query and open the dashboard.",
                       no_args_is_help=True)

WorkspacesOpt = typer.Option(None, "--workspace", "-w",
                             help="Workspace to serve, or a folder of workspaces (one project each); repeatable. "
                                  "Default: the current folder.")
KeyWorkspaceOpt = typer.Option(None, "--workspace", "-w",
                               help="Workspace, or a folder of workspaces (default: the current folder).")
ProjectOpt = typer.Option(None, "--project", "-p", help="Project (sub-folder) when --workspace is a folder of them.")


def _settings_help() -> str:
    return "Server setting NAME=VALUE (repeatable): " + "; ".join(
        f"{s['name']} (default {s['default']:,})" if isinstance(s["default"], int)
        else f"{s['name']} (default {s['default']})" for s in ServerSettings.describe()) + ". See docs/server.md."


def _serve_lang(server) -> str:
    """The language the server's console lines are in: ``--lang``, else the first project's setting."""
    if _Lang.flag is None and server.projects:
        _Lang.follow(next(iter(server.projects.values())))
    return _Lang.current()


def _keys_lang(workspaces: list) -> str:
    """`yunying keys …` speaks ``--lang``, else the (single) workspace's language setting, else English."""
    if _Lang.flag is None and len(workspaces) == 1:
        from ..config import WorkspaceConfig

        _Lang.follow_config(WorkspaceConfig.load(workspaces[0].config))
    return _Lang.current()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    workspace: Optional[List[Path]] = WorkspacesOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: loopback only)."),
    port: int = typer.Option(8000, "--port", help="Port (0: any free port; server.json tells which)."),
    setting: Optional[List[str]] = typer.Option(None, "--setting", "-s", help=_settings_help()),
    get: Optional[str] = typer.Option(None, "--get", help="Answer one GET request for PATH in-process (as this "
                                                          "machine's admin), print it and exit; no server starts."),
):
    """Serve event capture (PostHog/Segment compatible), the query API and the dashboard."""
    import asyncio

    from ..server.app import Server, create_app  # here: FastAPI and the analyses load only for `serve`
    from ..server.layout import project_dirs

    dirs = [d for w in (workspace or [Path(".")]) for d in project_dirs(w)]
    server = Server(dirs, ServerSettings.from_pairs(setting))
    app = create_app(server)
    if get is not None:
        sys.exit(_get_once(app, server, get))  # (typer.Exit is swallowed outside standalone mode)
    first_keys = _first_keys(server)
    if not _is_loopback(host):
        err_console.print(say("serve.public_warning", _serve_lang(server), host=host))
    server.start()  # here rather than in uvicorn's lifespan, so a refusal is a one-line error
    try:
        asyncio.run(_serve(app, server, host, port, first_keys))
    finally:
        if server.started:
            server.stop()


def _first_keys(server) -> list[tuple[str, str, str]]:
    """A project without any key gets one write key and one read token, shown once."""
    made = []
    for project in server.projects.values():
        if not project.keys.list():
            _, write = project.keys.create("write", label="created by yunying serve")
            _, read = project.keys.create("read", label="created by yunying serve")
            made.append((project.name, write, read))
    return made


def _get_once(app, server, path: str) -> int:
    import asyncio

    from ..server.client import asgi_get

    server.start()
    try:
        status, body = asyncio.run(asgi_get(app, path, {"authorization": f"Bearer {server.admin_token}"}))
    finally:
        server.stop()
    typer.echo(body.decode("utf-8", "replace"))
    return 0 if status < 400 else 1


async def _serve(app, server, host: str, port: int, first_keys: list[tuple[str, str, str]]) -> None:
    import asyncio

    import uvicorn  # here: only `serve` needs these

    from ..server.client import dashboard_link
    from ..server.protocol import header_timeout_protocol

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=10, server_header=False,
                            timeout_keep_alive=5,  # an idle connection closes after 5 s
                            http=header_timeout_protocol(server.settings.read_timeout))  # and stalled headers
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():  # start-up failed (port in use, workspace held by another server …)
        await task
        sys.exit(1)
    bound = uv.servers[0].sockets[0].getsockname()
    url = f"http://{'[' + bound[0] + ']' if ':' in bound[0] else bound[0]}:{bound[1]}"
    server.write_info(host, bound[1], url)
    try:
        lang = _serve_lang(server)
        names = _label("sep.list", lang).join(server.projects)
        say_ = lambda k, **kw: console.print(say(k, lang, **kw), highlight=False, markup=False)  # noqa: E731
        say_("serve.serving", n=len(server.projects), names=names, url=url)
        say_("serve.dashboard", url=url)
        say_("serve.capture", url=url)
        for name, write, read in first_keys:
            say_("serve.write_key", name=name, secret=write)
            say_("serve.read_token", name=name, secret=read)
            say_("serve.sign_in", name=name, link=dashboard_link(url, read))
        if first_keys:
            say_("serve.keys_once")
        say_("serve.stop")
        await task
    finally:
        server.remove_info()  # (also done by server.stop() in the app's shutdown, before uvicorn re-raises SIGTERM)


def _workspaces(workspace: Optional[Path], project: Optional[str], *, single: bool = False) -> list:
    """The workspaces (``WorkspacePaths``) `yunying keys …` works on, resolved once for its stores and its language
    (``single``: exactly one, else the error that names the projects to choose from)."""
    from ..server.layout import WorkspacePaths, project_dirs, single_project_dir

    root = workspace or Path(".")
    dirs = [single_project_dir(root, project)] if single else project_dirs(root, project)
    return [WorkspacePaths(path.resolve()) for path in dirs]


def _stores(workspaces: list):
    from ..server.keys import KeyStore

    for paths in workspaces:
        yield KeyStore(paths.capture_db, paths.root.name)


@keys_app.command("create")
def keys_create(
    workspace: Optional[Path] = KeyWorkspaceOpt,
    project: Optional[str] = ProjectOpt,
    kind: str = typer.Option("write", "--kind", "-k", help="write (send events) or read (query API, dashboard)."),
    label: Optional[str] = typer.Option(None, "--label", help="A note to tell keys apart, e.g. 'ios app'."),
):
    """Create a key. The key itself is printed alone on the last line (shown only this once)."""
    workspaces = _workspaces(workspace, project, single=True)
    store = next(_stores(workspaces))
    try:
        info, secret = store.create(kind, label)
    finally:
        store.close()
    lang = _keys_lang(workspaces)
    note = f"{_label('sep.open', lang)}{label}{_label('sep.close', lang)}" if label else ""
    typer.echo(say(f"keys.created_{kind}", lang, id=info.id, project=info.project, label=note))
    typer.echo(secret)


@keys_app.command("list")
def keys_list(
    workspace: Optional[Path] = KeyWorkspaceOpt,
    project: Optional[str] = ProjectOpt,
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
):
    """List keys (ids, kinds, labels, dates; never the secrets)."""
    check_format(fmt)
    rows = []
    workspaces = _workspaces(workspace, project)
    for store in _stores(workspaces):
        try:
            rows += [{**k.to_dict(), "active": k.active} for k in store.list()]
        finally:
            store.close()
    if fmt == "table":
        lang = _keys_lang(workspaces)
        shown = [{"project": r["project"], "key_id": r["id"], "key_kind": _label(f"keys.kind.{r['kind']}", lang),
                  "key_label": r.get("label"), "created_at": r.get("created_at"), "revoked_at": r.get("revoked_at")}
                 for r in rows]
        print_rows(shown, _label("keys.title", lang), list(shown[0]) if shown else None)
    else:
        emit({"keys": rows}, fmt, rows_key="keys")


@keys_app.command("revoke")
def keys_revoke(
    key_id: str = typer.Argument(..., help="Key id, as `yunying keys list` shows it."),
    workspace: Optional[Path] = KeyWorkspaceOpt,
    project: Optional[str] = ProjectOpt,
):
    """Revoke a key: a running server refuses it within a second."""
    workspaces = _workspaces(workspace, project)
    for store in _stores(workspaces):
        try:
            info = store.revoke(key_id)
        except NotFound:
            continue
        finally:
            store.close()
        lang = _keys_lang(workspaces)
        console.print(say("keys.revoked", lang, kind=_label(f"keys.kind.{info.kind}", lang), id=info.id,
                          project=info.project, at=info.revoked_at), highlight=False, markup=False)
        return
    raise NotFound(key="server.no_key_with_id", key_id=key_id)


def ingest(
    workspace: Optional[Path] = KeyWorkspaceOpt,
    project: Optional[str] = ProjectOpt,
):
    """Move captured events that a stopped server left in the capture log into the workspace (by the server's
    own rules: identities, de-duplication); a running server does this itself."""
    from ..server.freshness import check
    from ..server.layout import project_dirs
    from ..server.project import Project

    for path in project_dirs(workspace or Path("."), project):
        before = check(path, wait=0)
        if before.server_running:
            console.print(f"{path.name}: a server is running; it ingests captured events itself", highlight=False)
            continue
        if not before.pending_rows:
            console.print(f"{path.name}: nothing to ingest", highlight=False)
            continue
        p = Project(path, ServerSettings())
        p.start()
        p.stop()
        left = check(path, wait=0).pending_events
        console.print(f"{path.name}: ingested {before.pending_events - left:,} captured event(s)"
                      + (f"; {left:,} could not be ingested (see capture_failed)" if left else ""), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("ingest")(ingest)
    app.add_typer(keys_app, name="keys")
