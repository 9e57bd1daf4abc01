"""Public replies to customers who wrote in by e-mail enter the outbox in the reply's own transaction: the reply and
the message that will carry it are stored together or not at all, and the Message-ID is fixed here, once."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from console.i18n import N_, _
from console.service.mail_detail import MailDetail
from db.mail_store import MailStore

if TYPE_CHECKING:
    from console.service.core import ServiceCore
    from db.models import Ticket

# What the mail commands last read from the configuration, kept in the database so that a reply written in the
# console (which reads no mail configuration) threads and tags the same way.
DOMAIN_KEY = "mail_domain"
PREFIX_KEY = "mail_tag_prefix"
# The words the mail screens and `mail status` translate: the two parts, an outgoing message's states.
LABELS = (N_("fetch"), N_("send"), N_("waiting"), N_("sent"), N_("failed"))


def queue_mail(
    core: ServiceCore,
    ticket: Ticket,
    body: str,
    when: datetime,
    *,
    kind: str = "reply",
    automatic: bool = False,
) -> int | None:
    """Queue ``body`` to the customer of ``ticket`` if they wrote in by e-mail (a ticket typed in by an agent is
    answered the way it came in, not mailed); the outbox row's id, or None. Runs inside the caller's transaction."""
    from console.rules.mailcompose import new_message_id, references, tagged_subject  # only when mail is sent

    mail = MailStore(core.store)
    thread = mail.thread(ticket.id)
    inbound = [m for m in thread if m["direction"] == "in" and m["outcome"] in ("new", "added", "follow-up")]
    if not inbound:
        return None
    customer = core.store.get_customer(ticket.customer_id) if ticket.customer_id is not None else None
    to_address = (customer.email if customer is not None and customer.email else "") or str(inbound[-1]["sender"])
    if not to_address:
        return None
    # a reply was stored just before, in this transaction: the outgoing message carries it
    message_row = mail.last_message_row(ticket.id, "reply") if kind == "reply" else None
    domain = core.store.get_setting(DOMAIN_KEY) or socket.getfqdn() or "localhost"
    prefix = core.store.get_setting(PREFIX_KEY) or "#"
    ids = [str(m["message_id"]) for m in thread if m["outcome"] != "bounce"]
    return mail.enqueue(
        {
            "ticket_id": ticket.id,
            "message_row": message_row,
            "kind": kind,
            "message_id": new_message_id(ticket.id, domain),
            "to_addr": to_address,
            "to_name": customer.name if customer is not None and customer.name != to_address else "",
            "subject": tagged_subject(ticket.subject, ticket.id, prefix),
            "body": body,
            "in_reply_to": str(inbound[-1]["message_id"]),
            "refs": " ".join(references(ids)),
            "auto": 1 if automatic else 0,
        },
        when,
    )


class MailView:
    """What the console shows of the mail channel (reads only)."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core

    def detail(self, ticket_id: int) -> MailDetail:
        mail = MailStore(self.core.store)
        return MailDetail(mail.outbox_for(ticket_id), mail.attachments(ticket_id), mail.automatic_rows(ticket_id))

    def failed_tickets(self, ticket_ids: Sequence[int]) -> set[int]:
        return MailStore(self.core.store).failed_tickets(ticket_ids)

    def problems(self) -> list[str]:
        """The fetcher's and sender's errors and the count of failed messages (the supervisors' header line)."""
        mail = MailStore(self.core.store)
        lines = []
        for part, state in mail.state().items():
            if state.get("error"):
                lines.append(
                    _("mail {part}: {error} (since {at})").format(
                        part=_(part), error=state["error"], at=state["error_at"]
                    )
                )
        failed = mail.outbox_counts().get("failed", 0)
        if failed:
            lines.append(_("{n} outgoing messages failed").format(n=failed))
        return lines

    def headline(self) -> list[str]:
        """The same, in a few words each, for the supervisors' header line (`mail status` says the rest)."""
        mail = MailStore(self.core.store)
        words = [_("{part} failing").format(part=_(part)) for part, state in mail.state().items() if state.get("error")]
        failed = mail.outbox_counts().get("failed", 0)
        if failed:
            words.append(_("{n} not delivered").format(n=failed))
        return words
