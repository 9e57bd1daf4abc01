"""Business calendars: which instants count towards an SLA target.

A calendar is an IANA time zone, weekly opening hours (several intervals a day), holidays (dates with no
hours) and make-up workdays (dates worked with Monday's hours, as with China's 调休 weekend days).
Only open time counts, measured as real elapsed time, so a DST day is 23 or 25 hours long.

Internally everything runs on POSIX timestamps (floats) and per-date interval tables cached on the
calendar, because the clocks of every open ticket are recomputed on each queue refresh.
"""

from __future__ import annotations

import json
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.i18n import _

__all__ = [
    "BUILTIN_CALENDARS",
    "BusinessCalendar",
    "CalendarError",
    "calendar_from_spec",
    "get_calendar",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUILTIN_CALENDARS = ("24x7", "cn-business")
DAY_SECONDS = 86400
# A calendar that never opens would make `add` loop forever; ten years of closed days means "never".
_MAX_SCAN_DAYS = 3660
# Running totals kept per calendar: about 55 years of dates.
_MAX_PREFIX_DAYS = 20_000
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_SPEC_KEYS = frozenset({"tz", "weekly", "holidays", "workdays"})

Interval = tuple[float, float]
# (intervals as (start_ts, end_ts), total open seconds, first start_ts or +inf)
_Day = tuple[tuple[Interval, ...], float, float]
_EMPTY_DAY: _Day = ((), 0.0, float("inf"))


class CalendarError(ValueError):
    """A calendar spec or a calendar computation input is invalid; the message names the field."""


def _ts(value: datetime, what: str = "instant") -> float:
    if value.tzinfo is None:
        raise CalendarError(_("{field}: a time zone (UTC offset) is required").format(field=what))
    return value.timestamp()


def _merge_pauses(pauses: Sequence[tuple[datetime, datetime]]) -> list[Interval]:
    """Pauses as sorted, non-overlapping timestamp pairs; empty pauses are dropped."""
    raw: list[Interval] = []
    for i, (p_start, p_end) in enumerate(pauses):
        a = _ts(p_start, f"pauses[{i}]")
        b = _ts(p_end, f"pauses[{i}]")
        if b < a:
            raise CalendarError(_("pauses[{index}]: pause ends before it starts").format(index=i))
        if b > a:
            raw.append((a, b))
    raw.sort()
    merged: list[Interval] = []
    for a, b in raw:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


class _Prefix:
    """Running totals of open seconds per date: in `state = (base, cum)`, cum[i] is the open time of
    dates [base, base + i). Readers take `state` once and index only what they checked; growth happens
    under the lock (appending in place, or swapping in a new pair), so UI worker threads stay consistent.
    """

    __slots__ = ("lock", "state")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: tuple[int, list[float]] = (0, [])


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Opening hours in one zone. Build with `get_calendar` or `calendar_from_spec`.

    `weekly[d]` holds (start, end) seconds after local midnight for weekday d (0 = Monday); an end of
    86400 closes at midnight. `always_open` is the fast path (plain elapsed time). `own_zone` is False
    only for the zone-less built-in `24x7`, whose results keep the offset of the instant given.
    """

    name: str
    tz: ZoneInfo
    weekly: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    always_open: bool = False
    own_zone: bool = True
    # Loads (holidays, workdays) for a year on demand, for calendars fed by the `holidays` package.
    year_loader: Callable[[int], tuple[frozenset[date], frozenset[date]]] | None = field(default=None, repr=False)
    _days: dict[int, _Day] = field(default_factory=dict, repr=False)
    _years: dict[int, tuple[frozenset[date], frozenset[date]]] = field(default_factory=dict, repr=False)
    _prefix: _Prefix = field(default_factory=lambda: _Prefix(), repr=False)

    # ---- per-date tables -------------------------------------------------------------------------

    def _day_kind(self, d: date) -> tuple[tuple[int, int], ...]:
        off, worked = self.holidays, self.workdays
        if self.year_loader is not None:
            loaded = self._years.get(d.year)
            if loaded is None:
                loaded = self._years[d.year] = self.year_loader(d.year)
            off, worked = loaded
        if d in off or d in self.holidays:
            return ()
        if d in worked or d in self.workdays:
            return self.weekly[0]
        return self.weekly[d.weekday()]

    def _day(self, ordinal: int) -> _Day:
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        d = date.fromordinal(ordinal)
        hours = self._day_kind(d)
        if not hours:
            result = _EMPTY_DAY
        else:
            tz = self.tz
            nxt = d + timedelta(days=1)
            next_midnight = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).timestamp()
            intervals: list[Interval] = []
            for start_s, end_s in hours:
                a = datetime.combine(d, _clock(start_s), tzinfo=tz).timestamp()
                if end_s >= DAY_SECONDS:
                    b = next_midnight
                else:
                    b = datetime.combine(d, _clock(end_s), tzinfo=tz).timestamp()
                # A wall time skipped by a DST jump can map oddly; keep the table monotonic.
                if intervals and a < intervals[-1][1]:
                    a = intervals[-1][1]
                if b > a:
                    if intervals and a == intervals[-1][1]:
                        intervals[-1] = (intervals[-1][0], b)
                    else:
                        intervals.append((a, b))
            if intervals:
                result = (tuple(intervals), sum(b - a for a, b in intervals), intervals[0][0])
            else:
                result = _EMPTY_DAY
        if len(self._days) > 50_000:  # bound memory for long-running processes
            self._days.clear()
        self._days[ordinal] = result
        return result

    def _ordinal(self, ts: float) -> int:
        return datetime.fromtimestamp(ts, self.tz).toordinal()

    # ---- timestamp core (used by the SLA clocks) -------------------------------------------------

    def add_ts(self, start: float, seconds: float, pauses: Sequence[Interval] = ()) -> float:
        """Timestamp at which `seconds` of open, unpaused time have elapsed from `start`.

        `pauses` must be sorted and non-overlapping (see `_merge_pauses`).
        """
        if seconds < 0:
            raise CalendarError(_("seconds: must not be negative"))
        if pauses:
            return self._add_paused(start, seconds, pauses)
        if self.always_open:
            return start + seconds
        rem = seconds
        ordinal = self._ordinal(start)
        intervals, total, _first = self._day(ordinal)
        if total and intervals[-1][1] > start:
            for a, b in intervals:
                if b <= start:
                    continue
                s = a if a > start else start
                span = b - s
                # A target used up exactly at an interval's end is due at that end.
                if rem <= span:
                    return s + rem
                rem -= span
        # The rest is used up on a later date: find it through the running totals.
        base, cum = self._totals(ordinal + 1, ordinal + 1)
        lo = ordinal + 1 - base
        target = cum[lo] + rem
        # A zero rest is due at the next opening: the first date whose total is positive.
        strict = rem <= 0
        self._totals_past(base, cum, target, strict)
        k = bisect_right(cum, target, lo) if strict else bisect_left(cum, target, lo)
        rem = target - cum[k - 1]
        intervals = self._day(base + k - 1)[0]
        for a, b in intervals:
            if rem <= b - a:
                return a + rem
            rem -= b - a
        return intervals[-1][1]  # float slop of a few ulps past the date's last end

    def _totals(self, lo: int, hi: int) -> tuple[int, list[float]]:
        """Running totals covering dates lo..hi (inclusive)."""
        base, cum = self._prefix.state
        if cum and base <= lo and hi < base + len(cum):
            return base, cum
        with self._prefix.lock:
            base, cum = self._prefix.state
            if cum and base <= lo and hi < base + len(cum):
                return base, cum
            if cum and lo >= base and hi - base <= _MAX_PREFIX_DAYS:
                self._grow(base, cum, hi + 367)
                return base, cum
            end = base + len(cum) if cum else hi
            new_base = lo - 366
            if max(end, hi) - new_base > _MAX_PREFIX_DAYS:
                end = hi  # far apart: start afresh rather than hold a century of totals
            new_cum = [0.0]
            self._grow(new_base, new_cum, max(end, hi) + 367)
            self._prefix.state = (new_base, new_cum)
            return new_base, new_cum

    def _grow(self, base: int, cum: list[float], until: int) -> None:
        """Append totals up to date `until` (caller holds the lock)."""
        day = self._day
        o = base + len(cum) - 1
        acc = cum[-1]
        while o < until:
            acc += day(o)[1]
            cum.append(acc)
            o += 1

    def _totals_past(self, base: int, cum: list[float], target: float, strict: bool) -> None:
        """Extend `cum` until its last total reaches `target` (passes it, when strict)."""
        stale = 0
        while (cum[-1] <= target) if strict else (cum[-1] < target):
            before = cum[-1]
            with self._prefix.lock:
                self._grow(base, cum, base + len(cum) + 365)
            stale = stale + 366 if cum[-1] == before else 0
            if stale >= _MAX_SCAN_DAYS:
                raise CalendarError(_("calendar {name}: no opening hours found").format(name=self.name))

    def _within(self, ordinal: int, start: float, end: float) -> float:
        total = 0.0
        for a, b in self._day(ordinal)[0]:
            s = a if a > start else start
            e = b if b < end else end
            if e > s:
                total += e - s
        return total

    def _segments(self, start: float) -> Iterator[Interval]:
        """Open stretches from `start` onwards (unbounded; the caller stops)."""
        if self.always_open:
            yield (start, float("inf"))
            return
        ordinal = self._ordinal(start)
        closed_days = 0
        while closed_days < _MAX_SCAN_DAYS:
            intervals, total, _first = self._day(ordinal)
            closed_days = 0 if total else closed_days + 1
            for a, b in intervals:
                if b <= start:
                    continue
                yield (a if a > start else start, b)
            ordinal += 1
        raise CalendarError(_("calendar {name}: no opening hours found").format(name=self.name))

    def _add_paused(self, start: float, seconds: float, pauses: Sequence[Interval]) -> float:
        rem = seconds
        pi, n = 0, len(pauses)
        for a, b in self._segments(start):
            s = a
            while s < b:
                while pi < n and pauses[pi][1] <= s:
                    pi += 1
                if pi < n and pauses[pi][0] <= s:
                    s = pauses[pi][1]  # inside a pause: skip to its end
                    continue
                e = b if pi >= n or pauses[pi][0] >= b else pauses[pi][0]
                if rem <= e - s:
                    return s + rem
                rem -= e - s
                s = e
        raise AssertionError("unreachable")  # pragma: no cover - _segments raises instead

    def elapsed_ts(self, start: float, end: float, pauses: Sequence[Interval] = ()) -> float:
        """Open, unpaused seconds in [start, end); 0 when end <= start."""
        if end <= start:
            return 0.0
        if pauses:
            return self._elapsed_paused(start, end, pauses)
        if self.always_open:
            return end - start
        first, last = self._ordinal(start), self._ordinal(end)
        if first == last:
            return self._within(first, start, end)
        total = self._within(first, start, end) + self._within(last, start, end)
        if last > first + 1:
            base, cum = self._totals(first + 1, last)
            total += cum[last - base] - cum[first + 1 - base]
        return total

    def _elapsed_paused(self, start: float, end: float, pauses: Sequence[Interval]) -> float:
        total_s = 0.0
        pi, n = 0, len(pauses)
        for a, b0 in self._segments(start):
            if a >= end:
                break
            b = b0 if b0 < end else end
            s = a
            while s < b:
                while pi < n and pauses[pi][1] <= s:
                    pi += 1
                if pi < n and pauses[pi][0] <= s:
                    s = pauses[pi][1]
                    continue
                e = b if pi >= n or pauses[pi][0] >= b else pauses[pi][0]
                total_s += e - s
                s = e
        return total_s

    def is_open_ts(self, ts: float) -> bool:
        if self.always_open:
            return True
        return any(a <= ts < b for a, b in self._day(self._ordinal(ts))[0])

    # ---- datetime API ----------------------------------------------------------------------------

    def to_zone(self, ts: float, like: datetime | None = None) -> datetime:
        """A timestamp as an aware datetime in the calendar's zone (or `like`'s zone for `24x7`)."""
        if not self.own_zone and like is not None and like.tzinfo is not None:
            zone: tzinfo = like.tzinfo
            return datetime.fromtimestamp(ts, zone)
        return datetime.fromtimestamp(ts, self.tz)

    def add(self, start: datetime, seconds: float, pauses: Sequence[tuple[datetime, datetime]] = ()) -> datetime:
        """Due instant of a `seconds` target counted from `start`, pauses excluded, in the calendar's zone."""
        due = self.add_ts(_ts(start, "start"), seconds, _merge_pauses(pauses) if pauses else ())
        return self.to_zone(due, start)

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[tuple[datetime, datetime]] = ()) -> float:
        """Business seconds between two instants, pauses excluded; 0 when end <= start."""
        return self.elapsed_ts(_ts(start, "start"), _ts(end, "end"), _merge_pauses(pauses) if pauses else ())

    def is_open(self, instant: datetime) -> bool:
        return self.is_open_ts(_ts(instant))

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open stretches within [start, end] as aware UTC pairs, adjacent ones merged."""
        a0, b0 = _ts(start, "start"), _ts(end, "end")
        pending: Interval | None = None
        if b0 > a0:
            for a, b in self._segments(a0):
                if a >= b0:
                    break
                piece = (a, min(b, b0))
                if pending is not None and pending[1] == piece[0]:
                    pending = (pending[0], piece[1])
                    continue
                if pending is not None:
                    yield _utc(pending[0]), _utc(pending[1])
                pending = piece
        if pending is not None:
            yield _utc(pending[0]), _utc(pending[1])


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _clock(seconds: int) -> time:
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


# ---- specs -----------------------------------------------------------------------------------------


def _parse_time(value: object, where: str, allow_midnight_end: bool) -> int:
    m = _TIME_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise CalendarError(_("{field}: malformed time {value!r} (expected HH:MM)").format(field=where, value=value))
    hh, mm = int(m.group(1)), int(m.group(2))
    if (hh, mm) == (24, 0) and allow_midnight_end:
        return DAY_SECONDS
    if hh > 23 or mm > 59:
        raise CalendarError(_("{field}: malformed time {value!r} (expected HH:MM)").format(field=where, value=value))
    return hh * 3600 + mm * 60


def _parse_day(value: object, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list | tuple):
        raise CalendarError(_("{field}: must be a list of [start, end] pairs").format(field=where))
    out: list[tuple[int, int]] = []
    for i, pair in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise CalendarError(_("{field}: must be a [start, end] pair").format(field=here))
        start = _parse_time(pair[0], here, allow_midnight_end=False)
        end = _parse_time(pair[1], here, allow_midnight_end=True)
        if end <= start:
            raise CalendarError(_("{field}: end is not after start").format(field=here))
        if out and start < out[-1][1]:
            raise CalendarError(_("{field}: intervals overlap or are out of order").format(field=here))
        if out and start == out[-1][1]:
            out[-1] = (out[-1][0], end)  # touching intervals are one stretch
        else:
            out.append((start, end))
    return tuple(out)


def _parse_dates(value: object, where: str) -> frozenset[date]:
    if not isinstance(value, list | tuple):
        raise CalendarError(_("{field}: must be a list of YYYY-MM-DD dates").format(field=where))
    out: set[date] = set()
    for i, item in enumerate(value):
        try:
            if not isinstance(item, str):
                raise ValueError(item)
            out.add(date.fromisoformat(item))
        except ValueError:
            raise CalendarError(
                _("{field}: malformed date {value!r} (expected YYYY-MM-DD)").format(field=f"{where}[{i}]", value=item)
            ) from None
    return frozenset(out)


def _zone(value: object, where: str = "tz") -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise CalendarError(_("{field}: must be an IANA time zone name").format(field=where))
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError(_("{field}: unknown time zone {value!r}").format(field=where, value=value)) from None


def calendar_from_spec(spec: Mapping[str, Any], name: str = "custom") -> BusinessCalendar:
    """Build a calendar from `{"tz", "weekly", "holidays"?, "workdays"?}`; raises `CalendarError`."""
    if not isinstance(spec, Mapping):
        raise CalendarError(_("calendar: must be a table with tz and weekly"))
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise CalendarError(_("{field}: unknown field").format(field=unknown[0]))
    if "tz" not in spec:
        raise CalendarError(_("{field}: required").format(field="tz"))
    tz = _zone(spec["tz"])
    weekly_raw = spec.get("weekly")
    if not isinstance(weekly_raw, Mapping):
        raise CalendarError(_("{field}: must be a table of days (mon..sun)").format(field="weekly"))
    for key in weekly_raw:
        if key not in DAYS:
            raise CalendarError(_("{field}: unknown day (expected mon..sun)").format(field=f"weekly.{key}"))
    weekly = tuple(_parse_day(weekly_raw.get(day, []), f"weekly.{day}") for day in DAYS)
    holidays = _parse_dates(spec.get("holidays", []), "holidays")
    workdays = _parse_dates(spec.get("workdays", []), "workdays")
    both = sorted(holidays & workdays)
    if both:
        raise CalendarError(
            _("{field}: {day} is also listed as a holiday").format(field="workdays", day=both[0].isoformat())
        )
    if workdays and not weekly[0]:
        raise CalendarError(
            _("{field}: make-up workdays use Monday's hours, but Monday has none").format(field="workdays")
        )
    if not any(weekly) and not workdays:
        raise CalendarError(_("{field}: the calendar never opens").format(field="weekly"))
    # Open round the clock and no holidays: plain elapsed time, which is also what a DST day needs.
    always = all(day == ((0, DAY_SECONDS),) for day in weekly) and not holidays
    return BusinessCalendar(name=name, tz=tz, weekly=weekly, holidays=holidays, workdays=workdays, always_open=always)


# ---- built-ins -------------------------------------------------------------------------------------


def _cn_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """China's public holidays and make-up workdays for one year, from the `holidays` package (via its cache)."""
    from console.rules.holiday_cache import cn_year

    return cn_year(year)


_WEEKDAY_9_18 = ((9 * 3600, 18 * 3600),)
_builtins: dict[str, BusinessCalendar] = {}


def _builtin(name: str) -> BusinessCalendar | None:
    cal = _builtins.get(name)
    if cal is not None:
        return cal
    if name == "24x7":
        cal = BusinessCalendar(name="24x7", tz=ZoneInfo("UTC"), always_open=True, own_zone=False)
    elif name == "cn-business":
        cal = BusinessCalendar(
            name="cn-business",
            tz=ZoneInfo("Asia/Shanghai"),
            weekly=(_WEEKDAY_9_18,) * 5 + ((), ()),
            year_loader=_cn_year,
        )
    else:
        return None
    _builtins[name] = cal
    return cal


_custom_cache: dict[tuple[str, str], BusinessCalendar] = {}


def get_calendar(name: str, custom: Mapping[str, Mapping[str, Any]] | None = None) -> BusinessCalendar:
    """A built-in calendar (`24x7`, `cn-business`) or one of `custom` (name -> spec)."""
    cal = _builtin(name)
    if cal is not None:
        return cal
    if custom is not None and name in custom:
        spec = custom[name]
        # Identical specs share one calendar, and so one per-date cache.
        key = (name, json.dumps(spec, sort_keys=True, default=str))
        cal = _custom_cache.get(key)
        if cal is None:
            cal = calendar_from_spec(spec, name)
            if len(_custom_cache) > 1024:
                _custom_cache.clear()
            _custom_cache[key] = cal
        return cal
    raise CalendarError(_("calendar: unknown calendar {name!r}").format(name=name))
