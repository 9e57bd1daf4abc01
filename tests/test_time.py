"""When a change happened: live actions take the clock (and a clock that steps back freezes nothing); a claimed
time (--at) is an admin's backfill, never in the future, and its events say so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from console.rules.errors import BadInput, PermissionDenied
from console.service.helpdesk import HelpdeskService
from tests.conftest import FrozenClock

Team = Callable[[str], HelpdeskService]


@pytest.fixture
def own(team: Team, clock: FrozenClock) -> dict[str, HelpdeskService]:
    """Services acting on their own account (no admin entering history for them)."""
    boss = team("boss")
    return {name: HelpdeskService(boss.store, name, clock=clock) for name in ("boss", "li.wei", "sue")}


def test_a_clock_that_steps_back_does_not_freeze_a_ticket(own: dict[str, HelpdeskService], clock: FrozenClock) -> None:
    li = own["li.wei"]
    tid = li.create_ticket("VPN down", customer="Acme").id
    clock.advance(minutes=10)
    li.reply(tid, "Looking at it.")
    stamped = clock()
    clock.now = stamped - timedelta(minutes=7)  # NTP steps the clock back
    li.note(tid, "Still looking.")
    last = li.store.events(tid)[-1]
    assert last.at == stamped  # kept in order: no earlier than the event before it
    assert last.recorded_at == stamped - timedelta(minutes=7)  # and the clock's own word kept beside it
    assert not last.backfilled


def test_an_agent_may_not_claim_a_time(own: dict[str, HelpdeskService], clock: FrozenClock) -> None:
    li, sue = own["li.wei"], own["sue"]
    tid = li.create_ticket("VPN down", customer="Acme").id
    for svc in (li, sue):
        with pytest.raises(PermissionDenied, match=r"only admins may record history at another time"):
            svc.note(tid, "x", at=clock() + timedelta(minutes=1))
        with pytest.raises(PermissionDenied):
            svc.sweep(clock())
    assert [e.kind for e in li.store.events(tid)] == ["created"]


def test_an_admins_claim_is_marked_and_never_in_the_future(own: dict[str, HelpdeskService], clock: FrozenClock) -> None:
    boss = own["boss"]
    tid = boss.create_ticket("Old call", customer="Acme", at=clock() - timedelta(days=3)).id
    boss.note(tid, "entered from the paper log", at=clock() - timedelta(days=3, minutes=-5))
    events = boss.store.events(tid)
    assert [(e.backfilled, e.recorded_at) for e in events] == [(True, clock()), (True, clock())]
    live = boss.note(tid, "and now")
    assert live.version == 3 and boss.store.events(tid)[-1].backfilled is False
    with pytest.raises(BadInput, match="in the future"):
        boss.note(tid, "x", at=clock() + timedelta(days=3650 * 30))
    with pytest.raises(BadInput, match="earlier than ticket"):
        boss.note(tid, "x", at=clock() - timedelta(days=10))


def test_an_admin_acting_for_an_agent_is_recorded(team: Team) -> None:
    li = team("li.wei")
    tid = li.create_ticket("VPN down", customer="Acme").id
    event = li.store.events(tid)[0]
    assert (event.actor, event.entered_by) == ("li.wei", "boss")
