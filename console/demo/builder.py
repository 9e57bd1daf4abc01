"""The demo's few hundred tickets: customers, knowledge articles, one planned history per ticket, timed so the
queue shows every SLA situation, then replayed step by step through the service layer in time order."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from console.demo.data import (
    CHANNEL_WEIGHTS,
    CUSTOMER_NOTES,
    LAPTOPS,
    MAC_LAPTOPS,
    MOBILES,
    STAFF,
    SUPERVISOR,
    Customer,
    Staff,
    catalogue,
    common_text,
    fill_in,
    orgs,
    priority_weights,
    weighted_choice,
)
from console.demo.flow import Flow, Plan, Rewind, Step
from console.rules.calendars import BusinessCalendar
from console.service.helpdesk import HelpdeskService
from db.vocabulary import PRIORITIES, needs_followup

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Final statuses of the 300 demo tickets: fixed counts, so every status is present whatever the seed.
STATUS_COUNTS = (
    ("new", 28),
    ("open", 56),
    ("pending", 24),
    ("restored", 14),
    ("resolved", 28),
    ("closed", 150),
)
# SLA situation of the running open tickets (new, open, restored), as shares of them.
SLA_SHARES = (("breached", 0.22), ("warning", 0.15), ("running", 0.63))
FORCED_P1 = 4  # P1 is rare, but the demo should show a few
AUTO_CLOSED = 10  # resolved long enough ago that the sweep closes them as unconfirmed
OWN_TICKETS = 5  # open tickets handed to the person running the demo


class DemoBuilder:
    """Fills a database that has staff but no tickets; `admin` is the demo admin (see `console.demo.seed`)."""

    def __init__(
        self,
        service: HelpdeskService,
        rng: random.Random,
        now: datetime,
        me: str,
        admin: str,
        *,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> None:
        self.service = service
        self.progress = progress  # told (steps done, steps in all), the closing sweep counted as one
        # Each step happens at its own time: the staff's services read this clock (history as it would have been
        # recorded live, not claimed after the fact).
        self.step_at: datetime | None = None
        self.rng = rng
        self.now = now
        self.me = me
        self.admin = admin
        self.services: dict[str, HelpdeskService] = {}
        self.rewinders: dict[str, Rewind] = {}
        self.articles: dict[tuple[str, str], int] = {}
        self.common = common_text()
        self.topics = catalogue()

    def svc(self, name: str) -> HelpdeskService:
        if name not in self.services:
            self.services[name] = self.service.as_agent(name, lambda: self.step_at or self.now)
        return self.services[name]

    # -- set-up ---------------------------------------------------------------------------------------------

    def fill(self) -> None:
        boss = self.service.agent(SUPERVISOR)
        self.boss = SUPERVISOR if boss is not None and boss.role != "agent" and boss.active else self.admin
        self.pools = self._pools()
        self._add_articles()
        customers = self._add_customers()
        plans = self._plans(customers)
        steps = self._run(plans)
        self.svc(self.admin).sweep()
        if self.progress is not None:
            self.progress(steps + 1, steps + 1)

    def _pools(self) -> dict[str, list[Staff]]:
        pools: dict[str, list[Staff]] = {"L1": [], "L2": [], "L3": []}
        for s in STAFF:
            agent = self.service.agent(s.name)
            if s.role == "agent" and agent is not None and agent.active:
                pools[s.tier].append(s)
        fallback = Staff(self.admin, self.admin, self.admin, "admin", "L3", "en")
        return {tier: pool or [fallback] for tier, pool in pools.items()}

    def _add_articles(self) -> None:
        authors = (self.boss, self.admin)
        start = self.now - timedelta(days=200)
        n = 0
        for topic in self.topics:
            for lang in ("en", "zh"):
                texts = topic.text[lang]
                n += 1
                self.step_at = start + timedelta(days=n * 2, hours=self.rng.randint(1, 8))
                article = self.svc(authors[n % 2]).add_article(
                    texts["title"][0],
                    texts["md"][0],
                    tags=texts["tags"][0],
                    ref=f"KB-{1000 + n}",
                    product=topic.product,
                    lang=lang,
                    status="published",
                )
                self.articles[(topic.key, lang)] = article.id
        self.step_at = None

    def _add_customers(self) -> dict[str, list[Customer]]:
        rng = self.rng
        by_lang: dict[str, list[Customer]] = {"en": [], "zh": []}
        for org in orgs():
            for name, local, title in org.people:
                vip = title.startswith("*")
                laptops = MAC_LAPTOPS if org.os.startswith("macOS") else LAPTOPS[org.lang]
                if org.lang == "zh":
                    digits = (rng.choice("3589"), rng.randint(0, 9), rng.randint(1000, 9999), rng.randint(1000, 9999))
                    phone = "+86 1{}{} {} {}".format(*digits)
                else:
                    phone = f"+44 20 7946 0{rng.randint(100, 999)}"
                note = rng.choice(CUSTOMER_NOTES[org.lang]) if rng.random() < 0.45 else ""
                job = title.lstrip("*")
                notes = job + (("；" if org.lang == "zh" else ". ") + note if note else "")
                by_lang[org.lang].append(
                    Customer(
                        name=name,
                        first=name.split()[0] if org.lang == "en" else name,
                        lang=org.lang,
                        org=org,
                        email=f"{local}@{org.domain}",
                        phone=phone,
                        tier="vip" if vip else org.tier,
                        title=job,
                        laptop=rng.choice(laptops),
                        mobile=rng.choice(MOBILES[org.lang]),
                        notes=notes,
                    )
                )
        since = self.now - timedelta(days=400)

        # The customer archive: environment notes have no other service command yet, so they go in here.
        self.svc(self.admin).add_customers(
            [
                (
                    {
                        "name": c.name,
                        "organisation": c.org.name,
                        "email": c.email,
                        "phone": c.phone,
                        "tier": c.tier,
                        "environment": c.environment(),
                        "notes": c.notes,
                    },
                    since + timedelta(days=i * 3),
                )
                for lang in ("en", "zh")
                for i, c in enumerate(by_lang[lang])
            ]
        )
        return by_lang

    # -- planning -----------------------------------------------------------------------------------------

    def _plans(self, customers: dict[str, list[Customer]]) -> list[Plan]:
        rng = self.rng
        finals = [status for status, n in STATUS_COUNTS for _ in range(n)]
        rng.shuffle(finals)
        total = len(finals)
        langs = ["en", "zh"] * (total // 2) + ["zh"] * (total % 2)
        rng.shuffle(langs)
        running = [i for i, f in enumerate(finals) if f in ("new", "open", "restored")]
        sla_states: dict[int, str] = {}
        order = running[:]
        rng.shuffle(order)
        cut = 0
        for state, share in SLA_SHARES:
            take = round(share * len(running)) if state != SLA_SHARES[-1][0] else len(order) - cut
            for i in order[cut : cut + take]:
                sla_states[i] = state
            cut += take
        closed = [i for i, f in enumerate(finals) if f == "closed"]
        auto_closed = set(rng.sample(closed, AUTO_CLOSED))
        forced_p1 = set(rng.sample([i for i, f in enumerate(finals) if f != "new"], FORCED_P1))
        # Zipf-like weights: a few customers call often, most now and then.
        weights = {lang: [1.0 / (rank + 1) ** 0.8 for rank in range(len(cs))] for lang, cs in customers.items()}
        for lang in ("en", "zh"):
            rng.shuffle(customers[lang])
        plans: list[Plan] = []
        for i, final in enumerate(finals):
            lang = langs[i]
            customer = rng.choices(customers[lang], weights[lang])[0]
            p1 = i in forced_p1
            candidates = [t for t in self.topics if t.can_be_p1(lang)] if p1 else list(self.topics)
            topic = weighted_choice(rng, [(t, t.weight) for t in candidates])
            priority = "P1" if p1 else rng.choices(PRIORITIES, priority_weights(topic, lang))[0]
            ctx = customer.context()
            texts = topic.text[lang]
            if priority == "P1":
                subject, body = rng.choice(texts["p1subject"]), rng.choice(texts["p1body"])
            else:
                subject, body = rng.choice(texts["subject"]), rng.choice(texts["body"])
            channel = "phone" if priority == "P1" else weighted_choice(rng, list(CHANNEL_WEIGHTS))
            sla = sla_states.get(i, "paused" if final == "pending" else "done")
            plan = Plan(
                index=i,
                lang=lang,
                topic=topic,
                customer=customer,
                priority=priority,
                channel=channel,
                subject=fill_in(subject, ctx),
                body=fill_in(body, ctx),
                final=final,
                sla=sla,
                creator=self.agent("L1", lang).name,
            )
            plan.steps = Flow(self, plan, autoclose=i in auto_closed).build()
            plans.append(plan)
        self._hand_over(plans)
        for plan in plans:
            if plan.final in ("resolved", "closed"):
                self._time_history(plan, autoclose=plan.index in auto_closed)
            else:
                self._time_open(plan)
        return plans

    def agent(self, tier: str, lang: str, exclude: str | None = None) -> Staff:
        pool = [s for s in self.pools[tier] if s.name != exclude] or self.pools[tier]
        own = [s for s in pool if s.lang == lang]
        if own and self.rng.random() < 0.8:
            return self.rng.choice(own)
        return self.rng.choice(pool)

    def _hand_over(self, plans: list[Plan]) -> None:
        """A supervisor gives a few open tickets to the person running the demo."""
        wanted = ("open", "open", "new", "pending", "restored")
        mine = [p for p in plans if p.assignee == self.me]
        for final in wanted[: max(0, OWN_TICKETS - len(mine))]:
            for plan in plans:
                if plan.final == final and plan.assignee != self.me and plan.sla in ("running", "warning", "paused"):
                    if any(s.args.get("to") == self.me for s in plan.steps):
                        continue
                    plan.steps.append(Step("assign", self.boss, {"to": self.me}, gap=600))
                    plan.assignee = self.me
                    break

    # -- timing -------------------------------------------------------------------------------------------

    def _time_history(self, plan: Plan, *, autoclose: bool) -> None:
        """Finished tickets: wall-clock gaps between steps, the whole history somewhere in the past weeks."""
        rng = self.rng
        span = sum(s.gap for s in plan.steps)
        if autoclose:
            lead = rng.uniform(5, 9) * 86400
        elif plan.final == "resolved":
            lead = rng.uniform(0.05, 3) * 86400
        else:
            lead = rng.uniform(0.5, 70) * 86400
        created = self.now - timedelta(seconds=span + lead)
        if plan.final == "closed" and not autoclose:
            created = _office_hours(rng, created)  # only ever moves earlier
        at = created
        plan_created = Step("create", plan.creator, at=created)
        for step in plan.steps:
            at = at + timedelta(seconds=step.gap)
            step.at = at
        plan.steps.insert(0, plan_created)

    def _time_open(self, plan: Plan) -> None:
        """Open tickets: ages counted back from now in business time, chosen for the wanted SLA situation."""
        rng = self.rng
        cal, targets = self.svc(self.admin).policy().resolve(plan.priority, plan.channel, plan.customer.tier)
        rewind = self._rewinder(cal)
        steps = plan.steps
        minutes = {
            "fr": targets.first_response,
            "nu": targets.next_update,
            "rs": targets.restore,
            "rv": targets.resolve,
        }
        sec = {k: float(v) * 60 if v is not None else None for k, v in minutes.items()}
        restored = any(s.kind == "restore" for s in steps)
        limits = [v for k, v in sec.items() if k == "rv" or (k == "rs" and not restored)]
        limit = min((v for v in limits if v is not None), default=3 * 9 * 3600.0)
        fr = sec["fr"] or limit
        nu = sec["nu"] or limit
        w = targets.warning
        restart_idx = max((i for i, s in enumerate(steps) if s.restarts), default=-1)
        in_warning = rng.uniform(w + (1 - w) * 0.2, w + (1 - w) * 0.85)
        if restart_idx < 0:
            base = min(fr, limit)
            h0 = base * {
                "running": rng.uniform(0.1, 0.6),
                "warning": in_warning,
                "breached": rng.uniform(1.3, 4.0),
            }.get(plan.sla, rng.uniform(0.1, 0.5))
            h_last = h0
        elif plan.sla == "running":
            h0 = rng.uniform(0.25, 0.6) * limit
            h_last = min(rng.uniform(0.05, 0.6) * nu, rng.uniform(0.1, 0.6) * h0)
        elif plan.sla == "warning":
            h_last = in_warning * nu
            room = max(w * limit - h_last, 0.1 * h_last)
            h0 = h_last + rng.uniform(0.15, 0.6) * room
        elif plan.sla == "breached":
            if rng.random() < 0.5:
                h0 = rng.uniform(1.15, 2.5) * limit
                h_last = rng.uniform(0.1, 0.6) * min(nu, h0)
            else:
                h_last = rng.uniform(1.2, 2.0) * nu
                h0 = h_last * rng.uniform(1.1, 1.5)
        else:  # paused: waiting for the customer
            h0 = rng.uniform(0.15, 0.5) * limit
            h_last = rng.uniform(0.1, 0.7) * h0
        span = h0 - h_last
        offsets: list[float] = []  # business seconds after creation, for steps up to the last restart
        if restart_idx >= 0:
            first_reply = next((i for i, s in enumerate(steps) if s.answers), restart_idx)
            first_reply = min(first_reply, restart_idx)
            r1 = rng.uniform(0.1, 0.5) * fr
            if first_reply == restart_idx:
                # The first reply is also the latest: answered in time unless the ticket is meant to be late.
                if plan.sla != "breached":
                    h0 = h_last + min(span, r1)
                    span = h0 - h_last
                r1 = span
            else:
                r1 = min(r1, span)
            offsets = [*sorted(rng.uniform(0, r1) for _ in range(first_reply)), r1]
            rest = restart_idx - first_reply
            if rest > 0:
                offsets += [*sorted(rng.uniform(r1, span) for _ in range(rest - 1)), span]
        tail = len(steps) - len(offsets)
        # After the last reply only quiet steps follow (notes, links, assignments, pending).
        tail_ages = sorted((h_last * rng.uniform(0.02, 0.9) for _ in range(tail)), reverse=True)
        ages = [h0] + [h0 - off for off in offsets] + tail_ages
        times = [rewind.back(a) for a in ages]
        for i in range(1, len(times)):
            times[i] = max(times[i], times[i - 1])
        plan.steps.insert(0, Step("create", plan.creator))
        for step, at in zip(plan.steps, times, strict=True):
            step.at = at

    def _rewinder(self, cal: BusinessCalendar) -> Rewind:
        if cal.name not in self.rewinders:
            self.rewinders[cal.name] = Rewind(cal, self.now)
        return self.rewinders[cal.name]

    # -- running ------------------------------------------------------------------------------------------

    def _run(self, plans: list[Plan]) -> int:
        """Replay every step of every ticket in time order, so the audit trail reads chronologically; returns the
        number of steps."""
        queue: list[tuple[datetime, int, int]] = []
        for plan in plans:
            for j, step in enumerate(plan.steps):
                assert step.at is not None
                queue.append((step.at, plan.index, j))
        queue.sort()
        total = len(queue) + 1  # and the sweep
        for done, (_at, index, j) in enumerate(queue):
            if self.progress is not None:
                self.progress(done, total)
            plan = plans[index]
            self._do(plan, plan.steps[j])
        if self.progress is not None:
            self.progress(len(queue), total)
        return len(queue)

    def _do(self, plan: Plan, step: Step) -> None:
        s = self.svc(step.actor)
        at = step.at
        self.step_at = at
        try:
            self._apply(s, plan, step)
        finally:
            self.step_at = None

    def _apply(self, s: HelpdeskService, plan: Plan, step: Step) -> None:
        at = step.at
        tid = plan.ticket_id
        a = step.args
        kind = step.kind
        if kind == "create":
            c = plan.customer
            ticket = s.create_ticket(
                plan.subject,
                plan.body,
                customer=c.name,
                email=c.email,
                phone=c.phone,
                organisation=c.org.name,
                customer_tier=c.tier,
                priority=plan.priority,
                channel=plan.channel,
                tier="L1",
            )
            plan.ticket_id = ticket.id
        elif kind == "assign":
            s.assign(tid, a.get("to"))
        elif kind == "reply":
            s.reply(tid, a["text"])
        elif kind == "customer":
            s.customer_reply(tid, a["text"])
        elif kind == "note":
            s.note(tid, a["text"])
        elif kind == "pending":
            s.pending(tid)
        elif kind == "resume":
            s.resume(tid)
        elif kind == "escalate":
            s.escalate(
                tid,
                a["to"],
                a["reason"],
                tried=a["tried"],
                impact=a["impact"],
                told=a.get("told"),
                notice=a.get("notice"),
            )
        elif kind == "call":
            s.log_call(tid, a["direction"], a["notes"])
        elif kind == "visit":
            s.visit(tid, a["stage"], a.get("notes", ""))
        elif kind == "restore":
            s.restore(tid, a["text"])
        elif kind == "resolve":
            s.resolve(tid, a["text"], a["code"])
        elif kind == "reopen":
            s.reopen(tid, a["text"])
        elif kind == "link":
            s.link_article(tid, a["article"])
        elif kind == "close":
            assert at is not None
            followup = (at + timedelta(days=2)).date() if needs_followup(plan.priority) else None
            s.close(
                tid,
                summary=a["text"],
                code=a["code"],
                confirmed=a["confirmed"],
                confirmed_by=a.get("confirmed_by"),
                unconfirmed_reason=a.get("reason"),
                asked_anything_else=a["confirmed"],
                kb_id=a.get("kb"),
                kb_needed=a.get("kb_needed", False),
                followup=followup,
            )
        else:  # pragma: no cover - the flow builder only makes the kinds above
            raise ValueError(kind)


def _office_hours(rng: random.Random, at: datetime) -> datetime:
    """Move a start time back into Shanghai office hours on a weekday (never later than given)."""
    local = at.astimezone(SHANGHAI)
    if local.hour < 9:
        local = local - timedelta(days=1)
    if local.hour < 9 or local.hour >= 18:
        local = local.replace(hour=rng.randint(9, 16), minute=rng.randint(0, 59))
    while local.weekday() >= 5 and rng.random() < 0.9:
        local = local - timedelta(days=1)
    return min(local.astimezone(UTC), at)
