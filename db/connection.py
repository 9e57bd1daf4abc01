"""Opening the SQLite file: checks first, then WAL, foreign keys and a busy timeout on every connection.

File modes, whatever the process umask: a new database is created 0600; every file written for a database (its
``-wal`` and ``-shm``, backups, the pre-restore and migration copies) gets the database's own mode limited to 0660
(see `file_mode`): 0600 by default, 0660 where the team shares the file through its group, never more than the
database has and never anything for others.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import time
from pathlib import Path
from urllib.parse import quote

from db.errors import DatabaseUnavailable

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
NEW_DATABASE_MODE = 0o600
MODE_LIMIT = 0o660  # owner and group may read and write; others nothing, nobody executes


def file_mode(database: Path) -> int:
    """The mode of a file written for ``database``: the database's mode limited to 0660, or 0600 when it does not
    exist yet. A backup is therefore never readable by more people than the database it copies."""
    try:
        return stat.S_IMODE(os.stat(database).st_mode) & MODE_LIMIT
    except FileNotFoundError:
        return NEW_DATABASE_MODE


def create_file(path: Path, mode: int) -> int:
    """Create ``path`` with exactly ``mode`` (the umask plays no part) and return a descriptor open for writing.
    It must not exist yet, and a symlink in its place is refused rather than followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, NEW_DATABASE_MODE)
    try:
        os.fchmod(fd, mode)
    except OSError:
        os.close(fd)
        raise
    return fd


def check_path(path: Path, *, create: bool) -> None:
    """Refuse paths that would fail later in confusing ways, before SQLite creates anything."""
    try:
        _check_path(path, create=create)
    except PermissionError as exc:  # a directory on the way this user may not enter (a 0700 service directory)
        raise DatabaseUnavailable(f"{path} cannot be reached: permission denied") from exc


def _check_path(path: Path, *, create: bool) -> None:
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
    if readonly:
        _check_readonly_wal(path)
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
    if not readonly and create and not path.exists():
        _create_database(path)
    # Quoted: a '?', '#' or '%' in a directory's name would otherwise end or change the file's name in the URI.
    uri = f"file:{quote(str(path.resolve()), safe='/')}?mode={'ro' if readonly else 'rwc'}"
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
        _limit_wal_modes(path)
    except sqlite3.DatabaseError as exc:
        _close_quietly(conn)
        if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
            raise DatabaseUnavailable(
                f"{path} stayed locked by another program for {BUSY_TIMEOUT_MS // 1000} s (one holding it in"
                " exclusive mode, or a very long write); try again when it is done"
            ) from exc
        raise DatabaseUnavailable(f"{path} cannot be opened: {exc}") from exc
    except DatabaseUnavailable:
        _close_quietly(conn)
        raise
    return conn


def in_wal_mode(path: Path) -> bool:
    """Whether the file's header says WAL (its read and write format versions, bytes 18 and 19, are 2)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and head[19] == 2


def _check_readonly_wal(path: Path) -> None:
    """A read-only connection to a WAL database reads through its ``-wal`` and ``-shm``: they must exist and be
    readable, or this process must create them. They exist while any connection has the database open (the last
    one to close deletes them). Measured with SQLite 3.40: without them and without a writable directory SQLite
    only says "attempt to write a readonly database"; with a writable directory, a reader that may only read the
    database creates them as its own (0640 from the database's mode) and leaves them behind, after which the
    owner's writes fail ("attempt to write a readonly database"). Both are refused here, with what to do."""
    if not path.exists() or not in_wal_mode(path):
        return
    sides = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    if all(side.exists() for side in sides):
        for side in sides:
            if not os.access(side, os.R_OK):
                raise DatabaseUnavailable(f"{side} cannot be read: permission denied (a read-only reader needs it)")
        return
    directory = path.parent if str(path.parent) else Path(".")
    # Files this process may create: it is the owner, or root (SQLite gives root's files to the owner), or it may
    # write the database itself (a team sharing a 0660 file: the files get that mode and serve every writer).
    may_write = os.geteuid() in (0, path.stat().st_uid) or os.access(path, os.W_OK)
    if may_write and os.access(directory, os.W_OK):
        return
    raise DatabaseUnavailable(
        f"{path} is not open anywhere (no -wal and -shm beside it) and this account may not create them: "
        "a read-only reader starts while a console or command has the database open"
    )


def unclean_shutdown(path: Path) -> bool:
    """Whether ``path`` has a ``-wal`` file with content beside it. The last connection to close checkpoints the
    log into the database and deletes it, so one left behind means a process ended without closing (killed, power
    cut) — or that another connection is open right now. Looked at before this process opens the database."""
    try:
        if os.stat(f"{path}-wal").st_size == 0:
            return False
    except OSError:
        return False
    return not _open_elsewhere(path)


# SQLite's "dead man switch": every connection to a WAL database holds a shared lock on this byte of the -shm file
# for as long as it is open (WALINDEX_LOCK_OFFSET 120 + SQLITE_SHM_NLOCK 8, in SQLite's os_unix.c).
_DMS_BYTE = 128


def _open_elsewhere(path: Path) -> bool:
    """Whether another process has the database open now (a console, a board): its -wal is then live, not left
    over by a crash. Asked with F_GETLK, which takes no lock: releasing one would drop this process's own SQLite
    locks on the file (POSIX record locks belong to the process)."""
    import fcntl
    import struct

    try:
        fd = os.open(f"{path}-shm", os.O_RDONLY)
    except OSError:
        return False
    try:
        # struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
        query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, _DMS_BYTE, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        return struct.unpack("hhqqi4x", answer)[0] != fcntl.F_UNLCK
    except (OSError, struct.error):
        return False  # unknown: check the file, as after a crash
    finally:
        os.close(fd)


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """SQLite's ``PRAGMA quick_check`` (every page and record, without comparing indexes to their tables): the
    problems it finds, none when the file is sound. A check that cannot finish is itself a finding, except when
    the file is only busy. About 0.3 s on a 100,000-ticket database (80 MB)."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise
        return [str(exc)]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [str(row[0]) for row in rows if str(row[0]) != "ok"]


def _create_database(path: Path) -> None:
    """An empty file, 0600 (SQLite makes an empty file a new database; left to itself it would create 0644 less
    the umask). Another process creating it at the same moment is no error."""
    try:
        os.close(create_file(path, NEW_DATABASE_MODE))
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseUnavailable(f"{path} cannot be created: {exc.strerror or exc}") from exc


def _limit_wal_modes(path: Path) -> None:
    """SQLite creates ``-wal`` and ``-shm`` with exactly the database's mode, umask or not (they exist once a
    WAL database has been read; a new database's come with its first write, from its 0600). A database wider than
    0660 (made before these rules, or by hand) would pass its extra bits on: they are taken off. Best effort: the
    files may belong to another member of the group, and SQLite recreates them after the last connection closes."""
    limit = file_mode(path)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        try:
            info = side.lstat()
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISREG(info.st_mode) and mode & ~limit:
                os.chmod(side, mode & limit)
        except OSError:
            pass


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


def copy_database(source: sqlite3.Connection, dest: Path, mode: int) -> None:
    """Copy the database behind ``source`` into the new file ``dest`` with SQLite's online backup, as one
    self-contained file (rollback journal: no -wal beside it), given ``mode`` once written (see `file_mode`).
    ``dest`` is a temporary name: a leftover of an interrupted copy is replaced."""
    dest.unlink(missing_ok=True)
    os.close(create_file(dest, NEW_DATABASE_MODE))  # SQLite writes into it (its journal takes the same mode)
    out = sqlite3.connect(dest)
    try:
        source.backup(out, pages=-1)
        out.execute("PRAGMA journal_mode = DELETE")
    finally:
        out.close()
    os.chmod(dest, mode)
