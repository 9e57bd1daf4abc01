"""`kill -9` of `mail fetch` and `mail send` at random moments, against the real servers: nothing is lost and nothing
is filed twice; a message sent again (the server took it, the kill came before it was marked sent) is the same
message, byte for byte, with the same Message-ID."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.service.helpdesk import HelpdeskService
from tests.mailservers import Dovecot, SmtpSink, dovecot, smtp, write_config

__all__ = ["dovecot", "smtp"]

ROOT = Path(__file__).resolve().parents[1]
KILLS = 8
MESSAGES = 24


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def db(db_path: Path) -> Iterator[Path]:
    service = HelpdeskService.open(db_path, "boss", create=True)
    service.init("boss")
    service.shutdown()
    yield db_path


def helpdesk(db: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_at_random(db: Path, rng: random.Random, *args: str) -> int:
    """Start the command KILLS times and SIGKILL it at a random moment of its run; how many runs it finished."""
    finished = 0
    for _ in range(KILLS):
        proc = helpdesk(db, *args)
        time.sleep(rng.uniform(0.3, 1.1))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        else:
            finished += 1
        proc.wait(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()
    return finished


def check_passes(db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db), "check"], cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def message(n: int) -> bytes:
    return (
        f"From: Customer {n} <c{n}@customer.example>\r\nTo: support@example.com\r\nSubject: Problem {n}\r\n"
        f"Message-ID: <kill-{n}@customer.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + f"Line of text {n}.\r\n"
        * 2000
    ).encode()


def test_kill_fetch_loses_and_duplicates_nothing(db: Path, tmp_path: Path, dovecot: Dovecot) -> None:
    rng = random.Random(int(os.environ.get("KILL_SEED", "18")))
    user = dovecot.new_user()
    config = str(write_config(tmp_path / "helpdesk.toml", imap_port=dovecot.port, user=user, new_tickets_per_hour=1000))
    for n in range(MESSAGES):
        dovecot.append(user, message(n))
    finished = kill_at_random(db, rng, "mail", "fetch", "--once", "--config", config)
    progress = rows(db, "SELECT count(*) FROM mail_messages")[0][0]
    print(f"fetch: {KILLS - finished} of {KILLS} runs killed; {progress} rows filed before the last run")
    assert finished < KILLS  # the kills landed in the work, not after it
    done = helpdesk(db, "mail", "fetch", "--once", "--config", config)
    assert done.wait(timeout=120) == 0
    assert dovecot.unseen(user) == [] and dovecot.count(user) == MESSAGES
    filed = rows(db, "SELECT message_id FROM mail_messages WHERE direction = 'in' ORDER BY message_id")
    assert sorted(m for (m,) in filed) == sorted(f"kill-{n}@customer.example" for n in range(MESSAGES))
    # one ticket each, each with its receipt queued in the same transaction: none without the other
    assert rows(db, "SELECT count(*) FROM tickets") == [(MESSAGES,)]
    assert rows(db, "SELECT count(*) FROM mail_outbox WHERE kind = 'receipt'") == [(MESSAGES,)]
    assert rows(
        db,
        "SELECT count(*) FROM tickets t LEFT JOIN mail_messages m ON m.ticket_id = t.id AND m.direction = 'in'"
        " WHERE m.id IS NULL",
    ) == [(0,)]
    check_passes(db)


def test_kill_send_loses_nothing_and_resends_the_same_message(db: Path, tmp_path: Path, smtp: SmtpSink) -> None:
    from console.cli.main import main

    rng = random.Random(int(os.environ.get("KILL_SEED", "18")))
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, new_tickets_per_hour=1000))
    for n in range(MESSAGES):
        _ingest_in_process(main, db, config, message(n).replace(b"customer.example", b"send-kill.example"))
    outbox = {m for (m,) in rows(db, "SELECT message_id FROM mail_outbox")}
    assert len(outbox) == MESSAGES
    smtp.delay = 0.08  # each delivery takes a while, so kills land between accepting and marking sent
    try:
        finished = kill_at_random(db, rng, "mail", "send", "--once", "--config", config)
        sent = rows(db, "SELECT count(*) FROM mail_outbox WHERE status = 'sent'")[0][0]
        print(f"send: {KILLS - finished} of {KILLS} runs killed; {sent} sent before the last run")
        assert finished < KILLS
        done = helpdesk(db, "mail", "send", "--once", "--config", config)
        assert done.wait(timeout=120) == 0
    finally:
        smtp.delay = 0.0
    assert rows(db, "SELECT DISTINCT status FROM mail_outbox") == [("sent",)]
    received = [r for r in smtp.received if any(t.endswith("@send-kill.example") for t in r.rcpt_tos)]
    by_id: dict[str, list[bytes]] = {}
    for r in received:
        by_id.setdefault(str(r.message["Message-ID"]).strip("<>"), []).append(r.data)
    assert set(by_id) == outbox  # nothing lost, nothing that is not in the outbox
    print(f"send: {len(received)} deliveries for {len(outbox)} messages")
    for copies in by_id.values():
        assert all(c == copies[0] for c in copies)  # a resend is the same message
    check_passes(db)


def _ingest_in_process(main: Any, db: Path, config: str, raw: bytes) -> None:
    import io
    from contextlib import redirect_stdout

    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(raw))
    try:
        with redirect_stdout(io.StringIO()):
            assert main(["--db", str(db), "mail", "ingest", "--config", config]) == 0
    finally:
        sys.stdin = old


def test_a_crash_after_the_server_accepted_resends_the_same_bytes(
    db: Path, tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window the kills above rarely hit, made certain: the server took the message, the process died before
    marking it sent. The next run sends it again: the same bytes, the same Message-ID, and it is then marked."""
    from console.cli.main import main
    from console.service import mail

    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port))
    _ingest_in_process(main, db, config, message(99).replace(b"customer.example", b"crash.example"))

    class Killed(BaseException):
        """Dies like a kill: nothing after the delivery is written (no handler in main catches it)."""

    def crash(self: mail.Mailroom, row: dict[str, Any]) -> None:
        raise Killed

    monkeypatch.setattr(mail.Mailroom, "_sent", crash)
    with pytest.raises(Killed):
        main(["--db", str(db), "mail", "send", "--once", "--config", config])
    monkeypatch.undo()
    assert rows(db, "SELECT status FROM mail_outbox") == [("waiting",)]
    assert main(["--db", str(db), "mail", "send", "--once", "--config", config]) == 0
    first, second = smtp.to("c99@crash.example")
    assert first.data == second.data and first.message["Message-ID"] == second.message["Message-ID"]
    assert rows(db, "SELECT status FROM mail_outbox") == [("sent",)]
