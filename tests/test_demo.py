"""Demo data: volume, variety, SLA situations, real histories, determinism, idempotence, bulk fill."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.demo.seed import bulk_fill, ensure_demo
from console.service.helpdesk import HelpdeskService
from db.models import Ticket

# A Wednesday afternoon in Shanghai; the demo must look alive at any instant, this one is just frozen.
NOW = datetime(2026, 3, 4, 6, 30, tzinfo=UTC)
OPEN_RUNNING = ("new", "open", "restored")


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def snapshot(service: HelpdeskService) -> dict[str, Any]:
    """Everything a user can see: export records, every ticket's events and messages, agents, customers."""
    events = []
    messages = []
    for ticket in service.store.all_tickets():
        events += [
            (e.ticket_id, e.actor, e.at, e.kind, e.from_value, e.to_value, e.detail)
            for e in service.store.events(ticket.id)
        ]
        messages += [(m.ticket_id, m.kind, m.author, m.body, m.created_at) for m in service.store.messages(ticket.id)]
    return {
        "records": service.export_records(),
        "events": events,
        "messages": messages,
        "agents": [a.model_dump() for a in service.agents()],
        "customers": [c.model_dump() for c in service.store.list_customers()],
        "articles": [a.model_dump() for a in service.store.list_articles()],
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HelpdeskService, dict[str, object], float]]:
    service = HelpdeskService.open(tmp_path_factory.mktemp("demo") / "d.db", "tester", create=True)
    started = time.perf_counter()
    summary = ensure_demo(service, seed=7, now=NOW)
    elapsed = time.perf_counter() - started
    yield service, summary, elapsed
    service.shutdown()


@pytest.fixture(scope="module")
def tickets(demo: tuple[HelpdeskService, dict[str, object], float]) -> list[Ticket]:
    return list(demo[0].store.all_tickets())


def events_of(service: HelpdeskService, ticket: Ticket) -> list[str]:
    return [e.kind for e in service.store.events(ticket.id)]


def test_summary_and_volume(demo: tuple[HelpdeskService, dict[str, object], float], tickets: list[Ticket]) -> None:
    service, summary, elapsed = demo
    assert summary["created"] is True
    assert summary["agent"] == "tester"
    assert summary["db"] == str(service.store.path)
    assert summary["tickets"] == len(tickets)
    assert 250 <= len(tickets) <= 400
    assert elapsed < 20  # a few seconds normally; the bound only catches a runaway


def test_statuses_priorities_channels_and_languages(tickets: list[Ticket]) -> None:
    statuses = Counter(t.status for t in tickets)
    assert set(statuses) == {"new", "open", "pending", "restored", "resolved", "closed"}
    priorities = Counter(t.priority for t in tickets)
    assert set(priorities) == {"P1", "P2", "P3", "P4"}
    assert priorities["P1"] < 0.05 * len(tickets)  # P1 is rare
    assert priorities["P3"] > priorities["P2"] > priorities["P1"]
    assert set(Counter(t.channel for t in tickets)) == {"phone", "email", "chat", "web", "onsite"}
    chinese = sum(has_cjk(t.subject) for t in tickets)
    assert 0.35 * len(tickets) <= chinese <= 0.65 * len(tickets)


def test_open_queue_has_breached_at_risk_running_and_paused_clocks(tickets: list[Ticket]) -> None:
    now = NOW.timestamp()
    running = [t for t in tickets if t.status in OPEN_RUNNING]
    breached = [t for t in running if t.sla_due is not None and t.sla_due <= now]
    ahead = [t for t in running if t.sla_due is not None and t.sla_due > now]
    at_risk = [t for t in ahead if t.sla_warn is not None and t.sla_warn <= now]
    assert len(breached) >= 10
    assert len(ahead) >= 30
    assert len(at_risk) >= 5
    assert len(ahead) - len(at_risk) > len(breached)  # most clocks are simply running
    pending = [t for t in tickets if t.status == "pending"]
    assert pending
    assert all(t.sla_due is None and t.sla_paused_remaining is not None for t in pending)


def test_every_ticket_equals_the_replay_of_its_events(demo: tuple[HelpdeskService, dict[str, object], float]) -> None:
    assert demo[0].check() == []


def test_escalations_carry_reason_and_handoff_notes(
    demo: tuple[HelpdeskService, dict[str, object], float], tickets: list[Ticket]
) -> None:
    service = demo[0]
    escalated = [t for t in tickets if t.tier in ("L2", "L3")]
    assert len(escalated) >= 30
    assert any(t.tier == "L3" for t in escalated)
    for ticket in escalated:
        events = [e for e in service.store.events(ticket.id) if e.kind == "escalated"]
        assert events, ticket.id
        assert all(e.detail["reason"].strip() and e.detail["notes"].strip() for e in events)
    twice = [t for t in escalated if t.escalations >= 2]
    assert twice
    to_agents = [e for t in escalated for e in service.store.events(t.id) if e.kind == "escalated"]
    assert {e.detail["to"] for e in to_agents} - {"L2", "L3"}  # some go to a named agent


def test_histories_cover_the_whole_workflow(
    demo: tuple[HelpdeskService, dict[str, object], float], tickets: list[Ticket]
) -> None:
    service = demo[0]
    kinds = {t.id: events_of(service, t) for t in tickets}

    def some(predicate: Any) -> bool:
        return any(predicate(t, kinds[t.id]) for t in tickets)

    def last_actor(ticket: Ticket) -> str:
        event = service.store.last_event(ticket.id)
        assert event is not None, ticket.id
        return event.actor

    # pending, then the customer answers
    assert some(lambda t, k: "pending" in k and "customer_message" in k[k.index("pending") :])
    # service restored by a workaround, later resolved
    assert some(lambda t, k: "restored" in k and "resolved" in k[k.index("restored") :])
    # resolved and closed with the customer's confirmation
    assert some(lambda t, k: t.status == "closed" and t.confirmed is True and "resolved" in k)
    # closed without confirmation, by an agent and by the sweep
    assert some(lambda t, k: t.status == "closed" and t.confirmed is False and bool(t.unconfirmed_reason))
    closers = {
        e.actor for t in tickets if t.status == "closed" for e in service.store.events(t.id) if e.kind == "closed"
    }
    assert "system" in closers and len(closers) > 2
    # reopened, by the customer writing back or by an agent
    assert some(lambda t, k: t.reopens > 0)
    assert sum(k.count("note") for k in kinds.values()) >= 30
    assert sum(k.count("customer_message") for k in kinds.values()) >= 100
    assert some(lambda t, k: "kb_linked" in k)
    # agents closing P1/P2 tickets set a follow-up call date
    urgent = [t for t in tickets if t.status == "closed" and t.priority in ("P1", "P2") and last_actor(t) != "system"]
    assert urgent
    assert all(t.followup_due for t in urgent)


def test_staff_and_the_current_user(
    demo: tuple[HelpdeskService, dict[str, object], float], tickets: list[Ticket]
) -> None:
    service = demo[0]
    agents = service.agents()
    plain = Counter(a.tier for a in agents if a.role == "agent")
    assert plain == {"L1": 4, "L2": 3, "L3": 2}
    roles = Counter(a.role for a in agents)
    assert roles["admin"] == 2  # the demo's admin and the person running the demo (their database to try)
    assert roles["supervisor"] == 1
    me = service.store.get_agent("tester")
    assert me is not None and me.role == "admin" and me.tier == "L2" and me.login == service.login
    mine = [t for t in tickets if t.assignee == "tester" and t.status in ("new", "open", "pending", "restored")]
    assert 3 <= len(mine) <= 8
    names = {a.name for a in agents}
    assert {"admin", "li.wei", "chen.jing"} <= names
    assert any(a.display_name == "李伟" for a in agents)


def test_customers_have_archives(demo: tuple[HelpdeskService, dict[str, object], float], tickets: list[Ticket]) -> None:
    customers = demo[0].store.list_customers()
    assert len(customers) >= 40
    assert all(c.email and c.phone and c.organisation and c.environment for c in customers)
    assert {c.tier for c in customers} == {"standard", "gold", "vip"}
    chinese = [c for c in customers if has_cjk(c.name)]
    assert chinese and all(has_cjk(c.organisation) and "VPN" in c.environment for c in chinese)
    per_customer = Counter(t.customer_id for t in tickets)
    assert sum(1 for n in per_customer.values() if n >= 3) >= 10


def test_knowledge_base_matches_the_tickets(
    demo: tuple[HelpdeskService, dict[str, object], float], tickets: list[Ticket]
) -> None:
    service = demo[0]
    published = service.store.list_articles("published")
    assert 45 <= len(published) <= 60
    langs = Counter(a.lang for a in published)
    assert langs["en"] == langs["zh"]
    assert all(a.title and a.body.startswith("##") and a.tags and a.product for a in published)
    for query in ("printer offline", "VPN", "打印机", "邮箱", "会议", "账号", "网络", "password"):
        assert service.search_kb(query), query
    # Suggestions point at an article for nearly every ticket.
    sample = tickets[::10]
    suggested = sum(1 for t in sample if service.suggest_kb(t, limit=3))
    assert suggested >= 0.9 * len(sample)


def test_same_seed_and_now_give_the_same_database(
    demo: tuple[HelpdeskService, dict[str, object], float], tmp_path: Path
) -> None:
    other = HelpdeskService.open(tmp_path / "again.db", "tester", create=True)
    try:
        ensure_demo(other, seed=7, now=NOW)
        assert snapshot(other) == snapshot(demo[0])
    finally:
        other.shutdown()


def test_a_second_call_changes_nothing_and_registers_nobody(
    demo: tuple[HelpdeskService, dict[str, object], float], tmp_path: Path
) -> None:
    # Work on a copy so the shared demo database stays as generated for the other tests.
    service = HelpdeskService.open(demo[0].backup(tmp_path / "copy.db"), "tester")
    try:
        summary = {**demo[1], "db": str(service.store.path)}
        events = service.store.count_events()
        agents = service.agents()
        again = ensure_demo(service, seed=7, now=NOW)
        assert again == {**summary, "created": False}
        newcomer = HelpdeskService(service.store, "newcomer")
        result = ensure_demo(newcomer, seed=99, now=NOW)
        assert result["created"] is False and result["tickets"] == summary["tickets"]
        assert service.store.get_agent("newcomer") is None  # running the demo is no way in
        assert service.agents() == agents and service.store.count_events() == events
    finally:
        service.shutdown()


def test_bulk_fill_imports_a_mix_in_batches(tmp_path: Path) -> None:
    service = HelpdeskService.open(tmp_path / "bulk.db", "tester", create=True)
    try:
        bulk_fill(service, 1200, seed=3, now=NOW, batch=500)
        tickets = list(service.store.all_tickets())
        assert len(tickets) == 1200
        assert set(Counter(t.status for t in tickets)) == {"new", "open", "pending", "restored", "resolved", "closed"}
        assert len({t.priority for t in tickets}) >= 3
        assert any(has_cjk(t.subject) for t in tickets) and any(not has_cjk(t.subject) for t in tickets)
        created = [t.created_at for t in tickets]
        assert created == sorted(created)  # ticket numbers grow with time
        assert service.check() == []
    finally:
        service.shutdown()
