"""Many agents, one database: optimistic concurrency, presence, retries, and a multi-process stress run.

Every process or thread here opens its own ``HelpdeskService.open(...)`` connection, as separate consoles do.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.rules.errors import HelpdeskError, Refused, Stale
from console.rules.validation import validate_new_ticket
from console.service.helpdesk import HelpdeskService
from console.service.upkeep import PRESENCE_TTL_S
from db import schema
from db.models import Ticket
from tests.conftest import FrozenClock, sqlite_conn
from tests.test_kill import reader

Team = Callable[[str], HelpdeskService]

# The event kind each action must write, exactly once.
KIND = {
    "reply": "reply",
    "note": "note",
    "assign": "assigned",
    "pending": "pending",
    "resume": "resumed",
    "escalate": "escalated",
    "restore": "restored",
    "resolve": "resolved",
    "close": "closed",
    "reopen": "reopened",
    "customer_reply": "customer_message",
}
ACTIONS = tuple(KIND)
WORKERS = 8
ACTIONS_PER_WORKER = 300
TICKETS = 200


# -- helpers shared with the worker processes (module level: 'spawn' imports this module by name) ----------


def perform(svc: HelpdeskService, action: str, tid: int, version: int | None, rng: random.Random) -> Ticket:
    """One agent action through the service, as the console or the CLI would call it."""
    if action == "reply":
        return svc.reply(tid, f"Update from {svc.actor_name}", expected_version=version)
    if action == "note":
        return svc.note(tid, "checked the logs", expected_version=version)
    if action == "assign":
        return svc.assign(tid, expected_version=version)
    if action == "pending":
        return svc.pending(tid, expected_version=version)
    if action == "resume":
        return svc.resume(tid, expected_version=version)
    if action == "escalate":
        tier = svc.ticket(tid).tier
        to = {"L1": "L2", "L2": "L3"}.get(tier) or rng.choice([f"w{i}" for i in range(WORKERS)])
        return svc.escalate(
            tid,
            to,
            "needs the next tier",
            tried="restart",
            impact="one office",
            notice="The next support level takes over.",
            expected_version=version,
        )
    if action == "restore":
        return svc.restore(tid, "workaround in place", expected_version=version)
    if action == "resolve":
        return svc.resolve(tid, "root cause fixed", expected_version=version)
    if action == "close":
        return svc.close(
            tid,
            summary="fixed and confirmed",
            confirmed=True,
            confirmed_by="phone",
            asked_anything_else=True,
            kb_needed=rng.random() < 0.2,
            followup=(datetime.now(UTC) + timedelta(days=3)).date(),  # the workers run on the real clock
            expected_version=version,
        )
    if action == "reopen":
        return svc.reopen(tid, "customer says it is back", expected_version=version)
    if action == "customer_reply":
        return svc.customer_reply(tid, "any news?")
    raise AssertionError(action)


@contextmanager
def capture_events(svc: HelpdeskService) -> Iterator[list[Any]]:
    """The events each committed unit wrote (the list restarts at every BEGIN, so a retried unit counts once)."""
    captured: list[Any] = []
    store = svc.store
    add_event, transaction = store.add_event, store.transaction

    def recording_add_event(*args: Any, **kwargs: Any) -> Any:
        event = add_event(*args, **kwargs)
        captured.append(event)
        return event

    @contextmanager
    def fresh_transaction() -> Iterator[None]:
        captured.clear()
        with transaction():
            yield

    store.add_event = recording_add_event  # type: ignore[method-assign]
    store.transaction = fresh_transaction  # type: ignore[method-assign]
    try:
        yield captured
    finally:
        del store.add_event, store.transaction


def is_lock_error(text: str) -> bool:
    return "locked" in text.lower() or "busy" in text.lower()


def stress_worker(db: str, agent: str, seed: int, count: int, out: str, barrier: Any) -> None:
    """``count`` random actions on random tickets; one JSON line per action, written after it returned."""
    rng = random.Random(seed)
    svc = HelpdeskService.open(db, agent)
    barrier.wait(timeout=60)
    with open(out, "w", encoding="utf-8") as fh, capture_events(svc) as captured:
        for seq in range(count):
            tid = rng.randint(1, TICKETS)
            action = rng.choice(ACTIONS)
            record: dict[str, Any] = {"agent": agent, "seq": seq, "action": action, "ticket": tid}
            try:
                if rng.random() < 0.1:
                    svc.heartbeat(tid)  # presence is a write too; it must wait its turn like the others
                # Half the actions come from a view read a moment ago, as the console's do.
                version = svc.ticket(tid).version if rng.random() < 0.5 else None
                ticket = perform(svc, action, tid, version, rng)
            except HelpdeskError as exc:
                record.update(ok=False, error=type(exc).__name__, message=str(exc))
            except Exception as exc:
                record.update(ok=False, error="unexpected", message=repr(exc))
            else:
                record.update(
                    ok=True,
                    returned=ticket.id,
                    version=ticket.version,
                    events=[[e.id, e.kind, e.ticket_id, e.actor] for e in captured],
                )
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    svc.shutdown()


def open_worker(path: str, start_at: float) -> str:
    while time.time() < start_at:
        time.sleep(0.001)
    try:
        HelpdeskService.open(path, "x", create=True).shutdown()
    except Exception as exc:
        return repr(exc)
    return "ok"


# -- optimistic concurrency ---------------------------------------------------------------------------------


@pytest.fixture
def shared(team: Team, db_path: Path) -> Iterator[Callable[..., HelpdeskService]]:
    """Services for named agents, each on its own connection to the team's database."""
    opened: list[HelpdeskService] = []

    def open_as(name: str, clock: FrozenClock | None = None) -> HelpdeskService:
        svc = HelpdeskService.open(db_path, name, clock=clock or FrozenClock())
        opened.append(svc)
        return svc

    yield open_as
    for svc in opened:
        svc.shutdown()


def press_together(agents: list[HelpdeskService], press: Callable[[HelpdeskService], Ticket]) -> dict[str, Any]:
    """Each agent presses at the same instant, on its own thread and connection; what each one got back."""
    start = threading.Barrier(len(agents))
    results: dict[str, Ticket | BaseException] = {}

    def run(svc: HelpdeskService) -> None:
        start.wait()
        try:
            results[svc.actor_name] = press(svc)
        except BaseException as exc:
            results[svc.actor_name] = exc

    threads = [threading.Thread(target=run, args=(svc,)) for svc in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_agents_assign_to_me_at_once_exactly_one_wins(shared: Callable[..., HelpdeskService]) -> None:
    li, ann = shared("li.wei"), shared("ann")
    for _round in range(10):
        tid = li.create_ticket("Outlook keeps asking for the password", customer="Acme").id
        seen = li.ticket(tid).version
        assert ann.ticket(tid).version == seen  # both screens show the same version

        def assign_seen(svc: HelpdeskService, tid: int = tid, seen: int = seen) -> Ticket:
            return svc.assign(tid, expected_version=seen)

        results = press_together([li, ann], assign_seen)
        winners = [name for name, r in results.items() if isinstance(r, Ticket)]
        losers = {name: r for name, r in results.items() if not isinstance(r, Ticket)}
        assert len(winners) == 1, results
        (loser, error), winner = next(iter(losers.items())), winners[0]
        assert isinstance(error, Stale), error
        assert re.fullmatch(rf"ticket {tid} changed: assigned to {winner} by {winner} \d+ s ago", str(error))
        assert li.ticket(tid).assignee == winner and li.ticket(tid).version == seen + 1
        assert [e.kind for e in li.store.events(tid)] == ["created", "assigned"]
        # The loser's refreshed view carries the new version; acting on it is judged by the rules, not refused as stale.
        with pytest.raises(HelpdeskError) as refused:
            shared(loser).assign(tid, expected_version=li.ticket(tid).version)
        assert not isinstance(refused.value, Stale)


def test_stale_view_is_refused_and_nothing_is_overwritten(shared: Callable[..., HelpdeskService]) -> None:
    clock = FrozenClock()
    sue, li = shared("sue", clock), shared("li.wei", clock)
    tid = li.create_ticket("VPN drops", customer="Acme").id
    li.reply(tid, "Looking into it")
    seen = sue.ticket(tid).version
    li.reply(tid, "Found it: the tunnel times out")
    clock.advance(seconds=5)
    with pytest.raises(Stale, match=rf"^ticket {tid} changed: replied by li.wei 5 s ago$"):
        sue.assign(tid, "ann", expected_version=seen)
    with pytest.raises(Stale):
        sue.resolve(tid, "fixed", expected_version=seen)
    t = sue.ticket(tid)
    assert (t.assignee, t.status, t.version) == (None, "open", seen + 1)
    assert [e.kind for e in sue.store.events(tid)] == ["created", "reply", "reply"]


def while_another_agent_commits(svc: HelpdeskService, clock: FrozenClock, other: Callable[[], object]) -> None:
    """``svc``'s next write waits for the lock while ``other`` commits, and 2 s pass on ``svc``'s clock."""
    real_write = svc.store.write

    def contended_write(work: Callable[[], Any], attempts: int = 12) -> Any:
        del svc.store.write  # once
        other()
        clock.advance(seconds=2)
        return real_write(work, attempts)

    svc.store.write = contended_write  # type: ignore[method-assign]


def timed_action(shared: Callable[..., HelpdeskService], action: str) -> Ticket:
    """``action`` by li.wei, while sue's note commits during li.wei's wait for the write lock."""
    li_clock, sue_clock = FrozenClock(), FrozenClock()
    li, sue = shared("li.wei", li_clock), shared("sue", sue_clock)
    tid = li.create_ticket("Disk full", customer="Acme").id
    if action == "close":  # only a resolved ticket whose customer was reached closes
        li.reply(tid, "Old logs removed: please check.")
        li.resolve(tid, "old logs removed")
    sue_clock.advance(seconds=1)
    while_another_agent_commits(li, li_clock, lambda: sue.note(tid, "freed 2 GB"))
    if action == "reply":
        return li.reply(tid, "Cleaning up now")
    if action == "resolve":
        return li.resolve(tid, "old logs removed")
    if action == "close":
        return li.close(tid, summary="old logs removed", confirmed=True, confirmed_by="email", asked_anything_else=True)
    return li.customer_reply(tid, "still full")


def test_an_action_is_timed_when_it_gets_the_lock(shared: Callable[..., HelpdeskService]) -> None:
    t = timed_action(shared, "reply")
    assert t.updated_at == FrozenClock().advance(seconds=2)


@pytest.mark.parametrize("action", ["resolve", "close", "customer_reply"])
def test_timed_actions_are_timed_when_they_get_the_lock(shared: Callable[..., HelpdeskService], action: str) -> None:
    t = timed_action(shared, action)
    assert t.updated_at == FrozenClock().advance(seconds=2)


def test_an_escalation_committed_meanwhile_is_not_undone(shared: Callable[..., HelpdeskService]) -> None:
    clock = FrozenClock()
    li, sue = shared("li.wei", clock), shared("sue", clock)
    tid = li.create_ticket("Core switch down", customer="Acme").id
    li.assign(tid)

    def escalate(svc: HelpdeskService, to: str) -> Ticket:
        return svc.escalate(tid, to, "vendor bug", tried="reboot", impact="site down", notice="Specialists take over.")

    while_another_agent_commits(li, clock, lambda: escalate(sue, "L3"))
    with pytest.raises(Refused, match="at L3"):
        escalate(li, "L2")  # no version given, as from the CLI
    assert li.ticket(tid).tier == "L3"


def test_a_reopen_committed_meanwhile_is_counted(shared: Callable[..., HelpdeskService]) -> None:
    clock = FrozenClock()
    li, sue = shared("li.wei", clock), shared("sue", clock)
    tid = li.create_ticket("Printer offline", customer="Acme").id
    li.resolve(tid, "new toner")

    def sue_reopens_and_resolves() -> None:
        sue.reopen(tid, "still offline")
        sue.resolve(tid, "driver reinstalled")

    while_another_agent_commits(li, clock, sue_reopens_and_resolves)
    t = li.reopen(tid, "offline again")
    assert t.reopens == 2 and [e.kind for e in li.store.events(tid)].count("reopened") == 2


# -- presence ------------------------------------------------------------------------------------------------


def test_presence_shows_another_agents_heartbeat_until_it_expires(shared: Callable[..., HelpdeskService]) -> None:
    li_clock, ann_clock = FrozenClock(), FrozenClock()
    li, ann = shared("li.wei", li_clock), shared("ann", ann_clock)
    tid = li.create_ticket("Printer offline", customer="Acme").id
    li.heartbeat(tid)
    assert ann.detail(tid).viewers == ["li.wei"]
    assert li.detail(tid).viewers == []  # one's own heartbeat is not "someone else"
    ann_clock.advance(seconds=PRESENCE_TTL_S - 1)
    assert ann.detail(tid).viewers == ["li.wei"]
    ann_clock.advance(seconds=2)
    assert ann.detail(tid).viewers == []  # li.wei's console stopped beating: stale presence expires
    li_clock.advance(seconds=PRESENCE_TTL_S + 1)
    li.heartbeat(tid)
    ann.heartbeat(tid)
    assert ann.detail(tid).viewers == ["li.wei"] and li.detail(tid).viewers == ["ann"]
    li.leave(tid)
    assert ann.detail(tid).viewers == []


# -- every write inside a short transaction --------------------------------------------------------------


def test_every_write_runs_inside_a_transaction(team: Team, clock: FrozenClock) -> None:
    """A write outside Store.write would run in autocommit mode: no retry, and not atomic with its event."""
    boss, li, sue = team("boss"), team("li.wei"), team("sue")
    conn = sqlite_conn(boss)
    loose: list[str] = []

    def trace(sql: str) -> None:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP") and not conn.in_transaction:
            loose.append(sql)

    conn.set_trace_callback(trace)
    try:
        boss.add_agent("neo", "agent", "L1")
        tid = li.create_ticket("Mail bounce", "550 from the relay", customer="Bob", email="bob@x.test").id
        li.heartbeat(tid)
        li.assign(tid)
        li.reply(tid, "Hello Bob")
        li.note(tid, "relay logs")
        li.pending(tid)
        li.customer_reply(tid, "logs attached")
        li.escalate(tid, "L2", "relay config", tried="resend", impact="Bob's mail bounces", told="L2 calls Bob")
        sue.restore(tid, "second relay")
        sue.resolve(tid, "relay fixed")
        sue.close(
            tid, summary="relay fixed", confirmed=True, confirmed_by="email", asked_anything_else=True, kb_needed=True
        )
        sue.publish_article(sue.drafts()[0].id)
        sue.reopen(tid, "bounced again")
        li.leave(tid)
        li.import_rows([(validate_new_ticket("Imported", "", "P3", "email", "L1"), {"customer": "Cy"})])
        other = li.create_ticket("Resolved long ago", customer="Dee").id
        li.resolve(other, "fixed")
        clock.advance(days=5)
        li.sweep()
        from console.rules.policy import default_policy_toml

        boss.load_policy(default_policy_toml())
    finally:
        conn.set_trace_callback(None)
    assert loose == []
    assert boss.check() == []


# -- many processes -----------------------------------------------------------------------------------------


def test_eight_processes_create_the_same_new_database(tmp_path: Path) -> None:
    """The first open of a new file races to switch it to WAL and to migrate it; every process must get through."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        pool.map(abs, range(WORKERS))  # interpreters started and warm before the race
        for attempt in range(3):
            path = tmp_path / f"new{attempt}.db"
            start = time.time() + 0.3
            results = pool.starmap(open_worker, [(str(path), start)] * WORKERS, chunksize=1)
            assert results == ["ok"] * WORKERS
            conn = sqlite3.connect(path)
            assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
            conn.close()


@pytest.mark.slow
def test_stress_eight_processes_random_actions(team: Team, db_path: Path, tmp_path: Path) -> None:
    """8 processes × 300 random actions over 200 tickets: every reported success is in the events table exactly
    once, every ticket equals the replay of its events, and no process ever saw a lock error."""
    boss = team("boss")
    for i in range(WORKERS):
        boss.add_agent(f"w{i}", "agent" if i % 2 == 0 else "supervisor", "L3")
    priorities = ("P1", "P2", "P3", "P4")
    boss.import_rows(
        [
            (validate_new_ticket(f"Ticket {n}", "body", priorities[n % 4], "email", "L1"), {"customer": f"C{n % 37}"})
            for n in range(TICKETS)
        ]
    )
    assert boss.store.ticket_ids() == list(range(1, TICKETS + 1))
    first_action_event = boss.store.count_events() + 1
    boss.store.close()  # the workers are the only ones left writing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS + 1)
    outputs = [tmp_path / f"worker{i}.jsonl" for i in range(WORKERS)]
    procs = [
        ctx.Process(
            target=stress_worker,
            args=(str(db_path), f"w{i}", 1000 + i, ACTIONS_PER_WORKER, str(outputs[i]), barrier),
        )
        for i in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)  # all connected: the clock starts with the first action
    started = time.perf_counter()
    for proc in procs:
        proc.join(timeout=max(1.0, 240 - (time.perf_counter() - started)))
    elapsed = time.perf_counter() - started
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    assert all(proc.exitcode == 0 for proc in procs), [proc.exitcode for proc in procs]

    records = [json.loads(line) for out in outputs for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == WORKERS * ACTIONS_PER_WORKER
    lock_errors = [r for r in records if not r["ok"] and is_lock_error(r["message"])]
    assert lock_errors == []
    unexpected = [r for r in records if not r["ok"] and r["error"] in ("unexpected", "Unavailable")]
    assert unexpected == []
    successes = [r for r in records if r["ok"]]

    with reader(str(db_path)) as (query, _kb_needed):  # behind the program's back, on either engine
        rows = query("SELECT id, kind, ticket_id, actor FROM events WHERE id >= ? ORDER BY id", [first_action_event])
        versions = dict(query("SELECT id, version FROM tickets", []))
    in_db = {row[0]: list(row) for row in rows}
    reported: Counter[int] = Counter()
    for r in successes:
        assert len(r["events"]) == 1, r  # exactly one event per action
        event_id, kind, ticket_id, actor = r["events"][0]
        assert (kind, ticket_id, actor) == (KIND[r["action"]], r["ticket"], r["agent"]), r
        assert in_db.get(event_id) == [event_id, kind, ticket_id, actor], r
        reported[event_id] += 1
    assert set(reported) == set(in_db)  # no event from an action that did not report success
    assert max(reported.values()) == 1  # and none reported twice
    # Each success bumped its ticket's version once: together they account for every version of every ticket.
    by_ticket: dict[int, list[int]] = {}
    for r in successes:
        by_ticket.setdefault(r["ticket"], []).append(r["version"])
    for tid, version in versions.items():
        assert sorted(by_ticket.get(tid, [])) == list(range(2, version + 1)), tid

    checker = HelpdeskService.open(db_path, "boss")
    try:
        assert checker.check() == []
    finally:
        checker.shutdown()

    outcomes = Counter("ok" if r["ok"] else r["error"] for r in records)
    print(
        f"\nstress: {len(records)} actions by {WORKERS} processes in {elapsed:.1f} s "
        f"({len(records) / elapsed:.0f} actions/s, {len(successes) / elapsed:.0f} commits/s); {dict(outcomes)}"
    )
    assert len(successes) >= len(records) // 4  # enough of the run was real work, not refusals
    assert elapsed < 120
