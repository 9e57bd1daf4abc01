"""Filing a customer's message: threading it to its ticket, the reopen rules, automatic mail and bounces, a new
ticket and its receipt; every part of one message in one transaction, once per Message-ID."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from console.i18n import N_, _
from console.rules.clock import Clock
from console.rules.errors import BadInput
from console.rules.macros import MacroSet
from console.rules.mailconfig import MailConfig
from console.rules.mailparse import MailUnparseable, ParsedMail, parse_mail, strip_reply_prefixes, ticket_tag
from console.rules.validation import MAX_BODY, MAX_SUBJECT, validate_new_ticket
from console.service.helpdesk import HelpdeskService
from console.service.mail_actor import SystemCore
from console.service.mail_files import quarantine, store_blob
from console.service.mail_outbox import queue_mail
from db.errors import NotFound
from db.mail_store import MailStore
from db.models import Ticket
from db.store_api import StoreAPI
from db.vocabulary import MAIL_ACTOR


@dataclass
class Filed:
    outcome: str  # new, added, follow-up, auto, bounce, duplicate, dropped, quarantined
    ticket_id: int | None = None
    message_id: str = ""
    reason: str = ""


OUTCOME_LABELS = {
    "new": N_("new ticket"),
    "added": N_("added to the ticket"),
    "follow-up": N_("follow-up ticket"),
    "auto": N_("automatic message kept"),
    "bounce": N_("delivery failure"),
    "duplicate": N_("already filed"),
    "dropped": N_("dropped"),
    "quarantined": N_("quarantined"),
}


def _default_receipt() -> MacroSet:
    text = resources.files("console").joinpath("defaults/mail_macros.toml").read_text(encoding="utf-8")
    return MacroSet.from_toml(text)


class Filing:
    """The inbound half of the mail room (see `Mailroom`, which holds one)."""

    def __init__(
        self,
        core: SystemCore,
        service: HelpdeskService,
        config: MailConfig,
        files: Path,
        clock: Clock,
    ) -> None:
        self.core = core
        self.service = service
        self.store: StoreAPI = core.store
        self.mail = MailStore(core.store)
        self.config = config
        self.files = files
        self.clock = clock

    def ingest(self, raw: bytes) -> Filed:
        """File one message; unparseable ones go to the quarantine folder. Idempotent by Message-ID."""
        try:
            parsed = parse_mail(raw)
        except MailUnparseable as exc:
            quarantine(self.files, raw, str(exc), self.clock)
            return Filed("quarantined", reason=str(exc))
        return self.file(parsed, raw)

    def file(self, parsed: ParsedMail, raw: bytes) -> Filed:
        if self.mail.find(parsed.message_id) is not None:  # the common repeat, answered without the write lock
            found = self.mail.find(parsed.message_id) or {}
            return Filed("duplicate", found.get("ticket_id"), parsed.message_id)
        raw_digest = store_blob(self.files, "originals", raw)
        stored: list[tuple[str, str, int, str | None, str | None]] = []
        for attachment in parsed.attachments:
            size = len(attachment.data)
            if size > self.config.max_attachment_bytes:
                refused = _("larger than {mb} MB: not stored").format(mb=self.config.max_attachment_bytes // 2**20)
                stored.append((attachment.name, attachment.content_type, size, None, refused))
            else:
                digest = store_blob(self.files, "attachments", attachment.data)
                stored.append((attachment.name, attachment.content_type, size, digest, None))

        def work() -> Filed:
            if self.mail.find(parsed.message_id) is not None:
                found = self.mail.find(parsed.message_id) or {}
                return Filed("duplicate", found.get("ticket_id"), parsed.message_id)
            when = self.core.at(None)
            filed = self._route(parsed, raw, when)
            mail_id = self.mail.record(
                {
                    "message_id": parsed.message_id,
                    "direction": "in",
                    "ticket_id": filed.ticket_id,
                    "message_row": self.mail.last_message_row(filed.ticket_id, "customer")
                    if filed.ticket_id is not None and filed.outcome in ("added", "auto")
                    else None,
                    "sender": parsed.sender,
                    "subject": parsed.subject[:500],
                    "auto": parsed.auto,
                    "outcome": filed.outcome,
                    "opened_ticket": 1 if filed.outcome == "new" else 0,
                    "raw_sha256": raw_digest,
                },
                when,
            )
            if filed.outcome == "new" and filed.ticket_id is not None and self.config.receipt:
                self.receipt(filed.ticket_id)  # after the message's row: the receipt threads to it
            if filed.ticket_id is not None:
                for name, ctype, size, digest, refused in stored:
                    self.mail.add_attachment(
                        {
                            "mail_id": mail_id,
                            "ticket_id": filed.ticket_id,
                            "name": name,
                            "content_type": ctype[:100],
                            "size": size,
                            "sha256": digest,
                            "refused": refused,
                        }
                    )
            return filed

        return self.core.write(work)

    def _find_ticket(self, parsed: ParsedMail) -> Ticket | None:
        tagged = ticket_tag(parsed.subject, self.config.tag_prefix)
        if tagged is not None:
            try:
                return self.store.get_ticket(tagged)
            except NotFound:
                pass
        for ticket_id in self.mail.tickets_of([*parsed.in_reply_to, *reversed(parsed.references)]):
            try:
                return self.store.get_ticket(ticket_id)
            except NotFound:
                continue
        return None

    def _route(self, parsed: ParsedMail, raw: bytes, when: datetime) -> Filed:
        mid = parsed.message_id
        if parsed.sender == self.config.address.lower():
            return Filed("dropped", None, mid, _("sent from the support address itself (a loop)"))
        if parsed.bounce is not None:
            return self._bounce(parsed, when)
        ticket = self._find_ticket(parsed)
        if parsed.auto is not None:
            if ticket is None:
                return Filed(
                    "dropped", None, mid, _("automatic message ({why}) about no ticket").format(why=parsed.auto)
                )
            # kept on the ticket it concerns, never acknowledged and never reopening anything
            self.store.add_message(ticket.id, "customer", self._author(ticket, parsed), self._text(parsed), when)
            self.core.record(ticket.id, when, "mail_auto", None, None, {"reason": parsed.auto, "message_id": mid})
            return Filed("auto", ticket.id, mid, parsed.auto)
        if ticket is not None:
            updated = self.service.customer_reply(ticket.id, self._text(parsed))
            outcome = "follow-up" if updated.id != ticket.id else "added"
            return Filed(outcome, updated.id, mid)
        since = when - timedelta(hours=1)
        if self.mail.tickets_opened_by(parsed.sender, since) >= self.config.new_tickets_per_hour:
            reason = _("more than {n} new tickets in an hour from {sender}").format(
                n=self.config.new_tickets_per_hour, sender=parsed.sender
            )
            quarantine(self.files, raw, reason, self.clock)
            return Filed("dropped", None, mid, reason)
        return self._new_ticket(parsed, when)

    def _author(self, ticket: Ticket, parsed: ParsedMail) -> str:
        if ticket.customer_id is not None:
            return self.store.get_customer(ticket.customer_id).name
        return parsed.sender_name or parsed.sender

    @staticmethod
    def _text(parsed: ParsedMail) -> str:
        text = parsed.body.strip() or _("(empty message)")
        return text[: MAX_BODY - 100]

    def _new_ticket(self, parsed: ParsedMail, when: datetime) -> Filed:
        subject = strip_reply_prefixes(parsed.subject) or _("(no subject)")
        fields = validate_new_ticket(subject[:MAX_SUBJECT], self._text(parsed), self.config.priority, "email", "L1")
        name = parsed.sender_name[:200] or parsed.sender
        try:
            ticket = self.service.intake.insert_ticket(fields, when, customer=name, email=parsed.sender)
        except BadInput:  # a name the customer record refuses: the address names them
            ticket = self.service.intake.insert_ticket(fields, when, customer=parsed.sender, email=parsed.sender)
        return Filed("new", ticket.id, parsed.message_id)

    def receipt(self, ticket_id: int) -> int | None:
        """The standards' receipt confirmation for a ticket opened by mail, in the customer's language."""
        from console.service.replies import fill, macros, placeholder_values, reply_language

        macro = macros(self.service).get("mail_receipt") or _default_receipt().get("mail_receipt")
        if macro is None:
            return None
        detail = self.service.detail(ticket_id)
        lang = reply_language(detail)
        values = placeholder_values(detail, MAIL_ACTOR, lang=lang)
        values["agent"] = self.config.name
        return queue_mail(
            self.core, detail.ticket, fill(macro, values, lang), self.core.at(None), kind="receipt", automatic=True
        )

    def _bounce(self, parsed: ParsedMail, when: datetime) -> Filed:
        bounce = parsed.bounce
        assert bounce is not None
        for original in bounce.original_ids:
            row = self.mail.outbox_by_message_id(original)
            if row is None:
                continue
            why = " ".join(x for x in (bounce.status, bounce.diagnostic) if x) or _("returned as undeliverable")
            self.mail.mark_failed(int(row["id"]), why[:500])
            text = _("Delivery failed to {to}: {why}").format(to=bounce.recipient or row["to_addr"], why=why)
            self.store.add_message(int(row["ticket_id"]), "note", MAIL_ACTOR, text[:MAX_BODY], when)
            self.core.record(
                int(row["ticket_id"]),
                when,
                "mail_failed",
                None,
                None,
                {"message_id": original, "to": row["to_addr"], "why": why[:500], "bounce": parsed.message_id},
            )
            return Filed("bounce", int(row["ticket_id"]), parsed.message_id, why)
        return Filed("dropped", None, parsed.message_id, _("a delivery report about no message we sent"))

    # -- outbound -----------------------------------------------------------------------------------------
