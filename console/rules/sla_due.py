"""`helpdesk sla due`: when would a target fall due? One JSON request per line, one JSON answer per line.

Request: `{"calendar": <spec> | "24x7" | "cn-business", "start": ISO-8601 with offset, "minutes": 240,
"pauses": [[start, end], ...]}`. Answer: `{"due_at": ISO-8601 in the calendar's zone}` (the zone-less
`24x7` keeps the start's offset), or `{"error": "line N: field: problem"}` in the request's place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from console.i18n import _
from console.rules.calendars import BusinessCalendar, CalendarError, calendar_from_spec, get_calendar
from console.rules.clock import in_range, out_of_range
from console.rules.documents import nested_too_deeply, too_many_digits

__all__ = ["MAX_LINE", "MAX_MINUTES", "Answer", "due_one", "run_due"]

# About 19 years of round-the-clock time: keeps one request from walking the calendar for long.
MAX_MINUTES = 10_000_000
# A request is a few hundred characters (a thousand pauses fit well within this): a longer line is refused, and
# the CLI reads no more than this much of one, so memory stays bounded whatever comes in.
MAX_LINE = 1024 * 1024
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
    if not in_range(parsed):
        raise _RequestError(out_of_range(field, value))
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


class Answer(NamedTuple):
    """One line of output: ``{"due_at": …}`` or ``{"error": …}`` (``error`` says which)."""

    text: str
    error: bool


def run_due(lines: Iterable[str]) -> Iterator[Answer]:
    """Answer each request line as it is read (a stream: nothing is held back for the end of the input); blank
    lines are skipped but still counted for line numbers."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line.rstrip("\r\n")) > MAX_LINE:
            outcome: Answer | str = _("longer than {limit} characters").format(limit=MAX_LINE)
        else:
            outcome = _answer(line)
        if isinstance(outcome, Answer):
            yield outcome
            continue
        text = _("line {number}: {message}").format(number=number, message=outcome)
        yield Answer(json.dumps({"error": text}, ensure_ascii=False), True)


def _answer(line: str) -> Answer | str:
    """The answer to one request line, or what is wrong with it."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return _("not valid JSON: {detail}").format(detail=exc.msg)
    except RecursionError:  # the decoder recurses per nesting level: `[[[…` deep enough exhausts the stack
        return _("not valid JSON: {detail}").format(detail=nested_too_deeply())
    except ValueError:  # not a syntax error (caught above): an integer too long to convert
        return _("not valid JSON: {detail}").format(detail=too_many_digits())
    try:
        return Answer(json.dumps({"due_at": due_one(request)}, ensure_ascii=False), False)
    except (_RequestError, CalendarError) as exc:
        return str(exc)
    except (OverflowError, OSError, ValueError):
        # datetime cannot represent the answer (beyond year 9999 and the like)
        return _("minutes: the due time is out of range")
