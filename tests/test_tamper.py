"""Tamper evidence for the audit log: every event is hash-chained to the one before it, and `helpdesk check` names
an edited event, a deleted one (the break at the next id), and a dropped or altered trigger or index."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from console.service.core import open_store
from console.service.helpdesk import HelpdeskService
from db import schema
from db.store import Store
from tests.conftest import FrozenClock

Team = Callable[[str], HelpdeskService]
ROOT = Path(__file__).resolve().parents[1]
EDITED = "its hash does not match its content (edited?)"
BREAK = "does not chain to the event before it (an event was deleted or reordered?)"


@pytest.fixture
def history(team: Team, clock: FrozenClock, db_path: Path) -> Path:
    """A database made through the service: a few tickets with actions, some text beyond ASCII."""
    li, sue = team("li.wei"), team("sue")
    for n, subject in enumerate(("Printer offline", "VPN drops", "邮件无法发送 — Outlook")):
        tid = li.create_ticket(subject, "details", customer=f"Customer {n}", priority="P3").id
        clock.advance(minutes=5)
        li.assign(tid)
        clock.advance(minutes=5)
        li.reply(tid, f"Looking into it ({n}) — ça marche?")
        clock.advance(minutes=5)
        li.note(tid, "internal note")
        if n == 1:
            clock.advance(minutes=5)
            li.escalate(
                tid, "L2", "needs L2", "", tried="restarted the client", impact="one user", told="L2 calls back"
            )
            clock.advance(minutes=5)
            sue.resolve(tid, "fixed")
    li.store.close()
    return db_path


def raw(db: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Change the file behind the program's back, as a hand edit or another tool would."""
    conn = sqlite3.connect(db)
    for sql in statements:
        conn.execute(sql, params if "?" in sql else ())
    conn.commit()
    conn.close()


def rows(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"{schema.EVENT_SELECT} ORDER BY id").fetchall()
    finally:
        conn.close()


def note_event(db: Path) -> int:
    """An event no ticket's state is replayed from, so editing or deleting it trips only the chain."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT min(id) FROM events WHERE kind = 'note'").fetchone()[0])
    finally:
        conn.close()


def check(db: Path) -> list[str]:
    # Opened as code that already knows who acts: a migrated file's agents log in by their names, not as root.
    svc = HelpdeskService(open_store(db), "boss")
    try:
        return svc.check()
    finally:
        svc.store.close()


def cli_check(db: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), "check"],
        cwd=ROOT,
        env={**os.environ, "HELPDESK_AGENT": "boss", "HELPDESK_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# -- the chain --------------------------------------------------------------------------------------------------


def test_a_clean_database_has_a_whole_chain_and_no_problems(history: Path) -> None:
    events = rows(history)
    assert len(events) >= 12
    previous = "0" * 64
    for *columns, stored in events:
        # The definition, spelled out: sha256(previous hash in hex || compact JSON of the stored columns).
        canonical = json.dumps(columns, ensure_ascii=False, separators=(",", ":"))
        assert stored == hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()
        previous = str(stored)
    assert [e[0] for e in events] == list(range(1, len(events) + 1))  # ids without gaps
    assert check(history) == []
    proc = cli_check(history)
    assert proc.returncode == 0 and proc.stdout.count("\n") == 1


def test_the_hash_is_append_only_too(history: Path) -> None:
    conn = sqlite3.connect(history)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET hash = ? WHERE id = 1", ["0" * 64])
    finally:
        conn.close()


def test_an_event_written_outside_a_transaction_is_chained_too(history: Path, clock: FrozenClock) -> None:
    store = Store(history)
    try:
        assert not store.conn.in_transaction
        event = store.add_event(None, "boss", clock.now, "manual", 1, None, {"ü": "ß"})  # type: ignore[arg-type]
        assert store.chain_problems() == []
        assert store.events_between(None, None, ["manual"])[0].from_value == "1"
        assert event.id == len(rows(history))
    finally:
        store.close()


# -- what check says --------------------------------------------------------------------------------------------


def test_an_edited_event_is_named_with_the_trigger_dropped_to_edit_it(history: Path) -> None:
    target = note_event(history)
    raw(
        history,
        "DROP TRIGGER events_no_update",
        "UPDATE events SET detail = json_set(detail, '$.tampered', 1) WHERE id = ?",
        params=(target,),
    )
    expected = ["trigger events_no_update is missing (dropped?)", f"event {target}: {EDITED}"]
    assert check(history) == expected  # the events after it still chain: only the edited one is named
    proc = cli_check(history)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == expected


def test_a_deleted_event_shows_as_a_break_at_the_next_id(history: Path) -> None:
    target = note_event(history)
    raw(history, "DROP TRIGGER events_no_delete", "DELETE FROM events WHERE id = ?", params=(target,))
    expected = ["trigger events_no_delete is missing (dropped?)", f"event {target + 1}: {BREAK}"]
    assert check(history) == expected
    proc = cli_check(history)
    assert proc.returncode == 1 and proc.stdout.splitlines() == expected


def test_every_problem_is_one_line(history: Path) -> None:
    edited, deleted = note_event(history), note_event(history) + 4
    created = sqlite3.connect(history).execute("SELECT min(id) FROM events WHERE ticket_id = 1").fetchone()[0]
    raw(
        history,
        "DROP TRIGGER events_no_update",
        "DROP TRIGGER events_no_delete",
        "DROP INDEX events_at",
        # Put back without teeth: it has the name, not the SQL.
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT 1; END",
        "CREATE TRIGGER events_cleanup AFTER INSERT ON events BEGIN SELECT 1; END",
        f"UPDATE events SET actor = 'someone else' WHERE id = {edited}",
        f"DELETE FROM events WHERE id = {deleted}",
        f"DELETE FROM events WHERE id = {created}",
    )
    expected = [
        "index events_at is missing (dropped?)",
        "trigger events_no_delete is not the one the schema creates (altered?)",
        "trigger events_no_update is missing (dropped?)",
        "trigger events_cleanup is not part of the schema (added by hand?)",
        f"event {created + 1}: {BREAK}",  # the ticket's creation, deleted
        f"event {edited}: {EDITED}",
        f"event {deleted + 1}: {BREAK}",
        "ticket 1: history does not start with its creation",
    ]
    assert sorted(check(history)) == sorted(expected)
    proc = cli_check(history)
    assert proc.returncode == 1 and sorted(proc.stdout.splitlines()) == sorted(expected)


def test_an_event_edited_beyond_reading_is_reported_not_raised(history: Path) -> None:
    target = note_event(history)
    raw(
        history,
        "DROP TRIGGER events_no_update",
        "UPDATE events SET detail = '{not json' WHERE id = ?",
        params=(target,),
    )
    problems = check(history)
    assert f"event {target}: {EDITED}" in problems
    assert any(p.endswith("its history cannot be read (an event was edited?)") for p in problems)


# -- databases from before the chain ----------------------------------------------------------------------------


def undo_script(script: str) -> list[str]:
    """The statements that take a migration script's objects away again: triggers, indexes, tables, then columns
    (SQLite refuses to drop a column an index still uses)."""
    statements = schema._split(script)
    undo: dict[str, list[str]] = {"TRIGGER": [], "INDEX": [], "TABLE": [], "COLUMN": []}
    for statement in statements:
        words = statement.split()
        if words[0] == "CREATE":
            kind = "INDEX" if "INDEX" in words[:3] else words[1]
            name = words[words.index(kind) + 1]
            undo[kind].append(f"DROP {kind} {name}")
        elif words[:2] == ["ALTER", "TABLE"] and words[3:5] == ["ADD", "COLUMN"]:
            undo["COLUMN"].append(f"ALTER TABLE {words[2]} DROP COLUMN {words[5]}")
    return [*undo["TRIGGER"], *undo["INDEX"], *undo["TABLE"], *undo["COLUMN"]]


def downgrade_to_v1(db: Path) -> None:
    """What the file looked like at schema 1: none of the later migrations' columns and indexes, V1's triggers."""
    raw(
        db,
        *undo_script(schema.MAIL_DDL),
        *undo_script(schema.V7),
        *undo_script(schema.V6),
        "ALTER TABLE agents DROP COLUMN zone",  # v5
        "ALTER TABLE customers DROP COLUMN zone",  # v5
        "ALTER TABLE tickets DROP COLUMN confirmed_by",  # v4
        "DROP INDEX tickets_urgency",  # v3
        "DROP TRIGGER events_no_update",
        "DROP TRIGGER events_no_delete",
        "DROP INDEX agents_login",
        "DROP INDEX events_backfilled",
        "ALTER TABLE events DROP COLUMN hash",
        "ALTER TABLE events DROP COLUMN recorded_at",
        "ALTER TABLE events DROP COLUMN backfilled",
        "ALTER TABLE events DROP COLUMN entered_by",
        "ALTER TABLE agents DROP COLUMN login",
        "ALTER TABLE agents DROP COLUMN board_only",
        *[s for s in schema._split(schema.V1) if s.startswith("CREATE TRIGGER events_")],
        "PRAGMA user_version = 1",
    )


def test_a_database_from_schema_1_is_chained_by_its_migration(history: Path) -> None:
    assert schema.LATEST == 8  # a new migration adds its undoing to downgrade_to_v1
    before = rows(history)
    downgrade_to_v1(history)
    assert "hash" not in {r[1] for r in sqlite3.connect(history).execute("PRAGMA table_info(events)")}

    assert check(history) == []  # opening it migrates it
    assert len(list(history.parent.glob(f"{history.name}.v1-*.bak"))) == 1
    # The history is kept as it was and chained by the same definition the store uses (what v1 did not record,
    # when each event was written, stays unknown).
    after = rows(history)
    assert [r[:8] for r in after] == [r[:8] for r in before]
    assert all(r[8] is None and r[9] == 0 and r[10] is None for r in after)
    previous = schema.GENESIS
    for *columns, stored in after:
        assert stored == schema.event_hash(previous, columns)
        previous = str(stored)
    conn = sqlite3.connect(history)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
        assert schema.schema_objects(conn) == schema.expected_objects()
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET hash = NULL")
    finally:
        conn.close()


def test_the_migration_chains_rows_it_finds(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    schema.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO agents (name, role, created_at) VALUES ('boss', 'admin', '2026-03-02T01:00:00Z')")
    # A gap left by some earlier tool is history as found: chained, not reported.
    for eid, kind, detail in ((1, "agent_added", "{}"), (2, "settings", '{"é": "中"}'), (5, "agent_added", "{}")):
        conn.execute(
            "INSERT INTO events (id, actor, at, kind, to_value, detail)"
            " VALUES (?, 'boss', '2026-03-02T01:00:00Z', ?, ?, ?)",
            [eid, kind, None if eid != 2 else "x", detail],
        )
    conn.execute("COMMIT")
    conn.close()

    store = Store(db)
    try:
        found = rows(db)
        assert [r[0] for r in found] == [1, 2, 5]
        previous = schema.GENESIS
        for *columns, stored in found:
            assert stored == schema.event_hash(previous, columns)
            previous = str(stored)
        assert store.chain_problems() == [] and store.schema_problems() == []
        assert store.add_event(None, "boss", store.events_between(None, None)[0].at, "after").id == 6
        assert store.chain_problems() == []
    finally:
        store.close()
