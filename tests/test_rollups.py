"""Reports from rollups (console/service/rollups.py): for random histories the rollup report is the replay report,
field for field; the sums kept incrementally are a rebuild's; a database from before v7 replays until filled; the
fallbacks (a past --now, another zone, by customer); exact percentiles through the histogram buckets."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.rules.errors import HelpdeskError
from console.rules.policy import default_policy_toml
from console.service import reports, rollups
from console.service.helpdesk import HelpdeskService
from db import rollups as db_rollups
from db import schema
from tests import conftest
from tests.conftest import FrozenClock, sqlite_conn

Team = Callable[[str], HelpdeskService]
SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # Monday 04:00 in Shanghai, Sunday 20:00 in London
BYS = (None, "agent", "tier", "priority", "channel")
AGENTS = ("li.wei", "ann", "kai", "zoe")
# The P3 calendar moved to London: the team's days are London's.
LONDON_POLICY = default_policy_toml().replace(
    '[priorities.P3]           # normal\ncalendar = "cn-business"',
    '[calendars.uk]\ntz = "Europe/London"\n[calendars.uk.weekly]\n'
    + "".join(f'{d} = [["09:00", "17:30"]]\n' for d in ("mon", "tue", "wed", "thu", "fri"))
    + '\n[priorities.P3]\ncalendar = "uk"',
)


def _figures(report: reports.Report) -> Any:
    return report.as_json() if report.by else {**report.as_json(), "days": [d.as_json() for d in report.days]}  # type: ignore[dict-item]


def both(
    service: HelpdeskService, period: reports.Period, by: str | None, now: datetime | None = None, **kw: Any
) -> tuple[Any, Any]:
    fast = reports.build_report(service, period, by, now, **kw)
    slow = reports.build_report(service, period, by, now, rollups=False, **kw)
    return _figures(fast), _figures(slow)


def open_team(path: Path, clock: FrozenClock, policy: str | None = None) -> dict[str, HelpdeskService]:
    admin = conftest.open_team(path, clock)
    if policy is not None:
        admin.load_policy(policy)
    out = {"boss": admin}
    for name in ("sue", *AGENTS):
        out[name] = HelpdeskService(admin.store, name, clock=clock, entered_by="boss")
    return out


# -- random histories ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    op: str
    ticket: int  # index into the tickets created so far
    minutes: int  # time since the previous step
    claimed: bool  # recorded with at= (backfilled) rather than at the clock's time
    arg: int


OPS = (
    "create",
    "create",
    "reply",
    "customer",
    "assign",
    "resolve",
    "close",
    "reopen",
    "escalate",
    "csat",
    "link",
    "pending",
    "resume",
    "priority",
    "note",
)
steps = st.lists(
    st.builds(
        Step,
        st.sampled_from(OPS),
        st.integers(0, 7),
        st.sampled_from([1, 5, 20, 45, 90, 240, 600, 1500]),
        st.booleans(),
        st.integers(0, 11),
    ),
    min_size=3,
    max_size=40,
)


def play(team: dict[str, HelpdeskService], clock: FrozenClock, history: list[Step]) -> datetime:
    """Run the steps (refused ones are skipped, as a user's mistakes would be); returns the last step's time."""
    boss = team["boss"]
    article = boss.add_article("Printer", "Use tray 2").id
    ids: list[int] = []
    at = START
    for step in history:
        # 7 s more each step: no step falls exactly on a due instant of a clock an earlier step started (see
        # test_a_clock_due_at_the_instant_it_was_judged)
        at += timedelta(minutes=step.minutes, seconds=7)
        if not step.claimed:
            clock.now = at
        when = at if step.claimed else None
        who = team[AGENTS[step.arg % len(AGENTS)]]
        try:
            if step.op == "create" or not ids:
                ticket = who.create_ticket(
                    f"case {len(ids)}",
                    customer=f"Customer {step.arg % 3}" if step.arg % 4 else None,
                    email=f"c{step.arg % 3}@example.test" if step.arg % 4 else None,
                    priority=("P1", "P2", "P3", "P4")[step.arg % 4],
                    channel=("phone", "email", "chat", "web", "onsite")[step.arg % 5],
                    at=when,
                )
                ids.append(ticket.id)
                continue
            tid = ids[step.ticket % len(ids)]
            if step.op == "reply":
                who.reply(tid, "on it", at=when)
            elif step.op == "customer":
                who.customer_reply(tid, "still broken", at=when)
            elif step.op == "assign":
                who.assign(tid, AGENTS[step.arg % len(AGENTS)], at=when)
            elif step.op == "resolve":
                who.resolve(tid, "fixed", at=when)
            elif step.op == "close":
                who.close(
                    tid,
                    summary="fixed",
                    confirmed=step.arg % 2 == 0,
                    confirmed_by="phone" if step.arg % 2 == 0 else None,
                    unconfirmed_reason=None if step.arg % 2 == 0 else "no answer",
                    kb_needed=step.arg % 3 == 0,
                    followup=(at + timedelta(days=2)).astimezone(SH).date(),
                    at=when,
                )
            elif step.op == "reopen":
                who.reopen(tid, "came back", at=when)
            elif step.op == "escalate":
                who.escalate(tid, "L2", "needs L2", tried="restart", impact="one user", told="L2 calls", at=when)
            elif step.op == "csat":
                reports.record_csat(who, tid, 1 + step.arg % 5, at=when)
            elif step.op == "link":
                who.link_article(tid, article, at=when)
            elif step.op == "pending":
                who.pending(tid, at=when)
            elif step.op == "resume":
                who.resume(tid, at=when)
            elif step.op == "priority":
                who.change_priority(tid, ("P1", "P2", "P3", "P4")[step.arg % 4], "customer asked", at=when)
            elif step.op == "note":
                who.note(tid, "checked", at=when)
        except HelpdeskError:
            pass
    return at


def periods(zone: Any, end: datetime) -> list[reports.Period]:
    first = START.astimezone(zone).date()
    last = end.astimezone(zone).date()
    return [
        reports.make_period(None, None, zone),
        reports.make_period(first, first, zone),
        reports.make_period(first + timedelta(days=1), None, zone),
        reports.make_period(None, first + timedelta(days=1), zone),
        reports.make_period(first, last, zone),
    ]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=steps, london=st.booleans(), later=st.sampled_from([0, 30, 600, 3000]))
def test_rollup_report_is_the_replay_report(history: list[Step], london: bool, later: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FrozenClock(START)
        team = open_team(Path(tmp) / "h.db", clock, LONDON_POLICY if london else None)
        end = play(team, clock, history)
        clock.now = max(clock.now, end) + timedelta(minutes=later)  # running clocks fall due meanwhile
        sue = team["sue"]
        zone = reports.team_zone(sue.policy())
        assert str(zone) == ("Europe/London" if london else "Asia/Shanghai")
        assert rollups.ReportRollups(sue.core, sue.sla_book).complete()
        for period in periods(zone, clock.now):
            for by in BYS:
                for exclude in (False, True):
                    fast, slow = both(sue, period, by, exclude_backfilled=exclude)
                    assert fast == slow, (period, by, exclude)
        # the incremental sums are exactly a rebuild's
        before = (
            db_rollups.all_days(sue.store),
            db_rollups.all_hist(sue.store),
            list(db_rollups.contributions(sue.store)),
        )
        rollups.rebuild_rollups(team["boss"].core, team["boss"].sla_book)
        after = (
            db_rollups.all_days(sue.store),
            db_rollups.all_hist(sue.store),
            list(db_rollups.contributions(sue.store)),
        )
        assert before == after
        for service in team.values():
            service.shutdown()


def test_the_rollup_path_is_the_one_taken(team: Team, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    li = team("li.wei")
    li.create_ticket("Printer jams", at=clock.now - timedelta(hours=1))
    period = reports.make_period(None, None)

    def no_replay(*_args: Any) -> Any:
        raise AssertionError("replayed")

    monkeypatch.setattr(reports, "collect", no_replay)
    assert reports.build_report(team("sue"), period).total.tickets == 1
    # grouping by customer replays
    with pytest.raises(AssertionError, match="replayed"):
        reports.build_report(team("sue"), period, "customer")


# -- exact percentiles -------------------------------------------------------------------------------------------


def test_buckets_cover_every_duration_once() -> None:
    assert rollups.bucket(-5) == 0
    assert rollups.bucket_bounds(0) == (None, 0)
    for value in (0, 1, 59, 60, 61, 3600, 86_399, 10**7, 2**41):
        low, high = rollups.bucket_bounds(rollups.bucket(value))
        assert low is not None and low <= value and (high is None or value < high)
    assert rollups.bucket(59) != rollups.bucket(58)  # one-second buckets below a minute


def test_percentiles_are_exact_across_months_and_edge_days(team: Team, clock: FrozenClock) -> None:
    """First responses of many lengths over three months: median and p90 of whole-month and part-month periods
    equal the sorted list's, for groups too."""
    li, ann = team("li.wei"), team("ann")
    day0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
    clock.now = datetime(2026, 4, 30, tzinfo=UTC)
    for n in range(60):
        at = day0 + timedelta(days=(n * 37) % 85)
        while at.astimezone(SH).weekday() >= 5:
            at += timedelta(days=1)
        who = li if n % 3 else ann
        t = who.create_ticket(f"case {n}", at=at)
        who.assign(t.id, at=at + timedelta(seconds=1))
        who.reply(t.id, "on it", at=at + timedelta(seconds=2 + (n * 7919) % 20_000))
    sue = team("sue")
    for first, last in (
        (None, None),
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 1, 10), date(2026, 3, 20)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 2, 3), date(2026, 2, 17)),
    ):
        period = reports.make_period(first, last)
        for by in (None, "agent"):
            fast, slow = both(sue, period, by)
            assert fast == slow, (first, last, by)
    report = reports.build_report(sue, reports.make_period(None, None))
    assert report.total.first_response_median_s is not None and report.total.first_response_median_s > 60


# -- time: stale figures, a past --now, another zone ---------------------------------------------------------------


def test_a_clock_that_fell_due_since_it_was_judged_is_replayed(
    team: Team, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    li = team("li.wei")
    li.create_ticket("Server down", priority="P1", at=clock.now - timedelta(minutes=10))  # 30 min to respond
    li.create_ticket("Mail down", priority="P1", at=clock.now - timedelta(minutes=9))
    monkeypatch.setattr(db_rollups, "CHUNK", 1)  # the replays a chunk at a time
    sue = team("sue")
    period = reports.make_period(None, None)
    assert reports.build_report(sue, period).total.sla["first_response"] == reports.metrics.Attainment(0, 0)
    clock.advance(hours=2)  # no sweep since: the stored figures say the clock still runs
    fast, slow = both(sue, period, None)
    assert fast == slow
    assert fast["sla_cycles"]["first_response"] == {"met": 0, "total": 2}


def test_a_clock_due_at_the_instant_it_was_judged(team: Team, clock: FrozenClock) -> None:
    """A P1 phone ticket's restore clock (4 h, 24x7) falls due exactly when the reply is written: in time then,
    breached a minute later, when the report is made."""
    li = team("li.wei")
    t = li.create_ticket("Server down", priority="P1", channel="phone", at=clock.now)
    li.reply(t.id, "on it", at=clock.now + timedelta(hours=4))
    clock.advance(hours=4, minutes=1)
    fast, slow = both(team("sue"), reports.make_period(None, None), None)
    assert slow["sla_cycles"]["restore"] == {"met": 0, "total": 1}
    assert fast == slow


def test_past_now_other_zone_and_customer_fall_back_to_the_replay(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    t = li.create_ticket("Printer jams", customer="Ann", at=clock.now - timedelta(hours=3))
    li.reply(t.id, "on it", at=clock.now - timedelta(hours=1))
    sue = team("sue")
    rollup = rollups.ReportRollups(sue.core, sue.sla_book)
    assert rollup.complete()
    everything = reports.make_period(None, None)
    past = clock.now - timedelta(hours=2)  # before the reply was judged
    assert reports.rollup_report(sue, everything, None, past, False) is None
    fast, slow = both(sue, everything, None, past)
    assert fast == slow and fast["first_response_median_s"] is None
    utc = reports.make_period(None, None, ZoneInfo("UTC"))
    assert reports.rollup_report(sue, utc, None, clock.now, False) is None
    assert reports.rollup_report(sue, everything, "customer", clock.now, False) is None
    assert reports.rollup_report(sue, everything, None, clock.now, False) is not None


def test_moving_the_team_zone_counts_every_day_again(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    li.create_ticket("Printer jams", at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # 2 March in Shanghai, 1 in London
    boss = team("boss")
    boss.load_policy(LONDON_POLICY)
    sue = team("sue")
    london = reports.team_zone(sue.policy())
    period = reports.make_period(date(2026, 3, 1), date(2026, 3, 1), london)
    assert reports.rollup_report(sue, period, None, clock.now, False) is None  # being counted again
    while rollups.fill_rollups(boss.core, boss.sla_book):
        pass
    report = reports.rollup_report(sue, period, None, clock.now, False)
    assert report is not None and report.total.tickets == 1


# -- a database from before v7 -------------------------------------------------------------------------------------


def test_a_v6_database_replays_until_the_sweep_has_filled_the_rollups(
    team: Team, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    li = team("li.wei")
    for n in range(7):
        t = li.create_ticket(f"case {n}", at=clock.now - timedelta(hours=10 - n))
        li.reply(t.id, "on it", at=clock.now - timedelta(hours=9 - n))
    # the rollups as the v7 migration leaves them on an existing database: empty, every ticket still to fill; and
    # the three newest without stored figures, as tickets from before schema 6
    li.store.write(lambda: db_rollups.clear(li.store))
    li.store.write(lambda: sqlite_conn(li).execute("DELETE FROM ticket_figures WHERE ticket_id >= 5"))
    assert db_rollups.state(li.store)["through"] == 7
    monkeypatch.setattr(rollups, "REFRESH_BATCH", 2)  # replays per transaction: the batch is cut after two
    sue, boss = team("sue"), team("boss")
    period = reports.make_period(None, None)
    assert reports.rollup_report(sue, period, None, clock.now, False) is None
    expected = _figures(reports.build_report(sue, period, rollups=False))
    assert _figures(reports.build_report(sue, period)) == expected  # the replay, meanwhile
    assert rollups.fill_rollups(boss.core, boss.sla_book, 4) == 2  # 7 and 6, both replayed
    assert rollups.fill_rollups(boss.core, boss.sla_book, 4) == 4  # 5 (replayed) to 2
    assert reports.rollup_report(sue, period, None, clock.now, False) is None  # 1 to go
    assert rollups.fill_rollups(boss.core, boss.sla_book, 4) == 1
    assert rollups.fill_rollups(boss.core, boss.sla_book, 4) == 0
    assert li.store._tuples("SELECT count(*) FROM ticket_figures") == [(7,)]
    report = reports.rollup_report(sue, period, None, clock.now, False)
    assert report is not None and _figures(report) == expected


def test_the_v7_migration_marks_existing_tickets_to_fill(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for index in range(6):
        conn.execute("BEGIN")
        schema.MIGRATIONS[index](conn)
        conn.execute(f"PRAGMA user_version = {index + 1}")
        conn.execute("COMMIT")
    conn.execute("INSERT INTO agents (name, role, created_at) VALUES ('a', 'agent', '2026-01-01T00:00:00Z')")
    for _n in range(3):
        conn.execute(
            "INSERT INTO tickets (subject, status, priority, channel, created_at, updated_at)"
            " VALUES ('x', 'new', 'P3', 'email', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
    assert schema.migrate(conn) == schema.LATEST
    assert dict(conn.execute("SELECT key, value FROM report_state").fetchall()) == {
        "through": 3,
        "zone": None,
        "judged": 0,
    }
    conn.close()


def test_an_import_is_counted_by_the_rollups(team: Team, clock: FrozenClock) -> None:
    from console.demo.seed import bulk_fill

    boss = team("boss")
    bulk_fill(boss, 300, now=clock.now, batch=120)  # through import_rows, a transaction per batch
    sue = team("sue")
    assert rollups.ReportRollups(sue.core, sue.sla_book).complete()
    everything = reports.make_period(None, None)
    assert reports.rollup_report(sue, everything, None, clock.now, False) is not None
    for by in BYS:
        fast, slow = both(sue, everything, by)
        assert fast == slow, by
    assert reports.build_report(sue, everything).total.tickets == 300
