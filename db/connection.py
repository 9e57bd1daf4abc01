"""Opening the SQLite file: checks first, then WAL, foreign keys and a busy timeout on every connection."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from pathlib import Path

from db.errors import DatabaseUnavailable

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000


def check_path(path: Path, *, create: bool) -> None:
    """Refuse paths that would fail later in confusing ways, before SQLite creates anything."""
    if path.is_dir():
        raise DatabaseUnavailable(f"{path} is a directory, not a database file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise DatabaseUnavailable(f"directory {parent} does not exist")
    if path.exists():
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except PermissionError as exc:
            raise DatabaseUnavailable(f"{path} cannot be read: permission denied") from exc
        if head and head != SQLITE_HEADER:
            raise DatabaseUnavailable(f"{path} is not a SQLite database")
    elif not create:
        raise DatabaseUnavailable(f"{path} does not exist (run 'helpdesk init' or 'helpdesk demo' first)")


def connect(path: Path, *, readonly: bool = False, create: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode; the store opens its own transactions (BEGIN IMMEDIATE for writes)."""
    check_path(path, create=create and not readonly)
    if not readonly and path.exists() and not os.access(path, os.W_OK):
        raise DatabaseUnavailable(f"{path} is read-only")
    if not readonly and not os.access(path.parent if str(path.parent) else ".", os.W_OK):
        if not path.exists():
            raise DatabaseUnavailable(f"directory {path.parent} is not writable")
        # WAL keeps two files beside the database; SQLite itself would only say "unable to open database file".
        if not (Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()):
            raise DatabaseUnavailable(
                f"directory {path.parent} is not writable (the database needs its -wal and -shm files beside it)"
            )
    uri = f"file:{path.resolve()}?mode={'ro' if readonly else 'rwc'}"
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            mode = _switch_to_wal(conn)
            if str(mode).lower() != "wal":
                raise DatabaseUnavailable(f"{path}: cannot switch to WAL journal mode (got {mode})")
            # FULL: a commit the CLI reported as done survives a power cut, not only a killed process.
            conn.execute("PRAGMA synchronous = FULL")
        # Touch the schema so a corrupt or encrypted file fails here, with the path named.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        _close_quietly(conn)
        raise DatabaseUnavailable(f"{path} cannot be opened: {exc}") from exc
    except DatabaseUnavailable:
        _close_quietly(conn)
        raise
    return conn


def _close_quietly(conn: sqlite3.Connection | None) -> None:
    """A refused connection must not linger: its shared lock would make the file look in use (restore)."""
    if conn is not None:
        try:
            conn.close()
        except sqlite3.Error:
            pass


def is_busy(exc: BaseException) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; waiting and retrying is the remedy."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """Switching a new file to WAL needs it to itself and SQLite reports "locked" at once, without waiting
    (seen when 8 processes create the same database): retry until the busy timeout has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.2)


def copy_database(source: sqlite3.Connection, dest: Path) -> None:
    """Copy the database behind ``source`` into the new file ``dest`` with SQLite's online backup, as one
    self-contained file (rollback journal: no -wal beside it)."""
    out = sqlite3.connect(dest)
    try:
        source.backup(out, pages=-1)
        out.execute("PRAGMA journal_mode = DELETE")
    finally:
        out.close()
