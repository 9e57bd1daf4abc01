"""Rules for untrusted input: text cleaned and bounded, and a new ticket's and customer's fields checked."""

from __future__ import annotations

from typing import Any

from console.i18n import _
from console.rules.errors import BadInput
from db.vocabulary import CHANNELS, PRIORITIES, RESERVED_ACTORS, TIERS

MAX_SUBJECT = 500
MAX_BODY = 100_000


def clean_text(value: str, *, field: str, limit: int, multiline: bool = True) -> str:
    """Stated rule for untrusted text: control characters other than newline and tab are removed, newlines are
    normalised, and text over the limit is refused (never silently cut)."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:  # a line break in a one-line field separates words: keep them apart
        text = text.replace("\n", " ").replace("\t", " ")
    allowed = "\n\t" if multiline else ""
    text = "".join(ch for ch in text if ch in allowed or not (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0))
    if len(text) > limit:
        raise BadInput(
            _("{field} is too long ({n} characters; at most {limit})").format(field=field, n=len(text), limit=limit)
        )
    return text


MAX_NAME = 200
MAX_CONTACT = 254


def validate_customer(
    name: str | None, email: str | None, phone: str | None, organisation: str | None, tier: str | None
) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """The same rule for the customer's fields: one line each, control characters removed, refused over the limit."""

    def one(value: str | None, what: str, limit: int) -> str | None:
        if value is None:
            return None
        return clean_text(value, field=what, limit=limit, multiline=False).strip() or None

    return (
        one(name, "customer", MAX_NAME),
        one(email, "email", MAX_CONTACT),
        one(phone, "phone", 64),
        one(organisation, "organisation", MAX_NAME),
        one(tier, "customer_tier", 32),
    )


def validate_new_ticket(subject: str, body: str, priority: str, channel: str, tier: str) -> dict[str, Any]:
    subject_text = clean_text(subject, field="subject", limit=MAX_SUBJECT, multiline=False).strip()
    if not subject_text:
        raise BadInput(_("subject must not be empty"))
    if priority not in PRIORITIES:
        raise BadInput(_("priority must be one of: {values}").format(values=", ".join(PRIORITIES)))
    if channel not in CHANNELS:
        raise BadInput(_("channel must be one of: {values}").format(values=", ".join(CHANNELS)))
    if tier not in TIERS:
        raise BadInput(_("tier must be one of: {values}").format(values=", ".join(TIERS)))
    return {
        "subject": subject_text,
        "body": clean_text(body or "", field="body", limit=MAX_BODY),
        "priority": priority,
        "channel": channel,
        "tier": tier,
    }


def require_text(value: str | None, what: str) -> str:
    text = clean_text(value or "", field=what, limit=MAX_BODY).strip()
    if not text:
        raise BadInput(_("{what} must not be empty").format(what=what))
    return text


# Bidirectional formatting characters: in a name they reorder what follows on screen (the "Trojan Source" trick),
# so "li.wei" can be made to look like another agent.
_BIDI_CONTROLS = frozenset((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _unsafe_in_name(ch: str) -> bool:
    """C0 and C1 controls, DEL, bidi controls, line/paragraph separators, and lone surrogates (undecodable bytes
    on the command line, which could not be stored)."""
    code = ord(ch)
    return (
        code < 0x20
        or 0x7F <= code < 0xA0
        or code in _BIDI_CONTROLS
        or code in (0x2028, 0x2029)
        or 0xD800 <= code < 0xE000
    )


def check_agent_name(name: str) -> None:
    """Names identify agents (assignees, the audit log, logins): refused, never cleaned, when they carry a
    character that would hide or disguise them."""
    if any(_unsafe_in_name(ch) for ch in name):
        raise BadInput(
            _("agent names must not contain control or bidirectional formatting characters: {name!r}").format(name=name)
        )
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise BadInput(_("agent names are 1-64 characters without spaces: {name!r}").format(name=name))


def check_new_agent_name(name: str) -> None:
    """An agent's name as ``check_agent_name``, and none of the helpdesk's own actors' (in any case)."""
    check_agent_name(name)
    if name.casefold() in RESERVED_ACTORS:
        raise BadInput(
            _("{name} is the helpdesk's own name for the sweep or the mail channel: choose another").format(name=name)
        )


def check_display_name(name: str) -> None:
    """The same refusal for an agent's display name (spaces allowed), which is also bounded."""
    if any(_unsafe_in_name(ch) for ch in name):
        raise BadInput(
            _("display names must not contain control or bidirectional formatting characters: {name!r}").format(
                name=name
            )
        )
    if len(name) > MAX_NAME:
        raise BadInput(
            _("{field} is too long ({n} characters; at most {limit})").format(
                field="display_name", n=len(name), limit=MAX_NAME
            )
        )
