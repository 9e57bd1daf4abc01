"""A wallboard far from the primary: `helpdesk wallboard --db postgresql://standby…` reads a hot standby streaming
from the primary (read-only connection, no write attempted), and shows what the primary committed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from console.rules.errors import Refused
from console.service.helpdesk import HelpdeskService
from console.service.wallboard import snapshot
from tests.pg import Cluster


@pytest.fixture(scope="module")
def standby(pg_cluster: Cluster) -> Iterator[Cluster]:
    with pg_cluster.standby() as replica:
        yield replica


def test_the_wallboard_reads_a_hot_standby(pg_cluster: Cluster, standby: Cluster, pg_db: str) -> None:
    boss = HelpdeskService.open(pg_db, "boss", create=True)
    boss.init("boss")
    boss.add_agent("li.wei", "agent", "L1")
    li = boss.as_agent("li.wei")
    first = boss.create_ticket("Server down", customer="Initech", priority="P1")
    boss.create_ticket("Printer", customer="Acme", priority="P4")
    database = pg_db.rsplit("/", 1)[1]
    pg_cluster.caught_up(standby)

    board = HelpdeskService.open(standby.url(database), "boss", wallboard=True)
    now = datetime.now(UTC).replace(microsecond=0)
    seen = snapshot(board, now, show_customers=False)
    assert seen == snapshot(boss, now, show_customers=False)
    assert seen.open_total == 2 and seen.urgent[0].ticket_id == first.id
    with pytest.raises(Refused):
        board.create_ticket("nope", customer="x")
    assert board.sweep() == {"warnings": 0, "breaches": 0, "auto_closed": 0}
    assert board.store.readonly
    # a standby refuses LISTEN: the board polls its feed there, as on SQLite; the primary announces its commits
    assert not board.live.pushes() and boss.live.pushes()

    # a change on the primary reaches the board's next snapshot once the standby has replayed it
    cursor = board.store.feed_cursor()
    li.assign(first.id)
    pg_cluster.caught_up(standby)
    assert first.id in board.store.changes_since(cursor).tickets
    assert {a.agent: a.open for a in snapshot(board, now, show_customers=False).agents}["li.wei"] == 1
    board.shutdown()
    boss.shutdown()


def test_the_console_is_sent_to_the_primary(pg_cluster: Cluster, standby: Cluster, pg_db: str) -> None:
    """Only the board may open a standby: an agent's console there would fail at its first write."""
    from console.rules.errors import Unavailable
    from console.service.preflight import check_server

    pg_cluster.caught_up(standby)
    database = pg_db.rsplit("/", 1)[1]
    check_server(standby.url(database), readonly=True)  # `helpdesk wallboard --db postgresql://standby…`
    with pytest.raises(Unavailable, match="is a standby, read-only: work on the primary"):
        check_server(standby.url(database))


def test_helpdesk_wallboard_runs_on_a_standby_and_shows_the_primarys_commits(
    pg_cluster: Cluster, standby: Cluster, pg_db: str
) -> None:
    """The command itself, in a real terminal: `helpdesk --db postgresql://standby… wallboard` paints the floor from
    the standby and shows a P1 committed on the primary once the standby has replayed it (polled every second there:
    a standby refuses LISTEN)."""
    import os
    import re
    import sys
    import time

    from tests.bench.pty_tools import drain, spawn, stop

    boss = HelpdeskService.open(pg_db, "boss", create=True)
    boss.init("boss")
    boss.create_ticket("FLOOD-1 server room", customer="Initech", priority="P1")
    database = pg_db.rsplit("/", 1)[1]
    pg_cluster.caught_up(standby)
    argv = [sys.executable, "-m", "console", "--db", standby.url(database), "wallboard"]
    pid, fd = spawn(argv, (120, 40), {"HELPDESK_STATE_DIR": os.environ["HELPDESK_STATE_DIR"]})
    seen = b""

    def shown(marker: bytes, limit: float) -> float | None:
        nonlocal seen
        started = time.monotonic()
        while time.monotonic() - started < limit:
            seen += drain(fd, 0.05)
            if marker in re.sub(rb"\x1b\[[0-9;?]*[ -/]*[@-~]", b"", seen):  # a line may come in styled pieces
                return time.monotonic() - started
        return None

    try:
        assert shown(b"FLOOD-1", 60) is not None, f"the board never painted: {seen[-2000:]!r}"
        seen = b""
        boss.create_ticket("SWITCH-2 core switch dead", customer="Acme", priority="P1")
        took = shown(b"SWITCH-2", 30)
        assert took is not None and took < 5, f"the standby's board showed the commit after {took} s: {seen[-2000:]!r}"
    finally:
        stop(pid, fd)
        boss.shutdown()
