"""One time zone, named: each agent reads times in theirs (default the policy's business zone), the zone is named on
the screen and in `ticket show`, and what is promised to a customer is stated in the customer's zone, named."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from console.service.helpdesk import HelpdeskService
from console.service.replies import placeholder_values
from tests.conftest import FrozenClock, Result

Team = Callable[[str], HelpdeskService]
Cli = Callable[..., Result]


def times(text: str) -> list[str]:
    return re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)


def test_ticket_show_names_the_zone_and_follows_the_agents(seeded: Cli) -> None:
    r = seeded("--json", "ticket", "new", "--subject", "VPN down", "--customer", "Acme", actor="li.wei")
    tid = str(r.json()["id"])
    shanghai = seeded("ticket", "show", tid, actor="li.wei").out
    assert "Times in Asia/Shanghai" in shanghai  # the policy's business zone by default
    assert seeded("agent", "zone", "Europe/London", actor="li.wei").code == 0
    london = seeded("ticket", "show", tid, actor="li.wei").out
    assert "Times in Europe/London" in london
    assert times(london) and times(london) != times(shanghai)  # the same instants, read in another zone


def test_agents_set_their_own_zone_admins_anyones(seeded: Cli) -> None:
    r = seeded("agent", "zone", "Asia/Tokyo", "--name", "sue", actor="li.wei")
    assert r.code == 3 and r.err.count("\n") == 1
    r = seeded("agent", "zone", "Mars/Olympus", actor="li.wei")
    assert r.code == 2 and "unknown time zone" in r.err
    assert seeded("agent", "zone", "Asia/Tokyo", "--name", "sue").code == 0  # boss, an admin
    agents = {a["name"]: a["zone"] for a in seeded("--json", "agent", "list").json()}
    assert agents["sue"] == "Asia/Tokyo" and agents["li.wei"] is None


def test_promises_to_a_customer_are_in_the_customers_zone(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = li.create_ticket("Printer jam", customer="Ann", email="ann@example.co.uk", customer_zone="Europe/London").id
    li.assign(tid)
    li.reply(tid, "Looking at it now.")
    detail = li.detail(tid)
    due = placeholder_values(detail, "li.wei")["next_update_due"]
    assert due.endswith("(Europe/London)")
    expected = detail.clocks["next_update"].due_at
    assert expected is not None
    assert due.startswith(expected.astimezone(detail.customer_zone).strftime("%Y-%m-%d %H:%M"))
    # an agent in Shanghai reads the same instant eight hours later on the clock (winter)
    assert detail.zone != detail.customer_zone
    assert (expected.astimezone(detail.zone).utcoffset() or timedelta()) - (
        expected.astimezone(detail.customer_zone).utcoffset() or timedelta()
    ) == timedelta(hours=8)
