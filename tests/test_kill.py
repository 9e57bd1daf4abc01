"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it reported done and leaves no
half-done action (`helpdesk check` passes every time, and every multi-row action is there whole or not at all);
and what that verifier, `helpdesk check`, says when something is wrong."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from console.rules.validation import validate_new_ticket
from console.service.helpdesk import HelpdeskService

ROOT = Path(__file__).resolve().parents[1]
KILLS = 20

# The writer: random service writes in a loop, one line on stdout after each commit ("done" means committed).
WRITER = r"""
import random, sys
from datetime import date
from console.rules.errors import HelpdeskError
from console.service.helpdesk import HelpdeskService
from console.rules.validation import validate_new_ticket

db, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
svc = HelpdeskService.open(db, "boss")
store = svc.store
sys.stdout.write("ready\n")
sys.stdout.flush()
actions = ["new", "import", "reply", "note", "assign", "pending", "resume", "escalate", "restore", "resolve",
           "close", "reopen", "customer_reply"]
while True:
    action = rng.choice(actions)
    ids = store.ticket_ids()
    tid = rng.choice(ids)
    before = store.count_events()
    try:
        if action == "new":
            t = svc.create_ticket("Crash test", "body", customer=f"C{rng.randint(1, 9)}", priority="P3")
        elif action == "import":
            rows = [(validate_new_ticket(f"Imported {i}", "", "P4", "web", "L1"), {"customer": "Batch"})
                    for i in range(3)]
            created = svc.import_rows(rows)
            t = svc.ticket(created[-1])
        elif action == "reply":
            t = svc.reply(tid, "We are on it")
        elif action == "note":
            t = svc.note(tid, "internal")
        elif action == "assign":
            t = svc.assign(tid, rng.choice(["boss", "sue"]))
        elif action == "pending":
            t = svc.pending(tid)
        elif action == "resume":
            t = svc.resume(tid)
        elif action == "escalate":
            t = svc.escalate(tid, rng.choice(["L2", "L3", "sue"]), "next tier", "tried restart")
        elif action == "restore":
            t = svc.restore(tid, "workaround")
        elif action == "resolve":
            t = svc.resolve(tid, "fixed")
        elif action == "close":
            t = svc.close(tid, summary="fixed", confirmed=True, asked_anything_else=True,
                          kb_needed=rng.random() < 0.5, followup=date(2026, 12, 1))
        elif action == "reopen":
            t = svc.reopen(tid, "back again")
        else:
            t = svc.customer_reply(tid, "hello?")
    except HelpdeskError:
        continue
    event = store.last_event(t.id)
    added = store.count_events() - before
    sys.stdout.write(f"done {action} {t.id} {t.version} {event.id} {event.kind} {added}\n")
    sys.stdout.flush()
"""


def run_writer_and_kill(db: Path, seed: int, rng: random.Random, wait_until_ready: bool) -> tuple[list[str], bool]:
    """Start the writer, SIGKILL it after a random delay; the complete lines it printed, and whether it was ready."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.endswith("\n"):  # a line cut by the kill was not reported done
                lines.append(line.rstrip("\n"))
                if line == "ready\n":
                    ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if wait_until_ready:
        assert ready.wait(30), "the writer never got ready"
        time.sleep(rng.uniform(0.02, 0.5))
    else:
        time.sleep(rng.uniform(0.0, 0.6))  # may land while the writer is still starting or opening the database
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    reader.join(30)
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.stderr is not None
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert "Traceback" not in stderr, stderr
    return [line for line in lines if line != "ready"], ready.is_set()


# Actions whose parts (ticket counters, messages, events, drafts) disagree: what a torn write would leave. The
# closing event's `kb_needed` flag is read by each engine's JSON function ({kb_needed}).
HALF_DONE: dict[str, str] = {
    "public replies": (
        "SELECT t.id FROM tickets t WHERE t.public_replies != (SELECT count(*) FROM events e"
        " WHERE e.ticket_id = t.id AND e.kind = 'reply') OR t.public_replies != (SELECT count(*)"
        " FROM messages m WHERE m.ticket_id = t.id AND m.kind = 'reply')"
    ),
    "escalations": (
        "SELECT t.id FROM tickets t WHERE t.escalations != (SELECT count(*) FROM events e"
        " WHERE e.ticket_id = t.id AND e.kind = 'escalated')"
    ),
    "notes": (
        "SELECT t.id FROM tickets t WHERE (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id"
        " AND m.kind = 'note') != (SELECT count(*) FROM events e WHERE e.ticket_id = t.id"
        " AND e.kind IN ('note', 'escalated'))"
    ),
    "customer messages": (
        "SELECT t.id FROM tickets t WHERE (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id"
        " AND m.kind = 'customer') != (SELECT count(*) FROM events e WHERE e.ticket_id = t.id"
        " AND e.kind = 'customer_message')"
    ),
    "knowledge drafts": (
        "SELECT t.id FROM tickets t WHERE (SELECT count(*) FROM kb_articles a WHERE a.source_ticket_id"
        " = t.id) != (SELECT count(*) FROM events e WHERE e.ticket_id = t.id AND e.kind = 'closed'"
        " AND {kb_needed})"
    ),
    "imports": "SELECT count(*) FROM tickets WHERE subject LIKE 'Imported %' HAVING count(*) % 3 != 0",
}


Query = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]


@contextlib.contextmanager
def reader(db: str) -> Iterator[tuple[Query, str]]:
    """Read the database behind the program's back — SQLite's file, or PostgreSQL as its owner — with the engine's
    way to read the closing event's `kb_needed` flag."""
    if db.startswith("postgresql"):
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:

            def pg_query(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
                return pg.execute(sql.replace("?", "%s"), params or None).fetchall()  # none: a % is a %

            yield pg_query, "(e.detail::jsonb ->> 'kb_needed')::boolean"
        return
    conn = sqlite3.connect(db)
    try:
        yield (lambda sql, params: conn.execute(sql, params).fetchall()), "json_extract(e.detail, '$.kb_needed')"
    finally:
        conn.close()


def half_done(db: str) -> list[str]:
    with reader(db) as (query, kb_needed):
        found = {what: query(sql.format(kb_needed=kb_needed), []) for what, sql in HALF_DONE.items()}
    return [f"{what}: {rows}" for what, rows in found.items() if rows]


@pytest.fixture
def crash_db(team: Callable[[str], HelpdeskService], db_path: Path) -> Path:
    boss = team("boss")
    boss.import_rows(
        [(validate_new_ticket(f"Seed {n}", "", "P3", "email", "L1"), {"customer": f"S{n}"}) for n in range(30)]
    )
    boss.store.close()
    return db_path


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_writer_killed_at_random_moments_loses_nothing_reported(crash_db: Path) -> None:
    rng = random.Random(20260302)
    reported = 0
    killed_while_writing = 0
    for attempt in range(KILLS):
        lines, was_ready = run_writer_and_kill(crash_db, attempt, rng, wait_until_ready=attempt % 4 != 0)
        killed_while_writing += was_ready
        check = subprocess.run(
            [sys.executable, "-m", "console", "--db", str(crash_db), "--json", "check"],
            cwd=ROOT,
            env={**os.environ, "HELPDESK_AGENT": "boss"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert check.returncode == 0, (attempt, check.stdout, check.stderr)
        verdict = json.loads(check.stdout)
        assert (verdict["ok"], verdict["problems"]) == (True, []), attempt
        assert half_done(str(crash_db)) == [], attempt

        with reader(str(crash_db)) as (query, _kb_needed):
            for line in lines:
                _done, action, tid, version, event_id, kind, added = line.split()
                row = query("SELECT ticket_id, kind FROM events WHERE id = ?", [int(event_id)])
                assert row == [(int(tid), kind)], (attempt, line)
                ((current,),) = query("SELECT version FROM tickets WHERE id = ?", [int(tid)])
                assert current >= int(version), (attempt, line)
                assert int(added) == (3 if action == "import" else 1), line  # one event per action
        reported += len(lines)
    print(f"\nkill test: {KILLS} kills ({killed_while_writing} mid-loop), {reported} actions reported done and found")
    assert killed_while_writing >= KILLS // 2
    assert reported >= KILLS  # the kills landed among real writes, not only before the first one


# -- what `helpdesk check` says when something is wrong -------------------------------------------------------


def tamper(db: Path, *statements: str) -> None:
    """Change the file behind the program's back, as a bad restore, a hand edit or another tool would."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = OFF")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def run_check(db: Path) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), "--json", "check"],
        cwd=ROOT,
        env={**os.environ, "HELPDESK_AGENT": "boss"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["problems"]


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (("UPDATE tickets SET status = 'closed' WHERE id = 3",), "ticket 3: status is 'closed' but its events say"),
        (("UPDATE tickets SET assignee = 'sue' WHERE id = 4",), "ticket 4: assignee is 'sue' but its events say None"),
        (("UPDATE tickets SET tier = 'L3', priority = 'P1' WHERE id = 5",), "ticket 5: tier is 'L3'"),
        (
            (
                "INSERT INTO tickets (id, subject, status, priority, channel, created_at, updated_at)"
                " VALUES (99, 'no history', 'open', 'P3', 'email', '2026-03-02T01:00:00Z', '2026-03-02T01:00:00Z')",
            ),
            "ticket 99: history does not start with its creation",
        ),
        (
            ("INSERT INTO messages (ticket_id, kind, author, body, created_at) VALUES (404, 'note', 'x', 'y', 'z')",),
            "foreign key: messages row",
        ),
    ],
)
def test_check_names_what_is_wrong(crash_db: Path, statements: tuple[str, ...], expected: str) -> None:
    assert run_check(crash_db) == (0, [])
    tamper(crash_db, *statements)
    code, problems = run_check(crash_db)
    assert code == 1
    assert any(p.startswith(expected) for p in problems), problems


def test_check_lists_every_problem_not_only_the_first(crash_db: Path) -> None:
    tamper(
        crash_db,
        "UPDATE tickets SET status = 'closed' WHERE id = 3",
        "UPDATE tickets SET tier = 'L2' WHERE id = 7",
    )
    code, problems = run_check(crash_db)
    assert code == 1
    assert [p.split(":")[0] for p in problems] == ["ticket 3", "ticket 7"]
