"""Satisfaction scores (once per closure) and follow-up calls on closed P1/P2 tickets: each write is one
transaction with its event; the commands `csat`, `followups` and `followup`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from console.rules.errors import BadInput, Refused
from console.service import reports
from console.service.helpdesk import HelpdeskService
from db import reports as db_reports
from db.models import Ticket
from tests.conftest import T0, FrozenClock, Result

Team = Callable[[str], HelpdeskService]


def closed_ticket(svc: HelpdeskService, priority: str = "P3", followup: date | None = None, minutes: int = 0) -> Ticket:
    at = T0 + timedelta(minutes=minutes)
    t = svc.create_ticket("Printer jams", customer="Ann Lee", phone="13812345678", priority=priority, at=at)
    svc.reply(t.id, "Fixed", at=at + timedelta(minutes=5))
    svc.resolve(t.id, "tray swapped", at=at + timedelta(minutes=6))
    return svc.close(
        t.id,
        summary="tray swapped",
        confirmed=True,
        confirmed_by="phone",
        asked_anything_else=True,
        followup=followup,
        at=at + timedelta(minutes=10),
    )


def events(svc: HelpdeskService, ticket_id: int, kind: str) -> list[Any]:
    return [e for e in svc.store.events(ticket_id) if e.kind == kind]


# -- satisfaction -----------------------------------------------------------------------------------------


def test_csat_once_per_closure_with_its_event(team: Team) -> None:
    li, ann = team("li.wei"), team("ann")
    t = closed_ticket(li)
    row = reports.record_csat(ann, t.id, 4, " helpful \x1b[31m", at=T0 + timedelta(minutes=20))  # any agent
    assert (row.closure, row.score, row.comment) == (1, 4, "helpful [31m")
    [event] = events(li, t.id, "csat")
    assert (event.actor, event.to_value, event.detail) == (
        "ann",
        "4",
        {"score": 4, "closure": 1, "comment": "helpful [31m"},
    )
    with pytest.raises(Refused, match="already has a satisfaction score"):
        reports.record_csat(li, t.id, 5, at=T0 + timedelta(minutes=21))
    # a reopen and a new closure may be scored again
    li.reopen(t.id, "printer jams again", at=T0 + timedelta(minutes=30))
    with pytest.raises(Refused, match="not closed"):
        reports.record_csat(li, t.id, 2, at=T0 + timedelta(minutes=31))
    li.resolve(t.id, "roller replaced", at=T0 + timedelta(minutes=35))
    li.close(
        t.id,
        summary="roller replaced",
        confirmed=True,
        confirmed_by="onsite",
        asked_anything_else=True,
        at=T0 + timedelta(minutes=40),
    )
    again = reports.record_csat(li, t.id, 5, at=T0 + timedelta(minutes=41))
    assert again.closure == 2
    assert [(c.closure, c.score) for c in li.store.csat_for()] == [(1, 4), (2, 5)]
    assert [e.detail["closure"] for e in events(li, t.id, "csat")] == [1, 2]


@pytest.mark.parametrize("score", [0, 6, -1])
def test_csat_score_is_one_to_five(team: Team, score: int) -> None:
    li = team("li.wei")
    t = closed_ticket(li)
    with pytest.raises(BadInput):
        reports.record_csat(li, t.id, score)
    assert li.store.csat_for() == []


def test_csat_and_its_event_are_one_transaction(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    li = team("li.wei")
    t = closed_ticket(li)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(li.store, "add_event", broken)
    with pytest.raises(RuntimeError):
        reports.record_csat(li, t.id, 5, at=T0 + timedelta(minutes=20))
    monkeypatch.undo()
    assert li.store.csat_for() == [] and events(li, t.id, "csat") == []


def test_csat_refusals(team: Team) -> None:
    li = team("li.wei")
    t = closed_ticket(li)
    with pytest.raises(BadInput):
        reports.record_csat(li, 999, 5)
    with pytest.raises(BadInput, match="earlier than"):
        reports.record_csat(li, t.id, 5, at=T0)  # before the closure
    board = HelpdeskService(li.store, "sue", clock=li.clock, wallboard=True)
    with pytest.raises(Refused, match="read-only"):
        reports.record_csat(board, t.id, 5)
    stranger = HelpdeskService(li.store, "nobody", clock=li.clock)
    with pytest.raises(Refused):
        reports.record_csat(stranger, t.id, 5)
    # satisfaction is the customer's to give: a ticket without one has nobody to ask
    anonymous = li.create_ticket("Toner low", at=T0 + timedelta(minutes=1))
    li.note(anonymous.id, "Found by the night round; no caller.", at=T0 + timedelta(minutes=2))
    li.log_call(anonymous.id, "out", "Rang the floor's front desk.", at=T0 + timedelta(minutes=3))
    li.resolve(anonymous.id, "toner replaced", at=T0 + timedelta(minutes=4))
    li.close(anonymous.id, summary="toner replaced", unconfirmed_reason="no customer", at=T0 + timedelta(minutes=5))
    with pytest.raises(Refused, match="no customer"):
        reports.record_csat(li, anonymous.id, 5, at=T0 + timedelta(minutes=6))
    assert li.store.csat_for() == []


# -- follow-up calls ----------------------------------------------------------------------------------------


def test_followups_list_and_due(team: Team) -> None:
    li = team("li.wei")
    p1 = closed_ticket(li, "P1", date(2026, 3, 3))
    p2 = closed_ticket(li, "P2", date(2026, 3, 5), minutes=1)
    closed_ticket(li, "P3")  # no call planned
    open_p1 = li.create_ticket("Down again", priority="P1", at=T0)
    assert open_p1.followup_due is None
    listed = reports.followups(li)
    assert [(f.id, f.followup_due, f.customer, f.phone) for f in listed] == [
        (p1.id, "2026-03-03", "Ann Lee", "13812345678"),
        (p2.id, "2026-03-05", "Ann Lee", "13812345678"),
    ]
    assert [f.id for f in reports.followups(li, due_only=True, today=date(2026, 3, 2))] == []
    assert [f.id for f in reports.followups(li, due_only=True, today=date(2026, 3, 3))] == [p1.id]
    assert [f.id for f in reports.followups(li, due_only=True, today=date(2026, 3, 9))] == [p1.id, p2.id]


def test_due_today_is_the_local_day(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    t = closed_ticket(li, "P1", date(2026, 3, 3))
    clock.now = T0 + timedelta(hours=14, minutes=59)  # Monday 23:59 in Shanghai
    assert reports.followups(li, due_only=True) == []
    clock.now = T0 + timedelta(hours=15)  # Tuesday 00:00 in Shanghai, still Monday in UTC
    assert [f.id for f in reports.followups(li, due_only=True)] == [t.id]


def test_record_followup(team: Team) -> None:
    li, ann = team("li.wei"), team("ann")
    t = closed_ticket(li, "P2", date(2026, 3, 3))
    at = T0 + timedelta(days=1)
    done = reports.record_followup(ann, t.id, "Customer happy, \x07printer fine", at=at)
    assert done.followup_done_at == at and done.version == t.version  # not an edit of the ticket
    [event] = events(li, t.id, "followup")
    assert (event.actor, event.at, event.detail) == (
        "ann",
        at,
        {"note": "Customer happy, printer fine", "due": "2026-03-03"},
    )
    assert reports.followups(li) == []
    with pytest.raises(Refused, match="already recorded"):
        reports.record_followup(li, t.id, "again", at=at)
    assert len(events(li, t.id, "followup")) == 1


def test_followup_refusals(team: Team) -> None:
    li = team("li.wei")
    p3 = closed_ticket(li)
    with pytest.raises(Refused, match="no follow-up call planned"):
        reports.record_followup(li, p3.id, "called", at=T0 + timedelta(hours=1))
    p1 = closed_ticket(li, "P1", date(2026, 3, 3), minutes=1)
    with pytest.raises(BadInput):
        reports.record_followup(li, p1.id, "   ")
    with pytest.raises(BadInput):
        reports.record_followup(li, 999, "called")
    assert li.ticket(p1.id).followup_done_at is None


def test_followup_and_its_event_are_one_transaction(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    li = team("li.wei")
    t = closed_ticket(li, "P1", date(2026, 3, 3))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(li.store, "add_event", broken)
    with pytest.raises(RuntimeError):
        reports.record_followup(li, t.id, "called", at=T0 + timedelta(hours=1))
    monkeypatch.undo()
    assert li.ticket(t.id).followup_done_at is None and events(li, t.id, "followup") == []


def test_second_writer_loses_cleanly(team: Team) -> None:
    li = team("li.wei")
    t = closed_ticket(li, "P1", date(2026, 3, 3))
    assert li.store.write(lambda: db_reports.mark_followup_done(li.store, t.id, T0 + timedelta(hours=1)))
    assert not li.store.write(lambda: db_reports.mark_followup_done(li.store, t.id, T0 + timedelta(hours=2)))


# -- the commands ---------------------------------------------------------------------------------------------


def test_commands(team: Team, cli: Callable[..., Result]) -> None:
    li = team("li.wei")
    t = closed_ticket(li, "P1", date(2026, 3, 3))
    later = (T0 + timedelta(hours=1)).isoformat()
    res = cli("csat", str(t.id), "5", "--comment", "great", "--at", later, actor="ann")
    assert res.code == 0, res.err
    assert "5/5" in res.out
    res = cli("--json", "csat", f"#{t.id}", "4", "--at", later)
    assert res.code == 1 and "already has a satisfaction score" in res.err
    assert cli("csat", str(t.id), "9").code == 2
    assert cli("csat", str(t.id), "five").code == 2

    res = cli("followups", "--due", "--json")
    assert res.code == 0
    assert [(f["id"], f["followup_due"], f["phone"]) for f in res.json()] == [(t.id, "2026-03-03", "13812345678")]
    res = cli("followups")
    assert res.code == 0 and "13812345678" in res.out and "2026-03-03" in res.out
    res = cli("followup", str(t.id), "--note", "all good", "--at", later, "--json")
    assert res.code == 0, res.err
    assert datetime.fromisoformat(res.json()["followup_done_at"]) == datetime.fromisoformat(later)
    assert cli("followups", "--json").json() == []
    res = cli("followup", str(t.id), "--note", "again")
    assert res.code == 1 and "already recorded" in res.err
    assert cli("followup", str(t.id)).code == 2  # --note is required


def test_history_still_checks_out(team: Team) -> None:
    li = team("li.wei")
    t = closed_ticket(li, "P1", date(2026, 3, 3))
    reports.record_csat(li, t.id, 5, at=T0 + timedelta(hours=1))
    reports.record_followup(li, t.id, "fine", at=T0 + timedelta(hours=2))
    assert li.check() == []
