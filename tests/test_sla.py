"""The four SLA clocks: hand-checked histories, states, cycles and re-evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.rules.calendars import calendar_from_spec, get_calendar
from console.rules.sla import ClockStatus, Fact, Targets, compute_clocks, cycles, most_urgent, remaining

SH = ZoneInfo("Asia/Shanghai")
CN = get_calendar("cn-business")
ALWAYS = get_calendar("24x7")
LUNCH = calendar_from_spec(
    {
        "tz": "Asia/Shanghai",
        "weekly": {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)
P2 = Targets(first_response=120, next_update=240, restore=480, resolve=1440)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def created(at: datetime) -> Fact:
    return Fact(at, "created")


def reply(at: datetime) -> Fact:
    return Fact(at, "reply")


def customer(at: datetime) -> Fact:
    return Fact(at, "customer")


def status(at: datetime, value: str) -> Fact:
    return Fact(at, "status", value)


MON = (2026, 3, 2)  # an ordinary Monday


def mon(hour: int, minute: int = 0) -> datetime:
    return sh(*MON, hour, minute)


# ---- first response ------------------------------------------------------------------------------------


def test_first_response_running_then_warning_then_breached() -> None:
    facts = [created(mon(9))]
    at_10 = compute_clocks(facts, P2, CN, mon(10))["first_response"]
    assert at_10.state == "running"
    assert at_10.due_at == mon(11)
    assert at_10.warn_at == mon(10, 30)  # 75 % of 120 minutes
    assert at_10.remaining_s == 3600
    assert at_10.elapsed_s == 3600
    assert at_10.started_at == mon(9)
    assert at_10.stopped_at is None
    assert compute_clocks(facts, P2, CN, mon(10, 45))["first_response"].state == "warning"
    assert compute_clocks(facts, P2, CN, mon(11))["first_response"].state == "warning"  # due, not yet late
    late = compute_clocks(facts, P2, CN, mon(11, 30))["first_response"]
    assert late.state == "breached"
    assert late.remaining_s == -1800


def test_first_response_met_in_time_and_breached_when_late() -> None:
    in_time = compute_clocks([created(mon(9)), reply(mon(10, 50))], P2, CN, mon(15))["first_response"]
    assert (in_time.state, in_time.elapsed_s, in_time.remaining_s) == ("met", 6600, 600)
    assert in_time.stopped_at == mon(10, 50)
    assert in_time.due_at is None
    exactly = compute_clocks([created(mon(9)), reply(mon(11))], P2, CN, mon(15))["first_response"]
    assert exactly.state == "met"
    late = compute_clocks([created(mon(9)), reply(mon(11, 10))], P2, CN, mon(15))["first_response"]
    assert (late.state, late.due_at, late.remaining_s) == ("breached", mon(11), -600)


def test_created_outside_hours_counts_from_the_next_opening() -> None:
    saturday = sh(2026, 3, 7, 10, 0)
    clock = compute_clocks([created(saturday)], P2, CN, sh(2026, 3, 8, 12, 0))["first_response"]
    assert clock.state == "running"
    assert clock.elapsed_s == 0
    assert clock.remaining_s == 7200
    assert clock.due_at == sh(2026, 3, 9, 11, 0)


def test_overdue_remaining_counts_business_time_only() -> None:
    # Due Friday 17:00; by Monday 10:00 one hour on Friday and one on Monday have passed since.
    clock = compute_clocks([created(sh(2026, 3, 6, 15, 0))], P2, CN, sh(2026, 3, 9, 10, 0))["first_response"]
    assert clock.state == "breached"
    assert clock.due_at == sh(2026, 3, 6, 17, 0)
    assert clock.remaining_s == -7200


def test_due_at_an_interval_end_is_not_moved_past_the_break() -> None:
    targets = Targets(first_response=180)
    running = compute_clocks([created(mon(9))], targets, LUNCH, mon(11))["first_response"]
    assert running.due_at == mon(12)  # not 13:30
    lunch_time = compute_clocks([created(mon(9))], targets, LUNCH, mon(12, 30))["first_response"]
    assert (lunch_time.state, lunch_time.remaining_s) == ("breached", 0)
    at_noon = compute_clocks([created(mon(9)), reply(mon(12))], targets, LUNCH, mon(15))["first_response"]
    assert at_noon.state == "met"
    over_lunch = compute_clocks([created(mon(9)), reply(mon(12, 30))], targets, LUNCH, mon(15))["first_response"]
    assert over_lunch.state == "breached"  # no business time passed, but the due instant did


def test_resolution_without_a_reply_stops_first_response() -> None:
    clock = compute_clocks([created(mon(9)), status(mon(9, 30), "resolved")], P2, CN, mon(17))["first_response"]
    assert clock.state == "met"
    assert clock.stopped_at == mon(9, 30)


def test_custom_warning_fraction_and_missing_target() -> None:
    targets = Targets(first_response=100, warning=0.5)
    clocks = compute_clocks([created(mon(9))], targets, CN, mon(9, 55))
    assert clocks["first_response"].warn_at == mon(9, 50)
    assert clocks["first_response"].state == "warning"
    assert clocks["restore"].state == "none"
    assert clocks["restore"].due_at is None
    assert clocks["restore"].remaining_s is None
    assert clocks["restore"].elapsed_s == 55 * 60


def test_facts_after_now_are_ignored() -> None:
    facts = [created(mon(9)), reply(mon(10))]
    assert compute_clocks(facts, P2, CN, mon(9, 30))["first_response"].state == "running"
    assert compute_clocks(facts, P2, CN, mon(10))["first_response"].state == "met"


# ---- pending ----------------------------------------------------------------------------------------------


def test_pending_pauses_every_running_clock_until_the_customer_answers() -> None:
    facts = [
        created(mon(9)),
        status(mon(9, 30), "open"),
        reply(mon(9, 30)),
        status(mon(10), "pending"),
    ]
    paused = compute_clocks(facts, P2, CN, mon(16))
    assert paused["first_response"].state == "met"
    for name, elapsed in (("next_update", 1800), ("restore", 3600), ("resolve", 3600)):
        clock = paused[name]
        assert clock.state == "paused", name
        assert clock.due_at is None
        assert clock.elapsed_s == elapsed
    assert paused["restore"].remaining_s == 480 * 60 - 3600
    # Frozen: a day later nothing has moved.
    assert compute_clocks(facts, P2, CN, sh(2026, 3, 3, 16, 0))["restore"].remaining_s == 480 * 60 - 3600

    tuesday = sh(2026, 3, 3, 9, 0)
    facts += [status(tuesday, "open"), customer(tuesday)]
    resumed = compute_clocks(facts, P2, CN, sh(2026, 3, 3, 11, 0))
    assert resumed["next_update"].state == "running"
    assert resumed["next_update"].started_at == tuesday  # the customer's message starts a new cycle
    assert resumed["next_update"].due_at == sh(2026, 3, 3, 13, 0)
    assert resumed["restore"].due_at == sh(2026, 3, 3, 16, 0)  # 1 h before the pause, 7 h after
    assert resumed["restore"].elapsed_s == 3 * 3600
    assert resumed["resolve"].due_at == sh(2026, 3, 5, 14, 0)  # 23 h left from Tuesday 09:00


def test_a_clock_breached_before_pending_stays_overdue_when_resumed() -> None:
    targets = Targets(first_response=60)
    facts = [created(mon(9)), status(mon(11), "pending"), status(mon(14), "open")]
    clock = compute_clocks(facts, targets, CN, mon(15))["first_response"]
    assert clock.state == "breached"
    assert clock.due_at == mon(10)
    assert clock.remaining_s == -(2 * 3600)  # 10:00-11:00 and 14:00-15:00


# ---- next update ------------------------------------------------------------------------------------------


def test_no_update_cycle_before_the_first_reply_unless_the_customer_writes() -> None:
    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    quiet = compute_clocks([created(t0)], P2, ALWAYS, t0 + timedelta(hours=1))["next_update"]
    assert quiet.state == "none"
    assert quiet.started_at is None
    nagged = compute_clocks([created(t0), customer(t0 + timedelta(minutes=5))], P2, ALWAYS, t0 + timedelta(hours=1))
    assert nagged["next_update"].state == "running"
    assert nagged["next_update"].started_at == t0 + timedelta(minutes=5)
    assert nagged["first_response"].state == "running"


def test_next_update_cycles_restart_at_replies_and_customer_messages() -> None:
    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

    def t(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    targets = Targets(next_update=60)
    facts = [created(t(0)), reply(t(10)), customer(t(40)), reply(t(110)), reply(t(140))]
    got = cycles(facts, targets, ALWAYS, t(150))["next_update"]
    assert [(c.started_at, c.stopped_at, c.elapsed_s, c.met) for c in got] == [
        (t(10), t(40), 1800, True),
        (t(40), t(110), 4200, False),
        (t(110), t(140), 1800, True),
        (t(140), None, 600, None),
    ]
    finished = [c for c in got if c.met is not None]
    assert sum(c.met is True for c in finished) / len(finished) == pytest.approx(2 / 3)
    now = compute_clocks(facts, targets, ALWAYS, t(150))["next_update"]
    assert (now.state, now.started_at, now.due_at) == ("running", t(140), t(200))


def test_next_update_runs_while_restored_and_stops_while_resolved() -> None:
    t0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

    def t(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    targets = Targets(next_update=60, restore=240)
    restored = [created(t(0)), reply(t(10)), status(t(20), "restored")]
    clocks = compute_clocks(restored, targets, ALWAYS, t(90))
    assert clocks["next_update"].state == "breached"  # due at 01:10, still running while restored
    assert clocks["restore"].state == "met"
    resolved = [*restored, status(t(30), "resolved"), customer(t(40))]
    clocks = compute_clocks(resolved, targets, ALWAYS, t(300))
    assert clocks["next_update"].state == "met"
    assert clocks["next_update"].stopped_at == t(30)
    assert len(cycles(resolved, targets, ALWAYS, t(300))["next_update"]) == 1  # no cycle while resolved


# ---- restore and resolve ------------------------------------------------------------------------------


def test_reopen_after_resolution_excludes_the_gap() -> None:
    wednesday = sh(2026, 3, 4, 10, 0)
    facts = [
        created(mon(9)),
        reply(mon(9, 10)),
        status(mon(16), "resolved"),
        status(wednesday, "open"),
        customer(wednesday),
    ]
    now = sh(2026, 3, 4, 12, 0)
    clocks = compute_clocks(facts, P2, CN, now)
    resolve = clocks["resolve"]
    assert resolve.state == "running"
    assert resolve.elapsed_s == 9 * 3600  # 7 h on Monday + 2 h on Wednesday; Monday 16:00-Wednesday 10:00 excluded
    assert resolve.due_at == sh(2026, 3, 5, 18, 0)  # 17 h left at the reopen: 8 on Wednesday, 9 on Thursday
    assert resolve.started_at == mon(9)
    restore = clocks["restore"]
    assert restore.state == "breached"  # resumed by the reopen: 7 h + 2 h > 8 h
    assert restore.due_at == sh(2026, 3, 4, 11, 0)
    update = clocks["next_update"]
    assert (update.state, update.started_at, update.due_at) == ("running", wednesday, sh(2026, 3, 4, 14, 0))

    facts.append(status(sh(2026, 3, 5, 10, 0), "resolved"))
    history = cycles(facts, P2, CN, sh(2026, 3, 6, 10, 0))
    assert len(history["resolve"]) == 1
    (resolution,) = history["resolve"]
    assert resolution.elapsed_s == (7 + 8 + 1) * 3600
    assert resolution.stopped_at == sh(2026, 3, 5, 10, 0)
    assert resolution.met is True
    assert [c.met for c in history["next_update"]] == [False, False]  # 6 h 50 min; 9 h with no reply


def test_restored_stops_restore_only_and_a_failed_workaround_resumes_it() -> None:
    facts = [created(mon(9)), reply(mon(9, 5)), status(mon(10), "restored")]
    clocks = compute_clocks(facts, P2, CN, mon(15))
    assert clocks["restore"].state == "met"
    assert clocks["restore"].elapsed_s == 3600
    assert clocks["resolve"].state == "running"
    facts.append(status(mon(14), "open"))
    clocks = compute_clocks(facts, P2, CN, mon(15))
    assert clocks["restore"].state == "running"
    assert clocks["restore"].elapsed_s == 2 * 3600
    assert clocks["restore"].due_at == sh(2026, 3, 3, 12, 0)  # 7 h left at 14:00: 4 on Monday, 3 on Tuesday


def test_closed_stops_everything() -> None:
    facts = [created(mon(9)), reply(mon(9, 5)), status(mon(10), "closed")]
    clocks = compute_clocks(facts, P2, CN, sh(2026, 3, 20, 10, 0))
    assert {name: c.state for name, c in clocks.items()} == {
        "first_response": "met",
        "next_update": "met",
        "restore": "met",
        "resolve": "met",
        "onsite": "none",  # no engineer was dispatched
    }
    assert most_urgent(clocks) is None


# ---- most urgent, remaining ------------------------------------------------------------------------------


def test_most_urgent_prefers_breached_then_earliest_due() -> None:
    facts = [created(mon(9)), reply(mon(9, 30))]
    clocks = compute_clocks(facts, P2, CN, mon(10))
    urgent = most_urgent(clocks)
    assert urgent is not None and urgent.clock == "next_update"  # due 13:30, before restore's 17:00
    breached = compute_clocks(facts, P2, CN, mon(17, 30))
    assert (breached["next_update"].state, breached["restore"].state) == ("breached", "breached")
    urgent = most_urgent([breached["resolve"], breached["restore"], breached["next_update"]])
    assert urgent is not None and urgent.clock == "next_update"  # overdue since 13:30
    mixed = most_urgent([clocks["next_update"], breached["restore"]])
    assert mixed is not None and mixed.clock == "restore"
    paused = compute_clocks([*facts, status(mon(10), "pending")], P2, CN, mon(11))
    assert most_urgent(paused) is None
    assert most_urgent([]) is None


def test_remaining_matches_a_full_recompute_later() -> None:
    facts = [created(sh(2026, 3, 6, 16, 0))]  # a Friday afternoon
    computed_at = sh(2026, 3, 6, 16, 30)
    clocks = compute_clocks(facts, P2, CN, computed_at)
    for later in (
        sh(2026, 3, 6, 17, 59),
        sh(2026, 3, 7, 12, 0),
        sh(2026, 3, 9, 9, 59),
        sh(2026, 3, 9, 14, 0),
    ):
        fresh = compute_clocks(facts, P2, CN, later)
        for name, clock in clocks.items():
            assert remaining(clock, CN, later) == fresh[name].remaining_s, (name, later)


def test_remaining_of_paused_stopped_and_untargeted_clocks() -> None:
    facts = [created(mon(9)), reply(mon(9, 30)), status(mon(10), "pending")]
    clocks = compute_clocks(facts, Targets(first_response=60, next_update=60), CN, mon(11))
    later = sh(2026, 3, 10, 9, 0)
    assert remaining(clocks["next_update"], CN, later) == clocks["next_update"].remaining_s == 1800
    assert remaining(clocks["first_response"], CN, later) == 1800
    assert remaining(clocks["resolve"], CN, later) is None


# ---- bad input ------------------------------------------------------------------------------------------


def test_bad_histories_are_refused() -> None:
    with pytest.raises(ValueError, match="created"):
        compute_clocks([reply(mon(9))], P2, CN, mon(10))
    with pytest.raises(ValueError, match="status"):
        compute_clocks([created(mon(9)), status(mon(9, 5), "snoozed")], P2, CN, mon(10))
    with pytest.raises(ValueError):
        compute_clocks([Fact(datetime(2026, 3, 2, 9, 0), "created")], P2, CN, mon(10))
    with pytest.raises(ValueError):
        compute_clocks([created(mon(9))], P2, CN, datetime(2026, 3, 2, 10, 0))


# ---- properties -----------------------------------------------------------------------------------------

KINDS = st.sampled_from(["reply", "customer", "open", "pending", "restored", "resolved", "closed"])
history = st.lists(st.tuples(st.integers(min_value=0, max_value=3 * 24 * 60), KINDS), max_size=8)


def _facts(start: datetime, steps: list[tuple[int, str]]) -> list[Fact]:
    facts = [created(start)]
    t = start
    for gap, kind in steps:
        t += timedelta(minutes=gap)
        facts.append(Fact(t, kind) if kind in ("reply", "customer") else Fact(t, "status", kind))  # type: ignore[arg-type]
    return facts


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["cn-business", "lunch", "24x7"]),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(SH)),
    history,
    st.integers(min_value=0, max_value=10 * 24 * 60),
    st.integers(min_value=1, max_value=5 * 24 * 60),
)
def test_clock_invariants(cal: str, start: datetime, steps: list[tuple[int, str]], after: int, later: int) -> None:
    calendar = LUNCH if cal == "lunch" else get_calendar(cal)
    facts = _facts(start, steps)
    now = facts[-1].at + timedelta(minutes=after)
    clocks = compute_clocks(facts, P2, calendar, now)
    wall = (now - start).total_seconds()
    for clock in clocks.values():
        assert 0 <= clock.elapsed_s <= wall + 1
        _check_state(clock, now)
    # With no new fact, the cheap re-evaluation agrees with replaying the history.
    then = now + timedelta(minutes=later)
    fresh = compute_clocks(facts, P2, calendar, then)
    for name, clock in clocks.items():
        assert remaining(clock, calendar, then) == fresh[name].remaining_s
    # Reports agree with the live view of each clock's current cycle.
    for name, items in cycles(facts, P2, calendar, now).items():
        if items:
            assert items[-1].elapsed_s == clocks[name].elapsed_s
            assert items[-1].started_at == clocks[name].started_at


def _check_state(clock: ClockStatus, now: datetime) -> None:
    if clock.state in ("running", "warning"):
        assert clock.due_at is not None and now <= clock.due_at
        assert clock.remaining_s is not None and clock.remaining_s >= 0
    if clock.state == "warning":
        assert clock.warn_at is not None and clock.warn_at <= now
    if clock.state == "paused":
        assert clock.due_at is None and clock.stopped_at is None
    if clock.state == "met":
        assert clock.stopped_at is not None
    if clock.state == "breached" and clock.stopped_at is None:
        assert clock.due_at is not None and clock.due_at < now
