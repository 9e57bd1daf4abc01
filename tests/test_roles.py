"""Roles: agent, supervisor, admin. Each rule is enforced below the CLI and the console (in the service, or for the
wallboard at the one place both open it), so each is tested once through the service and once through the CLI."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from console.rules.errors import PermissionDenied
from console.rules.policy import default_policy_toml
from console.service.helpdesk import HelpdeskService
from tests.conftest import Result

Team = Callable[[str], HelpdeskService]
Cli = Callable[..., Result]


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    """The CLI on a database with admin boss, supervisor sue (L2), agents li.wei and ann (L1)."""
    assert cli("init", "--admin", "boss", actor=None).code == 0
    for name, role, tier in (("sue", "supervisor", "L2"), ("li.wei", "agent", "L1"), ("ann", "agent", "L1")):
        assert cli("agent", "add", name, "--role", role, "--tier", tier).code == 0
    return cli


def cli_ticket(cli: Cli, owner: str | None = None) -> str:
    r = cli("ticket", "new", "--subject", "Laptop will not boot", "--customer", "Acme", "--json", actor="li.wei")
    assert r.code == 0, r.err
    tid = str(r.json()["id"])
    if owner:
        assert cli("ticket", "assign", tid, actor=owner).code == 0
    return tid


def denied(r: Result) -> None:
    assert r.code == 3, (r.code, r.err)
    assert r.err.count("\n") == 1 and "Traceback" not in r.err


# -- reassigning others' tickets: supervisors and admins ---------------------------------------------------


def test_service_only_supervisors_and_admins_reassign_others_tickets(team: Team) -> None:
    li, ann, sue, boss = team("li.wei"), team("ann"), team("sue"), team("boss")
    tid = li.create_ticket("Laptop will not boot", customer="Acme").id
    li.assign(tid)
    for attempt in (
        lambda: ann.assign(tid),  # take it
        lambda: ann.assign(tid, to="kai"),  # hand it on
        lambda: li.assign(tid, to="ann"),  # even the owner cannot give it away
        lambda: ann.escalate(tid, "zoe", "needs L3", tried="safe mode", impact="one user", notice="L3 takes over"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert li.ticket(tid).assignee == "li.wei"
    assert [e.kind for e in li.store.events(tid)] == ["created", "assigned"]  # refusals leave no trace
    assert sue.assign(tid, to="ann").assignee == "ann"
    assert boss.assign(tid, to="li.wei").assignee == "li.wei"
    t = sue.escalate(tid, "zoe", "needs L3", tried="safe mode", impact="one user", notice="Zoe (L3) takes over.")
    assert t.assignee == "zoe"


def test_cli_only_supervisors_and_admins_reassign_others_tickets(seeded: Cli) -> None:
    tid = cli_ticket(seeded, owner="li.wei")
    denied(seeded("ticket", "assign", tid, actor="ann"))
    denied(seeded("ticket", "assign", tid, "--to", "ann", actor="li.wei"))
    denied(
        seeded(
            "ticket", "escalate", tid, "--to", "sue", "--reason", "r", "--tried", "t", "--impact", "i",
            "--notice", "Sue takes over.", actor="ann",
        )
    )  # fmt: skip
    assert seeded("ticket", "show", tid, "--json").json()["assignee"] == "li.wei"
    assert seeded("ticket", "assign", tid, "--to", "ann", actor="sue").code == 0
    assert seeded("ticket", "assign", tid, "--to", "li.wei", actor="boss").code == 0
    assert seeded("ticket", "show", tid, "--json").json()["assignee"] == "li.wei"


# -- publishing knowledge drafts: supervisors and admins -------------------------------------------------


def test_service_only_supervisors_and_admins_publish_drafts(team: Team) -> None:
    li, sue, boss = team("li.wei"), team("sue"), team("boss")
    first = li.add_article("Reset a VPN token", "Steps…")
    second = li.add_article("Clear the Outlook cache", "Steps…")
    assert first.status == "draft" and second.status == "draft"  # an agent's article waits for review
    with pytest.raises(PermissionDenied, match=r"li\.wei is agent"):
        li.publish_article(first.id)
    assert li.article(first.id).status == "draft"
    assert sue.publish_article(first.id).status == "published"
    assert boss.publish_article(second.id).status == "published"


def test_cli_only_supervisors_and_admins_publish_drafts(seeded: Cli) -> None:
    for tid in (cli_ticket(seeded), cli_ticket(seeded)):
        assert seeded("ticket", "call", tid, "--direction", "out", "--notes", "RAM reseated", actor="li.wei").code == 0
        assert seeded("ticket", "resolve", tid, "--summary", "reseated RAM", actor="li.wei").code == 0
        r = seeded(
            "ticket", "close", tid, "--summary", "reseated RAM", "--confirmed", "--confirmed-by", "phone",
            "--asked-anything-else", "--kb-needed", actor="li.wei",
        )  # fmt: skip
        assert r.code == 0, r.err
    drafts = [d["id"] for d in seeded("kb", "drafts", "--json").json()]
    assert len(drafts) == 2
    denied(seeded("kb", "publish", str(drafts[0]), actor="li.wei"))
    assert len(seeded("kb", "drafts", "--json").json()) == 2
    assert seeded("kb", "publish", str(drafts[0]), actor="sue").code == 0
    assert seeded("kb", "publish", str(drafts[1]), actor="boss").code == 0
    assert seeded("kb", "drafts", "--json").json() == []


# -- unmasked customer data on the wallboard: supervisors and admins ---------------------------------------


@pytest.fixture
def no_screen(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The console is built and opens its service, but takes no screen: what it would show is recorded instead."""
    from console.cli import common
    from console.tui.app import HelpdeskApp

    shown: list[bool] = []

    def run(self: HelpdeskApp, *args: object, **kwargs: object) -> None:
        if self.open_service():
            shown.append(self.show_customers)

    monkeypatch.setattr(HelpdeskApp, "run", run)
    monkeypatch.setattr(common, "has_terminal", lambda: True)  # pytest's streams are not one
    return shown


def test_service_only_supervisors_and_admins_see_customers_on_the_wallboard(
    team: Team, db_path: Path, no_screen: list[bool]
) -> None:
    """The check sits in the service, where the console and the `wallboard` command both open the board."""
    from console.cli.common import run_console

    team("li.wei").create_ticket("Printer jam", customer="王芳", email="wang.fang@example.cn", priority="P1")

    def board(actor: str, show: bool) -> int:
        args = argparse.Namespace(db=str(db_path), actor=actor, wallboard=True, show_customers=show, json=False)
        return run_console(args)

    with pytest.raises(PermissionDenied, match="only supervisors and admins"):
        board("li.wei", True)
    assert board("li.wei", False) == 0
    assert board("sue", True) == 0 and board("boss", True) == 0
    assert no_screen == [False, True, True]


def test_wallboard_masks_customers_unless_asked(team: Team) -> None:
    from console.service.wallboard import snapshot

    li = team("li.wei")
    li.create_ticket("Printer jam", customer="王芳", email="wang.fang@example.cn", priority="P1")
    now = li.clock()
    masked = snapshot(li, now, show_customers=False).urgent[0]
    assert "王芳" not in masked.customer and "wang.fang@example.cn" not in masked.contact
    shown = snapshot(team("sue"), now, show_customers=True).urgent[0]
    assert (shown.customer, shown.contact) == ("王芳", "wang.fang@example.cn")


def test_cli_only_supervisors_and_admins_see_customers_on_the_wallboard(seeded: Cli, no_screen: list[bool]) -> None:
    denied(seeded("wallboard", "--show-customers", actor="li.wei"))
    assert seeded("wallboard", actor="li.wei").code == 0
    assert seeded("wallboard", "--show-customers", actor="sue").code == 0
    assert seeded("wallboard", "--show-customers", actor="boss").code == 0
    assert no_screen == [False, True, True]


# -- adding agents: admins ----------------------------------------------------------------------------------


def test_service_only_admins_add_agents(team: Team) -> None:
    for name in ("li.wei", "sue"):
        with pytest.raises(PermissionDenied, match="needs admin"):
            team(name).add_agent("mallory", "admin", "L3")
    assert team("boss").store.get_agent("mallory") is None
    assert team("boss").add_agent("neo", "agent", "L1").role == "agent"


def test_cli_only_admins_add_agents(seeded: Cli) -> None:
    denied(seeded("agent", "add", "mallory", "--role", "admin", actor="li.wei"))
    denied(seeded("agent", "add", "mallory", "--role", "admin", actor="sue"))
    assert "mallory" not in {a["name"] for a in seeded("agent", "list", "--json").json()}
    assert seeded("agent", "add", "neo", actor="boss").code == 0


# -- loading policies: admins -------------------------------------------------------------------------------


def test_service_only_admins_load_policies(team: Team) -> None:
    boss = team("boss")
    before = boss.policy().to_json()
    for name in ("li.wei", "sue"):
        with pytest.raises(PermissionDenied, match="needs admin"):
            team(name).load_policy(default_policy_toml())
    assert boss.store.events_between(None, None, ["policy_loaded"]) == []
    assert boss.policy().to_json() == before
    boss.load_policy(default_policy_toml())
    assert len(boss.store.events_between(None, None, ["policy_loaded"])) == 1


def test_cli_only_admins_load_policies(seeded: Cli, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(default_policy_toml(), encoding="utf-8")
    before = seeded("policy", "show", "--json").json()
    denied(seeded("policy", "load", str(policy), actor="li.wei"))
    denied(seeded("policy", "load", str(policy), actor="sue"))
    assert seeded("policy", "show", "--json").json() == before
    assert seeded("policy", "load", str(policy), actor="boss").code == 0


# -- an unknown name has no role at all ---------------------------------------------------------------------


def test_an_unregistered_name_can_do_nothing(team: Team, cli: Cli) -> None:
    with pytest.raises(PermissionDenied, match="unknown agent ghost"):
        team("ghost").create_ticket("x")
    denied(cli("ticket", "new", "--subject", "x", actor="ghost"))
    denied(cli("agent", "add", "ghost2", actor="ghost"))
