"""The service standards held by the service and the CLI: logged calls on the response clocks, on-site visits with
their own clock, priority changes, the default policy's numbers and `policy show`, closure preconditions, complete
handovers with the customer told, and the follow-ups due."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console.rules import handover
from console.rules.errors import BadInput, PermissionDenied, Refused
from console.rules.policy import PolicyError, default_policy, default_policy_toml, load_policy_toml
from console.service import reports
from console.service.helpdesk import HelpdeskService
from console.service.ticket_view import facts_from_events
from db import reports as db_reports
from tests.conftest import T0, FrozenClock, Result

Team = Callable[[str], HelpdeskService]
Cli = Callable[..., Result]
SH = ZoneInfo("Asia/Shanghai")
HANDOFF = (
    "Steps already tried: restarted the spooler\nBusiness impact: floor 3 cannot print\nCustomer told: L2 calls today"
)


def ticket(svc: HelpdeskService, priority: str = "P3", channel: str = "email", **kw: object) -> int:
    args: dict[str, object] = {"customer": "Acme Ops", "email": "ops@acme.test", "priority": priority}
    args.update(kw)
    return svc.create_ticket("Printer offline", "Floor 3", channel=channel, **args).id  # type: ignore[arg-type]


def clocks(svc: HelpdeskService, tid: int) -> dict[str, tuple[str, int | None]]:
    return {name: (view.state, view.target_min) for name, view in svc.detail(tid).clocks.items()}


def kinds(svc: HelpdeskService, tid: int) -> list[str]:
    return [e.kind for e in svc.store.events(tid)]


def closable(svc: HelpdeskService, tid: int) -> None:
    """Reach the customer and fix it: what closing needs first."""
    svc.reply(tid, "Fixed: the queue is back. Please check.")
    svc.resolve(tid, "queue restarted")


# -- 1. logged calls -----------------------------------------------------------------------------------------


def test_an_outbound_call_is_the_phone_callback(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P2", "phone")
    li.assign(tid)
    # a fault phoned in: the call back is due within 30 minutes (the default policy's phone channel)
    assert clocks(li, tid)["first_response"] == ("running", 30)
    clock.advance(minutes=20)
    before = li.store.count_events()
    t = li.log_call(tid, "out", "Called back: the printer's IP changed; fixing the port.")
    assert li.store.count_events() == before + 1 and kinds(li, tid)[-1] == "call"
    event = li.store.events(tid)[-1]
    assert event.detail["direction"] == "out" and "IP changed" in event.detail["notes"]
    state = clocks(li, tid)
    assert state["first_response"][0] == "met"
    assert state["next_update"][0] == "running"  # a new update cycle from the call
    # the call reads in the conversation, as an internal note (never sent to anyone)
    [message] = li.store.messages(tid)
    assert message.kind == "note" and "Call to the customer" in message.body and "IP changed" in message.body
    assert t.public_replies == 0 and t.status == "open"


def test_a_late_callback_is_a_breach(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P2", "phone")
    clock.advance(minutes=40)
    li.log_call(tid, "out", "Called back.")
    assert clocks(li, tid)["first_response"][0] == "breached"


def test_an_inbound_call_is_the_customers_contact(team: Team, clock: FrozenClock) -> None:
    li, ann = team("li.wei"), team("ann")
    tid = ticket(li)
    li.assign(tid)
    clock.advance(minutes=5)
    # anyone may log the customer's call (like recording their message); it does not answer the first response
    t = ann.log_call(tid, "in", "Customer rang: two more users affected.")
    assert t.assignee == "li.wei"
    state = clocks(li, tid)
    assert state["first_response"][0] == "running" and state["next_update"][0] == "running"
    # an outbound call is the ticket's worker's
    with pytest.raises(PermissionDenied):
        ann.log_call(tid, "out", "Called back.")
    li.pending(tid)
    assert ann.log_call(tid, "in", "Customer: here are the logs.").status == "open"  # waiting is over
    li.reply(tid, "Fixed, please check.")
    li.resolve(tid, "port fixed")
    # the customer calling a resolved ticket may be confirming the fix: it stays resolved
    assert ann.log_call(tid, "in", "Customer confirms it prints.").status == "resolved"


def test_call_input_and_status_rules(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    with pytest.raises(BadInput):
        li.log_call(tid, "sideways", "x")
    with pytest.raises(BadInput):
        li.log_call(tid, "out", "   ")
    li.log_call(tid, "out", "Called.")
    li.resolve(tid, "fixed")
    li.close(tid, summary="fixed", unconfirmed_reason="no answer")
    with pytest.raises(Refused, match="closed"):
        li.log_call(tid, "out", "Follow-up call")  # a closed ticket's call is its follow-up call


def test_report_replay_reads_calls_visits_and_notices_like_the_live_clocks(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P2", "phone")
    li.assign(tid)
    clock.advance(minutes=10)
    li.log_call(tid, "out", "Called back.")
    clock.advance(minutes=10)
    li.log_call(tid, "in", "Customer called again.")
    li.visit(tid, "dispatched")
    clock.advance(minutes=30)
    li.visit(tid, "arrived")
    li.escalate(tid, "L2", "needs a part", tried="reseated", impact="one printer", notice="L2 brings the part.")
    events = db_reports.period_clock_events(li.store, None, None)
    bulk = reports.facts_from_clock_events(e for e in events if e.ticket_id == tid)
    live = facts_from_events(li.store.events(tid))
    assert bulk == live
    assert [f.kind for f in live if f.kind != "status"] == [
        "created",
        "reply",
        "customer",
        "dispatched",
        "arrived",
        "reply",
    ]


# -- 2. on-site visits ----------------------------------------------------------------------------------------


def test_a_visit_goes_in_order(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    li.assign(tid)
    with pytest.raises(Refused, match="record 'dispatched' first"):
        li.visit(tid, "arrived")
    with pytest.raises(Refused, match="record 'arrived' first"):
        li.visit(tid, "left")
    with pytest.raises(BadInput):
        li.visit(tid, "lost")
    assert li.visit_stage(tid) is None
    li.visit(tid, "dispatched", "Wang takes a spare fuser")
    with pytest.raises(Refused, match="already on the way"):
        li.visit(tid, "dispatched")
    with pytest.raises(Refused, match="record 'arrived' first"):
        li.visit(tid, "left")
    li.visit(tid, "arrived")
    with pytest.raises(Refused, match="on site now"):
        li.visit(tid, "dispatched")
    li.visit(tid, "left", "fuser replaced, test page fine")
    assert li.visit_stage(tid) == "left"
    li.visit(tid, "dispatched")  # a second visit
    stages = [e.detail["stage"] for e in li.store.events(tid) if e.kind == "visit"]
    assert stages == ["dispatched", "arrived", "left", "dispatched"]
    # notes, when given, read in the conversation as internal notes
    assert [m.kind for m in li.store.messages(tid)] == ["note", "note"]
    assert li.check() == []


def test_the_onsite_clock_runs_around_the_clock_from_dispatch(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    friday_evening = datetime(2026, 3, 6, 17, 30, tzinfo=SH)
    clock.now = friday_evening.astimezone(UTC)
    tid = ticket(li)  # P3: a business-hours ticket
    li.assign(tid)
    assert clocks(li, tid)["onsite"] == ("none", 60)  # not started: nobody dispatched
    li.visit(tid, "dispatched")
    view = li.detail(tid).clocks["onsite"]
    assert view.state == "running" and view.target_min == 60
    assert view.due_at == clock.now + timedelta(hours=1)  # 18:30 Friday, not Monday morning
    li.pending(tid)  # waiting on the customer does not stop the engineer's journey
    clock.advance(minutes=50)
    assert clocks(li, tid)["onsite"][0] == "warning"
    clock.advance(minutes=20)
    assert clocks(li, tid)["onsite"][0] == "breached"
    li.visit(tid, "arrived")
    assert clocks(li, tid)["onsite"][0] == "breached"  # arrived 70 minutes after dispatch: the promise was missed
    # and it shows with the other clocks in `ticket show`
    from console.present.render import ticket_text

    assert "on-site arrival" in ticket_text(li.detail(tid))


def test_an_arrival_within_the_hour_is_met_and_the_queue_sorts_by_it(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P4")
    li.reply(tid, "An engineer is on the way.")
    li.visit(tid, "dispatched")
    t = li.ticket(tid)
    assert t.sla_clock == "onsite" and t.sla_due == (clock.now + timedelta(hours=1)).timestamp()
    clock.advance(minutes=45)
    li.visit(tid, "arrived")
    assert clocks(li, tid)["onsite"][0] == "met"
    assert li.ticket(tid).sla_clock != "onsite"


def test_the_sweep_records_an_onsite_breach(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P4")
    li.reply(tid, "An engineer is on the way.")
    li.visit(tid, "dispatched")
    clock.advance(minutes=61)
    li.sweep()
    breaches = [e for e in li.store.events(tid) if e.kind == "sla_breach"]
    assert [e.detail["clock"] for e in breaches] == ["onsite"]


def test_no_dispatch_on_a_resolved_ticket_and_a_resolution_stops_the_clock(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li)
    li.visit(tid, "dispatched")
    clock.advance(minutes=20)
    li.resolve(tid, "fixed remotely while the engineer drove")
    assert clocks(li, tid)["onsite"][0] == "met"
    li.visit(tid, "arrived")  # the engineer still arrives: recorded, the clock stays stopped
    li.visit(tid, "left")
    with pytest.raises(Refused, match="reopen it"):
        li.visit(tid, "dispatched")


def test_onsite_target_in_the_policy() -> None:
    policy = default_policy()
    assert all(policy.resolve(p)[1].onsite == 60 for p in ("P1", "P2", "P3", "P4"))
    text = default_policy_toml()
    # left out of a rule, it is still the standards' hour; "none" removes it; an override may set it
    without = load_policy_toml(text.replace("onsite = 60\n", ""))
    assert without.resolve("P3")[1].onsite == 60
    removed = load_policy_toml(text.replace("onsite = 60\n", 'onsite = "none"\n'))
    assert removed.resolve("P3")[1].onsite is None
    assert json.loads(removed.to_json())["priorities"]["P3"]["onsite"] == "none"  # kept through storage
    assert type(removed).from_json(removed.to_json()).resolve("P3")[1].onsite is None
    gold = load_policy_toml(text + "\n[tiers.gold]\nonsite = 30\n")
    assert gold.resolve("P3", None, "gold")[1].onsite == 30
    with pytest.raises(PolicyError, match="onsite"):
        load_policy_toml(text.replace("onsite = 60", "onsite = -5", 1))


# -- 3. priority -------------------------------------------------------------------------------------------


def test_priority_change_recomputes_the_targets_and_is_audited(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P3")
    li.assign(tid)
    clock.advance(minutes=10)
    before = li.ticket(tid)
    assert clocks(li, tid)["first_response"] == ("running", 240)
    t = li.change_priority(tid, "P1", "the whole site is down now")
    assert t.priority == "P1" and t.version == before.version + 1
    assert clocks(li, tid)["first_response"] == ("running", 30)  # 24x7, measured from creation
    assert t.sla_due == (T0 + timedelta(minutes=30)).timestamp() and t.sla_due != before.sla_due
    event = li.store.events(tid)[-1]
    assert (event.kind, event.from_value, event.to_value) == ("priority_changed", "P3", "P1")
    assert event.detail["from"] == "P3" and event.detail["to"] == "P1"
    assert event.detail["reason"] == "the whole site is down now"
    assert event.detail["changes"] == {"priority": ["P3", "P1"]}
    assert li.check() == []  # priority is tracked: the replay agrees


def test_who_may_change_the_priority(team: Team) -> None:
    li, ann, kai, sue = team("li.wei"), team("ann"), team("kai"), team("sue")
    unassigned = ticket(li)
    with pytest.raises(PermissionDenied, match="owner or a supervisor"):
        li.change_priority(unassigned, "P2", "x")  # workable, but not theirs
    assert sue.change_priority(unassigned, "P2", "VIP caller").priority == "P2"
    owned = ticket(li)
    li.assign(owned)
    for other in (ann, kai):
        with pytest.raises(PermissionDenied):
            other.change_priority(owned, "P1", "x")
    assert li.change_priority(owned, "P4", "cosmetic only").priority == "P4"
    with pytest.raises(Refused, match="already P4"):
        li.change_priority(owned, "P4", "again")
    with pytest.raises(BadInput):
        li.change_priority(owned, "P0", "x")
    with pytest.raises(BadInput):
        li.change_priority(owned, "P2", " ")
    closable(li, owned)
    with pytest.raises(Refused):
        li.change_priority(owned, "P1", "too late")  # a finished ticket keeps the priority it was worked at


# -- 4. the default policy and `policy show` ------------------------------------------------------------------


def test_the_default_policy_carries_the_standards_numbers() -> None:
    policy = default_policy()
    for priority in ("P1", "P2", "P3", "P4"):
        assert policy.resolve(priority, "phone")[1].first_response == 30  # 30-minute call back
        assert (policy.resolve(priority, "email")[1].first_response or 0) in range(1, 241)  # e-mail within 4 h
        assert policy.resolve(priority)[1].onsite == 60  # on site within the hour
    cal, targets = policy.resolve("P1", "phone")
    assert cal.name == "24x7" and targets.first_response == 30  # urgent faults: around the clock
    assert policy.resolve("P4", "email")[1].first_response == 240
    assert all(policy.resolve(p)[1].resolve == 1440 for p in ("P1", "P2", "P3"))  # a solution within 24 hours
    assert policy.settings.followup_max_days == 14


def test_policy_show_lists_the_overrides(seeded: Cli, tmp_path: Path) -> None:
    r = seeded("policy", "show")
    assert r.code == 0, r.err
    assert "Channel phone" in r.out and "Channel email" in r.out and "On site" in r.out
    assert "30 min *" in r.out  # the phone override's call back, marked as set by it
    assert "14 days" in r.out
    data = seeded("policy", "show", "--json").json()
    assert data["channels"]["phone"] == {"first_response": 30}
    assert data["effective"]["channels"]["phone"]["P3"]["first_response"] == 30
    assert data["effective"]["channels"]["email"]["P4"]["first_response"] == 240
    assert data["effective"]["priorities"]["P1"]["onsite"] == 60
    gold = tmp_path / "gold.toml"
    gold.write_text(default_policy_toml() + '\n[tiers.gold]\ncalendar = "24x7"\n', encoding="utf-8")
    assert seeded("policy", "load", str(gold)).code == 0
    r = seeded("policy", "show")
    assert "Customer tier gold" in r.out and "24x7 *" in r.out
    assert seeded("policy", "show", "--json").json()["effective"]["tiers"]["gold"]["P3"]["calendar"] == "24x7"


def test_policy_settings_are_checked() -> None:
    text = default_policy_toml()
    with pytest.raises(PolicyError, match="followup_max_days"):
        load_policy_toml(text.replace("followup_max_days = 14", "followup_max_days = 0"))
    assert (
        load_policy_toml(text.replace("followup_max_days = 14", "followup_max_days = 30")).settings.followup_max_days
        == 30
    )


# -- 5. closure preconditions ----------------------------------------------------------------------------------


def test_only_a_restored_or_resolved_ticket_closes(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    args: dict[str, object] = {"summary": "x", "unconfirmed_reason": "no answer"}
    with pytest.raises(Refused, match="new: resolve it"):
        li.close(tid, **args)  # type: ignore[arg-type]
    li.reply(tid, "On it.")
    li.pending(tid)
    with pytest.raises(Refused, match="resolve it"):
        li.close(tid, **args)  # type: ignore[arg-type]
    li.resume(tid)
    li.restore(tid, "spare printer in place")
    assert li.close(tid, **args).status == "closed"  # type: ignore[arg-type]


def test_closing_needs_the_customer_reached(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    li.note(tid, "Fixed from the print server.")
    li.resolve(tid, "queue restarted")
    with pytest.raises(Refused, match="never reached the customer"):
        li.close(tid, summary="x", unconfirmed_reason="no answer")
    assert li.ticket(tid).status == "resolved"
    li.log_call(tid, "in", "Customer called: it prints again.")  # a call either way is contact
    t = li.close(tid, summary="x", confirmed=True, confirmed_by="phone", asked_anything_else=True)
    assert t.status == "closed" and t.confirmed_by == "phone"


def test_confirmation_says_how(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    closable(li, tid)
    with pytest.raises(BadInput, match="--confirmed-by"):
        li.close(tid, summary="x", confirmed=True, asked_anything_else=True)
    with pytest.raises(BadInput, match="one of"):
        li.close(tid, summary="x", confirmed=True, confirmed_by="pigeon", asked_anything_else=True)
    with pytest.raises(BadInput, match="goes with --confirmed"):
        li.close(tid, summary="x", confirmed_by="phone", unconfirmed_reason="no answer")
    t = li.close(tid, summary="x", confirmed=True, confirmed_by="onsite", asked_anything_else=True)
    assert (t.confirmed, t.confirmed_by) == (True, "onsite")
    event = li.store.events(tid)[-1]
    assert event.detail["confirmed_by"] == "onsite"


def test_the_followup_date_is_after_the_closing_day_and_within_policy(team: Team, clock: FrozenClock) -> None:
    li, boss = team("li.wei"), team("boss")
    tid = ticket(li, "P1")
    closable(li, tid)
    today = clock.now.astimezone(SH).date()  # the team's day (Asia/Shanghai in the default policy)
    close = {"summary": "x", "unconfirmed_reason": "no answer"}
    for day, match in (
        (today - timedelta(days=365 * 6), "after the closing day"),
        (today, "after the closing day"),
        (today + timedelta(days=15), "more than 14 days"),
    ):
        with pytest.raises(BadInput, match=match):
            li.close(tid, followup=day, **close)  # type: ignore[arg-type]
    assert li.ticket(tid).status == "resolved"
    t = li.close(tid, followup=today + timedelta(days=14), **close)  # type: ignore[arg-type]
    assert t.followup_due == (today + timedelta(days=14)).isoformat()
    # the bound is the policy's
    boss.load_policy(default_policy_toml().replace("followup_max_days = 14", "followup_max_days = 3"))
    other = ticket(li, "P2")
    closable(li, other)
    with pytest.raises(BadInput, match="more than 3 days"):
        li.close(other, followup=today + timedelta(days=4), **close)  # type: ignore[arg-type]


def test_closure_preconditions_on_the_cli(seeded: Cli) -> None:
    r = seeded("ticket", "new", "--subject", "x", "--customer", "Acme", "--priority", "P2", "--json", actor="li.wei")
    tid = str(r.json()["id"])
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    close = ("ticket", "close", tid, "--summary", "fixed", "--asked-anything-else", "--followup", tomorrow)
    r = seeded(*close, "--confirmed", "--confirmed-by", "phone", actor="li.wei")
    assert r.code == 1 and "resolve it" in r.err and r.err.count("\n") == 1
    assert seeded("ticket", "resolve", tid, "--summary", "fixed", actor="li.wei").code == 0
    r = seeded(*close, "--confirmed", "--confirmed-by", "phone", actor="li.wei")
    assert r.code == 1 and "never reached the customer" in r.err
    assert (
        seeded("ticket", "call", tid, "--direction", "out", "--notes", "confirmed by phone", actor="li.wei").code == 0
    )
    r = seeded(*close, "--confirmed", actor="li.wei")
    assert r.code == 2 and "--confirmed-by" in r.err
    assert seeded(*close, "--confirmed", "--confirmed-by", "fax", actor="li.wei").code == 2
    r = seeded("ticket", "close", tid, "--summary", "x", "--unconfirmed-reason", "n", "--followup", "2020-01-01")
    assert r.code == 2 and "after the closing day" in r.err
    r = seeded(*close, "--confirmed", "--confirmed-by", "phone", "--json", actor="li.wei")
    assert r.code == 0, r.err
    assert r.json()["resolution"]["confirmed_by"] == "phone"
    shown = seeded("ticket", "show", tid)
    assert "Closed: the customer confirmed by phone" in shown.out


def test_satisfaction_only_for_a_ticket_with_a_customer(seeded: Cli) -> None:
    tid = str(seeded("ticket", "new", "--subject", "toner low", "--json", actor="li.wei").json()["id"])
    for argv in (
        ("call", tid, "--direction", "out", "--notes", "rang the front desk"),
        ("resolve", tid, "--summary", "toner replaced"),
        ("close", tid, "--summary", "toner replaced", "--unconfirmed-reason", "nobody reported it"),
    ):
        assert seeded("ticket", *argv, actor="li.wei").code == 0
    r = seeded("csat", tid, "5")
    assert r.code == 1 and "no customer" in r.err


# -- 6. handover ---------------------------------------------------------------------------------------------


def test_the_notes_parts_must_each_be_filled(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    li.assign(tid)
    li.reply(tid, "Our second line takes over and calls you today.")
    template = handover.template("Printer offline", "Acme Ops, ops@acme.test")
    with pytest.raises(BadInput, match="what was already tried, the business impact, what the customer was told"):
        li.escalate(tid, "L2", "needs the print server", template)  # the headings, left blank
    with pytest.raises(BadInput, match="business impact"):
        li.escalate(tid, "L2", "x", "Steps already tried: restart\nBusiness impact:\nCustomer told: L2 calls")
    with pytest.raises(BadInput, match="what was already tried"):
        li.escalate(tid, "L2", "x", "free text says it all")
    assert kinds(li, tid)[-1] == "reply"  # refusals leave no trace
    # the template filled in, in Chinese, with full-width colons
    t = li.escalate(
        tid,
        "L2",
        "需要打印服务器权限",
        "现象：脱机\n已尝试的步骤：重启后台处理\n业务影响：三楼无法打印\nCustomer told: 二线今天联系",
    )
    assert t.tier == "L2"
    event = li.store.events(tid)[-1]
    assert (event.detail["tried"], event.detail["impact"], event.detail["told"]) == (
        "重启后台处理",
        "三楼无法打印",
        "二线今天联系",
    )


def test_separate_parts_are_written_into_the_notes(team: Team) -> None:
    li = team("li.wei")
    tid = ticket(li)
    li.assign(tid)
    li.log_call(tid, "out", "Told them L2 takes over.")
    li.escalate(tid, "L2", "print server", "Symptoms: offline", tried="restart", impact="one floor", told="L2 calls")
    note = li.store.messages(tid)[-1]
    assert note.kind == "note"
    for line in (
        "Symptoms: offline",
        "Steps already tried: restart",
        "Business impact: one floor",
        "Customer told: L2 calls",
    ):
        assert line in note.body


def test_the_customer_must_be_told_since_the_last_handover(team: Team, clock: FrozenClock) -> None:
    li, kai, sue = team("li.wei"), team("kai"), team("sue")
    tid = ticket(li)
    li.reply(tid, "Looking into it.")  # before anyone took it
    li.assign(tid)  # the ticket changed hands: that reply told of nobody taking over
    with pytest.raises(Refused, match="tell the customer who takes over first"):
        li.escalate(tid, "L2", "x", HANDOFF)
    li.log_call(tid, "in", "Customer asks for news.")  # their call is not our telling
    with pytest.raises(Refused, match="tell the customer"):
        li.escalate(tid, "L2", "x", HANDOFF)
    li.log_call(tid, "out", "Told the customer L2 takes over today.")
    li.escalate(tid, "L2", "x", HANDOFF)
    kai.assign(tid)
    kai.reply(tid, "Kai from L2 here; I have your ticket.")
    clock.advance(minutes=1)
    kai.escalate(tid, "L3", "vendor bug", HANDOFF, notice="Zoe's team (L3) takes over; she calls you by 17:00.")
    with pytest.raises(Refused, match="tell the customer"):
        sue.escalate(tid, "zoe", "name her", HANDOFF)  # the notice told of the last handover, not this one


def test_the_notice_is_a_public_reply_in_the_same_change(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P2")
    li.assign(tid)
    clock.advance(minutes=10)
    before = li.store.count_events()
    t = li.escalate(tid, "L2", "print server", tried="restart", impact="floor 3", notice="Our L2 team calls you today.")
    assert li.store.count_events() == before + 1  # one change, one event
    assert t.public_replies == 1 and t.tier == "L2"
    reply, note = li.store.messages(tid)
    assert (reply.kind, reply.body) == ("reply", "Our L2 team calls you today.")
    assert note.kind == "note" and "Customer told: Our L2 team calls you today." in note.body
    event = li.store.events(tid)[-1]
    assert event.detail["notice"] is True and event.detail["told"] == "Our L2 team calls you today."
    assert clocks(li, tid)["first_response"][0] == "met"  # the notice answered the customer
    assert li.check() == []


def test_escalation_on_the_cli(seeded: Cli) -> None:
    assert seeded("agent", "add", "kai", "--tier", "L2").code == 0
    tid = str(seeded("ticket", "new", "--subject", "x", "--customer", "Acme", "--json", actor="li.wei").json()["id"])
    assert seeded("ticket", "assign", tid, actor="li.wei").code == 0
    esc = ("ticket", "escalate", tid, "--to", "L2", "--reason", "print server")
    r = seeded(*esc, "--notes", "tried things", actor="li.wei")
    assert r.code == 2 and "business impact" in r.err and r.err.count("\n") == 1
    r = seeded(*esc, "--tried", "restart", "--impact", "one floor", "--told", "L2 calls", actor="li.wei")
    assert r.code == 1 and "tell the customer who takes over first" in r.err
    r = seeded(
        *esc, "--tried", "restart", "--impact", "one floor", "--notice", "L2 calls you today.", "--json", actor="li.wei"
    )
    assert r.code == 0, r.err
    data = r.json()
    assert data["tier"] == "L2" and [m["kind"] for m in data["messages"]] == ["reply", "note"]


# -- 7. follow-ups due ------------------------------------------------------------------------------------------


def test_followups_due_for_the_console(team: Team, clock: FrozenClock) -> None:
    li = team("li.wei")
    tid = ticket(li, "P1")
    closable(li, tid)
    due = clock.now.astimezone(SH).date() + timedelta(days=2)
    li.close(tid, summary="x", unconfirmed_reason="no answer", followup=due)
    assert li.followups_due() == []
    assert [f.id for f in li.followups_due(due)] == [tid]
    clock.advance(days=2)
    assert [f.id for f in li.followups_due()] == [tid]


# -- storage ---------------------------------------------------------------------------------------------------


def test_the_confirmation_channel_is_a_checked_column(team: Team, db_path: Path) -> None:
    li = team("li.wei")
    tid = ticket(li)
    closable(li, tid)
    li.close(tid, summary="x", confirmed=True, confirmed_by="chat", asked_anything_else=True)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT confirmed_by FROM tickets WHERE id = ?", [tid]).fetchone() == ("chat",)
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE tickets SET confirmed_by = 'pigeon' WHERE id = ?", [tid])
    finally:
        conn.close()


def test_the_standards_ticket_through_the_cli(seeded: Cli) -> None:
    """A hotline fault end to end: call back, dispatch, arrive, leave, raise the priority, resolve, close."""
    r = seeded(
        "ticket",
        "new",
        "--subject",
        "Plotter dead",
        "--customer",
        "Acme",
        "--channel",
        "phone",
        "--json",
        actor="li.wei",
    )
    tid = str(r.json()["id"])
    assert r.json()["sla"]["first_response"]["target_min"] == 30
    steps = (
        ("assign", tid),
        ("call", tid, "--direction", "out", "--notes", "-"),
        ("visit", tid, "dispatched", "--notes", "Wang goes"),
        ("visit", tid, "arrived"),
        ("priority", tid, "P2", "--reason", "the print room is stopped"),
        ("visit", tid, "left"),
        ("resolve", tid, "--summary", "board replaced"),
    )
    for argv in steps:
        r = seeded("ticket", *argv, "--json", actor="li.wei", stdin="Called back within minutes.")
        assert r.code == 0, (argv, r.err)
    data = r.json()
    assert data["priority"] == "P2" and data["sla"]["onsite"]["state"] == "met"
    assert data["sla"]["first_response"]["state"] == "met"
    assert [e["kind"] for e in data["events"]][-7:] == [
        "assigned",
        "call",
        "visit",
        "visit",
        "priority_changed",
        "visit",
        "resolved",
    ]
    assert seeded("ticket", "visit", tid, "arrived", actor="li.wei").code == 1
    assert seeded("ticket", "visit", tid, "teleported", actor="li.wei").code == 2
    assert seeded("ticket", "call", tid, "--direction", "up", "--notes", "x", actor="li.wei").code == 2
    assert seeded("ticket", "priority", tid, "P9", "--reason", "x", actor="li.wei").code == 2
    assert seeded("ticket", "priority", tid, "P1", actor="li.wei").code == 2  # --reason is required
    assert seeded("check").code == 0
