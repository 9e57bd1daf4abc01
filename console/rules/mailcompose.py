"""Writing the messages the helpdesk sends: the same bytes every time for the same outbox row, so a message sent
again after a crash (the server accepted it, the crash came before it was marked sent) is the same message, with the
same Message-ID, that the customer's mail program files once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

MAX_REFERENCES = 20  # the thread's newest ids; the first one (the thread's root) is always kept


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    from_name: str
    from_address: str
    to_name: str
    to_address: str
    subject: str
    body: str
    date: datetime
    in_reply_to: str | None
    references: tuple[str, ...]
    automatic: bool


def new_message_id(ticket_id: int, domain: str) -> str:
    return f"helpdesk.{ticket_id}.{uuid.uuid4().hex}@{domain}"


def tagged_subject(subject: str, ticket_id: int, prefix: str) -> str:
    """``Re: [#123] subject`` (the tag once, whatever the subject held)."""
    tag = f"[{prefix}{ticket_id}]"
    text = " ".join(subject.split())
    if tag.lower() in text.lower():
        return text if text.lower().startswith("re:") else f"Re: {text}"
    return f"Re: {tag} {text}".strip()


def references(thread: list[str]) -> tuple[str, ...]:
    if len(thread) <= MAX_REFERENCES:
        return tuple(thread)
    return (thread[0], *thread[-(MAX_REFERENCES - 1) :])


def compose(out: Outgoing) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=out.from_name, addr_spec=out.from_address)
    msg["To"] = Address(display_name=out.to_name, addr_spec=out.to_address) if out.to_name else out.to_address
    msg["Subject"] = out.subject
    msg["Date"] = format_datetime(out.date)
    msg["Message-ID"] = f"<{out.message_id}>"
    if out.in_reply_to:
        msg["In-Reply-To"] = f"<{out.in_reply_to}>"
    if out.references:
        msg["References"] = " ".join(f"<{r}>" for r in out.references)
    if out.automatic:
        # RFC 3834: an automatic response says so, and asks Exchange not to answer it with an out-of-office reply
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Mailer"] = "helpdesk"
    msg.set_content(out.body.replace("\r\n", "\n"), charset="utf-8")
    return msg.as_bytes()
