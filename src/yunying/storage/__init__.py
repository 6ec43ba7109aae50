"""Storage: the workspace (a folder with ``yunying.toml`` and a DuckDB database; imports and capture ingest
through one public API) and the sequence store. Below the engines: nothing here imports an engine or an
analysis; ``Workspace.engine`` uses the factory the engines register (:func:`register_engine_factory`)."""
from .workspace import ImportReport, Workspace, register_engine_factory

__all__ = ["ImportReport", "Workspace", "register_engine_factory"]
