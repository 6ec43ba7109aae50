"""API keys of a project: write keys for capture, read tokens for the query API and dashboard.

Keys live in the project's capture database (``capture/capture.sqlite3``,
table ``api_keys``); only a SHA-256 hash of each secret is stored. A key
reads ``yyw_<id>_<secret>`` (write) or ``yyr_<id>_<secret>`` (read); the
``id`` part is what ``yunying keys list`` shows and ``keys revoke`` takes.
Since every project has its own database, a key of one project is unknown
to every other.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import SpecError
from .errors import NotFound

KINDS = ("write", "read")
PREFIX = {"write": "yyw", "read": "yyr"}
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read aloud and typed

KEYS_DDL = (
    "CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, kind TEXT NOT NULL, hash TEXT NOT NULL, "
    "label TEXT, created_at TEXT NOT NULL, revoked_at TEXT)"
)
CACHE_SECONDS = 1.0  # a revoked key stops working within this time on a running server


@dataclass(frozen=True)
class KeyInfo:
    id: str
    kind: str
    label: str | None
    created_at: str
    revoked_at: str | None
    project: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict:
        return asdict(self)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection to a capture database with the settings the server relies on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")  # a commit is on disk before capture answers 2xx
    con.execute("PRAGMA busy_timeout=30000")
    return con


class KeyStore:
    """Create, list, revoke and check the keys of one project.

    >>> import tempfile, pathlib
    >>> store = KeyStore(pathlib.Path(tempfile.mkdtemp()) / "capture.sqlite3", project="demo")
    >>> info, secret = store.create("write", label="web app")
    >>> store.check(secret).kind
    'write'
    """

    def __init__(self, db_path: Path, project: str):
        self.project = project
        self._con = connect_sqlite(db_path)
        self._con.execute(KEYS_DDL)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}

    def close(self) -> None:
        self._con.close()

    def _info(self, row) -> KeyInfo:
        return KeyInfo(row[0], row[1], row[3], row[4], row[5], self.project)

    def create(self, kind: str = "write", label: str | None = None) -> tuple[KeyInfo, str]:
        if kind not in KINDS:
            raise SpecError(key="keys.key_kind_must_write", kind=kind)
        key_id = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        secret = f"{PREFIX[kind]}_{key_id}_{secrets.token_urlsafe(24)}"
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            self._con.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                              [key_id, kind, _hash(secret), label, now])
        return KeyInfo(key_id, kind, label, now, None, self.project), secret

    def list(self, include_revoked: bool = True) -> list[KeyInfo]:
        with self._lock:
            rows = self._con.execute("SELECT * FROM api_keys ORDER BY created_at, id").fetchall()
        infos = [self._info(r) for r in rows]
        return infos if include_revoked else [k for k in infos if k.active]

    def revoke(self, key_id: str) -> KeyInfo:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            row = self._con.execute("SELECT * FROM api_keys WHERE id = ?", [key_id]).fetchone()
            if row is None:
                raise NotFound(key="keys.project_has_no_key", project=self.project, key_id=key_id)
            if row[5] is None:
                self._con.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [now, key_id])
            row = self._con.execute("SELECT * FROM api_keys WHERE id = ?", [key_id]).fetchone()
        self._cache.clear()
        return self._info(row)

    def check(self, secret: str) -> KeyInfo | None:
        """The active key this secret is, or None (unknown, malformed or revoked)."""
        now = time.monotonic()
        hit = self._cache.get(secret)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = self._lookup(secret)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[secret] = (now + CACHE_SECONDS, info)
        return info

    def _lookup(self, secret: str) -> KeyInfo | None:
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] not in PREFIX.values():
            return None
        with self._lock:
            row = self._con.execute("SELECT * FROM api_keys WHERE id = ?", [parts[1]]).fetchone()
        if row is None or row[5] is not None or not hmac.compare_digest(row[2], _hash(secret)):
            return None
        return self._info(row)
