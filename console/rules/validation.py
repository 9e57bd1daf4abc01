"""Rules for untrusted input: text cleaned and bounded, and a new ticket's and customer's fields checked."""

from __future__ import annotations

from typing import Any

from console.i18n import _
from console.rules.errors import BadInput
from db.vocabulary import CHANNELS, PRIORITIES, TIERS

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


def check_agent_name(name: str) -> None:
    if not name or len(name) > 64 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise BadInput(_("agent names are 1-64 characters without spaces: {name!r}").format(name=name))
