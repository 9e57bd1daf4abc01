"""Business calendars: hand-checked due times, DST, China's holidays, validation and properties."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.rules.calendars import BusinessCalendar, CalendarError, calendar_from_spec, get_calendar

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
LUNCH_SPEC = {
    "tz": "Asia/Shanghai",
    "weekly": {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in WEEKDAYS},
    "holidays": ["2026-10-01"],
    "workdays": ["2026-09-20"],
}
LUNCH = calendar_from_spec(LUNCH_SPEC, "lunch")
CN = get_calendar("cn-business")
ALWAYS = get_calendar("24x7")
H = 3600.0
M = 60.0


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


# ---- built-in calendars ------------------------------------------------------------------------------


def test_24x7_is_plain_elapsed_time_and_keeps_the_start_offset() -> None:
    due = ALWAYS.add(sh(2026, 1, 30, 17, 30), 240 * M)
    assert due == sh(2026, 1, 30, 21, 30)
    assert due.utcoffset() == timedelta(hours=8)
    assert ALWAYS.elapsed(sh(2026, 1, 30, 17, 30), sh(2026, 2, 2, 17, 30)) == 3 * 24 * H
    assert ALWAYS.is_open(sh(2026, 10, 1, 3, 0))


def test_cn_business_across_a_weekend() -> None:
    # Friday 17:30: 30 minutes left on Friday, the other 210 on Monday from 09:00.
    due = CN.add(sh(2026, 1, 30, 17, 30), 240 * M)
    assert due == sh(2026, 2, 2, 12, 30)
    assert due.tzinfo == SH


def test_cn_business_created_outside_hours_starts_at_the_next_opening() -> None:
    assert CN.add(sh(2026, 3, 2, 7, 0), 60 * M) == sh(2026, 3, 2, 10, 0)
    assert CN.add(sh(2026, 3, 2, 19, 0), 60 * M) == sh(2026, 3, 3, 10, 0)
    assert CN.add(sh(2026, 3, 7, 11, 0), 60 * M) == sh(2026, 3, 9, 10, 0)  # Saturday -> Monday


def test_cn_business_skips_national_day_week() -> None:
    # Wed 2026-09-30 17:00: one hour left that day; 1-7 October are off (4 Oct is a Sunday anyway).
    assert CN.add(sh(2026, 9, 30, 17, 0), 120 * M) == sh(2026, 10, 8, 10, 0)
    assert not CN.is_open(sh(2026, 10, 5, 10, 0))
    assert CN.elapsed(sh(2026, 9, 30, 9, 0), sh(2026, 10, 9, 9, 0)) == 9 * H + 9 * H  # 30 Sep and 8 Oct


def test_cn_business_works_the_make_up_weekend_days() -> None:
    # Sunday 2026-09-20 and Saturday 2026-10-10 are worked (调休), with Monday's hours.
    assert CN.add(sh(2026, 9, 18, 17, 0), 120 * M) == sh(2026, 9, 20, 10, 0)
    assert CN.add(sh(2026, 10, 9, 17, 0), 120 * M) == sh(2026, 10, 10, 10, 0)
    assert CN.is_open(sh(2026, 9, 20, 9, 0))
    assert not CN.is_open(sh(2026, 9, 19, 10, 0))  # the Saturday before is not


def test_cn_business_loads_other_years_from_the_holidays_package() -> None:
    # 2025: National Day week off, Sunday 2025-09-28 and Saturday 2025-10-11 worked.
    assert not CN.is_open(sh(2025, 10, 3, 10, 0))
    assert CN.is_open(sh(2025, 9, 28, 10, 0))
    assert CN.is_open(sh(2025, 10, 11, 10, 0))
    # New Year's Day 2026 and the 2 January bridge day, worked back on Sunday 4 January.
    assert not CN.is_open(sh(2026, 1, 2, 10, 0))
    assert CN.is_open(sh(2026, 1, 4, 10, 0))


def test_get_calendar_unknown_name_and_custom_lookup() -> None:
    with pytest.raises(CalendarError, match="unknown calendar"):
        get_calendar("mars-business")
    cal = get_calendar("lunch", {"lunch": LUNCH_SPEC})
    assert cal.name == "lunch"
    assert cal is get_calendar("lunch", {"lunch": dict(LUNCH_SPEC)})  # identical specs share a calendar
    assert get_calendar("cn-business") is CN


# ---- custom calendars: intervals, pauses -------------------------------------------------------------


def test_target_used_up_at_an_interval_end_is_due_at_that_end() -> None:
    assert LUNCH.add(sh(2026, 3, 2, 9, 0), 180 * M) == sh(2026, 3, 2, 12, 0)  # not 13:30
    assert LUNCH.add(sh(2026, 3, 2, 9, 0), 181 * M) == sh(2026, 3, 2, 13, 31)
    assert LUNCH.add(sh(2026, 3, 2, 9, 0), 450 * M) == sh(2026, 3, 2, 18, 0)  # not Tuesday 09:00


def test_zero_target_is_due_at_the_counting_start() -> None:
    assert LUNCH.add(sh(2026, 3, 2, 10, 0), 0) == sh(2026, 3, 2, 10, 0)
    assert LUNCH.add(sh(2026, 3, 2, 12, 0), 0) == sh(2026, 3, 2, 13, 30)
    assert LUNCH.add(sh(2026, 3, 7, 12, 0), 0) == sh(2026, 3, 9, 9, 0)


def test_custom_holidays_and_workdays() -> None:
    assert not LUNCH.is_open(sh(2026, 10, 1, 10, 0))
    assert LUNCH.is_open(sh(2026, 10, 2, 10, 0))  # only the listed date is off in this calendar
    assert LUNCH.is_open(sh(2026, 9, 20, 13, 30))  # a Sunday worked with Monday's hours
    assert not LUNCH.is_open(sh(2026, 9, 20, 12, 30))


def test_opening_boundaries_are_half_open() -> None:
    assert LUNCH.is_open(sh(2026, 3, 2, 9, 0))
    assert not LUNCH.is_open(sh(2026, 3, 2, 12, 0))
    assert not LUNCH.is_open(sh(2026, 3, 2, 8, 59))


def test_elapsed_counts_open_time_only() -> None:
    assert LUNCH.elapsed(sh(2026, 3, 2, 8, 0), sh(2026, 3, 3, 8, 0)) == 7.5 * H
    assert LUNCH.elapsed(sh(2026, 3, 6, 17, 0), sh(2026, 3, 9, 10, 0)) == 2 * H  # over the weekend
    assert LUNCH.elapsed(sh(2026, 3, 2, 11, 0), sh(2026, 3, 2, 14, 0)) == 1.5 * H
    assert LUNCH.elapsed(sh(2026, 3, 2, 14, 0), sh(2026, 3, 2, 11, 0)) == 0


def test_pause_spanning_closed_hours() -> None:
    pause = [(sh(2026, 3, 6, 17, 0), sh(2026, 3, 9, 10, 0))]  # Friday 17:00 to Monday 10:00
    # Friday 16:00: one hour before the pause, then Monday from 10:00 for the second hour.
    assert LUNCH.add(sh(2026, 3, 6, 16, 0), 120 * M, pause) == sh(2026, 3, 9, 11, 0)
    assert LUNCH.elapsed(sh(2026, 3, 6, 16, 0), sh(2026, 3, 9, 11, 0), pause) == 2 * H


def test_pause_inside_closed_hours_changes_nothing_and_overlaps_merge() -> None:
    night = [(sh(2026, 3, 2, 19, 0), sh(2026, 3, 3, 8, 0))]
    start = sh(2026, 3, 2, 17, 0)
    assert LUNCH.add(start, 120 * M, night) == LUNCH.add(start, 120 * M)
    overlapping = [
        (sh(2026, 3, 3, 9, 0), sh(2026, 3, 3, 10, 0)),
        (sh(2026, 3, 3, 9, 30), sh(2026, 3, 3, 10, 30)),
    ]
    assert LUNCH.add(start, 120 * M, overlapping) == sh(2026, 3, 3, 11, 30)


def test_starting_inside_a_pause_counts_from_its_end() -> None:
    pause = [(sh(2026, 3, 2, 9, 0), sh(2026, 3, 2, 10, 15))]
    assert LUNCH.add(sh(2026, 3, 2, 9, 30), 0, pause) == sh(2026, 3, 2, 10, 15)
    assert ALWAYS.add(sh(2026, 3, 2, 9, 30), 30 * M, pause) == sh(2026, 3, 2, 10, 45)
    # Used up exactly where a pause starts: due then, not after the pause.
    later = [(sh(2026, 3, 2, 11, 0), sh(2026, 3, 2, 15, 0))]
    assert ALWAYS.add(sh(2026, 3, 2, 10, 0), 60 * M, later) == sh(2026, 3, 2, 11, 0)


def test_pause_ending_before_it_starts_is_an_error() -> None:
    with pytest.raises(CalendarError, match=r"pauses\[0\]"):
        LUNCH.add(sh(2026, 3, 2, 9, 0), 60, [(sh(2026, 3, 2, 11, 0), sh(2026, 3, 2, 10, 0))])


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CalendarError, match="start"):
        LUNCH.add(datetime(2026, 3, 2, 9, 0), 60)
    with pytest.raises(CalendarError):
        ALWAYS.elapsed(sh(2026, 3, 2, 9, 0), datetime(2026, 3, 2, 10, 0))
    with pytest.raises(CalendarError):
        LUNCH.is_open(datetime(2026, 3, 2, 10, 0))


def test_negative_target_is_refused() -> None:
    with pytest.raises(CalendarError):
        LUNCH.add(sh(2026, 3, 2, 9, 0), -1)


def test_open_intervals_are_utc_and_merged() -> None:
    got = list(LUNCH.open_intervals(sh(2026, 3, 2, 10, 0), sh(2026, 3, 3, 9, 30)))
    assert got == [
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), datetime(2026, 3, 2, 4, 0, tzinfo=UTC)),
        (datetime(2026, 3, 2, 5, 30, tzinfo=UTC), datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
        (datetime(2026, 3, 3, 1, 0, tzinfo=UTC), datetime(2026, 3, 3, 1, 30, tzinfo=UTC)),
    ]
    weekend = calendar_from_spec(
        {"tz": "America/New_York", "weekly": {"sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]}}
    )
    assert list(weekend.open_intervals(ny(2026, 3, 6, 12, 0), ny(2026, 3, 10, 0, 0))) == [
        (datetime(2026, 3, 7, 5, 0, tzinfo=UTC), datetime(2026, 3, 9, 4, 0, tzinfo=UTC))
    ]


# ---- daylight saving time ----------------------------------------------------------------------------


def test_round_the_clock_calendar_in_new_york_counts_real_time_over_dst() -> None:
    cal = calendar_from_spec(
        {"tz": "America/New_York", "weekly": {d: [["00:00", "24:00"]] for d in (*WEEKDAYS, "sat", "sun")}}
    )
    # 24 real hours from Saturday noon EST end at 13:00 EDT on Sunday: that day has 23 hours.
    due = cal.add(ny(2026, 3, 7, 12, 0), 24 * H)
    assert due == ny(2026, 3, 8, 13, 0)
    assert due.utcoffset() == timedelta(hours=-4)
    assert cal.add(ny(2026, 10, 31, 12, 0), 24 * H) == ny(2026, 11, 1, 11, 0)  # the 25-hour day


def test_dst_days_are_23_and_25_hours_long() -> None:
    sundays = calendar_from_spec({"tz": "America/New_York", "weekly": {"sun": [["00:00", "24:00"]]}})
    assert sundays.elapsed(ny(2026, 3, 7), ny(2026, 3, 10)) == 23 * H
    assert sundays.elapsed(ny(2026, 10, 31), ny(2026, 11, 3)) == 25 * H
    # Exactly a 23-hour Sunday from Saturday: due at the Sunday's end, Monday 00:00.
    assert sundays.add(ny(2026, 3, 7, 12, 0), 23 * H) == ny(2026, 3, 9, 0, 0)
    assert sundays.add(ny(2026, 10, 31, 12, 0), 24 * H) == ny(2026, 11, 1, 23, 0)


def test_interval_across_the_change_in_berlin() -> None:
    early = calendar_from_spec({"tz": "Europe/Berlin", "weekly": {"sun": [["00:00", "06:00"]]}})
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert early.elapsed(start, start + timedelta(days=2)) == 5 * H  # 02:00 -> 03:00 skipped
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN)
    assert early.elapsed(autumn, autumn + timedelta(days=2)) == 7 * H  # 02:00-03:00 twice
    assert early.add(start, 5 * H) == datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)


# ---- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"tz": "Mars/Olympus", "weekly": {"mon": [["09:00", "18:00"]]}}, "tz"),
        ({"weekly": {"mon": [["09:00", "18:00"]]}}, "tz"),
        ({"tz": "UTC", "weekly": {"mon": [["9h", "18:00"]]}}, r"weekly\.mon\[0\]"),
        ({"tz": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}}, r"weekly\.mon\[0\]"),
        ({"tz": "UTC", "weekly": {"mon": [["24:00", "24:00"]]}}, r"weekly\.mon\[0\]"),
        ({"tz": "UTC", "weekly": {"tue": [["18:00", "09:00"]]}}, r"weekly\.tue\[0\]: end is not after start"),
        (
            {"tz": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
            r"weekly\.mon\[1\]: .*overlap",
        ),
        (
            {"tz": "UTC", "weekly": {"mon": [["13:00", "14:00"], ["09:00", "12:00"]]}},
            r"weekly\.mon\[1\]: .*order",
        ),
        ({"tz": "UTC", "weekly": {"monday": [["09:00", "12:00"]]}}, r"weekly\.monday"),
        ({"tz": "UTC", "weekly": {"mon": "09:00-18:00"}}, r"weekly\.mon"),
        ({"tz": "UTC", "weekly": {"mon": [["09:00"]]}}, r"weekly\.mon\[0\]"),
        (
            {"tz": "UTC", "weekly": {"mon": [["09:00", "18:00"]]}, "holidays": ["2026-02-30"]},
            r"holidays\[0\]",
        ),
        ({"tz": "UTC", "weekly": {"mon": [["09:00", "18:00"]]}, "workdays": [20260920]}, r"workdays\[0\]"),
        (
            {
                "tz": "UTC",
                "weekly": {"mon": [["09:00", "18:00"]]},
                "holidays": ["2026-09-20"],
                "workdays": ["2026-09-20"],
            },
            "workdays",
        ),
        ({"tz": "UTC", "weekly": {"tue": [["09:00", "18:00"]]}, "workdays": ["2026-09-20"]}, "workdays"),
        ({"tz": "UTC", "weekly": {}}, "weekly"),
        ({"tz": "UTC", "weekly": {"mon": [["09:00", "18:00"]]}, "colour": "red"}, "colour"),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(CalendarError, match=field):
        calendar_from_spec(spec)


def test_calendar_error_is_a_value_error() -> None:
    assert issubclass(CalendarError, ValueError)


def test_midnight_end_and_touching_intervals() -> None:
    cal = calendar_from_spec({"tz": "UTC", "weekly": {"mon": [["20:00", "22:00"], ["22:00", "24:00"]]}})
    assert cal.weekly[0] == ((20 * 3600, 24 * 3600),)
    monday = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert cal.add(monday, 4 * H) == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


# ---- properties ---------------------------------------------------------------------------------------

SUNDAYS_NY = calendar_from_spec(
    {
        "tz": "America/New_York",
        "weekly": {"sun": [["00:00", "24:00"]], "wed": [["01:30", "03:00"], ["09:00", "17:00"]]},
    }
)
CALENDARS = [CN, LUNCH, SUNDAYS_NY, ALWAYS]
starts = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)
calendars = st.sampled_from(CALENDARS)
targets = st.integers(min_value=0, max_value=20 * 24 * 60).map(lambda m: m * 60.0)
positive = st.integers(min_value=1, max_value=10 * 24 * 60).map(lambda m: m * 60.0)
FEW = settings(max_examples=60, deadline=None)


@FEW
@given(calendars, starts, targets, targets)
def test_due_never_decreases_as_the_target_grows(cal: BusinessCalendar, start: datetime, a: float, b: float) -> None:
    small, large = sorted((a, b))
    assert cal.add(start, small) <= cal.add(start, large)


@FEW
@given(calendars, starts, positive, positive)
def test_adding_in_two_steps_equals_adding_once(cal: BusinessCalendar, start: datetime, a: float, b: float) -> None:
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@FEW
@given(calendars, starts, targets)
def test_due_lies_in_opening_hours_or_at_an_interval_end(cal: BusinessCalendar, start: datetime, x: float) -> None:
    due = cal.add(start, x)
    at_end = not cal.is_open(due) and cal.is_open(due - timedelta(seconds=1))
    assert cal.is_open(due) or (x > 0 and at_end)
    assert cal.elapsed(start, due) == pytest.approx(x, abs=1e-3)


@FEW
@given(
    calendars,
    starts,
    targets,
    st.lists(st.tuples(st.integers(0, 30 * 24 * 60), st.integers(0, 3 * 24 * 60)), max_size=3),
)
def test_a_pause_never_makes_a_due_time_earlier(
    cal: BusinessCalendar, start: datetime, x: float, raw: list[tuple[int, int]]
) -> None:
    pauses = [
        (start + timedelta(minutes=off - 600), start + timedelta(minutes=off - 600 + length)) for off, length in raw
    ]
    due = cal.add(start, x, pauses)
    assert due >= cal.add(start, x)
    assert cal.elapsed(start, due, pauses) == pytest.approx(x, abs=1e-3)
    for p_start, p_end in pauses:
        assert not p_start < due < p_end  # a due time never falls inside a pause


def _brute_force_lunch_minutes(start: datetime, end: datetime) -> int:
    """Open minutes of LUNCH_SPEC by checking every minute's local wall time (independent of the engine)."""
    count = 0
    t = start
    while t < end:
        local = t.astimezone(SH)
        day = local.date()
        hm = local.hour * 60 + local.minute
        if day == date(2026, 10, 1):
            weekday_open = False
        elif day == date(2026, 9, 20) or local.weekday() < 5:
            weekday_open = 9 * 60 <= hm < 12 * 60 or 13 * 60 + 30 <= hm < 18 * 60
        else:
            weekday_open = False
        count += weekday_open
        t += timedelta(minutes=1)
    return count


@settings(max_examples=25, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 9, 15), max_value=datetime(2026, 10, 5), timezones=st.just(UTC)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    st.integers(min_value=0, max_value=4 * 24 * 60),
)
def test_elapsed_matches_a_minute_by_minute_count(start: datetime, minutes: int) -> None:
    end = start + timedelta(minutes=minutes)
    assert LUNCH.elapsed(start, end) == _brute_force_lunch_minutes(start, end) * 60


def test_concurrent_use_of_a_fresh_calendar_gives_the_same_answers() -> None:
    # The per-date tables and running totals are filled lazily; UI worker threads share calendars.
    starts = [sh(2001 + i % 40, 1 + i % 12, 1 + i % 28, i % 24, 0) for i in range(400)]
    expected = [LUNCH.add(s, (i % 50) * 3600.0) for i, s in enumerate(starts)]
    fresh = calendar_from_spec(LUNCH_SPEC, "lunch-threads")
    results: dict[int, datetime] = {}

    def work(offset: int) -> None:
        for i in range(offset, len(starts), 4):
            results[i] = fresh.add(starts[i], (i % 50) * 3600.0)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(starts))] == expected
