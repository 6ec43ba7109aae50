"""One entry to a workspace's imports by kind: ``yunying import KIND`` (cli/core.py) and a running server's
``/api/import/KIND`` (server/project.py) both come here, so the two never disagree on what a kind imports."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from ..model.readers import ReadOptions
    from .workspace import ImportReport, Workspace

KINDS = ("events", "spend", "identities", "users")


def import_files(ws: Workspace, kind: str, files: list[str], *, mapping: dict | None = None, once: bool = False,
                 read: ReadOptions | None = None, progress: Callable[[str], None] | None = None) -> ImportReport:
    """Import ``files`` of ``kind`` into ``ws`` in one transaction (all or nothing). ``mapping``: events, spend and
    users; ``once`` (set-once): users; ``progress(stage)``: events."""
    if kind == "events":
        return ws.import_events(files, mapping=mapping, read=read, progress=progress)
    if kind == "spend":
        return ws.import_spend(files, mapping=mapping, read=read)
    if kind == "users":
        return ws.import_users(files, mapping=mapping, once=once, read=read)
    if kind == "identities":
        return ws.import_identities(files, read=read)
    raise SpecError(key="imports.cannot_import", kind=kind, KINDS=', '.join(KINDS[:-1]), KINDS2=KINDS[-1])
