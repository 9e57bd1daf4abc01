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

import functools
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from console.calendars import BusinessCalendar
from console.clock import utcnow
from console.service import HelpdeskService
from console.validation import validate_new_ticket
from db.store import Store

ADMIN = "admin"
SUPERVISOR = "zhao.lei"
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
PRIORITIES = ("P1", "P2", "P3", "P4")
CHANNEL_WEIGHTS = (("phone", 25), ("email", 35), ("chat", 15), ("web", 20), ("onsite", 5))


@dataclass(frozen=True)
class Staff:
    name: str
    en: str  # how the agent signs in English
    zh: str  # and in Chinese
    role: str
    tier: str
    lang: str  # the language the agent prefers to work in


STAFF = (
    Staff(SUPERVISOR, "Zhao Lei", "赵磊", "supervisor", "L2", "zh"),
    Staff("li.wei", "Li Wei", "李伟", "agent", "L1", "zh"),
    Staff("wang.fang", "Wang Fang", "王芳", "agent", "L1", "zh"),
    Staff("tom.baker", "Tom Baker", "Tom Baker", "agent", "L1", "en"),
    Staff("emma.clarke", "Emma Clarke", "Emma Clarke", "agent", "L1", "en"),
    Staff("chen.jing", "Chen Jing", "陈静", "agent", "L2", "zh"),
    Staff("liu.yang", "Liu Yang", "刘洋", "agent", "L2", "zh"),
    Staff("james.wright", "James Wright", "James Wright", "agent", "L2", "en"),
    Staff("zhang.hao", "Zhang Hao", "张浩", "agent", "L3", "zh"),
    Staff("sarah.okafor", "Sarah Okafor", "Sarah Okafor", "agent", "L3", "en"),
)


@dataclass(frozen=True)
class Org:
    name: str
    domain: str
    lang: str
    tier: str
    seats: int
    os: str
    office: str
    printer: str
    floor: str
    vpn: str
    room: str
    people: tuple[tuple[str, str, str], ...]  # (name, e-mail local part, job title); a "*" title marks a VIP


# Organisations: `= name | mail domain | language | customer tier | seats`, their environment
# (`os | office | printer | floor | VPN client | meeting room`), then `- name | mail name | job title`
# for each contact; a "*" before the title marks a VIP.
ORG_TABLE = """
= Harbour Logistics Ltd | harbour-logistics.example | en | gold | 120
  Windows 11 23H2 | Microsoft 365 E3 | HP LaserJet M404dn | 3 | GlobalProtect | Thames room
  - Olivia Bennett | olivia.bennett | Operations Manager
  - Harry Patel | harry.patel | Dispatcher
  - Amelia Hughes | amelia.hughes | Accounts Assistant
  - George Turner | george.turner | Warehouse Lead
  - Isla Morgan | isla.morgan | HR Officer
= Northwind Dental Group | northwind-dental.example | en | standard | 25
  Windows 10 22H2 | Microsoft 365 Business Standard | Brother HL-L6200DW | 1 | FortiClient | Surgery meeting room
  - Noah Fletcher | noah.fletcher | Practice Manager
  - Sophie Walsh | sophie.walsh | Receptionist
  - Jack Robinson | jack.robinson | Dentist
= Kestrel Architects | kestrel-arch.example | en | standard | 18
  macOS 14 Sonoma | Microsoft 365 Business Premium | Canon imageRUNNER C3530i | 2 | Cisco AnyConnect | Studio
  - Grace Thompson | grace.thompson | *Principal Architect
  - Oscar Reid | oscar.reid | Architect
  - Chloe Adams | chloe.adams | Office Manager
= Bright Path Academy | brightpath.example | en | standard | 60
  Windows 11 22H2 | Microsoft 365 A3 | Ricoh IM C3000 | 2 | GlobalProtect | Staff room
  - Ethan Price | ethan.price | Head of IT Curriculum
  - Lucy Barker | lucy.barker | Teacher
  - Daniel Ward | daniel.ward | Bursar
  - Hannah Kelly | hannah.kelly | School Administrator
= Meridian Capital Partners | meridian-capital.example | en | vip | 35
  Windows 11 23H2 | Microsoft 365 E5 | HP Color LaserJet M479fdw | 12 | Cisco AnyConnect | Board room
  - Samuel Brooks | samuel.brooks | *Managing Partner
  - Emily Foster | emily.foster | Analyst
  - Ryan Mitchell | ryan.mitchell | Compliance Officer
  - Priya Shah | priya.shah | Executive Assistant
= Greenfield Veterinary Clinic | greenfield-vets.example | en | standard | 12
  Windows 10 22H2 | Office 2019 | Brother MFC-L8900CDW | 1 | FortiClient | Consulting room 2
  - Megan Lloyd | megan.lloyd | Clinic Manager
  - Thomas Gray | thomas.gray | Veterinary Surgeon
= Atlas Engineering Services | atlas-eng.example | en | gold | 80
  Windows 11 23H2 | Microsoft 365 E3 | Kyocera TASKalfa 3253ci | 4 | GlobalProtect | Severn room
  - Mohammed Khan | mohammed.khan | Project Engineer
  - Laura Fischer | laura.fischer | *Finance Director
  - Ben Carter | ben.carter | CAD Technician
  - Zoe Marshall | zoe.marshall | Site Coordinator
  - Adam Novak | adam.novak | Graduate Engineer
= 上海晨光贸易有限公司 | chenguang-trade.example | zh | gold | 90
  Windows 11 23H2 | Microsoft 365 E3 | HP LaserJet M404dn | 5 | FortiClient | 长江会议室
  - 王秀英 | wang.xiuying | 财务经理
  - 李娜 | li.na | 外贸专员
  - 张磊 | zhang.lei | 销售主管
  - 陈晓明 | chen.xiaoming | 行政助理
= 杭州云帆科技有限公司 | yunfan-tech.example | zh | standard | 45
  Windows 11 22H2 | Microsoft 365 商业标准版 | 理光 IM C3000 | 8 | 深信服 EasyConnect | 西湖会议室
  - 杨帆 | yang.fan | 产品经理
  - 黄丽 | huang.li | 人事专员
  - 周婷 | zhou.ting | 测试工程师
= 北京华康医疗器械有限公司 | huakang-med.example | zh | vip | 150
  Windows 10 22H2 | Microsoft 365 E3 | 佳能 iR-ADV C5535 | 3 | GlobalProtect | 一号会议室
  - 赵刚 | zhao.gang | *总经理
  - 吴强 | wu.qiang | 质量主管
  - 徐静 | xu.jing | 注册专员
  - 孙浩然 | sun.haoran | 销售代表
  - 马丽娟 | ma.lijuan | 总经理助理
= 深圳星河电子有限公司 | xinghe-elec.example | zh | gold | 200
  Windows 11 23H2 | Microsoft 365 E5 | 京瓷 TASKalfa 4054ci | 6 | FortiClient | 星河厅
  - 朱建国 | zhu.jianguo | *生产总监
  - 胡雪 | hu.xue | 采购专员
  - 郭涛 | guo.tao | 硬件工程师
  - 何敏 | he.min | 计划员
= 成都锦程会计师事务所 | jincheng-cpa.example | zh | standard | 30
  Windows 10 22H2 | Office 2021 专业增强版 | 兄弟 MFC-L8900CDW | 12 | 深信服 EasyConnect | 小会议室
  - 林志强 | lin.zhiqiang | 合伙人
  - 罗佳 | luo.jia | 审计助理
  - 高峰 | gao.feng | 项目经理
= 苏州恒达物流有限公司 | hengda-logistics.example | zh | standard | 70
  Windows 10 22H2 | Microsoft 365 商业标准版 | 惠普 LaserJet Pro M428fdw | 2 | FortiClient | 调度会议室
  - 郑雨 | zheng.yu | 调度主管
  - 梁晨 | liang.chen | 仓库文员
  - 谢婷婷 | xie.tingting | 客服专员
= 南京博雅教育培训中心 | boya-edu.example | zh | standard | 40
  Windows 11 22H2 | Microsoft 365 A3 | 爱普生 WF-C5890 | 4 | GlobalProtect | 多功能厅
  - 宋磊 | song.lei | 教务主任
  - 唐雪梅 | tang.xuemei | 讲师
  - 韩冰 | han.bing | 前台
"""


def _parse_orgs(table: str) -> tuple[Org, ...]:
    orgs: list[Org] = []
    head: list[str] = []
    env: list[str] = []
    people: list[tuple[str, str, str]] = []

    def flush() -> None:
        if head:
            name, domain, lang, tier, seats = head
            os_, office, printer, floor, vpn, room = env
            orgs.append(
                Org(name, domain, lang, tier, int(seats), os_, office, printer, floor, vpn, room, tuple(people))
            )

    for line in table.strip().splitlines():
        fields = [f.strip() for f in line.strip().lstrip("=-").split("|")]
        if line.startswith("= "):
            flush()
            head, env, people = fields, [], []
        elif line.strip().startswith("- "):
            people.append((fields[0], fields[1], fields[2]))
        else:
            env = fields
    flush()
    return tuple(orgs)


ORGS = _parse_orgs(ORG_TABLE)

LAPTOPS = {
    "en": ("ThinkPad T14 Gen 3", "Dell Latitude 5440", "HP EliteBook 840 G9", "Surface Laptop 5"),
    "zh": ("联想 ThinkPad X1 Carbon", "联想昭阳 K4", "华为 MateBook 14", "戴尔 Latitude 7440", "惠普战 66"),
}
MAC_LAPTOPS = ("MacBook Pro 14 (M3)", "MacBook Air 13 (M2)")
MOBILES = {
    "en": ("iPhone 15", "iPhone 13", "Samsung Galaxy S23", "Google Pixel 8"),
    "zh": ("华为 Mate 60", "小米 14", "iPhone 15", "OPPO Find X7", "荣耀 Magic6"),
}
CUSTOMER_NOTES = {
    "en": (
        "Prefers a phone call to e-mail; best reached 09:00-12:00.",
        "Works from home on Mondays and Fridays (VPN).",
        "Shares the office printer with the finance team; month-end is critical.",
        "Hard of hearing: please follow up calls in writing.",
        "Key contact for IT at the site; can approve software requests.",
    ),
    "zh": (
        "偏好电话联系，上午 9 点到 12 点方便接听。",
        "每周一、周五居家办公，需使用 VPN。",
        "月底结账期间业务繁忙，打印和邮件问题请优先处理。",
        "客户为本单位 IT 对接人，可审批软件安装申请。",
        "习惯微信沟通，邮件回复较慢，电话确认更高效。",
    ),
}


@dataclass(frozen=True)
class Customer:
    name: str
    first: str
    lang: str
    org: Org
    email: str
    phone: str
    tier: str
    title: str
    laptop: str
    mobile: str
    notes: str

    def environment(self) -> str:
        o = self.org
        if self.lang == "zh":
            return (
                f"{o.os}，{o.office}，{o.seats} 个座席，{o.floor} 楼打印机 {o.printer}；VPN：{o.vpn}；"
                f"笔记本：{self.laptop}；手机：{self.mobile}"
            )
        return (
            f"{o.os}, {o.office}, {o.seats} seats, {o.printer} on floor {o.floor}; VPN: {o.vpn}; "
            f"laptop: {self.laptop}; mobile: {self.mobile}"
        )

    def context(self) -> dict[str, str]:
        o = self.org
        return {
            "name": self.name,
            "first": self.first,
            "org": o.name,
            "printer": o.printer,
            "floor": o.floor,
            "vpn": o.vpn,
            "laptop": self.laptop,
            "os": o.os,
            "office": o.office,
            "room": o.room,
            "mobile": self.mobile,
        }


@dataclass(frozen=True)
class Topic:
    key: str
    product: str
    priorities: tuple[int, int, int, int]  # weights of P1..P4
    weight: int
    code: str  # resolution code
    text: Mapping[str, Mapping[str, Sequence[str]]]  # lang -> key -> values

    def can_be_p1(self, lang: str) -> bool:
        return "p1subject" in self.text[lang]


@dataclass
class Step:
    kind: str
    actor: str
    args: dict[str, Any] = field(default_factory=dict)
    gap: float = 0.0  # wall seconds after the previous step (histories in the past)
    at: datetime | None = None

    @property
    def restarts(self) -> bool:
        """Whether this step starts a new next-update cycle of the SLA clocks."""
        return self.kind in ("reply", "customer")


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


# -- the public entry points -------------------------------------------------------------------------------


def ensure_demo(service: HelpdeskService, seed: int = 7, now: datetime | None = None) -> dict[str, object]:
    """Fill an empty database with the demo; on a database with tickets only register the current user."""
    instant = _instant(now)
    store = service.store
    me = service.actor_name
    created = store.count_tickets() == 0
    if created:
        with store.relaxed_durability():
            _Demo(store, random.Random(seed), instant, me).fill()
    else:
        _register_user(store, me, instant)
    return {
        "db": str(store.path),
        "tickets": store.count_tickets(),
        "articles": store.count_articles(),
        "agent": me,
        "created": created,
    }


def bulk_fill(
    service: HelpdeskService, count: int, seed: int = 1, now: datetime | None = None, batch: int = 5000
) -> None:
    """Create ``count`` tickets through ``import_rows``, one transaction per batch (for benchmarks)."""
    instant = _instant(now)
    rng = random.Random(seed)
    store = service.store
    importer = HelpdeskService(store, _ensure_staff(store, instant), clock=lambda: instant)
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
                _fill(rng.choice(texts["subject"]), ctx),
                _fill(rng.choice(texts["body"]), ctx),
                rng.choices(PRIORITIES, _p_weights(topic, person.lang))[0],
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


# -- the demo ------------------------------------------------------------------------------------------------


class _Demo:
    def __init__(self, store: Store, rng: random.Random, now: datetime, me: str) -> None:
        self.store = store
        self.rng = rng
        self.now = now
        self.me = me
        self.services: dict[str, HelpdeskService] = {}
        self.rewinders: dict[str, _Rewind] = {}
        self.articles: dict[tuple[str, str], int] = {}
        self.common = common_text()
        self.topics = catalogue()

    def svc(self, name: str) -> HelpdeskService:
        if name not in self.services:
            self.services[name] = HelpdeskService(self.store, name, clock=lambda: self.now)
        return self.services[name]

    # -- set-up ---------------------------------------------------------------------------------------------

    def fill(self) -> None:
        self.admin = _ensure_staff(self.store, self.now)
        _register_user(self.store, self.me, self.now)
        boss = self.store.get_agent(SUPERVISOR)
        self.boss = SUPERVISOR if boss is not None and boss.role != "agent" and boss.active else self.admin
        self.pools = self._pools()
        self._add_articles()
        customers = self._add_customers()
        plans = self._plans(customers)
        self._run(plans)
        self.svc(self.admin).sweep(self.now)

    def _pools(self) -> dict[str, list[Staff]]:
        pools: dict[str, list[Staff]] = {"L1": [], "L2": [], "L3": []}
        for s in STAFF:
            agent = self.store.get_agent(s.name)
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
                article = self.svc(authors[n % 2]).add_article(
                    texts["title"][0],
                    texts["md"][0],
                    tags=texts["tags"][0],
                    ref=f"KB-{1000 + n}",
                    product=topic.product,
                    lang=lang,
                    status="published",
                    at=start + timedelta(days=n * 2, hours=self.rng.randint(1, 8)),
                )
                self.articles[(topic.key, lang)] = article.id

    def _add_customers(self) -> dict[str, list[Customer]]:
        rng = self.rng
        by_lang: dict[str, list[Customer]] = {"en": [], "zh": []}
        for org in ORGS:
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

        def work() -> None:
            for lang in ("en", "zh"):
                for i, c in enumerate(by_lang[lang]):
                    # The customer archive: environment notes have no service command yet, so they go in here.
                    self.store.insert_customer(
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

        self.store.write(work)
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
            topic = _weighted(rng, [(t, t.weight) for t in candidates])
            priority = "P1" if p1 else rng.choices(PRIORITIES, _p_weights(topic, lang))[0]
            ctx = customer.context()
            texts = topic.text[lang]
            if priority == "P1":
                subject, body = rng.choice(texts["p1subject"]), rng.choice(texts["p1body"])
            else:
                subject, body = rng.choice(texts["subject"]), rng.choice(texts["body"])
            channel = "phone" if priority == "P1" else _weighted(rng, list(CHANNEL_WEIGHTS))
            sla = sla_states.get(i, "paused" if final == "pending" else "done")
            plan = Plan(
                index=i,
                lang=lang,
                topic=topic,
                customer=customer,
                priority=priority,
                channel=channel,
                subject=_fill(subject, ctx),
                body=_fill(body, ctx),
                final=final,
                sla=sla,
                creator=self._agent("L1", lang).name,
            )
            plan.steps = _Flow(self, plan, autoclose=i in auto_closed).build()
            plans.append(plan)
        self._hand_over(plans)
        for plan in plans:
            if plan.final in ("resolved", "closed"):
                self._time_history(plan, autoclose=plan.index in auto_closed)
            else:
                self._time_open(plan)
        return plans

    def _agent(self, tier: str, lang: str, exclude: str | None = None) -> Staff:
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
            first_reply = next((i for i, s in enumerate(steps) if s.kind == "reply"), restart_idx)
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

    def _rewinder(self, cal: BusinessCalendar) -> _Rewind:
        if cal.name not in self.rewinders:
            self.rewinders[cal.name] = _Rewind(cal, self.now)
        return self.rewinders[cal.name]

    # -- running ------------------------------------------------------------------------------------------

    def _run(self, plans: list[Plan]) -> None:
        """Replay every step of every ticket in time order, so the audit trail reads chronologically."""
        queue: list[tuple[datetime, int, int]] = []
        for plan in plans:
            for j, step in enumerate(plan.steps):
                assert step.at is not None
                queue.append((step.at, plan.index, j))
        queue.sort()
        for _at, index, j in queue:
            plan = plans[index]
            self._do(plan, plan.steps[j])

    def _do(self, plan: Plan, step: Step) -> None:
        s = self.svc(step.actor)
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
                at=at,
            )
            plan.ticket_id = ticket.id
        elif kind == "assign":
            s.assign(tid, a.get("to"), at=at)
        elif kind == "reply":
            s.reply(tid, a["text"], at=at)
        elif kind == "customer":
            s.customer_reply(tid, a["text"], at=at)
        elif kind == "note":
            s.note(tid, a["text"], at=at)
        elif kind == "pending":
            s.pending(tid, at=at)
        elif kind == "resume":
            s.resume(tid, at=at)
        elif kind == "escalate":
            s.escalate(tid, a["to"], a["reason"], a["notes"], at=at)
        elif kind == "restore":
            s.restore(tid, a["text"], at=at)
        elif kind == "resolve":
            s.resolve(tid, a["text"], a["code"], at=at)
        elif kind == "reopen":
            s.reopen(tid, a["text"], at=at)
        elif kind == "link":
            s.link_article(tid, a["article"], at=at)
        elif kind == "close":
            assert at is not None
            followup = (at + timedelta(days=2)).date() if plan.priority in ("P1", "P2") else None
            s.close(
                tid,
                summary=a["text"],
                code=a["code"],
                confirmed=a["confirmed"],
                unconfirmed_reason=a.get("reason"),
                asked_anything_else=a["confirmed"],
                kb_id=a.get("kb"),
                kb_needed=a.get("kb_needed", False),
                followup=followup,
                at=at,
            )
        else:  # pragma: no cover - the flow builder only makes the kinds above
            raise ValueError(kind)


class _Flow:
    """Builds one ticket's history as steps, tracking owner, tier and status so every step is allowed."""

    def __init__(self, demo: _Demo, plan: Plan, *, autoclose: bool) -> None:
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
        return _fill(self.rng.choice(source[key]), {**self.ctx, **more})

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
        self.take(self.demo._agent("L1", self.lang))
        self.reply(self.reply_with(self.say("ack"), self.say("reply")), gap=(3, 45))
        if rng.random() < 0.3:
            self.add("note", (5, 90), text=self.say("note"))
        if rng.random() < 0.08:
            other = self.demo._agent("L1", self.lang, exclude=self.owner.name if self.owner else None)
            if self.owner is None or other.name != self.owner.name:
                self.add("assign", (30, 600), actor=self.demo.boss, to=other.name)
                self.previous, self.owner = self.owner, other
        if rng.random() < 0.35:
            self.pending_cycle()
        escalations = _weighted(rng, [(0, 62), (1, 26), (2, 12)])
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
        if rng.random() < 0.5:
            self.reply(self.say("handover"), gap=(10, 120))
        if target == "L2":
            reason, notes = self.say("escalation"), self.say("handoff")
        else:
            reason = self.say("l3reason", product=self.plan.topic.product)
            notes = self.say("l3handoff")
        before = self.owner
        exclude = before.name if before else None
        named = rng.random() < 0.35
        staff = self.demo._agent(target, self.lang, exclude=exclude)
        if staff.name == exclude:  # a one-person tier: go to the tier's queue instead
            named = False
        self.add("escalate", (30, 300), to=staff.name if named else target, reason=reason, notes=notes)
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

    def finish(self) -> None:
        rng, plan = self.rng, self.plan
        fix = self.say("fix")
        confirmed = not self.autoclose and rng.random() < 0.8
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
        if not confirmed:
            args["reason"] = self.say("unconfirmed")
        roll = self.rng.random()
        if roll < 0.45:
            args["kb"] = self.demo.articles[(self.plan.topic.key, self.lang)]
        elif roll < 0.47:
            args["kb_needed"] = True
        self.add("close", (60, 2880), **args)


class _Rewind:
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


# -- staff and users -------------------------------------------------------------------------------------


def _ensure_staff(store: Store, now: datetime) -> str:
    """The demo's admin, supervisor and agents (existing agents are kept as they are); returns the admin."""
    clock = lambda: now  # noqa: E731 - a frozen clock keeps created_at stable between runs
    if store.count_agents() == 0:
        HelpdeskService(store, ADMIN, clock=clock).init(ADMIN)
    admins = [a for a in store.list_agents() if a.role == "admin" and a.active]
    if admins:
        admin = ADMIN if any(a.name == ADMIN for a in admins) else admins[0].name
    else:
        admin = ADMIN if store.get_agent(ADMIN) is None else f"{ADMIN}.demo"
        HelpdeskService(store, admin, clock=clock).ensure_agent(admin, "admin", "L3")
    service = HelpdeskService(store, admin, clock=clock)
    for s in STAFF:
        if store.get_agent(s.name) is None:
            service.add_agent(s.name, s.role, s.tier, s.zh if s.lang == "zh" else s.en)
    return admin


def _register_user(store: Store, name: str, now: datetime) -> None:
    """The person running the demo works as a supervisor at L2 straight away."""
    HelpdeskService(store, name, clock=lambda: now).ensure_agent(name, "supervisor", "L2")


# -- text ----------------------------------------------------------------------------------------------------


def _fill(template: str, ctx: Mapping[str, str]) -> str:
    return template.format_map(ctx)


def _p_weights(topic: Topic, lang: str) -> tuple[int, int, int, int]:
    p1, p2, p3, p4 = topic.priorities
    return (p1 if topic.can_be_p1(lang) else 0, p2, p3, p4)


def _weighted(rng: random.Random, items: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _w in items], [w for _v, w in items])[0]


def _instant(now: datetime | None) -> datetime:
    value = now or utcnow()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


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


def _bulk_age(rng: random.Random) -> float:
    """Seconds before now: most tickets are old history, some are this week's work."""
    if rng.random() < 0.85:
        return rng.uniform(2, 730) * 86400
    return rng.uniform(0.01, 10) * 86400


def _bulk_customers(rng: random.Random, n: int, seed: int) -> list[Customer]:
    """Many customers for the bulk tickets, numbered so that their e-mail addresses stay unique."""
    people: list[Customer] = []
    for i in range(n):
        org = ORGS[i % len(ORGS)]
        name, local, title = org.people[(i // len(ORGS)) % len(org.people)]
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


def _parse(source: str) -> list[tuple[list[str], dict[str, dict[str, list[str]]]]]:
    """Read the catalogue: `=== header` starts a section, `lang.key: value` adds a value, indented lines
    continue it (Markdown keys keep their line breaks)."""
    sections: list[tuple[list[str], dict[str, dict[str, list[str]]]]] = []
    last: tuple[str, str] | None = None
    for raw in source.splitlines():
        if raw.startswith("=== "):
            sections.append(([p.strip() for p in raw[4:].split("|")], {"en": {}, "zh": {}}))
            last = None
            continue
        texts = sections[-1][1] if sections else None
        if texts is None:
            continue
        if raw.startswith("  ") and last is not None:
            lang, key = last
            values = texts[lang][key]
            if key == "md":
                values[-1] += "\n" + raw[2:]
            else:
                values[-1] += ("" if lang == "zh" else " ") + raw.strip()
        elif not raw.strip():
            if last is not None and last[1] == "md":
                texts[last[0]][last[1]][-1] += "\n"
        else:
            name, _sep, value = raw.partition(":")
            lang, _dot, key = name.strip().partition(".")
            texts[lang].setdefault(key, []).append(value.strip())
            last = (lang, key)
    for _header, texts in sections:
        for by_key in texts.values():
            if "md" in by_key:
                by_key["md"] = [v.strip() for v in by_key["md"]]
    return sections


@functools.cache
def catalogue() -> tuple[Topic, ...]:
    topics: list[Topic] = []
    for header, texts in _parse(CATALOGUE):
        key, product, priorities, weight, code = header
        p = tuple(int(x) for x in priorities.split())
        topics.append(Topic(key, product, (p[0], p[1], p[2], p[3]), int(weight), code, texts))
    return tuple(topics)


@functools.cache
def common_text() -> Mapping[str, Mapping[str, Sequence[str]]]:
    return _parse(COMMON)[0][1]


# -- the words ---------------------------------------------------------------------------------------------
# Shared phrases: {first} is the customer's first name (the full name in Chinese), {agent} and {prev} sign
# the agents; {fix}, {workaround} and {product} come from the ticket's topic.

COMMON = """
=== common
en.ack: Hello {first}, thanks for contacting the service desk. I've picked up your ticket.
en.ack: Hi {first}, thanks for the report - I'm looking into it now.
en.ack: Hello {first}, I've taken this one and will stay with you until it's sorted.
en.handover: Hello {first}, this needs a closer look from our specialist team. I'm handing your ticket
  over with everything we've checked so far; they will contact you within two hours.
en.handover: Hi {first}, I'm passing this to the next support level, who have the access needed to
  fix it. You won't need to repeat anything - my notes go with the ticket.
en.l2: Hello {first}, I'm {agent} from the second-line team and I've taken over your ticket from
  {prev}. I've read the notes and will carry on from there; next update by end of day.
en.l2: Hi {first}, {agent} here from second-line support. I have your ticket now and I'm reviewing
  what {prev} has already checked.
en.l3: Hello {first}, I'm {agent} from the infrastructure team. I'm working on the underlying cause
  and will update you by the end of the day.
en.l3: Hi {first}, {agent} from third-line support. I've been asked to look at the server side of
  this and will keep you posted.
en.restored: Good news, {first}: you can work again. {workaround} We are still working on a
  permanent fix and will keep the ticket open until then.
en.fixed: Hello {first}, {fix} Could you please check on your side and let me know that everything
  works?
en.fixed: Hi {first}, this should be fixed now. {fix} Please let me know if you still see the
  problem.
en.thanks: Thanks, that worked - all good on my side.
en.thanks: Confirmed, everything works again. Thanks for the quick help!
en.thanks: Yes, that's fixed it. Nothing else for now, thank you.
en.thanks: Works perfectly now, many thanks. You can close the ticket.
en.again: Sorry, the problem is back since this morning.
en.again: It worked for a day but now it's failing again in exactly the same way.
en.again: I'm afraid it's happening again - two colleagues have the same issue now.
en.chaser: Any update on this? It's holding up our team.
en.chaser: Could someone get back to me today please? I still can't work properly.
en.chaser: Just checking in - is anyone looking at this?
en.note: Called the customer, no answer; left a voicemail with the ticket number.
en.note: Checked the asset record: the device is still under warranty.
en.note: Similar report from another user at {org} last week - possibly related.
en.note: Customer is in meetings until 14:00; will call back after that.
en.called: Customer phoned back with the details we asked for; carrying on.
en.called: Reached the customer by phone, got the missing information.
en.unconfirmed: Customer did not reply to two e-mails and a call.
en.unconfirmed: Customer is on leave; a colleague at {org} confirmed it works.
en.unconfirmed: No answer after three working days; closing as agreed in the last call.
en.reopen: Customer called: the problem came back after the weekend.
en.reopen: Customer reports the fix did not last; reopening to finish the job.
en.lookagain: Sorry to hear that, {first}. I'm looking at it again now and will call you shortly.
en.lookagain: Thanks for letting us know, {first} - reopened and on it.
en.l3reason: Root cause appears to be in the {product} platform configuration; needs third-line access.
en.l3reason: Workaround in place but the fault keeps coming back; needs an infrastructure change.
en.l3handoff: Second-line checks done: reproduced with a test account, logs attached, client side ruled
  out. Customer knows third line will call today.
en.l3handoff: Server-side logs show repeated errors at the times the customer reported. Config export
  attached. Customer has a workaround and expects an update by 17:00.
zh.ack: {name}您好，已收到您的问题，我正在处理。
zh.ack: {name}您好，感谢您的反馈，这个问题由我来跟进。
zh.ack: {name}您好，工单已由我接手，会一直跟进到问题解决。
zh.handover: {name}您好，这个问题需要专项支持团队进一步排查。我已把目前的检查结果一并转交，
  他们会在两小时内联系您。
zh.handover: {name}您好，此问题需要更高级别的支持人员处理，我已转交并附上处理记录，
  您不需要重复说明情况。
zh.l2: {name}您好，我是二线支持的{agent}，已从{prev}那里接手您的工单。我已阅读之前的记录，
  会在此基础上继续处理，今天下班前给您答复。
zh.l2: {name}您好，我是二线支持{agent}，您的工单现在由我负责，正在查看{prev}已经做过的检查。
zh.l3: {name}您好，我是基础架构组的{agent}，正在排查问题的根本原因，今天内给您更新。
zh.l3: {name}您好，我是三线支持{agent}，负责排查服务器端的问题，有进展会第一时间通知您。
zh.restored: {name}您好，业务已经可以先恢复使用：{workaround}根本问题我们仍在处理，
  处理完之前工单会保持打开。
zh.fixed: {name}您好，{fix}麻烦您确认一下现在是否一切正常？
zh.fixed: {name}您好，问题应该已经解决：{fix}如仍有异常请随时告诉我。
zh.thanks: 好的，已经可以了，谢谢！
zh.thanks: 确认已恢复正常，感谢你们的快速支持。
zh.thanks: 问题解决了，暂时没有其他问题，谢谢。
zh.thanks: 现在一切正常，可以关闭工单了，辛苦了！
zh.again: 不好意思，今天早上问题又出现了。
zh.again: 用了一天又不行了，现象和之前一模一样。
zh.again: 问题又出现了，现在有两位同事也遇到同样的情况。
zh.chaser: 请问有进展吗？已经影响到我们部门的工作了。
zh.chaser: 麻烦今天内给个答复，现在还是没法正常工作。
zh.chaser: 想确认一下这个问题有人在处理吗？
zh.note: 致电客户未接通，已发短信告知工单号。
zh.note: 查询资产记录：设备仍在保修期内。
zh.note: {org}另一位同事上周也报过类似问题，可能相关。
zh.note: 客户下午两点前在开会，之后再回电。
zh.called: 客户回电提供了所需信息，继续处理。
zh.called: 电话联系上客户，已补充缺失的信息。
zh.unconfirmed: 两次邮件和一次电话均未得到客户回复。
zh.unconfirmed: 客户休假中，{org}的同事已确认恢复正常。
zh.unconfirmed: 三个工作日未收到回复，按上次电话约定关闭。
zh.reopen: 客户来电：周末过后问题再次出现。
zh.reopen: 客户反馈修复没有持续生效，重新打开继续处理。
zh.lookagain: {name}您好，抱歉给您带来不便，我马上重新排查，稍后电话联系您。
zh.lookagain: 收到，{name}。工单已重新打开，正在处理。
zh.l3reason: 根因疑似在{product}平台的服务器端配置，需要三线权限处理。
zh.l3reason: 临时办法已生效但故障反复出现，需要基础架构层面的变更。
zh.l3handoff: 二线已完成排查：用测试账号复现，日志已附上，已排除客户端原因。已告知客户三线今天会联系。
zh.l3handoff: 服务器日志在客户反馈的时间点有大量报错，配置导出已附上。客户目前有临时办法，
  期待今天 17 点前有更新。
"""

# Topics: `=== key | product | P1 P2 P3 P4 weights | weight | resolution code`, then the English and the
# Chinese version of the ticket texts and of the knowledge article (`md`) about the same problem.

CATALOGUE = """
=== printer_offline | Printing | 0 20 60 20 | 10 | config-change
en.subject: Printer {printer} shows offline
en.subject: Can't print to the {printer} on floor {floor}
en.subject: Printer offline again, contracts waiting to be printed
en.body: Since this morning every print job to the {printer} on floor {floor} fails and Windows says the
  printer is offline. Colleagues on the same floor have the same problem. The printer's own display
  looks normal.
en.body: My print jobs just sit in the queue and the printer shows as "Offline" on my {laptop}. I have
  restarted the laptop twice. The printer is switched on and has paper.
en.reply: Could you print a configuration page from the printer's panel (Menu > Reports > Configuration
  Page) and tell me the IPv4 address it shows? Until then you can use another printer on your floor.
en.ask: Could you send me a photo of the configuration page and check that the network cable is firmly
  plugged into the wall port?
en.info: Photo attached. The page says 192.168.10.57 and the cable is plugged in; the light on the port
  is green.
en.workaround: I added a direct IP port on the affected PCs so printing works while we repair the print
  server queue.
en.fix: The printer had picked up a new address from DHCP after last week's power cut. I created a DHCP
  reservation and pointed the print server port back at it; test pages printed from two PCs.
en.escalation: Printer answers ping but its queue on the print server stays offline; needs print server
  access.
en.handoff: Checked power, cable and panel (IP 192.168.10.57, ping OK from the client). Queue on PRINT01
  still reports offline. Customer can print via a direct IP port for now.
en.title: Printer shows "Offline" in Windows
en.tags: printer, offline, print server, DHCP, IP address
en.md:
  ## Symptoms
  Print jobs stay in the queue and Windows shows the printer as **Offline**, although the printer is
  switched on and its display looks normal.

  ## Cause
  Usually the printer received a new IP address from DHCP (after a power cut or a network change) and
  the port on the print server still points to the old address.

  ## Fix
  1. Print a configuration page from the printer panel and note the IPv4 address.
  2. Run `ping <address>` from the affected PC.
  3. On the print server open *Printer properties > Ports* and update the Standard TCP/IP port.
  4. Ask the network team for a DHCP reservation so the address no longer changes.
  5. Print a test page.

  ## Workaround
  Add the printer directly by IP address on the PC: *Settings > Bluetooth & devices > Printers &
  scanners > Add device > Add manually*.
zh.subject: {floor}楼打印机{printer}显示脱机
zh.subject: 打印机脱机，无法打印
zh.subject: 打印机又脱机了，急着打印合同
zh.body: 从今天早上开始，发到{floor}楼{printer}的打印任务全部失败，电脑上显示打印机“脱机”。
  同楼层的同事也打印不了，打印机面板看起来一切正常。
zh.body: 我的{laptop}打印文件一直卡在队列里，打印机状态显示脱机。电脑已经重启过两次，
  打印机开着，也有纸。
zh.reply: 请在打印机面板上打印一张配置页（菜单 > 报告 > 配置页），告诉我上面显示的 IPv4 地址。
  在此之前可以先用同楼层的其他打印机。
zh.ask: 麻烦拍一张配置页的照片发给我，并确认网线是否插紧在墙上的网口里。
zh.info: 照片已发。配置页上的地址是 192.168.10.57，网线插好了，网口指示灯是绿色的。
zh.workaround: 已在受影响的电脑上添加直连 IP 端口，可以先正常打印。
zh.fix: 停电后打印机通过 DHCP 拿到了新地址。已为其设置 DHCP 保留地址，并把打印服务器上的端口改回该地址，
  两台电脑测试打印正常。
zh.escalation: 打印机能 ping 通，但打印服务器上的队列一直脱机，需要打印服务器权限处理。
zh.handoff: 已检查电源、网线和面板（IP 192.168.10.57，客户端 ping 正常）。PRINT01 上的队列仍显示脱机。
  客户目前可通过直连 IP 端口打印。
zh.title: 打印机显示“脱机”无法打印的处理方法
zh.tags: 打印机, 脱机, 打印服务器, DHCP, IP 地址
zh.md:
  ## 现象
  打印任务一直停在队列中，Windows 显示打印机“脱机”，但打印机本身已开机、面板正常。

  ## 原因
  多数情况是打印机在停电或网络调整后通过 DHCP 获得了新的 IP 地址，
  而打印服务器上的端口仍指向旧地址。

  ## 处理步骤
  1. 在打印机面板上打印配置页，记下 IPv4 地址。
  2. 在受影响的电脑上执行 `ping <地址>`。
  3. 在打印服务器上打开“打印机属性 > 端口”，修改标准 TCP/IP 端口的地址。
  4. 请网络组为打印机设置 DHCP 保留地址，避免地址再次变化。
  5. 打印测试页确认。

  ## 临时办法
  在电脑上按 IP 地址直接添加打印机：设置 > 蓝牙和其他设备 > 打印机和扫描仪 > 添加设备 > 手动添加。

=== print_queue | Printing | 0 10 60 30 | 7 | fixed
en.subject: Print jobs stuck in the queue
en.subject: Nothing comes out of the printer, queue won't clear
en.body: I sent a 40-page report to the {printer} and nothing has printed. The queue shows the job as
  "Error - Printing" and I can't delete it. Everything I send after it just waits behind it.
en.body: Print queue is stuck on my {laptop}. Cancelling the documents does nothing and other people
  say the printer works for them.
en.reply: Please open Settings > Printers & scanners > {printer} > Open print queue and try
  "Cancel all documents". If the job stays there, restart the laptop and tell me whether it is still in
  the queue afterwards.
en.ask: Could you send me a screenshot of the print queue window, including the status column?
en.info: Screenshot attached - the first job says "Error - Printing" and the others "Paused".
en.workaround: I cleared the stuck job from the print server queue, so your new print jobs go through
  again.
en.fix: The Print Spooler on your laptop had a corrupted job file. I stopped the spooler, removed the
  files in C:\\Windows\\System32\\spool\\PRINTERS and started it again; printing works and the driver is
  updated to the current version.
en.escalation: Spooler keeps jamming on the print server for several users; needs server-side cleanup.
en.handoff: Client spooler restarted twice, job reappears. Other users on the same queue affected since
  09:30. Suspect a corrupted job on PRINT01.
en.title: Print jobs stuck in the queue (Print Spooler)
en.tags: printer, print queue, spooler, stuck job
en.md:
  ## Symptoms
  A document stays in the print queue with the status *Error - Printing* and cannot be deleted; later
  jobs wait behind it.

  ## Fix on the PC
  1. Open an administrator command prompt.
  2. `net stop spooler`
  3. Delete everything in `C:\\Windows\\System32\\spool\\PRINTERS`.
  4. `net start spooler`
  5. Print a test page.

  ## If several users are affected
  The stuck job is on the print server. Clear it there (same steps on the server) and check the
  server's event log for driver errors.

  ## Prevention
  Keep printer drivers current and avoid printing very large PDFs as images.
zh.subject: 打印任务卡在队列里无法删除
zh.subject: 打印机不出纸，队列清不掉
zh.body: 我发了一份 40 页的报告到{printer}，一直没打出来。队列里显示“错误 - 正在打印”，删也删不掉，
  后面的文件都在排队。
zh.body: 我电脑上的打印队列卡住了，取消文档没有反应，其他同事说打印机是好的。
zh.reply: 请打开 设置 > 打印机和扫描仪 > {printer} > 打开打印队列，选择“取消所有文档”。
  如果任务还在，请重启电脑后再看一下队列里是否还有。
zh.ask: 麻烦截一张打印队列窗口的图，包括“状态”那一列。
zh.info: 截图已发，第一个任务显示“错误 - 正在打印”，后面的都是“已暂停”。
zh.workaround: 已在打印服务器上清除卡住的任务，新的打印任务可以正常输出。
zh.fix: 电脑上的打印后台处理程序有损坏的任务文件。已停止服务，清空 C:\\Windows\\System32\\spool\\PRINTERS
  后重新启动，打印恢复正常，并已更新打印机驱动。
zh.escalation: 打印服务器的后台处理程序反复卡住，影响多名用户，需要服务器端清理。
zh.handoff: 客户端已两次重启打印服务，任务仍会出现。同一队列上的其他用户从 9:30 起受影响，
  怀疑 PRINT01 上有损坏的任务。
zh.title: 打印任务卡在队列中无法删除（打印后台处理程序）
zh.tags: 打印机, 打印队列, 后台处理程序, 卡住
zh.md:
  ## 现象
  文档在打印队列中显示“错误 - 正在打印”，无法删除，后续任务全部排队等待。

  ## 电脑端处理
  1. 以管理员身份打开命令提示符。
  2. 执行 `net stop spooler`。
  3. 删除 `C:\\Windows\\System32\\spool\\PRINTERS` 中的所有文件。
  4. 执行 `net start spooler`。
  5. 打印测试页。

  ## 多人同时受影响
  卡住的任务在打印服务器上，需要在服务器上执行同样的步骤，并检查事件日志中的驱动错误。

=== scan_email | Printing | 0 10 55 35 | 5 | config-change
en.subject: Scan to e-mail not working on the {printer}
en.subject: Scanner says "SMTP authentication failed"
en.body: When I scan to e-mail on the {printer} the panel says "Send failed" and nothing arrives. Scan to
  USB still works. It stopped working this week.
en.body: The copier on floor {floor} can't send scans by e-mail any more - error "SMTP authentication
  failed". We need it for delivery notes.
en.reply: This is usually the mailbox the scanner uses to send. Could you tell me the exact error text
  on the panel and when it last worked?
en.ask: Could you take a photo of the error on the panel and of the "Send" job log (Job Status > Log)?
en.info: Photos attached. The log shows "SMTP 535 authentication failed" for every job since Monday.
en.workaround: Scans now go to the shared folder \\\\files\\scans\\floor{floor} so you can keep working.
en.fix: The scanner's sending mailbox had its password rotated. I moved the scanner to the Microsoft 365
  SMTP relay with the new credentials; scan to e-mail works again.
en.escalation: SMTP relay refuses the scanner's login; needs an Exchange admin to check the connector.
en.handoff: Scanner error SMTP 535 since Monday; mailbox scanner@ password was rotated on Monday.
  Scan to folder configured as a workaround.
en.title: Scan to e-mail fails ("SMTP authentication failed")
en.tags: scanner, scan to email, SMTP, multifunction printer, copier
en.md:
  ## Symptoms
  The multifunction printer shows *Send failed* or *SMTP authentication failed* when scanning to e-mail;
  scanning to USB still works.

  ## Cause
  The mailbox the device uses to send has a new password, or basic SMTP authentication was switched off
  for it.

  ## Fix
  1. Open the device's web page and go to *Network > E-mail / SMTP*.
  2. Use the SMTP relay `smtp-relay.company.example`, port 25, no authentication (the device's address is
     allowed on the relay connector).
  3. Send a test scan.

  ## Workaround
  Scan to the shared scans folder and attach the file to an e-mail by hand.
zh.subject: 复印机扫描到邮箱失败
zh.subject: 扫描仪提示“SMTP 认证失败”
zh.body: 用{printer}扫描发送到邮箱时，面板提示“发送失败”，邮件收不到。扫描到 U 盘是正常的，
  这周开始出现的。
zh.body: {floor}楼的复印机不能扫描发邮件了，提示“SMTP 认证失败”，我们每天要扫描送货单。
zh.reply: 一般是扫描仪用来发件的邮箱有变化。请告诉我面板上的完整报错，以及最后一次正常是什么时候？
zh.ask: 麻烦拍一下面板上的报错和“发送”作业日志（作业状态 > 日志）。
zh.info: 照片已发，日志显示从周一开始每个任务都是“SMTP 535 认证失败”。
zh.workaround: 已设置扫描到共享文件夹 \\\\files\\scans，可先用这个方式。
zh.fix: 扫描仪发件邮箱的密码已轮换。已改为通过 Microsoft 365 SMTP 中继发送，扫描到邮箱恢复正常。
zh.escalation: SMTP 中继拒绝扫描仪登录，需要 Exchange 管理员检查连接器。
zh.handoff: 扫描仪从周一起报 SMTP 535，发件邮箱周一改过密码。已配置扫描到文件夹作为临时办法。
zh.title: 复印机“扫描到邮箱”失败（SMTP 认证失败）
zh.tags: 扫描, 扫描到邮箱, SMTP, 复印机, 多功能一体机
zh.md:
  ## 现象
  多功能一体机扫描到邮箱时提示“发送失败”或“SMTP 认证失败”，扫描到 U 盘正常。

  ## 原因
  设备使用的发件邮箱修改了密码，或该邮箱关闭了 SMTP 基本认证。

  ## 处理步骤
  1. 打开设备网页管理界面，进入“网络 > 电子邮件 / SMTP”。
  2. 改用 SMTP 中继 `smtp-relay.company.example`，端口 25，无需认证（需在中继连接器中放行设备 IP）。
  3. 发送测试扫描。

  ## 临时办法
  先扫描到共享文件夹，再手动作为附件发送。

=== vpn_connect | VPN | 1 35 50 14 | 10 | config-change
en.subject: VPN won't connect from home
en.subject: {vpn} stuck on "Connecting..."
en.subject: Can't connect to the VPN since the weekend
en.body: I'm working from home today and {vpn} won't connect on my {laptop}. It sits on "Connecting..."
  and then says the gateway is not reachable. My home internet works fine.
en.body: The VPN asks for my password, then fails with "Authentication failed". I changed my password on
  Friday. I need the file server for a deadline today.
en.p1subject: Nobody at {org} can connect to the VPN
en.p1body: Since 08:00 none of our remote staff can connect with {vpn} - about 30 people are working from
  home today and all get "gateway not reachable". This is stopping all remote work.
en.reply: Please disconnect, quit {vpn} completely, then start it again and sign in with your new
  password. If it still fails, tell me the exact error and whether you are on home Wi-Fi or a phone
  hotspot.
en.ask: Could you send a screenshot of the error and, from the {vpn} menu, "Collect logs" and attach the
  file?
en.info: Logs attached. Error is "Gateway not reachable" on home Wi-Fi; it works on my phone hotspot.
en.workaround: You can reach the file server and e-mail through the web portal while we fix the VPN.
en.fix: The VPN client cached your old password and the gateway certificate had been renewed. I cleared the
  saved credentials and pushed the new certificate; the VPN connects on home Wi-Fi again.
en.escalation: Gateway logs needed: several users get "gateway not reachable", client side looks fine.
en.handoff: Client reinstalled, credentials cleared, same error. Works on hotspot, fails on home
  broadband. Customer uses the web portal meanwhile.
en.title: VPN does not connect from home
en.tags: VPN, GlobalProtect, FortiClient, remote access, certificate, working from home
en.md:
  ## Symptoms
  The VPN client stays on *Connecting...* or reports *Gateway not reachable* / *Authentication failed*.

  ## Checks
  1. Is the internet connection working (open any web site)?
  2. Did the password change recently? The client may still use the saved old one.
  3. Does it work on a phone hotspot? If yes, the home router blocks the VPN (UDP 4501 / IPsec).

  ## Fix
  1. Quit the VPN client completely and clear saved credentials.
  2. Sign in again with the current password and approve the MFA prompt.
  3. If the gateway certificate was renewed, update the client (Software Center) to get the new
     certificate.

  ## Whole office affected?
  Treat as a P1 incident: check the gateway status page and the firewall's VPN service first.
zh.subject: 在家连不上 VPN
zh.subject: {vpn}一直显示“正在连接”
zh.subject: 周末之后 VPN 无法连接
zh.body: 今天居家办公，{laptop}上的{vpn}连不上，一直显示“正在连接”，最后提示网关不可达。家里网络是正常的。
zh.body: VPN 输入密码后提示“认证失败”。我上周五改过密码，今天要用文件服务器赶材料。
zh.p1subject: {org}所有人都连不上 VPN
zh.p1body: 从早上 8 点开始，所有居家办公的同事都无法通过{vpn}连接，大约 30 人，都提示网关不可达，
  远程办公全部中断。
zh.reply: 请先断开并完全退出{vpn}，再重新打开，用新密码登录。如果仍然失败，请告诉我具体报错，
  以及您用的是家里的 Wi-Fi 还是手机热点。
zh.ask: 麻烦截一张报错截图，并在{vpn}菜单里“收集日志”，把日志文件发给我。
zh.info: 日志已发。家里 Wi-Fi 下报“网关不可达”，用手机热点可以连上。
zh.workaround: 可以先通过网页门户访问文件服务器和邮箱。
zh.fix: VPN 客户端缓存了旧密码，同时网关证书已更新。已清除保存的凭据并推送新证书，家庭网络下可以正常连接。
zh.escalation: 需要查看网关日志：多名用户报“网关不可达”，客户端检查正常。
zh.handoff: 已重装客户端并清除凭据，报错相同。手机热点正常，家庭宽带失败。客户暂用网页门户。
zh.title: 居家办公时 VPN 无法连接
zh.tags: VPN, 远程办公, 证书, 居家办公, 连接失败
zh.md:
  ## 现象
  VPN 客户端一直显示“正在连接”，或提示“网关不可达”“认证失败”。

  ## 检查
  1. 网络是否正常（能否打开任意网站）？
  2. 最近是否修改过密码？客户端可能仍在使用保存的旧密码。
  3. 用手机热点是否能连上？能连上说明家里的路由器拦截了 VPN（UDP 4501 / IPsec）。

  ## 处理步骤
  1. 完全退出 VPN 客户端，清除保存的凭据。
  2. 用当前密码重新登录，并在手机上确认多重身份验证。
  3. 如网关证书已更新，请从软件中心更新客户端以获取新证书。

  ## 全公司都连不上？
  按 P1 紧急事件处理：先检查网关状态页和防火墙 VPN 服务。

=== vpn_drops | VPN | 0 20 60 20 | 6 | config-change
en.subject: VPN keeps disconnecting every few minutes
en.subject: {vpn} drops during Teams calls
en.body: The VPN connects but drops every 5-10 minutes, which kills my Teams calls and file copies. It
  started after the last Windows update on my {laptop}.
en.body: I get disconnected from the VPN several times an hour when working from home. Reconnecting works
  straight away.
en.reply: Could you check whether your laptop is on Wi-Fi power saving? In Device Manager > Network
  adapters > your Wi-Fi adapter > Power Management, untick "Allow the computer to turn off this device".
  Tell me if the drops continue.
en.ask: Could you note the times of the next few disconnects and send me the VPN client log?
en.info: Drops at 09:12, 09:31 and 09:58. Log attached.
en.workaround: Connected you to the VPN over a wired connection profile with a smaller MTU, which stays up.
en.fix: The Wi-Fi driver's power saving and an MTU mismatch caused the drops. Updated the driver, turned
  off adapter power saving and set the VPN MTU to 1360; no drops in a full day of testing.
en.escalation: Drops line up with gateway rekey events; needs firewall-side investigation.
en.handoff: Driver updated, power saving off, still drops every ~20 min. Client log shows rekey failures.
en.title: VPN disconnects every few minutes
en.tags: VPN, disconnect, drops, Wi-Fi, MTU, power saving
en.md:
  ## Symptoms
  The VPN connects but drops every few minutes, often during calls or large file copies.

  ## Common causes
  * Wi-Fi adapter power saving
  * An MTU that is too large for the home connection (fragmented packets)
  * An old Wi-Fi driver after a Windows update

  ## Fix
  1. Device Manager > Network adapters > Wi-Fi adapter > Power Management: untick *Allow the computer to
     turn off this device*.
  2. Update the Wi-Fi driver from the manufacturer's tool.
  3. Set the VPN adapter MTU to 1360: `netsh interface ipv4 set subinterface "VPN" mtu=1360 store=persistent`.
  4. Test for an hour; if drops continue, send the client log with the disconnect times.
zh.subject: VPN 每隔几分钟就断开
zh.subject: 开 Teams 会议时{vpn}经常断线
zh.body: VPN 能连上，但每 5 到 10 分钟断一次，Teams 通话和文件复制都会中断。{laptop}上次 Windows 更新后开始的。
zh.body: 在家办公时 VPN 一小时断好几次，重连马上就好。
zh.reply: 请检查一下无线网卡的节能设置：设备管理器 > 网络适配器 > 无线网卡 > 电源管理，
  取消“允许计算机关闭此设备以节约电源”，然后观察是否还会断开。
zh.ask: 麻烦记录接下来几次断开的时间，并把 VPN 客户端日志发给我。
zh.info: 9:12、9:31、9:58 各断了一次，日志已附上。
zh.workaround: 已为您配置较小 MTU 的连接配置，目前连接稳定。
zh.fix: 无线网卡节能和 MTU 不匹配导致断线。已更新驱动、关闭网卡节能，并把 VPN 的 MTU 设为 1360，
  测试一整天未再断开。
zh.escalation: 断线时间与网关重新协商密钥的时间一致，需要防火墙侧排查。
zh.handoff: 已更新驱动、关闭节能，仍约每 20 分钟断一次。客户端日志显示密钥协商失败。
zh.title: VPN 频繁断开的处理方法
zh.tags: VPN, 断线, 无线网络, MTU, 节能
zh.md:
  ## 现象
  VPN 能连接，但每隔几分钟断开一次，通话或大文件复制时更明显。

  ## 常见原因
  * 无线网卡节能
  * MTU 过大，家庭网络下数据包被分片
  * Windows 更新后无线网卡驱动过旧

  ## 处理步骤
  1. 设备管理器 > 网络适配器 > 无线网卡 > 电源管理：取消“允许计算机关闭此设备以节约电源”。
  2. 用厂商工具更新无线网卡驱动。
  3. 将 VPN 网卡的 MTU 设为 1360。
  4. 观察一小时；如仍断开，请提供断开时间和客户端日志。

=== mfa_phone | Accounts | 0 30 60 10 | 7 | user-assisted
en.subject: New phone - can't approve sign-in requests
en.subject: Authenticator codes not working after changing phone
en.body: I got a new {mobile} over the weekend and the Microsoft Authenticator app on it doesn't show
  my work account. I can't sign in to Outlook or Teams on my laptop any more.
en.body: My old phone broke and I can't complete MFA. The sign-in page keeps asking me to approve a request
  on a phone I no longer have.
en.reply: I'll verify your identity first: please call the service desk from your desk phone or reply from
  a colleague's e-mail with your manager in copy. Then I'll reset your MFA registration so you can set up
  the new phone.
en.ask: Could you confirm your employee number and your manager's name so I can verify you?
en.info: Employee number is in my signature; my manager is in copy and confirms the request.
en.workaround: Issued a temporary access pass valid for 8 hours so you can sign in today.
en.fix: Identity verified with your manager. I removed the old phone from your MFA methods and you
  registered Microsoft Authenticator on the new phone at https://aka.ms/mysecurityinfo; sign-in works.
en.escalation: User has no verified method left and a temporary access pass is blocked by policy; needs
  identity admin.
en.handoff: Identity verified by phone with the manager. Old device removed. TAP creation fails with
  "policy does not allow" - needs an Entra ID admin.
en.title: Set up MFA on a new phone (Microsoft Authenticator)
en.tags: MFA, multi-factor, authenticator, new phone, sign-in, account
en.md:
  ## When you change phones
  The Authenticator app does not move your work account to a new phone by itself.

  ## Steps (old phone still working)
  1. On a computer, open https://aka.ms/mysecurityinfo and sign in.
  2. *Add sign-in method > Authenticator app* and scan the QR code with the new phone.
  3. Delete the old phone from the list.

  ## Old phone lost or broken
  1. Call the service desk; we verify your identity (manager confirmation).
  2. We remove the old method and issue a **temporary access pass**.
  3. Sign in with the pass and register the new phone as above.
zh.subject: 换了新手机，无法确认登录请求
zh.subject: 换手机后身份验证器验证码不能用
zh.body: 周末换了{mobile}，新手机上的 Microsoft Authenticator 里没有工作账号，电脑上的 Outlook 和 Teams 都登不上了。
zh.body: 旧手机坏了，无法完成多重身份验证，登录页面一直让我在旧手机上批准请求。
zh.reply: 需要先核实您的身份：请用座机致电服务台，或用同事的邮箱回复并抄送您的主管。
  核实后我会重置您的多重身份验证注册，您就可以在新手机上重新设置。
zh.ask: 麻烦提供您的工号和直属主管姓名，以便核实身份。
zh.info: 工号在签名里，主管已在抄送中确认。
zh.workaround: 已发放 8 小时有效的临时访问通行证，今天可以先登录。
zh.fix: 已与主管核实身份，删除了旧手机的验证方式，您已在 https://aka.ms/mysecurityinfo 为新手机注册
  Microsoft Authenticator，登录正常。
zh.escalation: 用户没有可用的验证方式，策略不允许创建临时访问通行证，需要身份管理员处理。
zh.handoff: 已电话与主管核实身份，旧设备已删除。创建临时访问通行证时提示“策略不允许”，需要 Entra ID 管理员。
zh.title: 更换手机后重新设置多重身份验证（MFA）
zh.tags: 多重身份验证, MFA, 身份验证器, 换手机, 账号, 登录
zh.md:
  ## 说明
  更换手机后，Authenticator 不会自动把工作账号迁移到新手机。

  ## 旧手机仍可用
  1. 在电脑上打开 https://aka.ms/mysecurityinfo 并登录。
  2. 选择“添加登录方法 > 验证器应用”，用新手机扫描二维码。
  3. 在列表中删除旧手机。

  ## 旧手机丢失或损坏
  1. 致电服务台，由我们核实身份（需主管确认）。
  2. 删除旧的验证方式，并发放**临时访问通行证**。
  3. 用通行证登录后按上面的步骤注册新手机。

=== password | Accounts | 0 20 60 20 | 10 | user-assisted
en.subject: Password expired, can't log in
en.subject: Forgot my password
en.subject: Password reset needed for {name}
en.body: Windows says my password has expired and when I try to change it, it says the new one doesn't
  meet the requirements. I've tried several.
en.body: I came back from holiday and can't remember my password. I'm locked out of my {laptop} and
  e-mail.
en.reply: Passwords need at least 14 characters and must not contain your name or any of your last 10
  passwords. A short sentence works well. If you still can't set one, I can reset it after verifying
  your identity.
en.ask: To verify you, could you tell me your employee number and the last four digits of your mobile
  number on file?
en.info: Employee number and phone digits sent by phone to the agent.
en.workaround: Reset your password to a temporary one given by phone; you must change it at first sign-in.
en.fix: Identity verified, password reset with "must change at next sign-in". You set a new passphrase
  and are signed in on the laptop, Outlook and Teams.
en.escalation: Password reset succeeds in the portal but the account doesn't sync to on-prem AD; needs
  directory admin.
en.handoff: Reset done twice in the portal, sign-in on the laptop still rejects it. Sync error in the
  Entra Connect health report for this user.
en.title: Reset or change an expired password
en.tags: password, expired, reset, self-service, account, login
en.md:
  ## Password rules
  * At least 14 characters; a passphrase such as `Green-tea-at-9-every-day` is easiest.
  * Not your name and not one of your last 10 passwords.

  ## Self-service reset
  1. Go to https://passwordreset.microsoftonline.com.
  2. Verify with your registered phone or Authenticator app.
  3. Choose a new password; wait two minutes, then lock and unlock your laptop.

  ## After changing it
  Update the password on your phone's mail app and in the VPN client, or your account may be locked
  out by old saved passwords.
zh.subject: 密码过期，无法登录
zh.subject: 忘记密码了
zh.subject: {name}需要重置密码
zh.body: Windows 提示密码已过期，修改时一直说新密码不符合要求，试了好几个都不行。
zh.body: 休假回来忘记密码了，{laptop}和邮箱都登不上。
zh.reply: 新密码至少 14 位，不能包含姓名，也不能与最近 10 次的密码相同，建议用一句短语。
  如果仍然无法设置，核实身份后我可以帮您重置。
zh.ask: 为了核实身份，请提供您的工号和预留手机号的后四位。
zh.info: 已电话告知工号和手机号后四位。
zh.workaround: 已通过电话告知临时密码，首次登录时需修改。
zh.fix: 已核实身份并重置密码（下次登录必须修改）。您已设置新密码，电脑、Outlook 和 Teams 均已登录。
zh.escalation: 门户重置成功但账号未同步到本地 AD，需要目录管理员处理。
zh.handoff: 门户中已重置两次，电脑登录仍被拒绝。Entra Connect 健康报告中有该用户的同步错误。
zh.title: 密码过期或忘记密码的重置方法
zh.tags: 密码, 过期, 重置, 自助, 账号, 登录
zh.md:
  ## 密码规则
  * 至少 14 位，推荐使用短语，例如 `Green-tea-at-9-every-day`。
  * 不能包含姓名，不能与最近 10 次的密码相同。

  ## 自助重置
  1. 打开 https://passwordreset.microsoftonline.com。
  2. 用预留手机或验证器应用完成验证。
  3. 设置新密码，等待两分钟后锁屏再解锁电脑。

  ## 修改之后
  请同步更新手机邮件应用和 VPN 客户端中保存的密码，否则旧密码会导致账号被锁定。

=== locked | Accounts | 0 35 55 10 | 7 | fixed
en.subject: Account locked out again
en.subject: Locked out of Windows - "account is locked"
en.body: My account keeps getting locked every morning. IT unlocked it yesterday and it was locked again
  an hour later. I haven't typed a wrong password.
en.body: Windows says "The referenced account is currently locked out". I can't do anything.
en.reply: I've unlocked the account. Repeated lockouts usually come from a device still using an old
  password - your phone's mail app, a tablet, or a mapped drive with saved credentials. Could you check
  your phone's mail settings?
en.ask: Could you list all devices where you use your work account (phone, tablet, home PC)?
en.info: Work phone ({mobile}), iPad at home and the laptop. I changed my password last week.
en.workaround: Account unlocked and the lockout counter reset, so you can work now.
en.fix: The lockouts came from the old password saved in the mail app on your iPad. You removed and re-added
  the account there; no more lockouts since.
en.escalation: Lockout source is a server, not a user device; needs the AD lockout logs checked.
en.handoff: Unlocked three times today. Lockout events (4740) name caller computer FILE02, not a user
  device. Customer's devices checked and updated.
en.title: Account keeps getting locked out
en.tags: account, locked out, lockout, password, mail app
en.md:
  ## Symptoms
  Your account is locked every few hours although you type the right password.

  ## Cause
  A device or app still tries your **old** password after a password change: phone or tablet mail,
  Teams on a home PC, a mapped drive or a scheduled task with saved credentials.

  ## Fix
  1. Ask the service desk to unlock the account.
  2. Update or remove the work account on every phone and tablet.
  3. On your PC, open *Credential Manager* and delete saved entries for company servers.
  4. Lock and unlock your PC.

  ## Still locked?
  The service desk can read the lockout source (event 4740) and tell you which device it is.
zh.subject: 账号又被锁定了
zh.subject: Windows 登录提示“账号已锁定”
zh.body: 我的账号每天早上都会被锁，昨天 IT 刚解锁，一小时后又锁了，我没有输错过密码。
zh.body: Windows 提示“引用的账户当前已锁定”，什么都做不了。
zh.reply: 账号已解锁。反复锁定通常是有设备还在用旧密码，比如手机邮件、平板，或保存了凭据的网络盘。
  麻烦先检查一下手机上的邮箱设置。
zh.ask: 请列出所有登录过工作账号的设备（手机、平板、家里的电脑）。
zh.info: 工作手机（{mobile}）、家里的 iPad 和笔记本，上周改过密码。
zh.workaround: 已解锁账号并重置锁定计数，可以先正常工作。
zh.fix: 锁定来自 iPad 邮件应用中保存的旧密码，您已删除并重新添加账号，之后没有再锁定。
zh.escalation: 锁定来源是服务器而不是用户设备，需要查看 AD 锁定日志。
zh.handoff: 今天已解锁三次。锁定事件 4740 的来源计算机是 FILE02，不是用户设备。客户的设备已检查并更新。
zh.title: 账号反复被锁定的排查方法
zh.tags: 账号, 锁定, 密码, 邮件应用
zh.md:
  ## 现象
  密码输入正确，但账号每隔几小时就被锁定。

  ## 原因
  修改密码后，仍有设备或应用在用**旧密码**尝试登录：手机或平板邮件、家里电脑上的 Teams、
  保存了凭据的网络盘或计划任务。

  ## 处理步骤
  1. 联系服务台解锁账号。
  2. 在所有手机和平板上更新或删除工作账号。
  3. 在电脑上打开“凭据管理器”，删除公司服务器相关的保存凭据。
  4. 锁屏后重新登录。

  ## 仍然被锁？
  服务台可以查询锁定来源（事件 4740），告诉您是哪台设备。

=== mail_receive | Email | 1 35 50 14 | 7 | config-change
en.subject: Not receiving external e-mails
en.subject: Outlook not receiving new mail since yesterday
en.body: Since yesterday afternoon I don't get any e-mails from customers. Internal e-mails arrive. A
  customer says their message to me wasn't bounced.
en.body: Outlook on my {laptop} shows "Updating this folder" and no new mail has arrived since 16:00
  yesterday. Webmail shows new messages.
en.p1subject: E-mail down for the whole office at {org}
en.p1body: Nobody at {org} has received any external e-mail since 07:30. Customers are calling to say they
  sent orders by e-mail. Internal mail works.
en.reply: Could you check whether the missing messages are in webmail (https://outlook.office.com) or in
  the Junk folder? If webmail has them, the problem is Outlook on the laptop, not the mailbox.
en.ask: Could you give me the sender address, the approximate time and the subject of one missing e-mail,
  so I can trace it?
en.info: From orders@ at a customer, sent yesterday 15:40, subject "PO 45521".
en.workaround: Use webmail for now; new mail shows there while we repair Outlook.
en.fix: The message trace showed the mails were delivered; Outlook's offline cache (OST) was corrupted.
  I rebuilt the Outlook profile and all mail is synchronised again.
en.escalation: Message trace shows the mails quarantined by the inbound filter for several recipients;
  needs a mail admin.
en.handoff: Trace: external mails to this user since 15:00 yesterday are in quarantine (rule
  "Bulk-high"). Webmail works. Needs Exchange Online admin.
en.title: Not receiving e-mail in Outlook
en.tags: email, Outlook, not receiving, quarantine, junk, OST, message trace
en.md:
  ## First check
  1. Open webmail. If the mail is there, the problem is Outlook on your PC.
  2. Check the *Junk Email* folder and https://security.microsoft.com/quarantine.

  ## Outlook does not update
  1. Close Outlook.
  2. Control Panel > Mail > *Show profiles* > add a new profile and make it the default.
  3. Start Outlook and wait for the mailbox to download.

  ## Mail not in webmail either
  The service desk runs a **message trace** with the sender, time and subject. Mail stopped by the
  spam filter is released from quarantine and the sender is added to the allow list.

  ## Nobody receives external mail?
  Report it as a P1 incident.
zh.subject: 收不到外部邮件
zh.subject: 从昨天开始 Outlook 收不到新邮件
zh.body: 从昨天下午开始收不到客户的邮件，内部邮件正常。客户说他们发给我的邮件没有退信。
zh.body: {laptop}上的 Outlook 一直显示“正在更新此文件夹”，从昨天 16 点之后就没有新邮件，网页版邮箱里能看到新邮件。
zh.p1subject: {org}全公司收不到邮件
zh.p1body: 从早上 7:30 开始，{org}所有人都收不到外部邮件，客户打电话说订单已经发邮件了，内部邮件正常。
zh.reply: 请先看一下网页版邮箱（https://outlook.office.com）或垃圾邮件文件夹里有没有这些邮件。
  如果网页版有，说明是电脑上的 Outlook 的问题，邮箱本身正常。
zh.ask: 请提供一封未收到邮件的发件人地址、大概时间和主题，我来追踪一下。
zh.info: 发件人是客户的 orders@ 邮箱，昨天 15:40 发的，主题“PO 45521”。
zh.workaround: 可以先用网页版邮箱收发，新邮件都能看到。
zh.fix: 邮件追踪显示邮件已投递，是 Outlook 本地缓存（OST）损坏。已重建 Outlook 配置文件，所有邮件同步正常。
zh.escalation: 邮件追踪显示多名收件人的邮件被入站过滤隔离，需要邮件管理员处理。
zh.handoff: 追踪结果：昨天 15 点后发给该用户的外部邮件均被隔离（规则 Bulk-high）。网页版正常。
  需 Exchange Online 管理员。
zh.title: Outlook 收不到邮件的排查方法
zh.tags: 邮箱, 邮件, Outlook, 收不到, 隔离, 垃圾邮件, 邮件追踪
zh.md:
  ## 先检查
  1. 打开网页版邮箱，如果邮件在网页版里，说明是电脑上 Outlook 的问题。
  2. 检查“垃圾邮件”文件夹和隔离区 https://security.microsoft.com/quarantine。

  ## Outlook 不更新
  1. 关闭 Outlook。
  2. 控制面板 > 邮件 > 显示配置文件 > 添加新配置文件并设为默认。
  3. 打开 Outlook，等待邮箱下载完成。

  ## 网页版也没有
  服务台根据发件人、时间和主题进行**邮件追踪**。被反垃圾过滤拦截的邮件会从隔离区释放，并把发件人加入白名单。

  ## 全公司都收不到外部邮件？
  请按 P1 紧急事件报告。

=== mailbox_full | Email | 0 15 55 30 | 5 | config-change
en.subject: Mailbox full - can't send e-mails
en.subject: "Your mailbox is almost full" warning
en.body: Outlook says my mailbox is full and I can't send anything. I've deleted some old e-mails but it
  still says full.
en.body: I keep getting warnings that my mailbox is almost full (49 GB of 50 GB). I need to keep old
  project e-mails.
en.reply: Deleted items still count until you empty the Deleted Items folder. Could you empty it and the
  Recoverable Items (Folder > Recover Deleted Items > Purge), then restart Outlook?
en.ask: Could you send a screenshot of File > Info > Mailbox settings showing the size?
en.info: Screenshot attached: 49.6 GB of 50 GB used.
en.workaround: Raised the send limit temporarily so you can send mail today.
en.fix: Enabled your online archive with a 2-year retention policy: older mail moves to the archive
  automatically and stays searchable. Mailbox is at 31 GB now.
en.escalation: Online archive can't be enabled - licence doesn't include it; needs licensing decision.
en.handoff: Mailbox 49.6/50 GB, user cleaned up 2 GB. Archive enablement fails: licence lacks Exchange
  Online Archiving. Temporary quota raise in place.
en.title: Mailbox full: free up space or use the online archive
en.tags: email, mailbox full, quota, archive, Outlook
en.md:
  ## Quick space
  1. Empty *Deleted Items* and purge *Recoverable Items*.
  2. Search for large attachments: in the search box type `size:>10MB` and delete or save them to OneDrive.

  ## Keep old mail
  Ask the service desk to enable the **online archive**. Mail older than two years moves there
  automatically and stays searchable in Outlook.
zh.subject: 邮箱已满，无法发送邮件
zh.subject: 收到“邮箱即将满”的提示
zh.body: Outlook 提示邮箱已满，发不出邮件。我已经删了一些旧邮件，还是显示已满。
zh.body: 一直收到邮箱快满的提醒（50 GB 用了 49 GB），旧的项目邮件都需要保留。
zh.reply: 已删除邮件在清空“已删除邮件”文件夹之前仍占空间。请清空该文件夹以及“可恢复的项目”
  （文件夹 > 恢复已删除邮件 > 清除），再重启 Outlook。
zh.ask: 麻烦截图 文件 > 信息 > 邮箱设置 中显示的邮箱大小。
zh.info: 截图已发：50 GB 已用 49.6 GB。
zh.workaround: 已临时提高发送限制，今天可以正常发邮件。
zh.fix: 已为您开通在线存档，并设置两年保留策略：旧邮件会自动移到存档，仍可搜索。邮箱现在为 31 GB。
zh.escalation: 许可证不包含在线存档，无法开通，需要确定许可证方案。
zh.handoff: 邮箱 49.6/50 GB，用户已清理 2 GB。开通存档失败：许可证不含 Exchange Online 存档。已临时提高配额。
zh.title: 邮箱已满：清理空间或使用在线存档
zh.tags: 邮箱, 邮箱已满, 配额, 存档, Outlook
zh.md:
  ## 快速释放空间
  1. 清空“已删除邮件”，并清除“可恢复的项目”。
  2. 在搜索框中输入 `size:>10MB` 查找大附件，删除或保存到 OneDrive。

  ## 需要保留旧邮件
  请服务台开通**在线存档**，两年前的邮件会自动移入存档，在 Outlook 中仍可搜索。

=== shared_mailbox | Email | 0 5 55 40 | 5 | access-granted
en.subject: Access to the shared mailbox for {org} orders
en.subject: Shared mailbox not showing in Outlook
en.body: I've joined the orders team and need access to the shared orders@ mailbox. My manager has
  approved it.
en.body: I was given access to the accounts@ shared mailbox but it doesn't appear in Outlook on my
  {laptop}.
en.reply: Access to a shared mailbox needs the owner's approval. I've asked the mailbox owner; once
  approved it appears in Outlook automatically within an hour (restart Outlook).
en.ask: Could you forward your manager's approval e-mail to this ticket?
en.info: Approval forwarded from my manager.
en.workaround: You can open the mailbox in webmail (your photo > Open another mailbox) until Outlook shows
  it.
en.fix: Granted Full Access and Send As on the shared mailbox; after restarting Outlook it appears in the
  folder list and you can send as the team address.
en.escalation: Permission change fails - mailbox is on-premises and hybrid permissions need an Exchange
  admin.
en.handoff: Approval on file. Add-MailboxPermission fails (hybrid, on-prem mailbox). Webmail access
  given as workaround.
en.title: Get access to a shared mailbox
en.tags: email, shared mailbox, permissions, send as, Outlook
en.md:
  ## Request
  Ask the service desk with your manager's approval. Name the mailbox (e.g. `orders@`) and whether you
  need to **send as** the team address.

  ## After access is granted
  * Outlook adds the mailbox automatically within an hour; restart Outlook.
  * In webmail: click your photo > *Open another mailbox*.

  ## Sent items
  Mail sent as the shared address is saved in your own Sent Items unless the mailbox owner asks us to
  keep copies in the shared mailbox.
zh.subject: 申请{org}订单共享邮箱的权限
zh.subject: 共享邮箱在 Outlook 中不显示
zh.body: 我刚调到订单组，需要访问共享邮箱 orders@，主管已经同意。
zh.body: 已经给了我 accounts@ 共享邮箱的权限，但{laptop}上的 Outlook 里看不到。
zh.reply: 共享邮箱权限需要邮箱负责人审批，我已联系负责人。审批通过后一小时内会自动出现在 Outlook 中（重启 Outlook）。
zh.ask: 麻烦把主管的审批邮件转发到本工单。
zh.info: 已转发主管的审批邮件。
zh.workaround: Outlook 显示之前，可以在网页版中打开（点击头像 > 打开其他邮箱）。
zh.fix: 已授予共享邮箱的完全访问和代发权限，重启 Outlook 后已出现在文件夹列表中，可以用团队地址发信。
zh.escalation: 邮箱在本地 Exchange，混合部署下权限修改失败，需要 Exchange 管理员。
zh.handoff: 审批已存档。Add-MailboxPermission 失败（混合部署，本地邮箱）。已提供网页版访问作为临时办法。
zh.title: 申请共享邮箱权限
zh.tags: 邮箱, 共享邮箱, 权限, 代发, Outlook
zh.md:
  ## 申请
  附上主管审批联系服务台，注明邮箱名称（如 `orders@`）以及是否需要以团队地址**代发**邮件。

  ## 开通之后
  * 一小时内 Outlook 会自动添加该邮箱，请重启 Outlook。
  * 网页版：点击头像 > 打开其他邮箱。

=== mail_bounce | Email | 0 25 55 20 | 4 | config-change
en.subject: E-mails to a customer bounce back
en.subject: Undeliverable: 550 5.7.1 when e-mailing a supplier
en.body: Every e-mail I send to one of our suppliers comes back with "550 5.7.1 Message rejected". Other
  addresses work fine.
en.body: Our quotes to a new customer bounce. The error mentions SPF. It's urgent, the tender closes
  Friday.
en.reply: Could you forward one of the bounce messages (the whole "Undeliverable" e-mail) to this ticket?
  The technical part tells us who rejected it and why.
en.ask: Please forward the full bounce message as an attachment so I can read the headers.
en.info: Bounce forwarded as attachment.
en.workaround: Sent the quote from the shared sales mailbox, which the recipient accepts.
en.fix: The recipient's server rejected our mail because our SPF record missed the new mail relay. Added
  it to the SPF record and confirmed delivery with a test message.
en.escalation: DNS change needed for SPF/DKIM; needs the DNS admin.
en.handoff: NDR 550 5.7.1 from recipient's gateway citing SPF fail. Our SPF lacks the new relay's IP.
  DNS change required.
en.title: E-mail bounces with 550 5.7.1 (rejected by recipient)
en.tags: email, bounce, NDR, undeliverable, SPF, DKIM, 550
en.md:
  ## Read the bounce
  The *Undeliverable* message names the server that refused the mail and a code such as `550 5.7.1`.

  ## Common reasons
  * **SPF fail**: our DNS does not list the server that sent the mail.
  * **Blocked sender**: the recipient blocked our domain or your address.
  * **Mailbox full / does not exist** at the recipient.

  ## What to do
  Forward the whole bounce to the service desk as an attachment. SPF and DKIM problems are fixed in our
  DNS; blocks must be lifted by the recipient's IT.
zh.subject: 发给客户的邮件被退回
zh.subject: 给供应商发邮件被退信：550 5.7.1
zh.body: 我发给一家供应商的邮件全部被退回，提示“550 5.7.1 Message rejected”，发给其他地址正常。
zh.body: 发给新客户的报价邮件被退信，报错里提到 SPF。投标周五截止，比较急。
zh.reply: 请把一封退信（完整的“无法投递”邮件）转发到本工单，退信中的技术信息能看出是谁拒收以及原因。
zh.ask: 请把完整退信作为附件转发，方便查看邮件头。
zh.info: 退信已作为附件转发。
zh.workaround: 已从销售共享邮箱发出报价，对方可以正常接收。
zh.fix: 对方服务器因我方 SPF 记录缺少新的邮件中继而拒收。已在 SPF 中加入该中继，测试邮件投递成功。
zh.escalation: 需要修改 DNS 中的 SPF/DKIM，需要 DNS 管理员处理。
zh.handoff: 对方网关退信 550 5.7.1，原因 SPF 失败。我方 SPF 缺少新中继 IP，需要修改 DNS。
zh.title: 邮件被退信 550 5.7.1 的处理方法
zh.tags: 邮箱, 退信, 无法投递, SPF, DKIM, 550
zh.md:
  ## 看懂退信
  “无法投递”邮件中会写明拒收的服务器和错误代码，例如 `550 5.7.1`。

  ## 常见原因
  * **SPF 失败**：我方 DNS 没有列出发信服务器。
  * **被拉黑**：对方屏蔽了我方域名或您的地址。
  * 对方邮箱已满或不存在。

  ## 处理
  把完整退信作为附件转发给服务台。SPF、DKIM 问题由我方修改 DNS；被屏蔽需由对方 IT 解除。

=== teams_audio | Meetings | 0 25 55 20 | 8 | user-assisted
en.subject: No sound in Teams meetings
en.subject: Others can't hear me in Teams calls
en.body: In Teams meetings I can see everyone but hear nothing, and they can't hear me. My headset works
  for YouTube. Started after I plugged in a docking station.
en.body: People say my voice keeps cutting out in Teams calls from my {laptop}. I'm using the company
  headset.
en.reply: In Teams, click your profile picture > Settings > Devices and check that the speaker and
  microphone are your headset, not the docking station or the monitor. Then use "Make a test call".
en.ask: Could you send a screenshot of Teams Settings > Devices and tell me the result of the test call?
en.info: Screenshot attached. Speaker was set to the monitor; the test call still cuts out.
en.workaround: Join meetings from the Teams app on your phone for today.
en.fix: Teams was using the docking station's audio device. I set the headset as default in Windows and
  Teams, updated the dock firmware and the test call is clear.
en.escalation: Call quality dashboard shows packet loss for this site; needs network team.
en.handoff: Devices set correctly, headset swapped, still choppy. CQD shows 8% packet loss on the site's
  uplink during business hours.
en.title: No audio or choppy sound in Teams meetings
en.tags: Teams, meeting, audio, microphone, headset, sound, call quality
en.md:
  ## Check devices
  1. Teams > profile picture > *Settings > Devices*.
  2. Choose your headset for both *Speaker* and *Microphone*.
  3. Click *Make a test call*.

  ## Docking stations and monitors
  They bring their own audio devices and Windows may switch to them. Set the headset as the default
  device in *Settings > System > Sound*.

  ## Voice cuts out
  Use a cable instead of Wi-Fi if possible, close large uploads, and report the time of the call so we
  can check call quality data.
zh.subject: Teams 会议没有声音
zh.subject: Teams 通话时别人听不到我说话
zh.body: Teams 会议里能看到大家但听不到声音，他们也听不到我。耳机看视频是好的，插上扩展坞之后开始的。
zh.body: 同事说我在{laptop}上开 Teams 会议时声音断断续续，用的是公司发的耳机。
zh.reply: 请在 Teams 中点击头像 > 设置 > 设备，确认扬声器和麦克风选择的是耳机，而不是扩展坞或显示器，
  然后点“拨打测试电话”。
zh.ask: 麻烦截图 Teams 设置 > 设备 页面，并告诉我测试通话的结果。
zh.info: 截图已发，扬声器之前选的是显示器，测试通话仍然断断续续。
zh.workaround: 今天可以先用手机上的 Teams 加入会议。
zh.fix: Teams 使用了扩展坞的音频设备。已在 Windows 和 Teams 中把耳机设为默认设备，并更新扩展坞固件，测试通话清晰。
zh.escalation: 通话质量面板显示该办公点丢包严重，需要网络组处理。
zh.handoff: 设备设置正确，已更换耳机，仍然卡顿。CQD 显示工作时间该办公点上行丢包 8%。
zh.title: Teams 会议没有声音或声音断续
zh.tags: Teams, 会议, 声音, 麦克风, 耳机, 通话质量
zh.md:
  ## 检查设备
  1. Teams > 头像 > 设置 > 设备。
  2. 扬声器和麦克风都选择耳机。
  3. 点击“拨打测试电话”。

  ## 扩展坞和显示器
  它们自带音频设备，Windows 可能自动切换过去。请在 设置 > 系统 > 声音 中把耳机设为默认设备。

  ## 声音断续
  尽量使用有线网络，暂停大文件上传，并把通话时间告诉服务台，以便查看通话质量数据。

=== screen_share | Meetings | 0 20 55 25 | 4 | fixed
en.subject: Screen sharing shows a black screen in Teams
en.subject: Can't share my screen in meetings
en.body: When I share my screen in a Teams meeting, the others only see a black screen. Sharing a single
  window sometimes works.
en.body: The share button in Teams is greyed out on my {laptop}. I need to present to a client tomorrow.
en.reply: Please try sharing a single window instead of the whole screen, and check for a Teams update
  (profile picture > Check for updates). Does the problem happen with one monitor as well?
en.ask: Could you tell me how many monitors you use and send a screenshot of Windows Settings > Display?
en.info: Two monitors through the dock; screenshot attached.
en.workaround: Share the presentation window only, which works for tomorrow's meeting.
en.fix: The graphics driver was out of date and Teams hardware acceleration conflicted with it. Updated
  the driver and Teams; full-screen sharing works on both monitors.
en.escalation: Sharing is blocked by the meeting policy assigned to the user; needs Teams admin.
en.handoff: Share button greyed out in all meetings; policy shows "Screen sharing mode: disabled" for
  the user's group.
en.title: Black screen or greyed-out button when sharing in Teams
en.tags: Teams, meeting, screen sharing, black screen, graphics driver
en.md:
  ## Black screen for the audience
  1. Update Teams (profile picture > *Check for updates*).
  2. Update the graphics driver.
  3. Share a single window instead of the whole screen.

  ## Share button greyed out
  Your meeting policy may not allow sharing, or the organiser restricted presenters. Ask the organiser
  to make you a presenter; if it happens in every meeting, contact the service desk.
zh.subject: Teams 共享屏幕对方看到黑屏
zh.subject: 会议中无法共享屏幕
zh.body: 在 Teams 会议中共享屏幕时，其他人只看到黑屏，只共享一个窗口有时候可以。
zh.body: {laptop}上 Teams 的共享按钮是灰色的，明天要给客户演示。
zh.reply: 请先尝试只共享一个窗口，并检查 Teams 是否有更新（头像 > 检查更新）。只接一台显示器时也会这样吗？
zh.ask: 请告诉我您用了几台显示器，并截图 Windows 设置 > 显示。
zh.info: 通过扩展坞接了两台显示器，截图已发。
zh.workaround: 明天的会议可以只共享演示文稿窗口，测试可用。
zh.fix: 显卡驱动过旧，与 Teams 硬件加速冲突。已更新驱动和 Teams，两台显示器都能全屏共享。
zh.escalation: 用户所在组的会议策略禁止共享屏幕，需要 Teams 管理员。
zh.handoff: 所有会议中共享按钮均为灰色；该用户组的策略为“屏幕共享模式：禁用”。
zh.title: Teams 共享屏幕黑屏或共享按钮灰色
zh.tags: Teams, 会议, 共享屏幕, 黑屏, 显卡驱动
zh.md:
  ## 对方看到黑屏
  1. 更新 Teams（头像 > 检查更新）。
  2. 更新显卡驱动。
  3. 改为共享单个窗口。

  ## 共享按钮是灰色
  可能是会议策略不允许共享，或组织者限制了演示者。请组织者把您设为演示者；如果每个会议都这样，请联系服务台。

=== room_display | Meetings | 0 35 50 15 | 5 | hardware-replaced
en.subject: Meeting room screen shows "No signal"
en.subject: Can't present in the {room}
en.body: The big screen in the {room} says "No signal" when I connect my laptop with the HDMI cable.
  We have a client meeting there at 14:00.
en.body: The wireless presentation box in the {room} doesn't find my laptop any more.
en.reply: Please try the other HDMI cable on the table and press the "Input" button on the remote until
  it shows HDMI 1. On the laptop, press Windows+P and choose "Duplicate".
en.ask: Could you send a photo of the screen's input menu and of the cable connection under the table?
en.info: Photos attached. The screen finds nothing on HDMI 1 or 2.
en.workaround: Set up a portable screen in the {room} for today's meetings.
en.fix: The HDMI extender under the table had failed. Replaced the extender and the cable; laptops and
  the wireless presentation box both show on the screen.
en.escalation: Needs an onsite visit and a spare HDMI extender.
en.handoff: Remote checks done: screen powered, inputs cycled, two laptops tested. Suspect the HDMI
  extender under the table. Portable screen in place.
en.title: Meeting room display shows "No signal"
en.tags: meeting room, display, HDMI, no signal, projector, presentation
en.md:
  ## Quick checks
  1. Press *Input* on the remote until the screen shows the right HDMI port.
  2. On the laptop press **Windows + P** and choose *Duplicate*.
  3. Try the second cable on the table.
  4. Unplug the cable from the laptop for 10 seconds and plug it in again.

  ## Still no signal
  Report the room name and what you tried. The HDMI extender under the table is the usual culprit and
  is replaced onsite.
zh.subject: 会议室大屏显示“无信号”
zh.subject: {room}无法投屏
zh.body: 用 HDMI 线连接笔记本后，{room}的大屏显示“无信号”。下午 2 点有客户会议要用。
zh.body: {room}的无线投屏器搜不到我的电脑了。
zh.reply: 请试一下桌上另一根 HDMI 线，并用遥控器的“信号源”键切到 HDMI 1。在电脑上按 Windows+P，选择“复制”。
zh.ask: 麻烦拍一下大屏的信号源菜单和桌下的线缆连接处。
zh.info: 照片已发，HDMI 1 和 HDMI 2 都没有信号。
zh.workaround: 已在{room}临时放置一台便携显示器，今天的会议可以使用。
zh.fix: 桌下的 HDMI 延长器损坏，已更换延长器和线缆，笔记本和无线投屏器都能正常显示。
zh.escalation: 需要上门处理并带备用 HDMI 延长器。
zh.handoff: 远程已检查：大屏通电、信号源已切换、两台笔记本测试均无信号。怀疑桌下 HDMI 延长器故障，已放置便携显示器。
zh.title: 会议室大屏显示“无信号”的处理方法
zh.tags: 会议室, 投屏, 显示器, HDMI, 无信号, 投影
zh.md:
  ## 快速检查
  1. 用遥控器“信号源”键切换到正确的 HDMI 口。
  2. 在电脑上按 **Windows + P**，选择“复制”。
  3. 换用桌上的另一根线。
  4. 拔下电脑端的线 10 秒后重新插上。

  ## 仍然无信号
  请报告会议室名称和已尝试的操作。桌下的 HDMI 延长器是最常见的故障点，需要上门更换。

=== wifi_drops | Network | 0 20 60 20 | 7 | config-change
en.subject: Wi-Fi keeps dropping on floor {floor}
en.subject: Laptop loses Wi-Fi several times a day
en.body: My {laptop} drops off the office Wi-Fi several times a day, especially in the {room}. Reconnecting
  takes a minute each time.
en.body: Wi-Fi on floor {floor} is very unreliable since Monday - several of us lose the connection.
en.reply: Could you run "netsh wlan show wlanreport" in a command prompt and send me the report file it
  creates? It shows exactly when and why the Wi-Fi disconnected.
en.ask: Please note the time and the room when it drops next, and send the wlan report.
en.info: Dropped at 10:05 and 11:40 in the {room}; report attached.
en.workaround: Gave you a USB network adapter and cable for your desk while we look at the access point.
en.fix: The access point near the {room} was rebooting because of a faulty PoE port. Moved it to a
  healthy switch port and updated its firmware; no drops since.
en.escalation: Access point logs show repeated reboots; needs network team onsite.
en.handoff: Several users on floor {floor}. Wlan reports show disconnects at the same minute on one AP
  (AP-{floor}-02). Suspect AP or PoE.
en.title: Wi-Fi keeps disconnecting
en.tags: Wi-Fi, wireless, network, disconnect, access point
en.md:
  ## Gather facts
  Run `netsh wlan show wlanreport` in a command prompt; it writes an HTML report of every disconnect.

  ## Only your laptop?
  1. Forget the network and connect again.
  2. Update the Wi-Fi driver.
  3. Turn off Wi-Fi power saving in Device Manager.

  ## Several people in one area?
  Report the room and the times. An access point is probably restarting; the network team checks its
  logs and the switch port.
zh.subject: {floor}楼无线网络频繁掉线
zh.subject: 笔记本一天断好几次 Wi-Fi
zh.body: 我的{laptop}一天会断开办公室 Wi-Fi 好几次，在{room}尤其明显，每次重连要等一分钟。
zh.body: 从周一开始{floor}楼的无线网络很不稳定，好几个同事都会断网。
zh.reply: 请在命令提示符中运行 netsh wlan show wlanreport，把生成的报告文件发给我，报告会显示每次断开的时间和原因。
zh.ask: 下次断开时请记录时间和所在房间，并把 wlan 报告发给我。
zh.info: 10:05 和 11:40 在{room}各断了一次，报告已附上。
zh.workaround: 已给您配了 USB 网卡和网线，工位上先用有线网络。
zh.fix: {room}附近的无线 AP 因 PoE 端口故障反复重启。已改接到正常的交换机端口并升级固件，之后未再掉线。
zh.escalation: AP 日志显示反复重启，需要网络组现场处理。
zh.handoff: {floor}楼多名用户受影响。wlan 报告显示同一时间在同一台 AP 上断开，怀疑 AP 或 PoE 故障。
zh.title: 无线网络（Wi-Fi）频繁掉线
zh.tags: 无线网络, Wi-Fi, 网络, 掉线, 断网, AP
zh.md:
  ## 收集信息
  在命令提示符中运行 `netsh wlan show wlanreport`，会生成包含每次断开记录的 HTML 报告。

  ## 现象
  笔记本一天断开好几次 Wi-Fi，重新连接要等一会儿，某些会议室尤其明显。

  ## 只有您的电脑？
  1. 忘记该网络后重新连接。
  2. 更新无线网卡驱动。
  3. 在设备管理器中关闭无线网卡节能。

  ## 同一区域多人掉线？
  请报告房间和时间，通常是某台 AP 在重启，网络组会检查 AP 日志和交换机端口。

=== network_outage | Network | 4 50 40 6 | 4 | vendor
en.subject: Internet very slow at {org}
en.subject: Network slow on floor {floor} since this morning
en.body: Everything online is very slow today - web pages take ages and Teams calls freeze. It affects
  the whole floor.
en.body: File copies to the server crawl and websites time out now and then. Several colleagues have
  the same problem.
en.p1subject: Whole office offline at {org}
en.p1body: Nobody at {org} has network or internet since 08:40 - no e-mail, no phones, no ERP. The
  warehouse can't print delivery notes. Please help urgently.
en.reply: Thanks - we're checking the site's internet line and switches now. Could you tell me whether
  the desk phones still work and whether the lights on the network cabinet look normal?
en.ask: Could you run a speed test (https://speed.cloudflare.com) from a wired PC and send the result?
en.info: Speed test: 12 Mbit/s down, 3 up, with lots of packet loss. Normally we get 500.
en.workaround: Failed the site over to the 4G backup line; internet and e-mail work, slower than usual.
en.fix: The ISP found a fault on the fibre line to the building and repaired it. The site is back on the
  main line at full speed and the backup line is on standby again.
en.escalation: Site uplink down or degraded; needs network team and ISP fault ticket.
en.handoff: Several users confirm. Firewall shows the WAN interface flapping since 08:38. ISP contacted,
  their reference in the notes. 4G backup can be enabled.
en.title: Network or internet slow or down for a whole site
en.tags: network, internet, outage, slow, ISP, WAN, site down
en.md:
  ## Is it just you?
  Ask a colleague nearby. If only your PC is affected, restart it and check the cable or Wi-Fi.

  ## Whole floor or site
  1. Report it at once by phone - whole-site outages are **P1**.
  2. Tell us whether desk phones work and what the network cabinet lights show.
  3. The service desk checks the firewall and opens a fault with the internet provider.

  ## During the outage
  The site can be switched to the 4G backup line; e-mail and web work, large uploads should wait.
zh.subject: {org}网速很慢
zh.subject: {floor}楼从早上开始网络很慢
zh.body: 今天上网特别慢，网页要等很久才打开，Teams 通话卡顿，整层楼都这样。
zh.body: 往服务器复制文件非常慢，网站时不时超时，好几个同事都有同样问题。
zh.p1subject: {org}办公室全部断网
zh.p1body: 从 8:40 开始{org}所有人都没有网络，邮件、电话、ERP 都用不了，仓库打不出送货单，请紧急处理！
zh.reply: 收到，我们正在检查办公点的外网线路和交换机。请问座机电话是否正常？网络机柜上的指示灯是否正常？
zh.ask: 麻烦用有线连接的电脑做一次测速（https://speed.cloudflare.com），把结果发给我。
zh.info: 测速结果：下行 12 Mbit/s，上行 3 Mbit/s，丢包很多，平时有 500 兆。
zh.workaround: 已将办公点切换到 4G 备份线路，上网和邮件可用，速度比平时慢。
zh.fix: 运营商查到进楼光纤线路故障并已修复，办公点已切回主线路，速度恢复正常，备份线路恢复待命。
zh.escalation: 办公点出口中断或降速，需要网络组处理并向运营商报障。
zh.handoff: 多名用户确认。防火墙显示 WAN 口从 8:38 起反复断开。已联系运营商，报障单号见备注。可启用 4G 备份。
zh.title: 整个办公点网络慢或断网（网络中断）
zh.tags: 网络, 断网, 网速慢, 外网, 运营商, 网络中断
zh.md:
  ## 只有您一个人？
  先问问旁边的同事。如果只有您的电脑有问题，请重启电脑并检查网线或 Wi-Fi。

  ## 整层或整个办公点
  1. 立即电话报告——整个办公点断网属于 **P1**。
  2. 告诉我们座机是否正常、网络机柜指示灯状态。
  3. 服务台检查防火墙并向运营商报障。

  ## 断网期间
  可切换到 4G 备份线路，邮件和网页可用，大文件上传请稍后进行。

=== mapped_drive | Files | 0 20 60 20 | 6 | config-change
en.subject: Shared drive S: missing
en.subject: Can't open the shared folder - access denied
en.body: The S: drive has disappeared from my {laptop}. I need the project folders on it for today.
en.body: When I open \\\\files\\projects I get "You don't have permission". I could open it last week.
en.reply: Please connect to the VPN if you're at home, then sign out of Windows and back in - drives are
  connected at sign-in. If S: is still missing, try opening \\\\files\\shared in File Explorer.
en.ask: Could you send a screenshot of the error and tell me which folder path you need?
en.info: Screenshot attached; I need \\\\files\\projects\\2024-bids.
en.workaround: Shared the folder with you through a SharePoint link for today.
en.fix: Your account had been removed from the Projects-RW group during the team move. Added it back with
  your manager's approval; after signing out and in, S: and the project folders open.
en.escalation: Group membership correct but access still denied; needs file server ACL check.
en.handoff: User is in Projects-RW, token refreshed, still "access denied" on 2024-bids. Folder may have
  broken inheritance.
en.title: Shared drive missing or "access denied"
en.tags: shared drive, network drive, mapped drive, file server, permissions, access denied
en.md:
  ## Drive letter missing
  1. At home? Connect to the VPN first.
  2. Sign out and back in - drives are connected at sign-in.
  3. Open the path directly, e.g. `\\\\files\\shared`.

  ## Access denied
  Access comes from group membership. Ask the service desk with your manager's approval and the exact
  folder path. After you are added, sign out and in again.
zh.subject: 共享盘 S: 不见了
zh.subject: 打开共享文件夹提示没有权限
zh.body: {laptop}上的 S 盘不见了，今天要用里面的项目文件夹。
zh.body: 打开 \\\\files\\projects 时提示“你没有权限访问”，上周还能打开。
zh.reply: 如果在家，请先连接 VPN，然后注销 Windows 再重新登录，网络盘会在登录时映射。
  如果仍然没有 S 盘，请在资源管理器中直接打开 \\\\files\\shared。
zh.ask: 麻烦截图报错，并告诉我需要访问的文件夹路径。
zh.info: 截图已发，需要访问 \\\\files\\projects\\2024-bids。
zh.workaround: 今天先通过 SharePoint 链接共享该文件夹给您。
zh.fix: 部门调整时您的账号被移出了 Projects-RW 组。经主管批准已重新加入，注销再登录后 S 盘和项目文件夹均可打开。
zh.escalation: 组成员正确但仍拒绝访问，需要检查文件服务器的权限设置。
zh.handoff: 用户已在 Projects-RW 组，已刷新令牌，2024-bids 仍拒绝访问，文件夹可能中断了权限继承。
zh.title: 共享盘（网络驱动器）不见了或没有权限
zh.tags: 共享盘, 网络驱动器, 文件服务器, 权限, 拒绝访问
zh.md:
  ## 盘符不见了
  1. 在家办公请先连接 VPN。
  2. 注销后重新登录，网络盘在登录时映射。
  3. 直接打开路径，例如 `\\\\files\\shared`。

  ## 提示没有权限
  权限来自用户组。请附上主管审批和具体文件夹路径联系服务台，加入后注销再登录即可。

=== onedrive_sync | Files | 0 10 60 30 | 5 | user-assisted
en.subject: OneDrive not syncing - red cross on files
en.subject: OneDrive says "sync pending" for days
en.body: OneDrive on my {laptop} shows red crosses on a lot of files and says it can't sync them. I'm
  worried I'll lose work.
en.body: The OneDrive icon has been stuck on "Processing changes" since Tuesday and my files aren't on
  my other PC.
en.reply: Please click the OneDrive cloud icon and open "View sync problems" - it lists each file and the
  reason. Common ones are file names with characters like : or paths longer than 400 characters.
en.ask: Could you send a screenshot of the sync problems list?
en.info: Screenshot attached - 230 files, "The file name or path is too long".
en.workaround: Paused sync and copied the newest files to the web version so nothing is lost.
en.fix: A deeply nested folder copied from a USB stick made paths too long. We moved it up two levels and
  reset OneDrive (onedrive.exe /reset); everything is synced.
en.escalation: Sync blocked by a tenant-level file restriction; needs SharePoint admin.
en.handoff: 230 files fail with "blocked file type" - .pst files blocked by tenant policy. User needs
  guidance or an exception.
en.title: OneDrive does not sync (red crosses, processing changes)
en.tags: OneDrive, sync, files, SharePoint, path too long
en.md:
  ## Find the reason
  Click the OneDrive cloud icon > *View sync problems*.

  ## Common reasons and fixes
  * **Path too long**: keep paths under 400 characters; move deep folders up.
  * **Invalid characters**: rename files containing `" * : < > ? / \\ |`.
  * **Blocked types**: `.pst` and some others are not synced - store them elsewhere.
  * **Stuck on processing**: close OneDrive, run `%localappdata%\\Microsoft\\OneDrive\\onedrive.exe /reset`,
    then start it again.
zh.subject: OneDrive 无法同步，文件上有红叉
zh.subject: OneDrive 几天都显示“同步挂起”
zh.body: {laptop}上的 OneDrive 很多文件显示红叉，提示无法同步，担心文件丢失。
zh.body: OneDrive 图标从周二起一直显示“正在处理更改”，另一台电脑上看不到我的文件。
zh.reply: 请点击任务栏的 OneDrive 云图标，打开“查看同步问题”，里面会列出每个文件和原因，
  常见原因是文件名里有冒号等字符，或路径超过 400 个字符。
zh.ask: 麻烦截图同步问题列表。
zh.info: 截图已发，共 230 个文件，提示“文件名或路径太长”。
zh.workaround: 已暂停同步，并把最新文件上传到网页版，确保不会丢失。
zh.fix: 从 U 盘复制的多层嵌套文件夹导致路径过长。已将其上移两级并重置 OneDrive（onedrive.exe /reset），同步完成。
zh.escalation: 租户级文件限制阻止同步，需要 SharePoint 管理员处理。
zh.handoff: 230 个 .pst 文件因租户策略“阻止的文件类型”无法同步，需要指导用户或申请例外。
zh.title: OneDrive 无法同步（红叉、正在处理更改）
zh.tags: OneDrive, 同步, 文件, SharePoint, 路径过长
zh.md:
  ## 查看原因
  点击 OneDrive 云图标 > 查看同步问题。

  ## 常见原因
  * **路径过长**：路径保持在 400 个字符以内，把深层文件夹往上移。
  * **非法字符**：重命名包含 `" * : < > ? / \\ |` 的文件。
  * **阻止的类型**：`.pst` 等文件不会同步，请另外保存。
  * **一直在处理**：退出 OneDrive，运行 `onedrive.exe /reset` 后重新启动。

=== new_starter | Devices | 0 10 40 50 | 5 | completed
en.subject: New starter on Monday - laptop and accounts
en.subject: Set up laptop and e-mail for a new colleague
en.body: We have a new colleague starting on Monday in the accounts team. Please prepare a laptop,
  e-mail, Teams and access to the S: drive and the finance system.
en.body: Please set up an account and a laptop for our new office assistant. Start date next Wednesday,
  same access as the previous assistant.
en.reply: Thanks - I've started the new starter checklist. Please confirm the full name, job title,
  manager and the start date, and whether a desk phone is needed.
en.ask: Could you confirm the new colleague's full name, manager and which shared mailboxes they need?
en.info: Details sent: full name, manager, shared mailbox accounts@, no desk phone needed.
en.workaround: Account and a loan laptop are ready for the first day; the permanent laptop follows.
en.fix: Account created, {laptop} imaged and enrolled, Microsoft 365 licence, Teams, S: drive and finance
  system access in place. Handed over with a one-page welcome guide.
en.escalation: Finance system access needs an application admin; outside first-line rights.
en.handoff: Account, mailbox and laptop done. Finance system role "AP clerk" requested, needs app admin
  to create the user.
en.title: New starter checklist (accounts, laptop, access)
en.tags: new starter, onboarding, laptop, account, access
en.md:
  ## What we need from the manager (five working days ahead)
  * Full name, job title, start date, manager
  * Same access as a named colleague, or a list of folders, mailboxes and systems
  * Desk phone yes/no

  ## What we prepare
  1. Account and mailbox, Microsoft 365 licence
  2. Laptop imaged and enrolled, MFA set up at handover
  3. Shared drives, shared mailboxes, line-of-business systems
  4. A welcome sheet with Wi-Fi, printing and service desk contacts
zh.subject: 下周一新员工入职，需要电脑和账号
zh.subject: 为新同事配置电脑和邮箱
zh.body: 财务部下周一有新同事入职，请准备笔记本、邮箱、Teams，以及 S 盘和财务系统的权限。
zh.body: 请为新来的行政助理开通账号并准备电脑，下周三入职，权限与前任助理相同。
zh.reply: 收到，已启动新员工入职流程。请确认姓名、职位、直属主管和入职日期，以及是否需要座机。
zh.ask: 麻烦确认新同事的全名、主管，以及需要哪些共享邮箱。
zh.info: 信息已发：全名、主管，共享邮箱 accounts@，不需要座机。
zh.workaround: 账号和一台备用笔记本已准备好，第一天可以使用，正式电脑随后送到。
zh.fix: 账号已创建，{laptop}已安装系统并加入管理，Microsoft 365 许可、Teams、S 盘和财务系统权限均已开通，
  并附上入职指南。
zh.escalation: 财务系统权限需要应用管理员开通，超出一线权限。
zh.handoff: 账号、邮箱、电脑已完成。已申请财务系统“应付专员”角色，需要应用管理员创建用户。
zh.title: 新员工入职 IT 准备清单
zh.tags: 新员工, 入职, 电脑, 账号, 权限
zh.md:
  ## 主管需要提前五个工作日提供
  * 姓名、职位、入职日期、直属主管
  * 参照哪位同事的权限，或需要的文件夹、邮箱和系统清单
  * 是否需要座机

  ## 我们会准备
  1. 账号、邮箱和 Microsoft 365 许可
  2. 安装好系统的笔记本，交付时设置多重身份验证
  3. 共享盘、共享邮箱和业务系统权限
  4. 一页入职指南（Wi-Fi、打印、服务台联系方式）

=== software_install | Software | 0 5 35 60 | 6 | completed
en.subject: Please install Adobe Acrobat Pro
en.subject: Software request: Visio for {name}
en.body: I need to edit PDFs for contracts. Could you install Adobe Acrobat Pro on my {laptop}? My
  manager has approved it.
en.body: I need Microsoft Visio for process diagrams. Is there a licence available?
en.reply: Licensed software needs the budget holder's approval. Once approved, it appears in Software
  Center and installs in a few minutes; I'll let you know.
en.ask: Could you forward the approval from your manager or budget holder?
en.info: Approval forwarded.
en.workaround: Made the free viewer available in Software Center so you can open the files today.
en.fix: Licence assigned and the application deployed through Software Center; you confirmed it starts
  and is activated.
en.escalation: No free licences left; needs procurement via the licence manager.
en.handoff: Approval on file. Licence pool empty (25/25 used). Two licences unused for 90 days could be
  reclaimed.
en.title: Request software (Software Center)
en.tags: software, install, licence, Software Center, request
en.md:
  ## Free software
  Open **Software Center** on your PC and click *Install*. No ticket needed.

  ## Licensed software
  1. Ask the service desk, naming the product and why you need it.
  2. Forward your budget holder's approval.
  3. We assign a licence; the software appears in Software Center.

  ## Not in the catalogue?
  New software is checked for security and licensing first, which takes about a week.
zh.subject: 申请安装 Adobe Acrobat Pro
zh.subject: 软件申请：为{name}安装 Visio
zh.body: 需要编辑合同 PDF，麻烦在{laptop}上安装 Adobe Acrobat Pro，主管已批准。
zh.body: 需要用 Microsoft Visio 画流程图，请问还有许可证吗？
zh.reply: 付费软件需要预算负责人审批。审批通过后软件会出现在软件中心，几分钟即可安装，届时通知您。
zh.ask: 麻烦转发主管或预算负责人的审批邮件。
zh.info: 审批邮件已转发。
zh.workaround: 已在软件中心提供免费阅读器，今天可以先打开文件。
zh.fix: 已分配许可证并通过软件中心安装，您已确认软件可以启动并已激活。
zh.escalation: 许可证已用完，需要通过许可证管理员采购。
zh.handoff: 审批已存档。许可证池已满（25/25），有两个许可证 90 天未使用，可回收。
zh.title: 软件安装申请（软件中心）
zh.tags: 软件, 安装, 许可证, 软件中心, 申请
zh.md:
  ## 免费软件
  在电脑上打开**软件中心**，点击“安装”即可，无需提交工单。

  ## 付费软件
  1. 联系服务台，说明软件名称和用途。
  2. 转发预算负责人的审批。
  3. 分配许可证后，软件会出现在软件中心。

  ## 目录中没有的软件
  新软件需要先做安全和许可评估，约需一周。

=== windows_update | Devices | 0 10 55 35 | 4 | fixed
en.subject: Windows update stuck at 35%
en.subject: Laptop keeps asking to restart for updates that fail
en.body: My {laptop} has been showing "Working on updates 35%" for over an hour after a restart. I'm
  afraid to switch it off.
en.body: Every evening Windows installs an update and the next morning it says "We couldn't complete the
  updates, undoing changes". This has happened five times.
en.reply: Please leave it on the charger for another 30 minutes. If the percentage hasn't moved, hold the
  power button for 10 seconds and start it again - Windows will roll back safely.
en.ask: Could you send a photo of Settings > Windows Update > Update history, showing the failed update
  and its error code?
en.info: Photo attached: cumulative update failed with 0x800f0922, five times.
en.workaround: Paused updates for a week so the laptop stops restarting during work.
en.fix: The recovery partition was too small for the update (0x800f0922). I resized it and installed the
  update manually; Windows is up to date and no longer loops.
en.escalation: Update fails on several laptops of the same model; needs the endpoint management team.
en.handoff: Same 0x800f0922 on 6 laptops of this model. Recovery partition 500 MB. Update paused on
  the customer's laptop.
en.title: Windows update stuck or keeps failing
en.tags: Windows update, stuck, 0x800f0922, restart, laptop
en.md:
  ## Stuck on "Working on updates"
  Wait 30 minutes on the charger. If nothing moves, hold the power button for 10 seconds and start again;
  Windows rolls back safely.

  ## Fails every time
  1. *Settings > Windows Update > Update history* shows the error code.
  2. Run *Troubleshoot > Other troubleshooters > Windows Update*.
  3. `0x800f0922` usually means the recovery partition is too small; the service desk can fix it.
zh.subject: Windows 更新卡在 35%
zh.subject: 电脑反复提示更新后重启，更新总是失败
zh.body: 我的{laptop}重启后一直显示“正在处理更新 35%”，已经一个多小时了，不敢关机。
zh.body: 每天晚上 Windows 都会装更新，第二天早上提示“无法完成更新，正在撤销更改”，已经五次了。
zh.reply: 请接上电源再等 30 分钟。如果进度没有变化，长按电源键 10 秒强制关机后重新开机，Windows 会安全回滚。
zh.ask: 麻烦拍一下 设置 > Windows 更新 > 更新历史记录，包括失败的更新和错误代码。
zh.info: 照片已发：累积更新失败五次，错误代码 0x800f0922。
zh.workaround: 已暂停更新一周，电脑不会在工作时间自动重启。
zh.fix: 恢复分区空间不足导致更新失败（0x800f0922）。已扩展恢复分区并手动安装更新，系统已是最新，不再循环。
zh.escalation: 同型号多台笔记本更新失败，需要终端管理团队处理。
zh.handoff: 同型号 6 台笔记本都报 0x800f0922，恢复分区 500 MB。客户电脑已暂停更新。
zh.title: Windows 更新卡住或反复失败
zh.tags: Windows 更新, 卡住, 0x800f0922, 重启, 笔记本
zh.md:
  ## 卡在“正在处理更新”
  接上电源等待 30 分钟。如仍无进展，长按电源键 10 秒后重新开机，Windows 会安全回滚。

  ## 每次都失败
  1. 设置 > Windows 更新 > 更新历史记录 中查看错误代码。
  2. 运行 疑难解答 > 其他疑难解答 > Windows 更新。
  3. `0x800f0922` 通常是恢复分区太小，可联系服务台处理。

=== slow_pc | Devices | 0 5 50 45 | 6 | fixed
en.subject: Laptop very slow
en.subject: Computer takes 10 minutes to start
en.body: My {laptop} has become really slow - opening Outlook takes minutes and the fan is always on.
en.body: It takes about 10 minutes after switching on before I can use my computer. Everything freezes
  for seconds at a time.
en.reply: Could you open Task Manager (Ctrl+Shift+Esc) and tell me what is at the top of the CPU, Memory
  and Disk columns? Please also check how much free space drive C: has.
en.ask: Could you send a screenshot of Task Manager's Performance tab and of This PC showing free space?
en.info: Screenshots attached: disk at 100%, only 3 GB free on C:.
en.workaround: Cleared temporary files and disabled some start-up apps so the laptop is usable today.
en.fix: Drive C: was nearly full (3 GB free) because of old Outlook caches and a 40 GB Downloads folder.
  Cleaned up with you and enabled Storage Sense; 120 GB free and start-up takes under a minute.
en.escalation: Disk shows SMART warnings; needs a replacement drive and re-image.
en.handoff: Cleanup done, still slow. SMART reports reallocated sectors. Laptop under warranty; user
  data backed up to OneDrive.
en.title: Slow computer or slow start-up: first checks
en.tags: slow, performance, disk full, startup, laptop
en.md:
  ## Symptoms
  The computer takes minutes to start, programs open slowly and everything freezes for seconds at a time.

  ## Quick checks
  1. Restart (not just close the lid) at least once a week.
  2. Task Manager (Ctrl+Shift+Esc): what uses CPU, memory and disk?
  3. Free space on C: should be at least 15 %.

  ## Free up space
  *Settings > System > Storage* > turn on **Storage Sense**, delete temporary files, empty Downloads.

  ## Still slow
  Tell the service desk the model and what Task Manager shows; a failing disk or too little memory needs
  hardware.
zh.subject: 电脑运行很慢
zh.subject: 电脑开机要十分钟
zh.body: 我的{laptop}最近特别慢，打开 Outlook 要好几分钟，风扇一直转。
zh.body: 开机后大约要等十分钟才能用，经常卡住好几秒。
zh.reply: 请按 Ctrl+Shift+Esc 打开任务管理器，告诉我 CPU、内存、磁盘三列排在最前面的是什么程序，
  并看一下 C 盘还剩多少空间。
zh.ask: 麻烦截图任务管理器的“性能”页和“此电脑”中的剩余空间。
zh.info: 截图已发，磁盘 100%，C 盘只剩 3 GB。
zh.workaround: 已清理临时文件并禁用部分开机启动项，今天可以正常使用。
zh.fix: C 盘几乎已满（剩 3 GB），原因是旧的 Outlook 缓存和 40 GB 的下载文件夹。已和您一起清理并开启存储感知，
  现在剩余 120 GB，开机不到一分钟。
zh.escalation: 硬盘 SMART 报警，需要更换硬盘并重装系统。
zh.handoff: 已清理，仍然很慢。SMART 显示有重新分配扇区。电脑在保修期内，用户数据已备份到 OneDrive。
zh.title: 电脑运行慢、开机慢的排查方法
zh.tags: 电脑慢, 卡顿, 磁盘已满, 开机慢, 笔记本
zh.md:
  ## 现象
  电脑开机要等好几分钟，打开程序很慢，经常卡住好几秒。

  ## 快速检查
  1. 每周至少重启一次（不是合上盖子）。
  2. 任务管理器（Ctrl+Shift+Esc）：哪些程序占用 CPU、内存和磁盘？
  3. C 盘剩余空间应不少于 15%。

  ## 释放空间
  设置 > 系统 > 存储 > 开启**存储感知**，删除临时文件，清理下载文件夹。

  ## 仍然很慢
  请告诉服务台电脑型号和任务管理器的情况，硬盘故障或内存不足需要更换硬件。

=== excel_crash | Software | 0 15 60 25 | 5 | fixed
en.subject: Excel crashes when opening a file
en.subject: Excel "not responding" with the monthly report
en.body: Excel closes by itself every time I open the monthly sales report. Other workbooks open fine.
  The report is on the S: drive.
en.body: Excel freezes ("Not responding") as soon as I open any file since yesterday's update.
en.reply: Please hold Ctrl while starting Excel and answer Yes to start in Safe Mode, then open the file.
  If it works in Safe Mode, an add-in is the likely cause.
en.ask: Could you tell me whether the file opens in Safe Mode, and send a screenshot of File > Options >
  Add-ins?
en.info: It opens in Safe Mode. Add-ins list attached - there's a PDF add-in and a finance plug-in.
en.workaround: The file opens in Safe Mode; you can work on it that way while we fix the add-in.
en.fix: The old PDF add-in crashed Excel after the Office update. Disabled it, installed the current
  version and repaired Office; the report opens normally.
en.escalation: Workbook crashes Excel for every user; file-level corruption or macro issue, needs L2.
en.handoff: Crash reproducible on three PCs with this workbook only. Safe Mode opens it. Suspect a broken
  external link or macro.
en.title: Excel crashes or stops responding when opening files
en.tags: Excel, crash, not responding, add-in, safe mode, Office
en.md:
  ## Find the cause
  Start Excel with **Ctrl** held down (Safe Mode). If the file opens, an add-in is to blame.

  ## Fix
  1. *File > Options > Add-ins > Manage: COM Add-ins > Go* and untick add-ins one by one.
  2. Update or remove the faulty add-in.
  3. If all files crash: *Settings > Apps > Microsoft 365 > Modify > Quick Repair*.

  ## Only one file?
  Open it with *File > Open > Open and Repair*, and ask the service desk if it contains old macros.
zh.subject: Excel 打开文件就崩溃
zh.subject: 打开月报时 Excel “未响应”
zh.body: 每次打开月度销售报表 Excel 就自动关闭，其他工作簿正常，报表放在 S 盘。
zh.body: 从昨天更新后，打开任何文件 Excel 都会卡住“未响应”。
zh.reply: 请按住 Ctrl 键启动 Excel，选择以安全模式启动，然后打开文件。如果安全模式下正常，很可能是加载项的问题。
zh.ask: 请告诉我安全模式下能否打开，并截图 文件 > 选项 > 加载项。
zh.info: 安全模式可以打开。加载项截图已发，有一个 PDF 加载项和一个财务插件。
zh.workaround: 安全模式下可以打开文件，可先这样处理工作。
zh.fix: Office 更新后旧版 PDF 加载项导致崩溃。已禁用并安装新版，修复 Office 后报表可以正常打开。
zh.escalation: 该工作簿在所有用户电脑上都会导致崩溃，疑似文件损坏或宏问题，需要二线处理。
zh.handoff: 三台电脑打开此工作簿都会崩溃，安全模式可以打开，怀疑外部链接或宏损坏。
zh.title: Excel 打开文件崩溃或未响应
zh.tags: Excel, 崩溃, 未响应, 加载项, 安全模式, Office
zh.md:
  ## 找原因
  按住 **Ctrl** 启动 Excel（安全模式），如果文件能打开，说明是加载项导致。

  ## 处理步骤
  1. 文件 > 选项 > 加载项 > 管理 COM 加载项 > 转到，逐个取消勾选。
  2. 更新或删除有问题的加载项。
  3. 所有文件都崩溃：设置 > 应用 > Microsoft 365 > 修改 > 快速修复。

  ## 只有一个文件有问题
  用 文件 > 打开 > 打开并修复；如包含旧宏，请联系服务台。

=== desk_phone | Telephony | 0 30 55 15 | 4 | config-change
en.subject: Desk phone has no dial tone
en.subject: IP phone shows "Registering..."
en.body: My desk phone shows "Registering..." and there's no dial tone. Customers can't reach me on my
  direct line.
en.body: Since the office move my desk phone doesn't work. The screen lights up but calls fail.
en.reply: Please check that the network cable from the wall goes into the phone's "LAN" port and your
  laptop into the "PC" port, then unplug the phone's cable for 10 seconds. Meanwhile I'll forward your
  extension to your mobile.
en.ask: Could you send a photo of the back of the phone and tell me the number on the wall port label?
en.info: Photo attached; the wall port label says 3-17.
en.workaround: Your extension is forwarded to your mobile so customers can reach you.
en.fix: The wall port 3-17 was patched to the data VLAN instead of the voice VLAN after the move.
  Re-patched it; the phone registered and calls work in both directions.
en.escalation: Phone gets an address but registration to the call server fails; needs telephony team.
en.handoff: Cabling checked, phone factory reset, gets an IP in the data VLAN. Call forwarding to mobile
  in place. Needs voice VLAN on port 3-17.
en.title: Desk phone shows "Registering" or has no dial tone
en.tags: phone, desk phone, IP phone, no dial tone, telephony, VoIP
en.md:
  ## Check the cables
  The wall cable goes into the phone's **LAN** port; your PC goes into the **PC** port.

  ## Restart the phone
  Unplug the network cable for 10 seconds. The phone shows *Registering* for about a minute.

  ## Still not working
  Report the wall port number (label on the socket). After office moves, ports are often on the wrong
  network. We can forward your extension to your mobile in the meantime.
zh.subject: 座机没有拨号音
zh.subject: IP 电话一直显示“正在注册”
zh.body: 我的座机一直显示“正在注册”，没有拨号音，客户打不进我的直线。
zh.body: 搬工位之后座机就用不了，屏幕亮但是打不出去。
zh.reply: 请确认墙上的网线插在电话背面的 LAN 口，电脑接在 PC 口，然后把电话的网线拔掉 10 秒再插上。
  同时我先把您的分机转接到手机上。
zh.ask: 麻烦拍一下电话背面，并告诉我墙上网口标签上的编号。
zh.info: 照片已发，墙上网口标签是 3-17。
zh.workaround: 已将分机转接到您的手机，客户可以联系到您。
zh.fix: 搬迁后墙上网口 3-17 被跳接到了数据 VLAN 而不是语音 VLAN。已重新跳线，电话注册成功，呼入呼出正常。
zh.escalation: 电话能获取地址但无法注册到呼叫服务器，需要语音组处理。
zh.handoff: 已检查线缆并恢复出厂设置，电话拿到的是数据 VLAN 地址。已设置转接到手机，需要在 3-17 口配置语音 VLAN。
zh.title: 座机显示“正在注册”或没有拨号音
zh.tags: 座机, 电话, IP 电话, 无拨号音, 语音
zh.md:
  ## 检查线缆
  墙上的网线接电话的 **LAN** 口，电脑接 **PC** 口。

  ## 重启电话
  拔掉网线 10 秒再插上，电话会显示“正在注册”约一分钟。

  ## 仍然不行
  请报告墙上网口编号（插座上的标签）。搬迁后网口常被接到错误的网络。期间可将分机转接到手机。
"""
