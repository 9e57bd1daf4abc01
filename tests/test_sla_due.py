"""`helpdesk sla due`: JSON Lines in, due times (or per-line errors) out."""

from __future__ import annotations

import json
import re
import time

import pytest

from console.rules import sla_due
from console.rules.sla_due import run_due

LUNCH = {
    "tz": "Asia/Shanghai",
    "weekly": {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "workdays": ["2026-09-20"],
}


def line(**fields: object) -> str:
    return json.dumps(fields)


def run(lines: list[str] | tuple[str, ...]) -> tuple[list[str], bool]:
    out = list(run_due(lines))
    return [a.text for a in out], any(a.error for a in out)


def answers(*lines: str) -> tuple[list[dict[str, str]], bool]:
    out, any_error = run(lines)
    return [json.loads(x) for x in out], any_error


def test_examples_from_the_documentation() -> None:
    got, any_error = answers(
        line(calendar="24x7", start="2026-01-30T17:30:00+08:00", minutes=240),
        line(calendar="cn-business", start="2026-01-30T17:30:00+08:00", minutes=240),
    )
    assert got == [{"due_at": "2026-01-30T21:30:00+08:00"}, {"due_at": "2026-02-02T12:30:00+08:00"}]
    assert any_error is False


def test_custom_calendar_pauses_and_zones() -> None:
    got, any_error = answers(
        line(calendar=LUNCH, start="2026-03-02T09:00:00+08:00", minutes=180),  # due at the lunch break
        line(calendar=LUNCH, start="2026-09-18T17:00:00+08:00", minutes=120),  # a make-up Sunday
        line(
            calendar=LUNCH,
            start="2026-03-06T16:00:00+08:00",
            minutes=120,
            pauses=[["2026-03-06T17:00:00+08:00", "2026-03-09T10:00:00+08:00"]],
        ),
        # Given in UTC, answered in the calendar's zone; cn-business skips National Day.
        line(calendar="cn-business", start="2026-09-30T09:00:00Z", minutes=120),
        line(calendar="cn-business", start="2026-09-30T17:00:00+08:00", minutes=0),
    )
    assert any_error is False
    assert got == [
        {"due_at": "2026-03-02T12:00:00+08:00"},
        {"due_at": "2026-09-20T10:00:00+08:00"},
        {"due_at": "2026-03-09T11:00:00+08:00"},
        {"due_at": "2026-10-08T10:00:00+08:00"},
        {"due_at": "2026-09-30T17:00:00+08:00"},
    ]


def test_dst_calendar_answers_in_its_own_offset() -> None:
    spec = {"tz": "America/New_York", "weekly": {"sat": [["00:00", "24:00"]], "sun": [["00:00", "24:00"]]}}
    got, _ = answers(line(calendar=spec, start="2026-03-07T12:00:00-05:00", minutes=24 * 60))
    assert got == [{"due_at": "2026-03-08T13:00:00-04:00"}]


def test_blank_lines_are_skipped_but_counted() -> None:
    out, any_error = run(
        [
            line(calendar="24x7", start="2026-01-30T17:30:00+08:00", minutes=1),
            "",
            "   \n",
            "not json",
        ]
    )
    assert any_error is True
    assert len(out) == 2
    assert json.loads(out[1])["error"].startswith("line 4: ")


@pytest.mark.parametrize(
    ("request_line", "field"),
    [
        (
            line(
                calendar={"tz": "Mars/Base", "weekly": {"mon": [["09:00", "18:00"]]}},
                start="2026-03-02T09:00:00+08:00",
                minutes=1,
            ),
            "calendar.tz",
        ),
        (
            line(
                calendar={"tz": "UTC", "weekly": {"mon": [["9.00", "18:00"]]}},
                start="2026-03-02T09:00:00+08:00",
                minutes=1,
            ),
            r"calendar.weekly.mon\[0\]",
        ),
        (
            line(
                calendar={"tz": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
                start="2026-03-02T09:00:00+08:00",
                minutes=1,
            ),
            r"calendar.weekly.mon\[1\]: intervals overlap",
        ),
        (
            line(
                calendar={"tz": "UTC", "weekly": {"mon": [["13:00", "14:00"], ["09:00", "12:00"]]}},
                start="2026-03-02T09:00:00+08:00",
                minutes=1,
            ),
            r"calendar.weekly.mon\[1\]: intervals overlap or are out of order",
        ),
        (
            line(
                calendar="24x7",
                start="2026-03-02T09:00:00+08:00",
                minutes=1,
                pauses=[["2026-03-02T10:00:00+08:00", "2026-03-02T09:30:00+08:00"]],
            ),
            r"pauses\[0\]: pause ends before it starts",
        ),
        (
            line(calendar="24x7", start="2026-03-02T09:00:00+08:00", minutes=-5),
            "minutes: must not be negative",
        ),
        (line(calendar="24x7", start="2026-03-02T09:00:00+08:00", minutes="ten"), "minutes"),
        (line(calendar="24x7", start="2026-03-02 nine", minutes=5), "start: malformed"),
        (line(calendar="24x7", start="2026-03-02T09:00:00", minutes=5), "start: a UTC offset is required"),
        (
            line(calendar="mars-business", start="2026-03-02T09:00:00+08:00", minutes=5),
            "calendar: unknown calendar",
        ),
        (line(start="2026-03-02T09:00:00+08:00", minutes=5), "calendar: required"),
        (
            line(calendar="24x7", start="2026-03-02T09:00:00+08:00", minutes=5, pause=[]),
            "pause: unknown field",
        ),
        (
            line(
                calendar="24x7",
                start="2026-03-02T09:00:00+08:00",
                minutes=5,
                pauses=[["2026-03-02T10:00:00+08:00"]],
            ),
            r"pauses\[0\]",
        ),
        ("[1, 2]", "must be a JSON object"),
        ('{"calendar": "24x7", ', "not valid JSON"),
        (line(calendar="24x7", start="9999-12-31T00:00:00+00:00", minutes=9_000_000), "start must be between"),
        (line(calendar="24x7", start="1969-12-31T23:00:00+00:00", minutes=5), "start must be between"),
        (
            line(
                calendar="24x7",
                start="2026-03-02T09:00:00+08:00",
                minutes=5,
                pauses=[["0001-01-01T00:00:00+01:00", "2026-03-02T10:00:00+08:00"]],
            ),
            r"pauses\[0\]\[0\] must be between",
        ),
    ],
)
def test_each_bad_line_names_its_field_and_the_rest_still_run(request_line: str, field: str) -> None:
    good = line(calendar="24x7", start="2026-01-30T17:30:00+08:00", minutes=240)
    got, any_error = answers(good, "", request_line, good)
    assert any_error is True
    assert got[0] == got[2] == {"due_at": "2026-01-30T21:30:00+08:00"}
    assert list(got[1]) == ["error"]
    assert got[1]["error"].startswith("line 3: ")
    assert re.search(field, got[1]["error"]), got[1]["error"]


def test_identical_specs_share_one_calendar() -> None:
    sla_due._spec_cache.clear()
    run([line(calendar=LUNCH, start="2026-03-02T09:00:00+08:00", minutes=m) for m in range(50)])
    run([line(calendar=dict(reversed(list(LUNCH.items()))), start="2026-03-02T09:00:00+08:00", minutes=5)])
    assert len(sla_due._spec_cache) == 1


def test_thousands_of_requests_per_second() -> None:
    requests = [
        line(calendar=cal, start=f"2026-03-{day:02d}T{hour:02d}:17:00+08:00", minutes=minutes)
        for cal in ("cn-business", "24x7", LUNCH)
        for day in range(1, 29)
        for hour in range(0, 24, 3)
        for minutes in (30, 240, 1440, 4800)
    ]
    started = time.perf_counter()
    out, any_error = run(requests)
    elapsed = time.perf_counter() - started
    assert not any_error and len(out) == len(requests) == 2688
    # Generous bound so a busy machine does not fail it; the benchmark measures the real rate.
    assert len(requests) / elapsed > 2000
