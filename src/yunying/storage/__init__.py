"""Storage: the workspace (a folder with ``yunying.toml`` and a DuckDB database; imports and capture ingest
through one public API) and the sequence store. Below the engines: nothing here imports an engine or an
analysis; ``Workspace.engine`` uses the factory the engines register (:func:`register_engine_factory`).

The workspace module (DuckDB, Arrow) is imported on first use of these names, so a module of this package
that needs neither (``store_stamp``, at the command line's start) can be imported alone."""
from __future__ import annotations

__all__ = ["ImportReport", "Workspace", "register_engine_factory"]


def __getattr__(name: str):
    if name in __all__:
        from . import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
