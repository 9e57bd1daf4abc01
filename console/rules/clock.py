"""Wall-clock access in one place, so tests and `--at`/`--now` can substitute their own instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.i18n import _

Clock = Callable[[], datetime]

# The years a time given by a user may fall in: the helpdesk's own records cannot predate the Unix epoch, and a
# bound far ahead keeps every computation from it (due times, calendars, reports) inside what datetime holds.
FIRST_YEAR = 1970
LAST_YEAR = 2200


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def out_of_range(field: str, text: str) -> str:
    """The one-line message for a time or date outside `FIRST_YEAR`..`LAST_YEAR`."""
    return _("{field} must be between {first} and {last}: {text}").format(
        field=field, first=FIRST_YEAR, last=LAST_YEAR, text=text
    )


def in_range(value: date) -> bool:
    """Whether a date, or a datetime as written (convert instants to UTC first), falls in the accepted years."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def parse_instant(text: str, *, field: str = "time") -> datetime:
    """ISO 8601; a time without an offset is taken as UTC; in UTC it must fall in 1970..2200. Raises ValueError
    naming the field."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(_("{field}: not an ISO 8601 time: {text!r}").format(field=field, text=text)) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    # Checked as written first: converting year 1 or 9999 to UTC can overflow.
    if not in_range(value):
        raise ValueError(out_of_range(field, text.strip()))
    value = value.astimezone(UTC).replace(microsecond=0)
    if not in_range(value):
        raise ValueError(out_of_range(field, text.strip()))
    return value


def parse_date(text: str, *, field: str = "date") -> date:
    """YYYY-MM-DD in 1970..2200. Raises ValueError naming the field."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(_("not a date (YYYY-MM-DD): {text}").format(text=text)) from exc
    if not in_range(value):
        raise ValueError(out_of_range(field, text.strip()))
    return value


def zone_named(name: str | None, default: tzinfo) -> tzinfo:
    """The IANA zone ``name`` (checked when it was stored), or ``default`` when none is set or it is unknown here."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return default


def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_label(zone: tzinfo) -> str:
    """A zone as people name it: its IANA key (Asia/Shanghai), else what it calls itself (UTC)."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or zone)


def local_text(dt: datetime | None, zone: tzinfo) -> str:
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if dt else "—"
