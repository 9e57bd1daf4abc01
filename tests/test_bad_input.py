"""Bad input never gets far: a `--db` that cannot be used is one clear line, a non-zero exit, no traceback and no
file created by mistake; import rows with oversized fields, control characters or invalid UTF-8 are refused or
cleaned by the stated rule (control characters other than newline and tab are removed; anything over its limit
is refused, never cut), and a refused import stores nothing at all."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console.rules.validation import MAX_BODY, MAX_SUBJECT
from tests.conftest import Result

Cli = Callable[..., Result]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Make a file or directory unwritable for this process. Root ignores file modes, so as root the file system's
    immutable flag (chattr +i) stands in; where neither works the test is skipped, saying why."""
    marked: list[tuple[Path, int]] = []
    as_root = os.geteuid() == 0
    if as_root:
        probe = tmp_path / ".chattr-probe"
        probe.touch()
        chattr = shutil.which("chattr")
        ok = chattr is not None and subprocess.run([chattr, "+i", str(probe)], capture_output=True).returncode == 0
        if ok:
            subprocess.run([str(chattr), "-i", str(probe)], check=True)
        probe.unlink()
        if not ok:
            pytest.skip("running as root on a file system without the immutable flag: nothing is read-only to root")

    def mark(path: Path) -> None:
        if as_root:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
        marked.append((path, path.stat().st_mode))
        assert not os.access(path, os.W_OK)

    yield mark
    for path, mode in reversed(marked):
        if as_root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(mode | 0o200 | (0o100 if path.is_dir() else 0))


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*"))


def one_clear_line(r: Result, code: int, *words: str) -> None:
    assert r.code == code, (r.code, r.out, r.err)
    assert r.err.count("\n") == 1 and r.err.startswith("helpdesk: ") and "Traceback" not in r.err, r.err
    for word in words:
        assert word in r.err, r.err


def make_db(cli: Cli, path: Path) -> None:
    assert cli("--db", str(path), "init", "--admin", "boss", actor=None).code == 0
    assert cli("--db", str(path), "ticket", "new", "--subject", "Printer offline").code == 0
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()  # the last connection to close cleaned up


# -- the database path ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [("ticket", "list", "--json"), ("ticket", "new", "--subject", "x")])
def test_read_only_database_file(
    cli: Cli, tmp_path: Path, read_only: Callable[[Path], None], argv: tuple[str, ...]
) -> None:
    path = tmp_path / "ro" / "h.db"
    path.parent.mkdir()
    make_db(cli, path)
    read_only(path)
    before = listing(tmp_path)
    one_clear_line(cli("--db", str(path), *argv), 5, str(path), "read-only")
    assert listing(tmp_path) == before


def test_new_database_in_a_read_only_directory(cli: Cli, tmp_path: Path, read_only: Callable[[Path], None]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(locked)
    one_clear_line(cli("--db", str(locked / "h.db"), "init", "--admin", "boss", actor=None), 5, "not writable")
    assert listing(locked) == []


def test_existing_database_in_a_read_only_directory(
    cli: Cli, tmp_path: Path, read_only: Callable[[Path], None]
) -> None:
    """The file is writable but its -wal and -shm cannot be created beside it (SQLite would only say "unable to
    open database file")."""
    path = tmp_path / "locked" / "h.db"
    path.parent.mkdir()
    make_db(cli, path)
    read_only(path.parent)
    one_clear_line(cli("--db", str(path), "ticket", "list"), 5, "not writable", "-wal")
    assert listing(path.parent) == ["h.db"]


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:6000])


def _garbage_after_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100] + os.urandom(40_000))


def _newer_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (_truncated, ("malformed",)),
        (_garbage_after_header, ("cannot be",)),
        (_newer_schema, ("newer than this program supports",)),
    ],
)
def test_database_that_cannot_be_used(
    cli: Cli, tmp_path: Path, damage: Callable[[Path], None], words: tuple[str, ...]
) -> None:
    path = tmp_path / "h.db"
    make_db(cli, path)
    damage(path)
    before = listing(tmp_path)
    for argv in (("ticket", "list"), ("ticket", "reply", "1", "--body", "x"), ("check",)):
        one_clear_line(cli("--db", str(path), *argv), 5, str(path), *words)
    assert listing(tmp_path) == before


def test_database_path_below_a_file(cli: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a directory\n")
    one_clear_line(cli("--db", str(notes / "h.db"), "init", "--admin", "boss", actor=None), 5, str(notes))
    assert listing(tmp_path) == ["notes.txt"]


def _damage_ticket_pages(path: Path) -> None:
    """Damage only the tickets table's leaf pages: the database opens, and the damage is met by a later query."""
    conn = sqlite3.connect(path)
    leaves = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'tickets' AND pagetype = 'leaf'")]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    assert len(leaves) > 10
    data = bytearray(path.read_bytes())
    for page in leaves:
        start = (page - 1) * size
        data[start] = 0x42  # no valid b-tree page type: any read of this page is "malformed"
    path.write_bytes(bytes(data))


@pytest.fixture
def deep_damage(cli: Cli, tmp_path: Path) -> Path:
    path = tmp_path / "h.db"
    make_db(cli, path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"subject": f"T{i}", "body": "x" * 900}) + "\n" for i in range(200)))
    assert cli("--db", str(path), "import", str(rows)).code == 0
    _damage_ticket_pages(path)
    return path


def test_damage_met_by_a_write_is_one_line(cli: Cli, deep_damage: Path) -> None:
    one_clear_line(cli("--db", str(deep_damage), "ticket", "reply", "150", "--body", "hello"), 5, "malformed")


@pytest.mark.parametrize("argv", [("ticket", "list"), ("ticket", "show", "150")])
def test_damage_met_by_a_read_is_one_line(cli: Cli, deep_damage: Path, argv: tuple[str, ...]) -> None:
    one_clear_line(cli("--db", str(deep_damage), *argv), 5, "malformed")


def test_check_reports_damage_instead_of_failing(cli: Cli, deep_damage: Path) -> None:
    r = cli("--db", str(deep_damage), "check")
    assert r.code == 1 and "Traceback" not in r.err
    assert "malformed" in r.out  # what is wrong, said by the command made to say it


# -- imports ------------------------------------------------------------------------------------------------


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    assert cli("init", "--admin", "boss", actor=None).code == 0
    return cli


def tickets(cli: Cli) -> list[dict[str, Any]]:
    r = cli("export", "--format", "jsonl")
    assert r.code == 0, r.err
    return [json.loads(line) for line in r.out.splitlines()]


def jsonl(tmp_path: Path, *rows: object, name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"subject": "x" * (MAX_SUBJECT + 1)}, "subject"),
        ({"subject": "big", "body": "y" * (MAX_BODY + 1)}, "body"),
    ],
)
def test_import_row_with_an_oversized_field_is_refused(
    seeded: Cli, tmp_path: Path, row: dict[str, str], field: str
) -> None:
    path = jsonl(tmp_path, {"subject": "fine"}, row, {"subject": "also fine"})
    r = seeded("import", str(path))
    assert r.code == 2 and r.err.count("\n") == 1
    assert f"{path}:2:" in r.err and field in r.err and "too long" in r.err
    assert tickets(seeded) == []  # all or nothing: the good rows are not imported either


def test_import_fields_at_their_limits_are_kept_whole(seeded: Cli, tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"subject": "s" * MAX_SUBJECT, "body": "b" * MAX_BODY})
    assert seeded("import", str(path)).code == 0, "limits are inclusive"
    (t,) = tickets(seeded)
    assert len(t["subject"]) == MAX_SUBJECT and len(t["body"]) == MAX_BODY  # never cut


def test_import_control_characters_are_removed_by_the_stated_rule(seeded: Cli, tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {
            "subject": "Printer\x1b]0;owned\x07 jam\x00 \x1b[31mred\x7f\x85",
            "body": "line one\r\nline two\r\tindented\x08\x1b[2J end",
        },
    )
    assert seeded("import", str(path)).code == 0
    (t,) = tickets(seeded)
    # ESC, BEL, NUL, DEL and C1 go; the printable rest stays, shown literally, never interpreted.
    assert t["subject"] == "Printer]0;owned jam [31mred"
    # Newlines (CRLF and CR normalised) and tabs are kept in bodies.
    assert t["body"] == "line one\nline two\n\tindented[2J end"


def test_import_control_characters_in_csv(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b'subject,body\n"Mail\x1b[5m bounce","first\r\nsecond\x00"\n')
    assert seeded("import", str(path)).code == 0
    (t,) = tickets(seeded)
    assert (t["subject"], t["body"]) == ("Mail[5m bounce", "first\nsecond")


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_import_invalid_utf8_is_refused_naming_the_line(seeded: Cli, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rows.{suffix}"
    if suffix == "csv":
        path.write_bytes(b"subject,body\nfine,ok\nbroken,caf\xe9 latin-1\nalso fine,ok\n")
        line = 3
    else:
        path.write_bytes(b'{"subject": "fine"}\n{"subject": "caf\xe9 latin-1"}\n{"subject": "also fine"}\n')
        line = 2
    r = seeded("import", str(path))
    assert r.code == 2 and r.err.count("\n") == 1
    assert f"{path}:{line}: invalid UTF-8" in r.err
    assert tickets(seeded) == []


def test_import_reports_every_bad_row_and_stores_none(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        b'{"subject": "fine"}\n'
        + json.dumps({"subject": "x" * 600}).encode()
        + b"\n"
        + b'{"subject": "\xff\xfe"}\n'
        + json.dumps({"subject": "\x1b\x07\x00"}).encode()  # nothing left once cleaned
        + b"\n"
    )
    r = seeded("import", str(path))
    assert r.code == 2
    reasons = dict(line.removeprefix(f"helpdesk: {path}:").split(":", 1) for line in r.err.strip().splitlines())
    assert sorted(reasons) == ["2", "3", "4"]
    assert "too long" in reasons["2"] and "UTF-8" in reasons["3"] and "empty" in reasons["4"]
    assert tickets(seeded) == []


def test_import_customer_fields_are_cleaned(seeded: Cli, tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"subject": "x", "customer": "Evil\x1b]0;pwn\x07 Corp", "organisation": "O\x85rg"})
    assert seeded("import", str(path)).code == 0
    (t,) = tickets(seeded)
    assert (t["customer"], t["organisation"]) == ("Evil]0;pwn Corp", "Org")


def test_import_oversized_customer_field_is_refused(seeded: Cli, tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"subject": "x", "customer": "C" * 100_000})
    r = seeded("import", str(path))
    assert r.code == 2 and f"{path}:1:" in r.err and "too long" in r.err
    assert tickets(seeded) == []
