"""`helpdesk restore SRC`: validated source, refused while the database is open elsewhere, admins only, the replaced
file kept, atomic; and the backup a migration takes before it changes anything."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from db import restore, schema
from db.errors import DatabaseUnavailable
from db.store import Store
from tests.conftest import Result

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]


def new_ticket(cli: Cli, subject: str = "VPN drops") -> int:
    r = cli("ticket", "new", "--subject", subject, "--customer", "Acme", "--json", actor="li.wei")
    assert r.code == 0, r.err
    return int(r.json()["id"])


def subjects(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [str(r[0]) for r in conn.execute("SELECT subject FROM tickets ORDER BY id")]
    finally:
        conn.close()


def leftovers(directory: Path) -> list[str]:
    """Temporary files a restore must never leave behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def backup(seeded: Cli, db_path: Path, tmp_path: Path) -> Path:
    """A backup holding one ticket, taken before a second ticket was added to the live database."""
    new_ticket(seeded, "Before the backup")
    dest = tmp_path / "backups"
    dest.mkdir()
    assert seeded("backup", str(dest / "b.db")).code == 0
    new_ticket(seeded, "After the backup")
    return dest / "b.db"


# -- the happy path ---------------------------------------------------------------------------------------


def test_restore_replaces_the_database_and_keeps_the_old_one(seeded: Cli, backup: Path, db_path: Path) -> None:
    r = seeded("restore", str(backup), "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert out["restored"] == str(db_path) and out["tickets"] == 1 and out["schema_version"] == schema.LATEST
    assert subjects(db_path) == ["Before the backup"]
    previous = Path(out["previous"])
    assert previous.parent == db_path.parent and previous.name.startswith(f"{db_path.name}.pre-restore-")
    assert subjects(previous) == ["Before the backup", "After the backup"]  # nothing is lost by restoring
    assert seeded("check").code == 0
    assert seeded("ticket", "list", "--json").json()[0]["subject"] == "Before the backup"
    new_ticket(seeded, "After the restore")  # the restored database takes writes (back in WAL mode)
    assert leftovers(db_path.parent) == []


def test_restore_human_output(seeded: Cli, backup: Path, db_path: Path) -> None:
    r = seeded("restore", str(backup))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith(f"Restored {db_path} from {backup}") and "kept as" in lines[1]


def test_restore_into_a_missing_database_creates_it(backup: Path, tmp_path: Path, cli: Cli) -> None:
    fresh = tmp_path / "fresh.db"
    r = cli("--db", str(fresh), "restore", str(backup), "--json")
    assert r.code == 0, r.err
    assert r.json()["previous"] is None and subjects(fresh) == ["Before the backup"]


# -- refused while in use ---------------------------------------------------------------------------------


def test_restore_refused_while_another_process_has_the_database_open(
    seeded: Cli, backup: Path, db_path: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    proc = holder(db_path)
    before = sorted(p.name for p in db_path.parent.iterdir())
    r = seeded("restore", str(backup))
    assert r.code == 1, r.err
    assert r.err.count("\n") == 1 and "open in another process" in r.err
    assert subjects(db_path) == ["Before the backup", "After the backup"]
    assert sorted(p.name for p in db_path.parent.iterdir()) == before  # no backup, no temporary copy
    proc.communicate("\n", timeout=30)  # the other agent closes the console
    assert seeded("restore", str(backup)).code == 0
    assert subjects(db_path) == ["Before the backup"]


def test_restore_refused_while_this_process_has_it_open(seeded: Cli, backup: Path, db_path: Path) -> None:
    store = Store(db_path)
    try:
        r = seeded("restore", str(backup))
        assert r.code == 1 and "open in another process" in r.err
        assert store.count_tickets() == 2  # the open connection is untouched
    finally:
        store.close()


def test_a_process_that_opened_the_old_file_too_late_fails_loudly(backup: Path, db_path: Path) -> None:
    """It opened the file before the swap but had not read it yet (no lock to see): its first write is refused
    instead of landing in a file that is no longer the database."""
    ghost = sqlite3.connect(db_path, isolation_level=None, timeout=1)
    staged = restore.stage(backup, db_path)
    restore.install(staged, db_path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        ghost.execute("PRAGMA journal_mode = WAL")
        ghost.execute("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('k', 'v', 't', 'ghost')")
    ghost.close()
    assert subjects(db_path) == ["Before the backup"]
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM settings WHERE updated_by = 'ghost'").fetchone()[0] == 0
    conn.close()


# -- the source is validated first ---------------------------------------------------------------------------


def _corrupt(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler (x)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 900,)] * 200)
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // 4096, 3):
        data[page * 4096 + 8 : page * 4096 + 64] = b"\xde\xad" * 28
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "does not exist"),
        ("text", "is not a SQLite database"),
        ("empty", "is not a SQLite database"),
        ("corrupt", "fails the integrity check"),
        ("foreign", "is not a helpdesk database"),
        ("no_triggers", "is not a helpdesk database"),
        ("too_new", "newer helpdesk"),
        ("itself", "is the database itself"),
    ],
)
def test_restore_refuses_a_bad_source(
    seeded: Cli, backup: Path, db_path: Path, tmp_path: Path, case: str, message: str
) -> None:
    src = tmp_path / f"{case}.db"
    if case == "text":
        src.write_text("not a database\n" * 100)
    elif case == "empty":
        src.write_bytes(b"")
    elif case == "corrupt":
        src.write_bytes(backup.read_bytes())
        _corrupt(src)
    elif case in ("foreign", "no_triggers", "too_new"):
        src.write_bytes(backup.read_bytes()) if case != "foreign" else None
        conn = sqlite3.connect(src)
        if case == "foreign":
            conn.execute("CREATE TABLE recipes (x)")
        elif case == "no_triggers":
            conn.execute("DROP TRIGGER events_no_delete")
        else:
            conn.execute("PRAGMA user_version = 99")
        conn.commit()
        conn.close()
    elif case == "itself":
        src = db_path
    r = seeded("restore", str(src))
    assert r.code == 2, r.err
    assert r.err.count("\n") == 1 and message in r.err and "Traceback" not in r.err
    assert subjects(db_path) == ["Before the backup", "After the backup"]
    assert not any(".pre-restore-" in p.name for p in db_path.parent.iterdir())
    assert leftovers(db_path.parent) == []


# -- who may restore ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["li.wei", "sue", "ghost"])
def test_only_admins_restore(seeded: Cli, backup: Path, db_path: Path, actor: str) -> None:
    r = seeded("restore", str(backup), actor=actor)
    assert r.code == 3, r.err
    assert r.err.count("\n") == 1 and actor in r.err
    assert subjects(db_path) == ["Before the backup", "After the backup"]
    assert leftovers(db_path.parent) == []


def test_a_damaged_database_is_replaced_by_an_admin_of_the_backup(
    seeded: Cli, backup: Path, db_path: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(db_path.read_bytes())
    _corrupt(damaged)
    original = damaged.read_bytes()
    r = seeded("--db", str(damaged), "restore", str(backup), "--json", actor="li.wei")
    assert r.code == 3  # li.wei is no admin in the backup
    r = seeded("--db", str(damaged), "restore", str(backup), "--json")
    assert r.code == 0, r.err
    assert subjects(damaged) == ["Before the backup"]
    assert Path(r.json()["previous"]).read_bytes()[100:] == original[100:]  # kept as it was, header aside


@pytest.mark.parametrize(("case", "message"), [("text", "not replacing it"), ("foreign", "another application")])
def test_restore_will_not_replace_a_file_that_is_no_helpdesk_database(
    backup: Path, tmp_path: Path, cli: Cli, case: str, message: str
) -> None:
    target = tmp_path / "other.db"
    if case == "text":
        target.write_text("my notes\n")
    else:
        conn = sqlite3.connect(target)
        conn.execute("CREATE TABLE recipes (x)")
        conn.commit()
        conn.close()
    before = target.read_bytes()
    r = cli("--db", str(target), "restore", str(backup))
    assert r.code == 1 and message in r.err
    assert target.read_bytes() == before


# -- stale logs, atomicity ----------------------------------------------------------------------------------


def test_stale_wal_of_the_replaced_database_is_not_replayed(backup: Path, tmp_path: Path, cli: Cli) -> None:
    """A target left by a crash with un-checkpointed frames in its -wal: they belong to the old file, are kept in
    its backup, and must not be replayed onto the restored one."""
    live = tmp_path / "live"
    live.mkdir()
    crashed = tmp_path / "crashed.db"
    conn = sqlite3.connect(live / "h.db", isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = OFF")
    src = sqlite3.connect(backup)
    src.backup(conn)
    src.close()
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("UPDATE tickets SET subject = 'only in the WAL'")
    for suffix in ("", "-wal", "-shm"):  # what a SIGKILL leaves on disk
        Path(f"{crashed}{suffix}").write_bytes(Path(f"{live / 'h.db'}{suffix}").read_bytes())
    conn.close()
    assert Path(f"{crashed}-wal").stat().st_size > 0
    r = cli("--db", str(crashed), "restore", str(backup), "--json")
    assert r.code == 0, r.err
    assert subjects(crashed) == ["Before the backup"]
    assert subjects(Path(r.json()["previous"])) == ["only in the WAL"]
    assert not Path(f"{crashed}-wal").exists() or Path(f"{crashed}-wal").stat().st_size == 0
    assert cli("--db", str(crashed), "check").code == 0


def test_a_failed_swap_changes_nothing(
    seeded: Cli, backup: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == db_path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", failing_replace)
        r = seeded("restore", str(backup))
    assert r.code == 5 and "No space left on device" in r.err and r.err.count("\n") == 1
    assert subjects(db_path) == ["Before the backup", "After the backup"]
    assert leftovers(db_path.parent) == []
    assert seeded("check").code == 0


# -- a migration backs the file up first -----------------------------------------------------------------


CURRENT = schema.LATEST


@pytest.fixture
def current_database(seeded: Cli, db_path: Path) -> Path:
    new_ticket(seeded, "Made at the latest schema")  # the fake migration below is the one after it
    return db_path


def test_a_migration_backs_up_the_database_first(current_database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def v3(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE tickets ADD COLUMN mood TEXT")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, v3])
    monkeypatch.setattr(schema, "LATEST", CURRENT + 1)
    store = Store(current_database)
    store.close()
    backups = sorted(current_database.parent.glob(f"{current_database.name}.v{CURRENT}-*.bak"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT
    assert "mood" not in {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}
    conn.close()
    assert subjects(backups[0]) == ["Made at the latest schema"]
    conn = sqlite3.connect(current_database)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT + 1
    conn.close()
    Store(current_database).close()  # already migrated: no second backup
    assert len(list(current_database.parent.glob(f"{current_database.name}.v{CURRENT}-*.bak"))) == 1


def test_a_failed_migration_leaves_the_database_as_it_was(
    current_database: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE tickets ADD COLUMN mood TEXT")
        conn.execute("THIS IS NOT SQL")

    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
        patch.setattr(schema, "LATEST", CURRENT + 1)
        with pytest.raises(DatabaseUnavailable):
            Store(current_database)
        r = cli("ticket", "list", "--json")
    assert r.code == 5 and r.err.count("\n") == 1 and "Traceback" not in r.err
    conn = sqlite3.connect(current_database)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == CURRENT
    assert "mood" not in {r[1] for r in conn.execute("PRAGMA table_info(tickets)")}
    conn.close()
    assert len(list(current_database.parent.glob(f"{current_database.name}.v{CURRENT}-*.bak"))) >= 1
    assert cli("check").code == 0
