"""SLA policy: defaults, TOML loading, validation messages, override precedence and storage."""

from __future__ import annotations

import json
import re

import pytest

from console.rules.calendars import get_calendar
from console.rules.policy import Policy, PolicyError, default_policy, default_policy_toml, load_policy_toml
from console.rules.sla import Targets

# The shipped policy without its settings (what the default settings are anyway).
SETTINGLESS = re.sub(r"\[settings\][^\[]*", "", default_policy_toml())
# The shipped policy's priorities alone (without its channel overrides either).
BASE = "\n".join(re.findall(r"\[priorities\.P\d\][^\[]*", default_policy_toml()))

OVERRIDES = (
    BASE
    + """
[calendars.support]
tz = "Europe/Berlin"
holidays = ["2026-12-25"]
[calendars.support.weekly]
mon = [["08:00", "12:00"], ["13:00", "17:00"]]
tue = [["08:00", "12:00"], ["13:00", "17:00"]]

[channels.phone]
first_response = 15
warning = 0.5

[channels.email]
calendar = "support"
next_update = "none"

[tiers.gold]
calendar = "24x7"
first_response = 20
[tiers.gold.P4]
resolve = 2400
"""
)


def test_default_targets_per_priority() -> None:
    policy = default_policy()
    expected = {
        "P1": ("24x7", Targets(30, 60, 240, 1440, onsite=60)),
        "P2": ("cn-business", Targets(120, 240, 480, 1440, onsite=60)),
        "P3": ("cn-business", Targets(240, 480, None, 1440, onsite=60)),
        "P4": ("cn-business", Targets(480, 960, None, 4800, onsite=60)),
    }
    for priority, (calendar, targets) in expected.items():
        cal, got = policy.resolve(priority, "web", "standard")
        assert cal is get_calendar(calendar)
        assert got == targets
        assert got.warning == 0.75
    assert policy.settings.auto_close_days == 4
    assert policy.settings.reopen_window_days == 14
    assert policy.settings.followup_max_days == 14


def test_email_is_answered_within_four_hours_by_default() -> None:
    for priority in ("P1", "P2", "P3"):
        _cal, targets = default_policy().resolve(priority, "email", None)
        assert targets.first_response is not None and targets.first_response <= 240


def test_sample_toml_documents_the_defaults_and_round_trips() -> None:
    sample = load_policy_toml(default_policy_toml())
    assert sample == default_policy()
    assert Policy.from_json(sample.to_json()) == sample
    assert load_policy_toml(SETTINGLESS) == default_policy()  # absent settings take their defaults


def test_json_round_trip_keeps_overrides() -> None:
    policy = load_policy_toml(OVERRIDES)
    text = policy.to_json()
    assert isinstance(json.loads(text), dict)
    again = Policy.from_json(text)
    assert again == policy
    assert again.resolve("P4", "email", "gold") == policy.resolve("P4", "email", "gold")
    assert again != default_policy()


def test_override_precedence_tier_over_channel_over_priority() -> None:
    policy = load_policy_toml(OVERRIDES)
    cal, targets = policy.resolve("P2", "phone", None)
    assert cal.name == "cn-business"
    assert targets == Targets(15, 240, 480, 1440, onsite=60, warning=0.5)  # only the fields the override sets

    cal, targets = policy.resolve("P2", "email", None)
    assert cal.name == "support"
    assert targets.next_update is None  # "none" removes the target
    assert targets.first_response == 120

    cal, targets = policy.resolve("P2", "phone", "gold")
    assert cal.name == "24x7"
    assert targets.first_response == 20  # the tier beats the channel
    assert targets.warning == 0.5  # ...but the channel's other fields still apply

    _cal, targets = policy.resolve("P4", "email", "Gold")  # tier names match case-insensitively
    assert targets == Targets(20, None, None, 2400, onsite=60)  # the tier's P4 table refines its general fields

    _cal, targets = policy.resolve("p3", "fax", "bronze")  # unknown channel and tier: no override
    assert targets == Targets(240, 480, None, 1440, onsite=60)


def test_custom_calendar_is_built_from_the_policy() -> None:
    cal, _targets = load_policy_toml(OVERRIDES).resolve("P1", "email", None)
    assert cal.name == "support"
    assert str(cal.tz) == "Europe/Berlin"
    assert cal.weekly[0] == ((8 * 3600, 12 * 3600), (13 * 3600, 17 * 3600))


def test_unknown_priority_is_refused() -> None:
    with pytest.raises(PolicyError, match="priority"):
        default_policy().resolve("P9")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            BASE.replace("first_response = 120", "first_response = -5"),
            "priorities.P2.first_response: must be a positive whole number of minutes",
        ),
        (BASE.replace("first_response = 120", "first_response = 1.5"), "priorities.P2.first_response: "),
        (BASE.replace("first_response = 120", "first_response = true"), "priorities.P2.first_response: "),
        (BASE.replace("first_response = 120", 'first_response = "soon"'), "priorities.P2.first_response: "),
        (
            BASE.replace('calendar = "24x7"', 'calendar = "moon"'),
            "priorities.P1.calendar: unknown calendar 'moon'",
        ),
        (BASE.split("[priorities.P4]")[0], "priorities.P4: required"),
        (BASE + "\n[priorities.P5]\ncalendar = '24x7'\n", "priorities.P5: unknown field"),
        (
            BASE.replace("warning = 0.75", "warning = 1.2"),
            "priorities.P4.warning: must be a fraction",
        ),
        (BASE + "\n[channels.fax]\nfirst_response = 5\n", "channels.fax: unknown field"),
        (BASE + "\n[tiers.gold]\nfirst_responce = 5\n", "tiers.gold.first_responce: unknown field"),
        (BASE + "\n[tiers.gold.P2]\ncalendar = 'nowhere'\n", "tiers.gold.P2.calendar: unknown calendar"),
        (BASE + "\n[calendars.x]\ntz = 'Mars/Base'\nweekly = {}\n", "calendars.x.tz: unknown time zone"),
        (
            BASE + "\n[calendars.x]\ntz = 'UTC'\nweekly = {mon = [['09:00', '12:00'], ['11:00', '13:00']]}\n",
            r"calendars.x.weekly.mon\[1\]: intervals overlap",
        ),
        (
            BASE + "\n[calendars.24x7]\ntz = 'UTC'\nweekly = {mon = [['09:00', '12:00']]}\n",
            "calendars.24x7: ",
        ),
        (BASE + "\n[settings]\nauto_close_days = 0\n", "settings.auto_close_days: "),
        (BASE + "\n[settings]\nreopen_window_days = -1\n", "settings.reopen_window_days: "),
        (BASE + "\nsurprise = 1\n", "surprise: unknown field"),
        ("[priorities.P1\n", "not valid TOML"),
    ],
)
def test_bad_policy_names_the_field(toml: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        load_policy_toml(toml)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_bad_json_is_a_policy_error() -> None:
    with pytest.raises(PolicyError):
        Policy.from_json("{not json")
    with pytest.raises(PolicyError, match="priorities: required"):
        Policy.from_json("{}")
