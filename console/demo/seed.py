"""Demo data: a bilingual helpdesk with realistic histories, generated from a seed through the service layer.

`ensure_demo` fills an empty database with staff, customers with their environment notes, about fifty
knowledge articles and a few hundred tickets whose every step (replies, customer messages, notes, pending,
escalations with handoff notes, workarounds, resolutions, closures, reopens) is a real service call, so the
audit trail replays to the tickets (`helpdesk check`). Open tickets are timed backwards from `now` in each
ticket's own business calendar, so the queue shows breached, at-risk, running and paused clocks whatever the
day. `bulk_fill` creates large volumes quickly through `import_rows` for benchmarks.

Determinism: one `random.Random(seed)` drives every choice, services run on a frozen clock, and nothing
iterates a set, so the same seed and `now` give the same database.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from console.demo.builder import DemoBuilder
from console.demo.data import (
    ADMIN,
    CHANNEL_WEIGHTS,
    LAPTOPS,
    MAC_LAPTOPS,
    MOBILES,
    STAFF,
    Customer,
    catalogue,
    fill_in,
    orgs,
    priority_weights,
)
from console.rules.clock import utcnow
from console.rules.validation import validate_new_ticket
from console.service.helpdesk import HelpdeskService
from db.vocabulary import PRIORITIES

# -- the public entry points -------------------------------------------------------------------------------


def ensure_demo(
    service: HelpdeskService,
    seed: int = 7,
    now: datetime | None = None,
    *,
    progress: Callable[[int, int | None], None] | None = None,
) -> dict[str, object]:
    """Fill an empty database with the demo, registering the person running it as an admin; on a database
    with tickets, change nothing. ``progress(done, total)`` hears of each step of the tickets' histories."""
    instant = _instant(now)
    me = service.actor_name
    created = service.count_tickets() == 0
    if created:
        with service.relaxed_durability():
            admin = _ensure_staff(service, instant)
            _register_user(service, me, instant)
            DemoBuilder(service, random.Random(seed), instant, me, admin, progress=progress).fill()
    # On a database that has its history already, nobody is registered: whoever opens it is an agent of it
    # already (the service refuses an unknown login), or must be added by an admin.
    return {
        "db": str(service.path),
        "tickets": service.count_tickets(),
        "articles": service.count_articles(),
        "agent": me,
        "created": created,
    }


def bulk_fill(
    service: HelpdeskService, count: int, seed: int = 1, now: datetime | None = None, batch: int = 5000
) -> None:
    """Create ``count`` tickets through ``import_rows``, one transaction per batch (for benchmarks)."""
    instant = _instant(now)
    rng = random.Random(seed)
    importer = service.as_agent(_ensure_staff(service, instant), clock=lambda: instant)
    agents = [s.name for s in STAFF if s.role == "agent"]
    topics = catalogue()
    topic_weights = list(itertools.accumulate(t.weight for t in topics))
    people = _bulk_customers(rng, max(10, count // 25), seed)
    statuses = ("new", "open", "pending", "restored", "resolved", "closed")
    status_weights = list(itertools.accumulate((5, 12, 5, 3, 5, 70)))
    channels = [c for c, _w in CHANNEL_WEIGHTS]
    channel_weights = list(itertools.accumulate(w for _c, w in CHANNEL_WEIGHTS))
    # Ages sorted so that ticket numbers grow with creation time, as in a real queue.
    ages = sorted((_bulk_age(rng) for _ in range(count)), reverse=True)
    for start in range(0, count, batch):
        rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for age in ages[start : start + batch]:
            person = people[rng.randrange(len(people))]
            topic = rng.choices(topics, cum_weights=topic_weights)[0]
            texts = topic.text[person.lang]
            ctx = person.context()
            status = rng.choices(statuses, cum_weights=status_weights)[0]
            if age > 30 * 86400 and status not in ("closed", "resolved"):
                status = "closed"  # month-old tickets are long finished
            fields = validate_new_ticket(
                fill_in(rng.choice(texts["subject"]), ctx),
                fill_in(rng.choice(texts["body"]), ctx),
                rng.choices(PRIORITIES, priority_weights(topic, person.lang))[0],
                rng.choices(channels, cum_weights=channel_weights)[0],
                "L1" if rng.random() < 0.85 else rng.choice(("L2", "L3")),
            )
            extra = {
                "customer": person.name,
                "email": person.email,
                "phone": person.phone,
                "organisation": person.org.name,
                "customer_tier": person.tier,
                "status": status,
                "assignee": None if status == "new" else rng.choice(agents),
                "at": instant - timedelta(seconds=age),
            }
            rows.append((fields, extra))
        importer.import_rows(rows)


# -- staff and users -------------------------------------------------------------------------------------


def _ensure_staff(service: HelpdeskService, now: datetime) -> str:
    """The demo's admin, supervisor and agents (existing agents are kept as they are); returns the admin."""
    clock = lambda: now  # noqa: E731 - a frozen clock keeps created_at stable between runs
    agents = service.agents()
    if not agents:
        service.as_agent(ADMIN, clock).init(ADMIN, login=ADMIN)  # the person running it is a supervisor
        agents = service.agents()
    admins = [a for a in agents if a.role == "admin" and a.active]
    if admins:
        admin = ADMIN if any(a.name == ADMIN for a in admins) else admins[0].name
    else:
        admin = ADMIN if service.agent(ADMIN) is None else f"{ADMIN}.demo"
        service.as_agent(admin, clock).ensure_agent(admin, "admin", "L3")
    acting = service.as_agent(admin, clock)
    for s in STAFF:
        if service.agent(s.name) is None:
            acting.add_agent(s.name, s.role, s.tier, s.zh if s.lang == "zh" else s.en)
    return admin


def _register_user(service: HelpdeskService, name: str, now: datetime) -> None:
    """The person running the demo works at L2 straight away, as an admin: it is their database to try every
    command on (agents, policies, imports), bound to their login like any first admin."""
    service.as_agent(name, lambda: now).ensure_agent(name, "admin", "L2", login=service.login)


# -- helpers -------------------------------------------------------------------------------------------------


def _instant(now: datetime | None) -> datetime:
    value = now or utcnow()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def _bulk_age(rng: random.Random) -> float:
    """Seconds before now: most tickets are old history, some are this week's work."""
    if rng.random() < 0.85:
        return rng.uniform(2, 730) * 86400
    return rng.uniform(0.01, 10) * 86400


def _bulk_customers(rng: random.Random, n: int, seed: int) -> list[Customer]:
    """Many customers for the bulk tickets, numbered so that their e-mail addresses stay unique."""
    people: list[Customer] = []
    every = orgs()
    for i in range(n):
        org = every[i % len(every)]
        name, local, title = org.people[(i // len(every)) % len(org.people)]
        laptops = MAC_LAPTOPS if org.os.startswith("macOS") else LAPTOPS[org.lang]
        en = org.lang == "en"
        people.append(
            Customer(
                name=f"{name} {i}" if en else f"{name}{i}",
                first=name.split()[0] if en else name,
                lang=org.lang,
                org=org,
                email=f"{local}.{seed}.{i}@{org.domain}",
                phone=f"+44 20 7946 {i % 10000:04d}" if en else f"+86 138 {i % 100000000:08d}",
                tier="vip" if title.startswith("*") else org.tier,
                title=title.lstrip("*"),
                laptop=rng.choice(laptops),
                mobile=rng.choice(MOBILES[org.lang]),
                notes="",
            )
        )
    return people
