"""Putting a backup back in place of the live database file.

The order is what makes it safe: the source is copied beside the target with SQLite's backup API and the copy is
validated (integrity, foreign keys, schema version, the helpdesk tables and the append-only triggers); the target
is then locked exclusively with no busy timeout, which fails while any other connection has it open (in WAL mode
every open connection keeps a shared lock on the file, and SQLite sees its own process's connections too); under
that lock the target leaves WAL mode (its log is checkpointed and deleted, so no stale ``-wal`` can be replayed
onto the new file, and a process that opened the old file a moment too late gets "readonly" on its first write
instead of writing into a file that is no longer there), a backup of it is written, and the copy is renamed over
it in one step. A damaged target that SQLite cannot lock is probed with POSIX locks instead.

Nothing here speaks to the user: errors carry a reason code and the caller words them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from db import schema
from db.connection import SQLITE_HEADER, copy_database, create_file, file_mode, is_busy
from db.errors import StoreError

REQUIRED_TABLES = ("agents", "customers", "tickets", "messages", "events", "settings")
REQUIRED_TRIGGERS = ("events_no_update", "events_no_delete")

# Where SQLite's unix VFS takes its POSIX locks: the lock bytes of the database file and, in the -shm file, the
# byte every open connection holds a read lock on ("dead man switch").
SQLITE_LOCK_START = 0x40000000
SQLITE_LOCK_LEN = 512
SHM_DMS_BYTE = 128


class RestoreError(StoreError):
    """Why a restore did not happen; ``reason`` is one of the constants below."""

    SOURCE_MISSING = "source_missing"
    SOURCE_NOT_SQLITE = "source_not_sqlite"
    SOURCE_UNREADABLE = "source_unreadable"
    SOURCE_CORRUPT = "source_corrupt"
    SOURCE_NOT_HELPDESK = "source_not_helpdesk"
    SOURCE_TOO_NEW = "source_too_new"
    SOURCE_IS_TARGET = "source_is_target"
    TARGET_DIR_MISSING = "target_dir_missing"
    TARGET_NOT_DATABASE = "target_not_database"
    TARGET_FOREIGN = "target_foreign"
    TARGET_IN_USE = "target_in_use"
    WRITE_FAILED = "write_failed"

    def __init__(self, reason: str, path: Path, detail: str = "") -> None:
        super().__init__(f"{reason}: {path}{': ' + detail if detail else ''}")
        self.reason = reason
        self.path = path
        self.detail = detail


@dataclass(frozen=True)
class Staged:
    """A validated copy of the source, beside the target, waiting to be renamed into place."""

    path: Path
    source: Path
    version: int
    tickets: int
    events: int
    agents: int


@dataclass(frozen=True)
class Restored:
    target: Path
    previous: Path | None  # the backup of the file that was replaced (None when there was none)
    staged: Staged


# -- the source ---------------------------------------------------------------------------------------------


def stage(src: Path, target: Path) -> Staged:
    """Copy ``src`` next to ``target`` and validate the copy; the caller installs or discards it."""
    if not src.exists():
        raise RestoreError(RestoreError.SOURCE_MISSING, src)
    if not src.is_file():
        raise RestoreError(RestoreError.SOURCE_NOT_SQLITE, src)
    if not target.parent.is_dir():
        raise RestoreError(RestoreError.TARGET_DIR_MISSING, target.parent)
    if target.exists() and src.resolve() == target.resolve():
        raise RestoreError(RestoreError.SOURCE_IS_TARGET, src)
    if _header(src) != SQLITE_HEADER:
        raise RestoreError(RestoreError.SOURCE_NOT_SQLITE, src)
    tmp = target.with_name(f".{target.name}.restore-{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        _copy(src, tmp, file_mode(target))
        staged = _validate(tmp, src)
        _fsync(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return staged


def discard(staged: Staged) -> None:
    staged.path.unlink(missing_ok=True)


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(16)
    except OSError as exc:
        raise RestoreError(RestoreError.SOURCE_UNREADABLE, path, exc.strerror or str(exc)) from exc


def _copy(src: Path, tmp: Path, mode: int) -> None:
    """The backup API reads a consistent snapshot, WAL content included, even while others write to ``src``. The
    copy is given ``mode`` (the mode of the database it will replace limited to 0660, 0600 when there is none; once
    installed it takes the replaced file's mode exactly, see `_match_permissions`)."""
    try:
        source = sqlite3.connect(f"file:{src.resolve()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise RestoreError(RestoreError.SOURCE_UNREADABLE, src, str(exc)) from exc
    try:
        copy_database(source, tmp, mode)
    except sqlite3.DatabaseError as exc:
        raise RestoreError(RestoreError.SOURCE_CORRUPT, src, str(exc)) from exc
    except OSError as exc:
        raise RestoreError(RestoreError.WRITE_FAILED, tmp, exc.strerror or str(exc)) from exc
    finally:
        source.close()


def _validate(copy: Path, src: Path) -> Staged:
    conn = sqlite3.connect(copy)
    try:
        problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check") if str(r[0]) != "ok"]
        if problems:
            raise RestoreError(RestoreError.SOURCE_CORRUPT, src, "; ".join(problems[:3]))
        version = schema.version(conn)
        if version > schema.LATEST:
            raise RestoreError(RestoreError.SOURCE_TOO_NEW, src, f"{version} > {schema.LATEST}")
        names = {
            (str(r[0]), str(r[1]))
            for r in conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        }
        missing = [t for t in REQUIRED_TABLES if ("table", t) not in names]
        missing += [t for t in REQUIRED_TRIGGERS if ("trigger", t) not in names]
        if version < 1 or missing:
            raise RestoreError(RestoreError.SOURCE_NOT_HELPDESK, src, ", ".join(missing))
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            raise RestoreError(RestoreError.SOURCE_CORRUPT, src, f"{len(orphans)} rows refer to missing rows")
        counts = [int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in ("tickets", "events", "agents")]
        # Every check above only reads: a header that marks the file read-only (write version over 2) passes them
        # all, and the restored database could then not be opened by the helpdesk. The copy must take a write.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE restore_write_probe (x)")
        conn.rollback()
    except sqlite3.DatabaseError as exc:
        raise RestoreError(RestoreError.SOURCE_CORRUPT, src, str(exc)) from exc
    finally:
        conn.close()
    return Staged(path=copy, source=src, version=version, tickets=counts[0], events=counts[1], agents=counts[2])


# -- who may restore --------------------------------------------------------------------------------------


def target_state(target: Path) -> str:
    """``absent`` (missing or empty), ``helpdesk``, ``damaged`` (SQLite that fails its quick check), ``foreign``
    (another application's SQLite database) or ``not_sqlite``. Read before any lock is taken: opening and closing
    a file drops every POSIX lock this process holds on it."""
    if not target.exists() or target.stat().st_size == 0:
        return "absent"
    if _header(target) != SQLITE_HEADER:
        return "not_sqlite"
    try:
        conn = sqlite3.connect(f"file:{target.resolve()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return "damaged"
    try:
        version = schema.version(conn)
        tables = int(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])
        # Who may restore is read from here, so it must be sound (a broken index answers "no such agent").
        if version and [str(r[0]) for r in conn.execute("PRAGMA quick_check")] != ["ok"]:
            return "damaged"
    except sqlite3.DatabaseError:
        return "damaged"
    finally:
        conn.close()
    if version == 0:
        return "foreign" if tables else "absent"
    return "helpdesk"


def agent_role(path: Path, name: str) -> str | None:
    """The role of the active agent ``name`` in the database at ``path`` (None if unknown), read without migrating."""
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT role FROM agents WHERE name = ? AND active = 1", [name]).fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


def agent_for_login(path: Path, login: str) -> tuple[str, str] | None:
    """``(name, role)`` of the active agent bound to ``login`` in the database at ``path`` (None if none), read
    without migrating it: a file from before logins were recorded binds each agent to its name."""
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        try:
            row = conn.execute("SELECT name, role FROM agents WHERE login = ? AND active = 1", [login]).fetchone()
        except sqlite3.OperationalError:  # schema 1: no login column
            row = conn.execute("SELECT name, role FROM agents WHERE name = ? AND active = 1", [login]).fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    return (str(row[0]), str(row[1])) if row else None


# -- the target -------------------------------------------------------------------------------------------


def install(staged: Staged, target: Path, *, now: datetime | None = None) -> Restored:
    """Replace ``target`` with the staged copy, keeping a backup of what it replaces; refused while in use."""
    state = target_state(target)
    if state == "not_sqlite":
        raise RestoreError(RestoreError.TARGET_NOT_DATABASE, target)
    if state == "foreign":
        raise RestoreError(RestoreError.TARGET_FOREIGN, target)
    previous: Path | None = None
    guard: sqlite3.Connection | None = None
    try:
        if target.exists():
            old = target.stat()
            guard = _lock_exclusively(target)
            if guard is not None:
                try:
                    # Leaving WAL checkpoints the log into the file and deletes it, under our lock.
                    guard.execute("PRAGMA journal_mode = MEMORY")
                    previous = _backup_through(guard, _backup_name(target, now), file_mode(target))
                except sqlite3.DatabaseError:
                    guard.close()
                    guard = None
            if guard is None:
                if _posix_locked(target):
                    raise RestoreError(RestoreError.TARGET_IN_USE, target)
                previous = _copy_files(target, _backup_name(target, now), file_mode(target))
            _match_permissions(staged.path, old)
        for suffix in ("-wal", "-shm", "-journal"):
            # Stale logs of the old file would be replayed onto the new one: gone before the rename.
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(staged.path, target)
        _fsync(target.parent)  # the rename itself reaches the disk before the restore is reported done
    except OSError as exc:
        raise RestoreError(RestoreError.WRITE_FAILED, target, exc.strerror or str(exc)) from exc
    finally:
        if guard is not None:
            guard.close()
    return Restored(target=target, previous=previous, staged=staged)


def _lock_exclusively(target: Path) -> sqlite3.Connection | None:
    """A connection holding the only lock on ``target``; TARGET_IN_USE if anyone else has it open; None when
    SQLite cannot read the file well enough to lock it (damaged)."""
    try:
        conn = sqlite3.connect(f"file:{target.resolve()}?mode=rw", uri=True, isolation_level=None, timeout=0)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA busy_timeout = 0")  # waiting would only let the other side think it is alone
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # the lock outlives the transaction below
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_busy(exc):
            raise RestoreError(RestoreError.TARGET_IN_USE, target) from exc
        return None
    except sqlite3.DatabaseError:
        conn.close()
        return None
    return conn


def _posix_locked(target: Path) -> bool:
    """Whether another process holds SQLite's locks on a file SQLite itself cannot read (only ever called when
    this process has no connection to it, since closing our descriptor drops this process's locks)."""
    probes = [(target, SQLITE_LOCK_START, SQLITE_LOCK_LEN)]
    shm = Path(f"{target}-shm")
    if shm.exists():
        probes.append((shm, SHM_DMS_BYTE, 1))
    for path, start, length in probes:
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
        except OSError:
            return True
        finally:
            os.close(fd)
    return False


def _backup_name(target: Path, now: datetime | None) -> Path:
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = target.with_name(f"{target.name}.pre-restore-{stamp}.bak")
    n = 1
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.name}.pre-restore-{stamp}-{n}.bak")
    return candidate


def _backup_through(guard: sqlite3.Connection, dest: Path, mode: int) -> Path:
    """Read through the locked connection: a second descriptor on the target would drop its lock when closed."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    copy_database(guard, tmp, mode)
    _fsync(tmp)
    os.replace(tmp, dest)
    return dest


def _copy_files(target: Path, dest: Path, mode: int) -> Path:
    """A damaged file is kept byte for byte, with its log beside it under the name SQLite looks for; both are
    created with ``mode``."""
    _copy_bytes(target, dest, mode)
    wal = Path(f"{target}-wal")
    if wal.exists() and wal.stat().st_size:
        dest_wal = Path(f"{dest}-wal")
        dest_wal.unlink(missing_ok=True)
        _copy_bytes(wal, dest_wal, mode)
    return dest


def _copy_bytes(src: Path, dest: Path, mode: int) -> None:
    with src.open("rb") as fh, os.fdopen(create_file(dest, mode), "wb") as out:
        shutil.copyfileobj(fh, out)
        out.flush()
        os.fsync(out.fileno())


def _match_permissions(path: Path, old: os.stat_result) -> None:
    """The restored file keeps the replaced one's mode and (where allowed) owner, so the team can still open it."""
    os.chmod(path, stat.S_IMODE(old.st_mode))
    if hasattr(os, "chown"):
        try:
            os.chown(path, old.st_uid, old.st_gid)
        except PermissionError:
            pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
