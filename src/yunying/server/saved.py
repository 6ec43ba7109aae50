"""Saved analyses and dashboards: JSON files in ``WORKSPACE/saved/`` (readable, diffable, backed up
with the workspace). A saved analysis is ``{id, name, kind, spec}``; a dashboard is
``{id, name, items: [saved analysis ids]}``."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import threading
from pathlib import Path

from .errors import NotFound

_ID = re.compile(r"^[a-z0-9]{1,32}$")


class SavedStore:
    def __init__(self, root: Path):
        self.root = root
        self._lock = threading.Lock()

    def _dir(self, collection: str) -> Path:
        return self.root / collection

    def _path(self, collection: str, item_id: str) -> Path:
        if not _ID.match(item_id or ""):
            raise NotFound(key="saved.no_saved", collection=collection[:-1], item_id=item_id)
        return self._dir(collection) / f"{item_id}.json"

    def list(self, collection: str) -> list[dict]:
        folder = self._dir(collection)
        if not folder.is_dir():
            return []
        items = []
        for path in sorted(folder.glob("*.json")):
            try:
                items.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a half-edited file by hand: skip it rather than break the list
        return sorted(items, key=lambda d: (d.get("name", ""), d.get("id", "")))

    def get(self, collection: str, item_id: str) -> dict:
        path = self._path(collection, item_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(key="saved.no_saved", collection=collection[:-1], item_id=item_id) from None

    def put(self, collection: str, data: dict, item_id: str | None = None) -> dict:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            if item_id is None:
                item_id = secrets.token_hex(4)
                created = now
            else:
                created = self.get(collection, item_id).get("created_at", now)
            item = {"id": item_id, **data, "created_at": created, "updated_at": now}
            path = self._path(collection, item_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(item, ensure_ascii=False, indent=2), encoding="utf-8")
            os.replace(tmp, path)
        return item

    def delete(self, collection: str, item_id: str) -> None:
        path = self._path(collection, item_id)
        with self._lock:
            try:
                path.unlink()
            except FileNotFoundError:
                raise NotFound(key="saved.no_saved", collection=collection[:-1], item_id=item_id) from None
