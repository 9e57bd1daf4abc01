"""One demo ticket's history: its plan and steps, the flow that writes them so every step is allowed, and the
rewind that turns business time before `now` into instants."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from console.demo.data import Customer, Staff, Topic, fill_in, weighted_choice
from console.rules.calendars import BusinessCalendar


class Staffing(Protocol):
    """What a flow asks of the demo being built: who works the ticket, who supervises, which articles exist."""

    boss: str
    articles: dict[tuple[str, str], int]
    rng: random.Random
    common: Mapping[str, Mapping[str, Sequence[str]]]

    def agent(self, tier: str, lang: str, exclude: str | None = None) -> Staff: ...


@dataclass
class Step:
    kind: str
    actor: str
    args: dict[str, Any] = field(default_factory=dict)
    gap: float = 0.0  # wall seconds after the previous step (histories in the past)
    at: datetime | None = None

    @property
    def answers(self) -> bool:
        """Whether this step reaches the customer as a public reply does (the first response, a new update cycle):
        a reply, an outbound call, an escalation sending the handover notice."""
        return (
            self.kind == "reply"
            or (self.kind == "call" and self.args.get("direction") == "out")
            or (self.kind == "escalate" and bool(self.args.get("notice")))
        )

    @property
    def restarts(self) -> bool:
        """Whether this step starts a new next-update cycle of the SLA clocks."""
        return self.answers or self.kind in ("customer", "call")


@dataclass
class Plan:
    index: int
    lang: str
    topic: Topic
    customer: Customer
    priority: str
    channel: str
    subject: str
    body: str
    final: str
    sla: str  # running / warning / breached / paused / done
    creator: str
    steps: list[Step] = field(default_factory=list)
    ticket_id: int = 0
    assignee: str | None = None


class Flow:
    """Builds one ticket's history as steps, tracking owner, tier and status so every step is allowed."""

    def __init__(self, demo: Staffing, plan: Plan, *, autoclose: bool) -> None:
        self.demo = demo
        self.rng = demo.rng
        self.plan = plan
        self.autoclose = autoclose
        self.lang = plan.lang
        self.steps: list[Step] = []
        self.owner: Staff | None = None
        self.previous: Staff | None = None
        self.tier = "L1"
        self.texts = plan.topic.text[plan.lang]
        self.common = demo.common[plan.lang]
        self.ctx = plan.customer.context()

    # -- text -----------------------------------------------------------------------------------------------

    def say(self, key: str, **more: str) -> str:
        source = self.texts if key in self.texts else self.common
        return fill_in(self.rng.choice(source[key]), {**self.ctx, **more})

    def sign(self, staff: Staff | None) -> str:
        if staff is None:
            return ""
        return staff.zh if self.lang == "zh" else staff.en

    def reply_with(self, *parts: str) -> str:
        return ("" if self.lang == "zh" else " ").join(p for p in parts if p)

    # -- steps --------------------------------------------------------------------------------------------

    def add(self, kind: str, gap_min: tuple[float, float], actor: str | None = None, **args: Any) -> None:
        who = actor or (self.owner.name if self.owner else self.plan.creator)
        gap = self.rng.uniform(*gap_min) * 60
        self.steps.append(Step(kind, who, dict(args), gap=gap))

    def take(self, staff: Staff, gap: tuple[float, float] = (1, 20)) -> None:
        self.add("assign", gap, actor=staff.name)
        self.previous, self.owner = self.owner, staff

    def reply(self, text: str, gap: tuple[float, float] = (10, 240)) -> None:
        self.add("reply", gap, text=text)

    def customer(self, text: str, gap: tuple[float, float] = (20, 1200)) -> None:
        self.add("customer", gap, text=text)

    def build(self) -> list[Step]:
        plan, rng = self.plan, self.rng
        final = plan.final
        if final == "new":
            self.plan.assignee = None
            return self.steps
        self.take(self.demo.agent("L1", self.lang))
        if plan.channel == "phone" and rng.random() < 0.6:
            # A fault phoned in: the standards' call back within 30 minutes, then the advice in writing.
            self.add("call", (3, 25), direction="out", notes=self.say("callback"))
            if rng.random() < 0.5:
                self.reply(self.say("reply"), gap=(2, 30))
        else:
            self.reply(self.reply_with(self.say("ack"), self.say("reply")), gap=(3, 45))
        if rng.random() < 0.3:
            self.add("note", (5, 90), text=self.say("note"))
        if rng.random() < 0.08:
            other = self.demo.agent("L1", self.lang, exclude=self.owner.name if self.owner else None)
            if self.owner is None or other.name != self.owner.name:
                self.add("assign", (30, 600), actor=self.demo.boss, to=other.name)
                self.previous, self.owner = self.owner, other
        if rng.random() < 0.35:
            self.pending_cycle()
        escalations = weighted_choice(rng, [(0, 62), (1, 26), (2, 12)])
        if plan.priority == "P1":
            escalations = max(escalations, 1)
        for _ in range(escalations):
            self.escalate()
        if final in ("open", "pending", "restored") and rng.random() < 0.3:
            self.add("link", (1, 30), article=self.demo.articles[(plan.topic.key, self.lang)])
        wants_restore = final == "restored" or (
            final in ("resolved", "closed") and rng.random() < (0.7 if plan.priority in ("P1", "P2") else 0.12)
        )
        if wants_restore:
            self.add("restore", (30, 300), text=self.say("workaround"))
            if rng.random() < 0.7:
                self.reply(self.say("restored", workaround=self.say("workaround")), gap=(1, 20))
        if final == "open":
            if rng.random() < 0.18:
                self.resolve()
                self.customer(self.say("again"), gap=(60, 1440))
                self.reply(self.say("lookagain"), gap=(10, 120))
            elif plan.sla == "breached" and rng.random() < 0.4:
                self.customer(self.say("chaser"), gap=(120, 1440))
        elif final == "pending":
            self.reply(self.say("ask"), gap=(10, 240))
            self.add("pending", (1, 5))
        elif final in ("resolved", "closed"):
            self.finish()
        self.plan.assignee = self.owner.name if self.owner else None
        return self.steps

    def pending_cycle(self) -> None:
        self.reply(self.say("ask"), gap=(10, 180))
        self.add("pending", (1, 5))
        if self.rng.random() < 0.7:
            self.customer(self.say("info"), gap=(60, 1800))
        else:
            self.add("note", (60, 1800), text=self.say("called"))
            self.add("resume", (1, 5))

    def escalate(self) -> None:
        rng = self.rng
        if self.tier == "L3":
            return
        target = "L2" if self.tier == "L1" else "L3"
        # The customer hears who takes over before the handover (规范移交): a reply first, or the handover
        # notice sent with the escalation.
        told: dict[str, str] = {}
        if rng.random() < 0.5:
            notice = self.say("handover")
            self.reply(notice, gap=(10, 120))
            told["told"] = self.say("told")
        else:
            told["notice"] = self.say("handover")
        if target == "L2":
            reason, tried = self.say("escalation"), self.say("handoff")
        else:
            reason = self.say("l3reason", product=self.plan.topic.product)
            tried = self.say("l3handoff")
        before = self.owner
        exclude = before.name if before else None
        named = rng.random() < 0.35
        staff = self.demo.agent(target, self.lang, exclude=exclude)
        if staff.name == exclude:  # a one-person tier: go to the tier's queue instead
            named = False
        self.add(
            "escalate",
            (30, 300),
            to=staff.name if named else target,
            reason=reason,
            tried=tried,
            impact=self.say("impact"),
            **told,
        )
        self.tier = target
        if named:
            self.owner = staff
        else:
            self.owner = None
            self.take(staff, gap=(5, 120))
        self.previous = before
        intro = "l2" if target == "L2" else "l3"
        self.reply(self.say(intro, agent=self.sign(staff), prev=self.sign(self.previous)), gap=(5, 90))

    def resolve(self) -> None:
        fix = self.say("fix")
        self.reply(self.say("fixed", fix=fix), gap=(30, 600))
        self.add("resolve", (1, 30), text=fix, code=self.plan.topic.code)

    def visit(self) -> None:
        """An engineer on site: dispatched, there within the hour most of the time, gone when the fix is tested."""
        self.add("visit", (5, 60), stage="dispatched", notes=self.say("dispatch"))
        late = self.rng.random() < 0.15
        self.add("visit", (62, 110) if late else (20, 58), stage="arrived", notes=self.say("arrived"))
        self.add("visit", (30, 180), stage="left", notes=self.say("left"))

    def finish(self) -> None:
        rng, plan = self.rng, self.plan
        fix = self.say("fix")
        confirmed = not self.autoclose and rng.random() < 0.8
        if plan.channel == "onsite" or rng.random() < 0.06:
            self.visit()
        self.reply(self.say("fixed", fix=fix), gap=(30, 600))
        if confirmed:
            self.customer(self.say("thanks"), gap=(20, 900))
        self.add("resolve", (1, 30), text=fix, code=plan.topic.code)
        if rng.random() < 0.1 and not self.autoclose:
            # The fix did not hold: the customer writes back, which reopens the ticket.
            self.customer(self.say("again"), gap=(120, 2000))
            self.reply(self.say("lookagain"), gap=(10, 120))
            self.reply(self.say("fixed", fix=fix), gap=(60, 900))
            if confirmed:
                self.customer(self.say("thanks"), gap=(20, 900))
            self.add("resolve", (1, 30), text=fix, code=plan.topic.code)
        if plan.final == "resolved" or self.autoclose:
            return
        self.close(confirmed, fix)
        if rng.random() < 0.05:
            # Closed too early: the customer phones, the agent reopens and fixes it for good.
            self.add("reopen", (600, 9000), text=self.say("reopen"))
            self.reply(self.say("lookagain"), gap=(5, 60))
            self.reply(self.say("fixed", fix=fix), gap=(60, 900))
            self.customer(self.say("thanks"), gap=(20, 900))
            self.add("resolve", (1, 30), text=fix, code=plan.topic.code)
            self.close(True, fix)

    def close(self, confirmed: bool, fix: str) -> None:
        args: dict[str, Any] = {"text": fix, "code": self.plan.topic.code, "confirmed": confirmed}
        if confirmed:
            # The confirmation comes back the way the customer reached us (a web form's answer comes by e-mail).
            args["confirmed_by"] = {"web": "email"}.get(self.plan.channel, self.plan.channel)
        else:
            args["reason"] = self.say("unconfirmed")
        roll = self.rng.random()
        if roll < 0.45:
            args["kb"] = self.demo.articles[(self.plan.topic.key, self.lang)]
        elif roll < 0.47:
            args["kb_needed"] = True
        self.add("close", (60, 2880), **args)


class Rewind:
    """Instants a given amount of business time before `now` in one calendar (inverse of its clock)."""

    HORIZON_DAYS = 150

    def __init__(self, cal: BusinessCalendar, now: datetime) -> None:
        start = now - timedelta(days=self.HORIZON_DAYS)
        self.spans = list(cal.open_intervals(start, now))[::-1]
        self.start = start

    def back(self, seconds: float) -> datetime:
        left = max(0.0, seconds)
        for a, b in self.spans:
            length = (b - a).total_seconds()
            if left <= length:
                return (b - timedelta(seconds=left)).replace(microsecond=0)
            left -= length
        return (self.start - timedelta(seconds=left)).replace(microsecond=0)
