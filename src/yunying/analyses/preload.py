"""Imports that overlap DuckDB queries (issue 13, start-up): an analysis names the modules its later steps need and
they are imported in a background thread while its queries run."""
from __future__ import annotations


def preload(*modules: str) -> None:
    """Import ``modules`` in a background thread while the caller's DuckDB queries run (DuckDB releases the GIL
    while it scans, and the imports are a third of the command's time: issue 13). Importing the same module in
    the caller then waits for this import to finish; nothing else is shared. The thread is not a daemon: a
    command that stops early (a bad spec) waits for the import to end rather than exiting in the middle of it."""
    import importlib
    import sys
    import threading

    todo = [m for m in modules if m not in sys.modules]
    if todo:
        threading.Thread(target=lambda: [importlib.import_module(m) for m in todo], name="yunying-preload",
                         daemon=False).start()
