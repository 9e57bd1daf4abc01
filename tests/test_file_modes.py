"""File modes whatever the umask: the database, its -wal and -shm, backups and the pre-restore copy are 0600, or
the database's own mode limited to 0660 (a team sharing the file through its group); export and backup are for
supervisors and admins; a backup never overwrites the database it copies."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(db: Path) -> dict[str, str]:
    """Every file of the database's name in its directory (the database, -wal, -shm, backups), with its mode."""
    return {p.name: oct(mode(p)) for p in sorted(db.parent.iterdir()) if p.name.startswith(db.name)}


def helpdesk(db: Path, *args: str, umask: int = 0o022, actor: str | None = None) -> subprocess.CompletedProcess[str]:
    """`helpdesk …` as a new process started under ``umask``."""
    who = ["--as", actor] if actor else []
    env = {k: v for k, v in os.environ.items() if k not in ("HELPDESK_AGENT", "HELPDESK_LANG")}
    return subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), *who, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(umask),
    )


def wal_files(db: Path) -> list[Path]:
    return [Path(f"{db}-wal"), Path(f"{db}-shm")]


# -- the database, its -wal and -shm ------------------------------------------------------------------------


def test_init_creates_the_database_and_its_logs_0600_under_umask_022(
    tmp_path: Path, holder: Callable[[Path, int], subprocess.Popen[str]]
) -> None:
    db = tmp_path / "helpdesk.db"
    r = helpdesk(db, "init", "--admin", "boss")
    assert r.returncode == 0, r.stderr
    assert mode(db) == 0o600
    assert set(modes(db).values()) == {"0o600"}  # -wal/-shm, if SQLite left them
    holder(db, 0o022)  # an open connection keeps -wal and -shm beside the file
    assert all(p.exists() for p in wal_files(db))
    assert modes(db) == {db.name: "0o600", f"{db.name}-shm": "0o600", f"{db.name}-wal": "0o600"}
    # a writer that comes while the logs exist leaves them as they are
    assert helpdesk(db, "ticket", "new", "--subject", "VPN drops", "--customer", "Acme", actor="boss").returncode == 0
    assert set(modes(db).values()) == {"0o600"}


def test_demo_creates_its_database_0600_under_umask_022(
    tmp_path: Path, holder: Callable[[Path, int], subprocess.Popen[str]]
) -> None:
    db = tmp_path / "demo.db"
    r = helpdesk(db, "demo", "--no-ui", "--json", actor="tester")
    assert r.returncode == 0, r.stderr
    assert mode(db) == 0o600 and set(modes(db).values()) == {"0o600"}
    holder(db, 0o022)
    assert all(p.exists() for p in wal_files(db))
    assert set(modes(db).values()) == {"0o600"}


def test_a_group_shared_database_gets_group_logs_whatever_the_umask(
    seeded: Cli, db_path: Path, holder: Callable[[Path, int], subprocess.Popen[str]]
) -> None:
    os.chmod(db_path, 0o660)
    holder(db_path, 0o077)  # the narrowest umask does not lock the group out of -wal and -shm
    assert modes(db_path) == {db_path.name: "0o660", f"{db_path.name}-shm": "0o660", f"{db_path.name}-wal": "0o660"}


def test_a_world_readable_database_does_not_pass_that_on_to_its_logs(
    seeded: Cli, db_path: Path, holder: Callable[[Path, int], subprocess.Popen[str]]
) -> None:
    os.chmod(db_path, 0o644)  # made before these rules, or by hand: left as it is
    holder(db_path, 0o022)
    assert mode(db_path) == 0o644
    assert [mode(p) for p in wal_files(db_path)] == [0o640, 0o640]


# -- backups ------------------------------------------------------------------------------------------------


def test_a_backup_of_a_0600_database_is_0600_under_umask_022(seeded: Cli, db_path: Path, tmp_path: Path) -> None:
    assert mode(db_path) == 0o600
    dest = tmp_path / "backups"
    dest.mkdir()
    r = helpdesk(db_path, "backup", str(dest / "b.db"), actor="boss")
    assert r.returncode == 0, r.stderr
    assert [(p.name, mode(p)) for p in dest.iterdir()] == [("b.db", 0o600)]  # no journal or temporary file left


@pytest.mark.parametrize("db_mode", [0o640, 0o660, 0o644, 0o400])
def test_a_backup_is_never_wider_than_its_database(seeded: Cli, db_path: Path, tmp_path: Path, db_mode: int) -> None:
    os.chmod(db_path, db_mode)
    try:
        r = seeded("backup", str(tmp_path / "b.db"), actor="sue")
        assert r.code == 0, r.err
        backup = mode(tmp_path / "b.db")
        assert backup & ~db_mode == 0 and backup & 0o007 == 0
        assert backup == db_mode & 0o660
    finally:
        os.chmod(db_path, 0o600)


def test_a_backup_overwriting_an_older_one_takes_the_rule_not_the_old_mode(
    seeded: Cli, db_path: Path, tmp_path: Path
) -> None:
    old = tmp_path / "b.db"
    old.write_bytes(b"an older backup")
    old.chmod(0o644)
    assert seeded("backup", str(old)).code == 0
    assert mode(old) == 0o600


def test_the_pre_restore_copy_is_0600(seeded: Cli, db_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "b.db"
    assert seeded("backup", str(source)).code == 0
    old_umask = os.umask(0o022)
    try:
        r = seeded("restore", str(source))
    finally:
        os.umask(old_umask)
    assert r.code == 0, r.err
    (previous,) = db_path.parent.glob(f"{db_path.name}.pre-restore-*.bak")
    assert mode(previous) == 0o600
    assert mode(db_path) == 0o600  # the restored file keeps the replaced one's mode


def test_the_pre_restore_copy_of_a_damaged_database_is_0600(seeded: Cli, db_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "b.db"
    assert seeded("backup", str(source)).code == 0
    with db_path.open("r+b") as fh:  # a broken page: SQLite can no longer lock and copy it, the bytes are kept
        fh.seek(100)
        fh.write(b"\xff" * 4000)
    old_umask = os.umask(0o022)
    try:
        r = seeded("restore", str(source))
    finally:
        os.umask(old_umask)
    assert r.code == 0, r.err
    (previous,) = db_path.parent.glob(f"{db_path.name}.pre-restore-*.bak")
    assert mode(previous) == 0o600


def test_the_migration_backup_follows_the_rule(seeded: Cli, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from db import schema
    from db.store import Store

    os.chmod(db_path, 0o660)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, lambda conn: None])
    monkeypatch.setattr(schema, "LATEST", schema.LATEST + 1)
    old_umask = os.umask(0o022)
    try:
        Store(db_path).close()
    finally:
        os.umask(old_umask)
    (backup,) = db_path.parent.glob(f"{db_path.name}.v*-*.bak")
    assert mode(backup) == 0o660


# -- who may export and back up -----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["sue", "boss"])
def test_supervisors_and_admins_export_and_back_up(seeded: Cli, tmp_path: Path, actor: str) -> None:
    assert seeded("ticket", "new", "--subject", "VPN drops", "--customer", "Acme", actor="li.wei").code == 0
    r = seeded("export", "--format", "jsonl", actor=actor)
    assert r.code == 0 and "VPN drops" in r.out
    assert seeded("backup", str(tmp_path / f"{actor}.db"), actor=actor).code == 0


def test_a_plain_agent_may_neither_export_nor_back_up(seeded: Cli, tmp_path: Path) -> None:
    assert seeded("ticket", "new", "--subject", "VPN drops", "--customer", "Acme", actor="li.wei").code == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    for fmt in ("jsonl", "csv"):
        r = seeded("export", "--format", fmt, actor="li.wei")
        assert r.code == 3 and r.out == ""
        assert r.err.count("\n") == 1 and "supervisor / admin" in r.err
    r = seeded("backup", str(tmp_path / "b.db"), actor="li.wei")
    assert r.code == 3 and r.err.count("\n") == 1 and "supervisor / admin" in r.err
    r = seeded("backup", str(tmp_path), actor="li.wei")  # a directory: the name would be made up
    assert r.code == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_the_service_refuses_a_plain_agent(team: Callable[[str], object], tmp_path: Path) -> None:
    from console.rules.errors import PermissionDenied
    from console.service.helpdesk import HelpdeskService

    li = team("li.wei")
    assert isinstance(li, HelpdeskService)
    with pytest.raises(PermissionDenied):
        li.export_records()
    with pytest.raises(PermissionDenied):
        li.backup(tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists()


# -- a backup onto its own database -------------------------------------------------------------------------


def spellings(db_path: Path, tmp_path: Path) -> list[str]:
    link = tmp_path / "link.db"
    link.symlink_to(db_path)
    sub = tmp_path / "sub"
    sub.mkdir(exist_ok=True)
    hard = tmp_path / "hard.db"
    os.link(db_path, hard)
    return [
        str(db_path),
        str(link),
        str(hard),
        f"{tmp_path}/sub/../{db_path.name}",
        f"{tmp_path}//./{db_path.name}",
        os.path.relpath(db_path),
        f"{db_path}-wal",
    ]


def test_a_backup_onto_its_own_database_is_refused(seeded: Cli, db_path: Path, tmp_path: Path) -> None:
    assert seeded("ticket", "new", "--subject", "VPN drops", "--customer", "Acme", actor="li.wei").code == 0
    conn = sqlite3.connect(db_path)  # keeps -wal and -shm there for the last spelling
    try:
        before = db_path.read_bytes(), db_path.stat().st_ino
        for dest in spellings(db_path, tmp_path):
            r = seeded("backup", dest)
            assert r.code == 2, (dest, r.code, r.err)
            assert r.err.count("\n") == 1 and "is the database itself" in r.err and "Traceback" not in r.err
        assert (db_path.read_bytes(), db_path.stat().st_ino) == before
        assert not list(tmp_path.glob(".*.tmp"))
        r = seeded("ticket", "list", "--json")
        assert r.code == 0 and [t["subject"] for t in r.json()] == ["VPN drops"]
    finally:
        conn.close()
