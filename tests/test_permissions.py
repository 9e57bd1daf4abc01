"""Who may act on a ticket, decided by the service for the console and the CLI alike: plain agents work their own
tickets and the unassigned tickets of their tier; taking an unassigned ticket is the way in; supervisors and admins
may act on any ticket. Recording what the customer said and internal notes are open to every agent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from console.rules.errors import PermissionDenied
from console.service.helpdesk import HelpdeskService
from tests.conftest import Result

Team = Callable[[str], HelpdeskService]
Cli = Callable[..., Result]

# Each action a plain agent may take on a workable ticket, as (name, call) on a fresh open ticket.
Action = Callable[[HelpdeskService, int], object]
ACTIONS: list[tuple[str, Action]] = [
    ("reply", lambda s, t: s.reply(t, "We are on it.")),
    ("pending", lambda s, t: s.pending(t)),
    (
        "escalate",
        lambda s, t: s.escalate(
            t, "L3", "needs the vendor", tried="reboot", impact="one user", notice="Our L3 team takes over today."
        ),
    ),
    ("restore", lambda s, t: s.restore(t, "spare laptop handed over")),
    ("resolve", lambda s, t: s.resolve(t, "disk replaced")),
    ("call", lambda s, t: s.log_call(t, "out", "Called back: the disk clicks.")),
    ("visit", lambda s, t: s.visit(t, "dispatched", "Engineer on the way with a spare disk.")),
]


def open_ticket(svc: HelpdeskService, tier: str = "L1", owner: str | None = None) -> int:
    tid = svc.create_ticket("Laptop will not boot", customer="Acme", tier=tier).id
    if owner is not None:
        svc.assign(tid, to=owner)
    return tid


@pytest.mark.parametrize(("action", "call"), ACTIONS, ids=[a for a, _c in ACTIONS])
def test_a_plain_agent_may_not_act_on_another_agents_ticket(team: Team, action: str, call: Action) -> None:
    sue, ann = team("sue"), team("ann")
    tid = open_ticket(sue, owner="li.wei")
    before = [e.kind for e in sue.store.events(tid)]
    with pytest.raises(PermissionDenied, match=r"assigned to li\.wei; only li\.wei or a supervisor"):
        call(ann, tid)
    assert [e.kind for e in sue.store.events(tid)] == before  # a refusal leaves no trace
    call(team("li.wei"), tid)  # the owner may


@pytest.mark.parametrize(("action", "call"), ACTIONS, ids=[a for a, _c in ACTIONS])
def test_a_plain_agent_may_not_act_on_an_unassigned_ticket_of_a_higher_tier(
    team: Team,
    action: str,
    call: Action,
) -> None:
    sue = team("sue")
    tid = open_ticket(sue, tier="L2")
    with pytest.raises(PermissionDenied, match=r"is at L2 \(li\.wei works L1\); an L2 agent or a supervisor"):
        call(team("li.wei"), tid)
    call(team("kai"), tid)  # an L2 agent may


@pytest.mark.parametrize(("action", "call"), ACTIONS, ids=[a for a, _c in ACTIONS])
def test_supervisors_and_admins_act_on_any_ticket(team: Team, action: str, call: Action) -> None:
    for name in ("sue", "boss"):
        tid = open_ticket(team("sue"), tier="L2", owner="kai")
        call(team(name), tid)


def test_unassigned_tickets_of_the_agents_tier_or_below_are_workable(team: Team) -> None:
    kai = team("kai")  # L2
    l1 = open_ticket(team("sue"), tier="L1")
    assert kai.reply(l1, "On it.").public_replies == 1
    assert kai.assign(l1).assignee == "kai"  # taking it is the way in


def test_closing_and_reopening_follow_the_same_rule(team: Team) -> None:
    sue, li, ann = team("sue"), team("li.wei"), team("ann")
    tid = open_ticket(sue, owner="li.wei")
    li.reply(tid, "The disk is replaced; please check.")
    li.resolve(tid, "disk replaced")
    with pytest.raises(PermissionDenied):
        ann.close(tid, summary="done", unconfirmed_reason="no answer")
    li.close(tid, summary="done", unconfirmed_reason="no answer")
    with pytest.raises(PermissionDenied):
        ann.reopen(tid, "customer called")
    assert sue.reopen(tid, "customer called").status == "open"


def test_notes_and_customer_messages_are_open_to_every_agent(team: Team) -> None:
    """Recording what the customer said, or a colleague's internal note, changes no ownership."""
    sue, ann = team("sue"), team("ann")
    tid = open_ticket(sue, tier="L2", owner="kai")
    assert ann.note(tid, "Customer also mentioned the docking station.").assignee == "kai"
    assert ann.customer_reply(tid, "It beeps three times now.").assignee == "kai"


def test_the_cli_asks_the_same_rule(cli: Cli) -> None:
    assert cli("init", "--admin", "boss", actor=None).code == 0
    for name, role, tier in (("sue", "supervisor", "L2"), ("li.wei", "agent", "L1"), ("ann", "agent", "L1")):
        assert cli("agent", "add", name, "--role", role, "--tier", tier).code == 0
    r = cli("ticket", "new", "--subject", "VPN down", "--customer", "Acme", "--json", actor="li.wei")
    tid = str(r.json()["id"])
    assert cli("ticket", "assign", tid, actor="li.wei").code == 0
    for argv in (("reply", tid, "--body", "hi"), ("pending", tid), ("resolve", tid, "--summary", "fixed")):
        r = cli("ticket", *argv, actor="ann")
        assert r.code == 3, r.err
        assert r.err.count("\n") == 1 and "only li.wei or a supervisor may act on it" in r.err
    assert cli("ticket", "note", tid, "--body", "seen it too", actor="ann").code == 0
    r = cli(
        "ticket", "escalate", tid, "--to", "L2", "--reason", "vendor", "--notes", "tried x", "--tried", "x",
        "--impact", "one office", "--notice", "Our L2 team takes over.", actor="li.wei",
    )  # fmt: skip
    assert r.code == 0, r.err
    r = cli("ticket", "reply", tid, "--body", "hi", actor="li.wei")  # now an L2 ticket, unassigned
    assert r.code == 3 and "is at L2 (li.wei works L1)" in r.err
    assert cli("ticket", "reply", tid, "--body", "hi", actor="sue").code == 0
