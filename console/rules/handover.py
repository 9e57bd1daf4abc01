"""Handoff notes of an escalation (the standards' 规范移交: hand over with complete information).

Three parts are required: what was already tried, the business impact, and what the customer was told. They come
either as separate values or inside the notes as the template's headings ("Steps already tried: …"), in English
or in any language the console speaks (an agent may write the notes in Chinese and the CLI run in English). A
heading written but left empty is refused: it is the template's blank, not an answer.
"""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Mapping
from dataclasses import dataclass

from console.i18n import DOMAIN, LOCALE_DIR, N_, TRANSLATED, _

# Part key -> heading (msgid). The order is the template's.
HEADINGS: Mapping[str, str] = {
    "symptoms": N_("Symptoms:"),
    "tried": N_("Steps already tried:"),
    "impact": N_("Business impact:"),
    "told": N_("Customer told:"),
    "contact": N_("Customer contact:"),
}
REQUIRED = ("tried", "impact", "told")
# What each required part is called in a refusal.
PART_NAMES: Mapping[str, str] = {
    "tried": N_("what was already tried"),
    "impact": N_("the business impact"),
    "told": N_("what the customer was told"),
}


class HandoffIncomplete(ValueError):
    """A required part is missing or left empty; the message names every one."""


@dataclass(frozen=True)
class Handoff:
    """The parts found (key -> text) and the notes to keep (the given notes, with the separate values added under
    their headings when they were not already written in)."""

    parts: Mapping[str, str]
    text: str


@functools.cache
def _headings() -> tuple[re.Pattern[str], Mapping[str, str]]:
    """A pattern matching a heading line in any language, and each heading's folded form -> its part key."""
    forms: dict[str, str] = {}
    catalogs = [gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True) for lang in TRANSLATED]
    for key, msgid in HEADINGS.items():
        for text in (msgid, *(c.gettext(msgid) for c in catalogs)):
            forms[_fold(text)] = key
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    # Markdown-ish decoration may come first ("## Business impact:", "- Steps already tried:").
    pattern = re.compile(rf"^[\s#*>\-•]*({alternatives})\s*[:：](.*)$", re.IGNORECASE)
    return pattern, forms


def _fold(heading: str) -> str:
    return " ".join(heading.strip().rstrip(":：").split()).lower()


def parse(notes: str) -> dict[str, str]:
    """The parts written in ``notes`` under their headings (key -> text, stripped; "" for a heading left empty).
    A heading is recognised at the start of a line, followed by a colon (ASCII or full-width); its text runs to
    the next heading."""
    pattern, forms = _headings()
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in notes.splitlines():
        match = pattern.match(line)
        if match is not None:
            current = forms[_fold(match.group(1))]
            found.setdefault(current, []).append(match.group(2).strip())
        elif current is not None:
            found[current].append(line.strip())
    return {key: "\n".join(x for x in lines if x).strip() for key, lines in found.items()}


def assemble(notes: str, *, tried: str | None = None, impact: str | None = None, told: str | None = None) -> Handoff:
    """Check the required parts and build the notes to keep. A separate value fills its part (and is added under
    its heading); a heading present in the notes but left empty, with no separate value, is refused like a part
    given nowhere. Raises `HandoffIncomplete` naming what is missing."""
    written = parse(notes)
    given = {"tried": (tried or "").strip(), "impact": (impact or "").strip(), "told": (told or "").strip()}
    parts = dict(written)
    lacking: list[str] = []  # given nowhere, or under a heading left empty
    for key in REQUIRED:
        if given[key]:
            parts[key] = given[key]
        elif not written.get(key):
            lacking.append(key)
    if lacking:
        raise HandoffIncomplete(
            _(
                "handoff notes need {parts}: write each after its heading ({headings}) or give --tried, --impact,"
                " --told"
            ).format(
                parts=", ".join(_(PART_NAMES[k]) for k in lacking),
                headings=", ".join("'" + _(HEADINGS[k]) + "'" for k in lacking),
            )
        )
    added = [f"{_(HEADINGS[key])} {given[key]}" for key in REQUIRED if given[key] and given[key] != written.get(key)]
    text = "\n".join(x for x in (notes.strip(), *added) if x)
    return Handoff(parts={k: parts[k] for k in REQUIRED}, text=text)


def template(subject: str, contact: str) -> str:
    """The notes template the console offers (headings in the active language; the answers to write after them)."""
    return "\n".join(
        [
            _(HEADINGS["symptoms"]) + " " + subject,
            _(HEADINGS["tried"]) + " ",
            _(HEADINGS["impact"]) + " ",
            _(HEADINGS["told"]) + " ",
            _(HEADINGS["contact"]) + " " + contact,
        ]
    )
