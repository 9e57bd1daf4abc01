"""The demo's cast and words: staff, organisations with their people and computers, customers, ticket topics and
the shared phrases. The texts are data files in ``console/defaults``, read once when first needed."""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

ADMIN = "admin"
SUPERVISOR = "zhao.lei"
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


# Organisations (demo_orgs.txt): `= name | mail domain | language | customer tier | seats`, their environment
# (`os | office | printer | floor | VPN client | meeting room`), then `- name | mail name | job title`
# for each contact; a "*" before the title marks a VIP.
@functools.cache
def orgs() -> tuple[Org, ...]:
    return _parse_orgs(_read("demo_orgs.txt"))


def _parse_orgs(table: str) -> tuple[Org, ...]:
    found: list[Org] = []
    head: list[str] = []
    env: list[str] = []
    people: list[tuple[str, str, str]] = []

    def flush() -> None:
        if head:
            name, domain, lang, tier, seats = head
            os_, office, printer, floor, vpn, room = env
            found.append(
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
    return tuple(found)


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


# -- text ----------------------------------------------------------------------------------------------------


def fill_in(template: str, ctx: Mapping[str, str]) -> str:
    return template.format_map(ctx)


def priority_weights(topic: Topic, lang: str) -> tuple[int, int, int, int]:
    p1, p2, p3, p4 = topic.priorities
    return (p1 if topic.can_be_p1(lang) else 0, p2, p3, p4)


def weighted_choice(rng: random.Random, items: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _w in items], [w for _v, w in items])[0]


def _read(name: str) -> str:
    return (files("console") / "defaults" / name).read_text(encoding="utf-8")


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


# Topics (demo_catalogue.txt): `=== key | product | P1 P2 P3 P4 weights | weight | resolution code`, then the
# English and the Chinese version of the ticket texts and of the knowledge article (`md`) about the same problem.
@functools.cache
def catalogue() -> tuple[Topic, ...]:
    topics: list[Topic] = []
    for header, texts in _parse(_read("demo_catalogue.txt")):
        key, product, priorities, weight, code = header
        p = tuple(int(x) for x in priorities.split())
        topics.append(Topic(key, product, (p[0], p[1], p[2], p[3]), int(weight), code, texts))
    return tuple(topics)


# Shared phrases (demo_common.txt): {first} is the customer's first name (the full name in Chinese), {agent} and
# {prev} sign the agents; {fix}, {workaround} and {product} come from the ticket's topic.
@functools.cache
def common_text() -> Mapping[str, Mapping[str, Sequence[str]]]:
    return _parse(_read("demo_common.txt"))[0][1]
