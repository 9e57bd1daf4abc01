"""`helpdesk sla due`: when would a target fall due? One JSON request per line, one JSON answer per line.

Request: `{"calendar": <spec> | "24x7" | "cn-business", "start": ISO-8601 with offset, "minutes": 240,
"pauses": [[start, end], ...]}`. Answer: `{"due_at": ISO-8601 in the calendar's zone}` (the zone-less
`24x7` keeps the start's offset), or `{"error": "line N: field: problem"}` in the request's place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from console.i18n import _
from console.rules.calendars import BusinessCalendar, CalendarError, calendar_from_spec, get_calendar

__all__ = ["MAX_MINUTES", "due_one", "run_due"]

# About 19 years of round-the-clock time: keeps one request from walking the calendar for long.
MAX_MINUTES = 10_000_000
_FIELDS = frozenset({"calendar", "start", "minutes", "pauses"})
# Requests repeat the same few calendars; key by the spec's JSON so equal specs share one calendar
# (and so its per-date cache).
_spec_cache: dict[str, BusinessCalendar] = {}


class _RequestError(ValueError):
    pass


def _calendar(value: Any) -> BusinessCalendar:
    if isinstance(value, str):
        return get_calendar(value)
    if isinstance(value, Mapping):
        key = json.dumps(value, sort_keys=True)
        cal = _spec_cache.get(key)
        if cal is None:
            try:
                cal = calendar_from_spec(value)
            except CalendarError as exc:
                raise _RequestError(f"calendar.{exc}") from None
            if len(_spec_cache) > 1024:
                _spec_cache.clear()
            _spec_cache[key] = cal
        return cal
    raise _RequestError(_("calendar: must be a calendar name or a calendar spec"))


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise _RequestError(_("{field}: must be an ISO-8601 date-time string").format(field=field))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _RequestError(_("{field}: malformed date-time {value!r}").format(field=field, value=value)) from None
    if parsed.tzinfo is None:
        raise _RequestError(_("{field}: a UTC offset is required").format(field=field))
    return parsed


def due_one(request: Any) -> str:
    """Due instant (ISO, seconds precision) for one decoded request; raises ValueError naming the field."""
    if not isinstance(request, Mapping):
        raise _RequestError(_("request: must be a JSON object"))
    unknown = sorted(set(request) - _FIELDS)
    if unknown:
        raise _RequestError(_("{field}: unknown field").format(field=unknown[0]))
    for required in ("calendar", "start", "minutes"):
        if required not in request:
            raise _RequestError(_("{field}: required").format(field=required))
    cal = _calendar(request["calendar"])
    start = _instant(request["start"], "start")
    minutes = request["minutes"]
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not math.isfinite(minutes):
        raise _RequestError(_("minutes: must be a number"))
    if minutes < 0:
        raise _RequestError(_("minutes: must not be negative"))
    if minutes > MAX_MINUTES:
        raise _RequestError(_("minutes: must be at most {limit}").format(limit=MAX_MINUTES))
    raw_pauses = request.get("pauses") or []
    if not isinstance(raw_pauses, list):
        raise _RequestError(_("pauses: must be a list of [start, end] pairs"))
    pauses: list[tuple[datetime, datetime]] = []
    for i, pair in enumerate(raw_pauses):
        where = f"pauses[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise _RequestError(_("{field}: must be a [start, end] pair").format(field=where))
        p_start, p_end = _instant(pair[0], f"{where}[0]"), _instant(pair[1], f"{where}[1]")
        if p_end < p_start:
            raise _RequestError(_("{field}: pause ends before it starts").format(field=where))
        pauses.append((p_start, p_end))
    due = cal.add(start, float(minutes) * 60.0, pauses)
    return due.isoformat(timespec="seconds")


def run_due(lines: Iterable[str]) -> tuple[list[str], bool]:
    """Answer each request line; blank lines are skipped but still counted for line numbers."""
    out: list[str] = []
    any_error = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            message = _("line {number}: {message}").format(
                number=number, message=_("not valid JSON: {detail}").format(detail=exc.msg)
            )
        else:
            try:
                out.append(json.dumps({"due_at": due_one(request)}, ensure_ascii=False))
                continue
            except (_RequestError, CalendarError) as exc:
                message = _("line {number}: {message}").format(number=number, message=exc)
            except (OverflowError, OSError, ValueError):
                # datetime cannot represent the answer (beyond year 9999 and the like)
                message = _("line {number}: {message}").format(
                    number=number, message=_("minutes: the due time is out of range")
                )
        any_error = True
        out.append(json.dumps({"error": message}, ensure_ascii=False))
    return out, any_error
