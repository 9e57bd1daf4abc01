"""The service layer: one event per action, ordering, escalation, closure rules, customer replies, permissions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from console.rules.errors import BadInput, PermissionDenied, Refused, Stale
from console.service.helpdesk import HelpdeskService
from tests.conftest import FrozenClock, sqlite_conn

Team = Callable[[str], HelpdeskService]


def new_ticket(svc: HelpdeskService, **kw: object) -> int:
    args: dict[str, object] = {"customer": "Acme Ops", "email": "ops@acme.test", "priority": "P3"}
    args.update(kw)
    return svc.create_ticket("Printer offline", "Floor 3 printer shows offline", **args).id  # type: ignore[arg-type]


def kinds(svc: HelpdeskService, tid: int) -> list[str]:
    return [e.kind for e in svc.store.events(tid)]


def test_create_makes_customer_and_one_event(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    t = li.ticket(tid)
    assert t.status == "new" and t.version == 1 and t.tier == "L1"
    assert kinds(li, tid) == ["created"]
    assert li.store.get_customer(t.customer_id or 0).email == "ops@acme.test"
    # the same e-mail finds the same customer
    tid2 = new_ticket(li, customer="Someone else")
    assert li.ticket(tid2).customer_id == t.customer_id


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (lambda s, t: s.reply(t, "Hello"), "reply"),
        (lambda s, t: s.note(t, "internal"), "note"),
        (lambda s, t: s.assign(t), "assigned"),
        (lambda s, t: s.pending(t), "pending"),
        (lambda s, t: s.escalate(t, "L2", "needs L2", tried="x", impact="y", notice="L2 takes over"), "escalated"),
        (lambda s, t: s.log_call(t, "out", "called back"), "call"),
        (lambda s, t: s.visit(t, "dispatched"), "visit"),
        (lambda s, t: s.restore(t, "workaround"), "restored"),
        (lambda s, t: s.resolve(t, "fixed"), "resolved"),
        (lambda s, t: s.customer_reply(t, "more info"), "customer_message"),
    ],
)
def test_each_action_writes_exactly_one_event(team: Team, clock: FrozenClock, action, kind: str) -> None:  # type: ignore[no-untyped-def]
    li = team("li.wei")
    tid = new_ticket(li)
    clock.advance(minutes=5)
    before = li.store.count_events()
    action(li, tid)
    assert li.store.count_events() == before + 1
    assert kinds(li, tid)[-1] == kind


def test_reply_opens_new_ticket_and_counts(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    t = li.reply(tid, "Hello, this is Li Wei")
    assert t.status == "open" and t.public_replies == 1
    assert [m.kind for m in li.store.messages(tid)] == ["reply"]


def test_at_earlier_than_last_event_is_refused(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    with pytest.raises(BadInput, match="earlier than ticket"):
        li.reply(tid, "late", at=clock.now - timedelta(minutes=1))
    # the same instant is fine
    li.reply(tid, "same time", at=clock.now)


def test_stale_version_is_refused_with_who_and_what(team: Team, clock: FrozenClock) -> None:
    li, ann = team("li.wei"), team("ann")
    tid = new_ticket(li)
    seen = li.ticket(tid).version
    ann.assign(tid)
    clock.advance(seconds=5)
    with pytest.raises(Stale, match=r"ticket \d+ changed: assigned to ann by ann 5 s ago"):
        li.assign(tid, expected_version=seen)
    assert li.ticket(tid).assignee == "ann"


HANDOFF = "Steps already tried: restart\nBusiness impact: floor 3 cannot print\nCustomer told: L2 calls today"


def test_escalation_rules(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.assign(tid)
    li.reply(tid, "Our second line takes over and will call you today.")
    with pytest.raises(BadInput):
        li.escalate(tid, "L2", "", HANDOFF)
    with pytest.raises(BadInput):
        li.escalate(tid, "L2", "reason", "")
    with pytest.raises(BadInput, match="business impact"):
        li.escalate(tid, "L2", "reason", "symptoms: offline; tried: restart")
    with pytest.raises(Refused, match="already at L1"):
        li.escalate(tid, "L1", "reason", HANDOFF)
    t = li.escalate(tid, "L2", "driver problem", HANDOFF)
    assert (t.status, t.tier, t.assignee, t.escalations) == ("open", "L2", None, 1)
    ev = li.store.events(tid)[-1]
    assert ev.detail["reason"] == "driver problem" and ev.detail["changes"]["tier"] == ["L1", "L2"]
    assert (ev.detail["tried"], ev.detail["impact"], ev.detail["told"]) == (
        "restart",
        "floor 3 cannot print",
        "L2 calls today",
    )
    # to a named agent: assigned, tier raised to theirs; the customer hears of this handover too
    sue = team("sue")
    with pytest.raises(Refused, match="tell the customer who takes over first"):
        sue.escalate(tid, "zoe", "vendor bug", HANDOFF)
    t = sue.escalate(tid, "zoe", "vendor bug", HANDOFF, notice="Zoe from our third line takes over.")
    assert (t.tier, t.assignee) == ("L3", "zoe")


def test_plain_agent_cannot_take_others_tickets(team: Team) -> None:
    li, ann, sue = team("li.wei"), team("ann"), team("sue")
    tid = new_ticket(li)
    li.assign(tid)
    with pytest.raises(PermissionDenied):
        ann.assign(tid)
    with pytest.raises(PermissionDenied):
        ann.assign(tid, to="ann")
    with pytest.raises(PermissionDenied):
        li.assign(tid, to="ann")
    assert sue.assign(tid, to="ann").assignee == "ann"


def test_agent_cannot_take_ticket_above_their_tier(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li, tier="L2")
    with pytest.raises(PermissionDenied, match="L2"):
        li.assign(tid)
    assert team("kai").assign(tid).assignee == "kai"


def test_unknown_actor_refused(team: Team) -> None:
    ghost = team("ghost")
    with pytest.raises(PermissionDenied, match="unknown agent ghost"):
        new_ticket(ghost)


def test_close_requires_the_closed_loop(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.reply(tid, "Hello")
    with pytest.raises(Refused, match="resolve it"):
        li.close(tid, summary="done", confirmed=True, confirmed_by="phone", asked_anything_else=True)
    li.resolve(tid, "replaced toner")
    with pytest.raises(BadInput, match="confirmation"):
        li.close(tid, summary="done")
    with pytest.raises(BadInput, match="confirmed-by"):
        li.close(tid, summary="done", confirmed=True, asked_anything_else=True)
    with pytest.raises(BadInput, match="anything else"):
        li.close(tid, summary="done", confirmed=True, confirmed_by="phone")
    with pytest.raises(BadInput, match="not both"):
        li.close(tid, summary="done", confirmed=True, unconfirmed_reason="x", asked_anything_else=True)
    with pytest.raises(BadInput):
        li.close(tid, summary="  ", confirmed=True, confirmed_by="phone", asked_anything_else=True)
    assert li.ticket(tid).status == "resolved"
    t = li.close(
        tid, summary="replaced toner", confirmed=True, confirmed_by="email", asked_anything_else=True, kb_needed=True
    )
    assert t.status == "closed" and t.confirmed is True and t.confirmed_by == "email"
    drafts = li.drafts()
    assert len(drafts) == 1 and drafts[0].source_ticket_id == tid and drafts[0].status == "draft"


def test_urgent_close_needs_followup_date(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li, priority="P1")
    li.log_call(tid, "out", "called back within the half hour")
    li.resolve(tid, "fixed")
    with pytest.raises(BadInput, match="follow-up"):
        li.close(tid, summary="fixed", unconfirmed_reason="unreachable after 3 calls")
    t = li.close(tid, summary="fixed", unconfirmed_reason="unreachable after 3 calls", followup=date(2026, 3, 5))
    assert t.confirmed is False and t.unconfirmed_reason and t.followup_due == "2026-03-05"


def test_customer_reply_reopens_resolved_and_recently_closed(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.resolve(tid, "fixed")
    t = li.customer_reply(tid, "still broken")
    assert t.status == "open" and t.reopens == 1
    li.reply(tid, "Fixed for good now: the toner sensor was dirty.")
    li.resolve(tid, "cleaned the sensor")
    li.close(tid, summary="fixed", confirmed=True, confirmed_by="phone", asked_anything_else=True)
    clock.advance(days=3)
    t = li.customer_reply(tid, "again")
    assert t.id == tid and t.status == "open" and t.reopens == 2


def test_customer_reply_long_after_closure_opens_follow_up(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.reply(tid, "Fixed: please try again.")
    li.resolve(tid, "fixed")
    li.close(tid, summary="fixed", confirmed=True, confirmed_by="chat", asked_anything_else=True)
    clock.advance(days=20)
    t = li.customer_reply(tid, "a new problem")
    assert t.id != tid and t.parent_id == tid and t.status == "new"
    assert li.ticket(tid).status == "closed"
    assert [m.kind for m in li.store.messages(t.id)] == ["customer"]


def test_customer_reply_on_pending_takes_it_back_to_open(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.pending(tid)
    assert li.customer_reply(tid, "here are the logs").status == "open"
    msgs = li.store.messages(tid)
    assert msgs[-1].author == "Acme Ops"


def test_auto_close_after_policy_days(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.resolve(tid, "fixed")
    clock.advance(days=3)
    assert li.sweep()["auto_closed"] == 0
    clock.advance(days=2)
    assert li.sweep()["auto_closed"] == 1
    t = li.ticket(tid)
    assert t.status == "closed" and t.confirmed is False and "4 days" in (t.unconfirmed_reason or "")
    assert kinds(li, tid)[-1] == "closed"
    assert li.check() == []


def test_sla_marks_recorded_once(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = new_ticket(li, priority="P1")  # 24x7, first response 30 min
    clock.advance(minutes=25)
    first = li.sweep()
    assert first["warnings"] >= 1
    assert li.sweep()["warnings"] == 0  # noticed once only
    clock.advance(minutes=10)
    assert li.sweep()["breaches"] >= 1
    other = team("ann")
    assert other.sweep()["breaches"] == 0
    assert kinds(li, tid).count("sla_breach") >= 1


def test_sla_columns_sort_the_queue(team: Team, clock: FrozenClock) -> None:
    from db.records import TicketFilter

    li = team("li.wei")
    low = new_ticket(li, priority="P4")
    urgent = new_ticket(li, priority="P1")
    items = li.list_tickets(TicketFilter())
    assert [i.id for i in items] == [urgent, low]
    assert items[0].sla_clock == "first_response"


def test_pending_pauses_the_clock(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = new_ticket(li, priority="P1")
    li.reply(tid, "hello")
    li.pending(tid)
    t = li.ticket(tid)
    assert t.sla_due is None and t.sla_paused_remaining is not None


def test_check_detects_tampering(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    li.assign(tid)
    assert li.check() == []
    sqlite_conn(li).execute("UPDATE tickets SET status = 'closed' WHERE id = ?", [tid])
    problems = li.check()
    assert any("status is 'closed' but its events say 'open'" in p for p in problems)


def test_events_are_append_only(team: Team) -> None:
    import sqlite3

    li = team("li.wei")
    new_ticket(li)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite_conn(li).execute("UPDATE events SET actor = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlite_conn(li).execute("DELETE FROM events")


def test_hostile_text_is_stored_cleaned_not_interpreted(team: Team) -> None:
    li = team("li.wei")
    tid = li.create_ticket("[bold red]x[/] \x1b]0;pwned\x07 \x1b[31mred", "body\x00with\x1bnul", customer="c").id
    t = li.ticket(tid)
    assert "\x1b" not in t.subject and "\x07" not in t.subject and "[bold red]x[/]" in t.subject
    assert "\x00" not in t.body


def test_oversized_subject_refused(team: Team) -> None:
    li = team("li.wei")
    with pytest.raises(BadInput, match="too long"):
        li.create_ticket("x" * 501)
    assert li.store.count_tickets() == 0


def test_wallboard_mode_refuses_writes(team: Team) -> None:
    li = team("li.wei")
    tid = new_ticket(li)
    board = HelpdeskService(li.store, "sue", clock=li.clock, wallboard=True)
    with pytest.raises(Refused, match="read-only"):
        board.reply(tid, "x")
    with pytest.raises(Refused, match="read-only"):
        board.create_ticket("x")


def test_unmasked_wallboard_needs_supervisor(team: Team, clock: FrozenClock) -> None:
    from console.service.wallboard import snapshot

    li, sue = team("li.wei"), team("sue")
    new_ticket(li)
    with pytest.raises(PermissionDenied):
        snapshot(li, clock(), show_customers=True)
    shown = snapshot(sue, clock(), show_customers=True)
    masked = snapshot(li, clock(), show_customers=False)
    assert [r.customer for r in shown.urgent] == ["Acme Ops"]
    assert [r.customer for r in masked.urgent] != ["Acme Ops"] and len(masked.urgent) == 1


def test_line_breaks_in_one_line_fields_become_spaces(team: Team) -> None:
    li = team("li.wei")
    tid = li.create_ticket("Printer\noffline\tagain").id
    assert li.ticket(tid).subject == "Printer offline again"


def test_first_reply_reads_as_a_reply(team: Team) -> None:
    from console.service.ticket_view import describe_event

    li = team("li.wei")
    tid = new_ticket(li)
    li.reply(tid, "Hello")
    assert describe_event(li.store.events(tid)[-1]) == "replied"
