"""The e-mail channel: customers' mail filed on tickets (from the MTA's pipe or from IMAP), the outbox delivered
over SMTP or the local sendmail, and the state of both kept where supervisors see it.

Who acts: the mail commands run as the database's owner account (the MTA alias, a service unit) or as an admin,
and record their changes as the system actor ``mail``; a customer's message is the customer's (its author), the
event's actor is ``mail``. Times come from the clock.
"""

from __future__ import annotations

import imaplib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from console.i18n import N_, _
from console.rules.clock import Clock, utcnow
from console.rules.errors import BadInput, PermissionDenied
from console.rules.macros import MacroSet
from console.rules.mailcompose import Outgoing, compose
from console.rules.mailconfig import Endpoint, MailConfig
from console.rules.mailparse import MailUnparseable, ParsedMail, parse_mail, strip_reply_prefixes, ticket_tag
from console.rules.validation import MAX_BODY, MAX_SUBJECT, validate_new_ticket
from console.rules.whoami import invoking_login, os_login
from console.service.core import ServiceCore, open_store
from console.service.helpdesk import HelpdeskService
from console.service.mail_files import files_dir, quarantine, quarantined, read_password, store_blob
from console.service.mail_outbox import DOMAIN_KEY, PREFIX_KEY, queue_mail
from console.service.mail_servers import (
    MailServerError,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    imap_ok,
    imap_text,
    open_imap,
    quote_folder,
)
from db.errors import NotFound
from db.mail_store import MailStore
from db.models import Agent, Ticket
from db.store import Store

MAIL_ACTOR = "mail"
EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again
BACKOFF_MAX_S = 3600.0


# -- the system actor -----------------------------------------------------------------------------------------


class SystemCore(ServiceCore):
    """The core the mail commands act through: the actor is ``mail``, not an agent (it is given no agent's
    rights beyond what filing mail needs: the actions the mail service calls itself)."""

    write_attempts = 2  # busy twice: the MTA is told to try again (exit 75), it does not wait here

    def me(self) -> Agent:
        return Agent(name=MAIL_ACTOR, role="supervisor", tier="L3", created_at=datetime(2000, 1, 1, tzinfo=UTC))


def authorise(store: Store, roles: tuple[str, ...] = ("admin",)) -> None:
    """The mail commands belong to the database's owner account (the MTA alias, the fetcher's service unit; in a
    single-user install, the user) and to admins (supervisors too for ``roles`` that say so)."""
    login = invoking_login(store.path)
    try:
        owner = store.path.stat().st_uid
    except OSError:
        owner = -1
    if login == os_login() and os.getuid() == owner:
        return
    agent = store.agent_by_login(login)
    if agent is not None and agent.active and not agent.board_only and agent.role in roles:
        return
    raise PermissionDenied(
        _("the mail commands run as the database's owner account or as {roles}; {login} is neither").format(
            roles=" / ".join(_(r) for r in roles), login=login
        )
    )


# -- results ----------------------------------------------------------------------------------------------------


@dataclass
class Filed:
    outcome: str  # new, added, follow-up, auto, bounce, duplicate, dropped, quarantined
    ticket_id: int | None = None
    message_id: str = ""
    reason: str = ""


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass
class FetchReport:
    seen: int = 0
    filed: int = 0
    duplicates: int = 0
    quarantined: int = 0


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


# -- the mail room --------------------------------------------------------------------------------------------


def _default_receipt() -> MacroSet:
    text = resources.files("console").joinpath("defaults/mail_macros.toml").read_text(encoding="utf-8")
    return MacroSet.from_toml(text)


class Mailroom:
    """One database's mail: filing inbound messages, delivering the outbox, the servers' state."""

    def __init__(
        self,
        path: Path,
        config: MailConfig,
        *,
        clock: Clock = utcnow,
        roles: tuple[str, ...] = ("admin",),
    ) -> None:
        self.path = path
        self.config = config
        self.clock = clock
        self.store = open_store(path)
        try:
            authorise(self.store, roles)
        except BaseException:
            self.store.close()
            raise
        with self.store._lock:
            self.store.conn.execute(f"PRAGMA busy_timeout = {int(config.busy_seconds * 1000)}")
        self.core = SystemCore(self.store, MAIL_ACTOR, clock=clock)
        self.service = HelpdeskService(self.store, MAIL_ACTOR, clock=clock, core=self.core)
        self.mail = MailStore(self.store)
        self.files = files_dir(path, config)
        self._password: str | None = None

    def close(self) -> None:
        self.store.close()

    def password(self) -> str:
        if self._password is None:
            self._password = read_password(self.config)
        return self._password

    def remember_settings(self) -> None:
        """The domain and tag prefix the console's replies use (they read no configuration)."""
        wanted = {DOMAIN_KEY: self.config.domain, PREFIX_KEY: self.config.tag_prefix}
        if all(self.store.get_setting(k) == v for k, v in wanted.items()):
            return

        def work() -> None:
            for key, value in wanted.items():
                self.store.set_setting(key, value, MAIL_ACTOR, self.core.at(None))

        self.core.write(work)

    # -- inbound ------------------------------------------------------------------------------------------

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

    def outgoing(self, row: dict[str, Any]) -> bytes:
        created = datetime.fromisoformat(str(row["created_at"]))
        refs = tuple(r for r in str(row["refs"] or "").split() if r)
        return compose(
            Outgoing(
                message_id=str(row["message_id"]),
                from_name=self.config.name,
                from_address=self.config.address,
                to_name=str(row["to_name"] or ""),
                to_address=str(row["to_addr"]),
                subject=str(row["subject"]),
                body=str(row["body"]),
                date=created,
                in_reply_to=row["in_reply_to"],
                references=refs,
                automatic=bool(row["auto"]),
            )
        )

    def send_due(self, *, on_sent: Callable[[int], None] | None = None) -> SendReport:
        """Deliver every waiting message whose time has come. A message the server accepted is marked sent right
        after; a crash in between sends the same bytes again (same Message-ID) on the next run."""
        report = SendReport()
        rows = self.mail.due(time.time())
        if not rows:
            self.note_ok("send")  # the sender is alive: `mail status` says when it last looked
            return report
        if self.config.smtp is None:
            raise BadInput(_("[mail] smtp_url is not set: nothing can be sent"))
        transport = Transport(self.config, self.config.smtp, self.password())
        try:
            for row in rows:
                outbox_id = int(row["id"])
                try:
                    data = self.outgoing(row)
                    transport.send(self.config.address, str(row["to_addr"]), data)
                except PermanentFailure as exc:
                    self._failed(row, str(exc))
                    report.failed += 1
                    continue
                except TemporaryFailure as exc:
                    if int(row["attempts"]) + 1 >= self.config.max_attempts:
                        self._failed(row, str(exc))
                        report.failed += 1
                    else:
                        self._retry_later(outbox_id, int(row["attempts"]), str(exc))
                        report.retried += 1
                    continue
                self._sent(row)
                report.sent += 1
                if on_sent is not None:
                    on_sent(outbox_id)
        finally:
            transport.close()
        self.note_ok("send")
        return report

    def _retry_later(self, outbox_id: int, attempts: int, why: str) -> None:
        """Another try after 1, 2, 4 … minutes (at most an hour)."""
        delay = min(60.0 * 2**attempts, BACKOFF_MAX_S)
        self.core.write(lambda: self.mail.mark_retry(outbox_id, why[:500], time.time() + delay))

    def _sent(self, row: dict[str, Any]) -> None:
        def work() -> None:
            when = self.core.at(None)
            if self.mail.mark_sent(int(row["id"]), when):
                detail = {"message_id": row["message_id"], "to": row["to_addr"], "kind": row["kind"]}
                self.core.record(int(row["ticket_id"]), when, "mail_sent", None, None, detail)

        self.core.write(work)

    def _failed(self, row: dict[str, Any], why: str) -> None:
        def work() -> None:
            when = self.core.at(None)
            if self.mail.mark_failed(int(row["id"]), why[:500]):
                detail = {"message_id": row["message_id"], "to": row["to_addr"], "why": why[:500]}
                self.core.record(int(row["ticket_id"]), when, "mail_failed", None, None, detail)

        self.core.write(work)

    def next_due(self) -> float | None:
        return self.mail.next_due()

    def pause(self, seconds: float, *, until_outbox: bool) -> None:
        """Wait ``seconds``; with ``until_outbox``, stop early once a message is due (a reply written in the console
        meanwhile goes out within a second, not at the next poll). Another process's commit is seen through
        SQLite's data_version, which reads no table."""
        deadline = time.monotonic() + seconds
        seen = self.store.data_version()
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))
            if until_outbox and self.store.data_version() != seen:
                seen = self.store.data_version()
                due = self.mail.next_due()
                if due is not None and due <= time.time():
                    return

    def status(self) -> dict[str, Any]:
        """What `mail status` shows: each part's last success and error, the outbox, the quarantine."""
        return {
            "state": self.mail.state(),
            "outbox": self.mail.outbox_counts(),
            "inbound": self.mail.count_messages(),
            "quarantined": len(quarantined(self.files)),
            "failed": self.mail.outbox(("failed",), 20),
            "waiting": self.mail.outbox(("waiting",), 20),
            "problems": mail_errors(self.store),
        }

    def retry(self, outbox_id: int) -> bool:
        return self.core.write(lambda: self.mail.retry_failed(outbox_id))

    # -- fetching -------------------------------------------------------------------------------------------

    def fetch_once(self, *, on_filed: Callable[[Filed], None] | None = None) -> FetchReport:
        """File every unread message of the IMAP folder, then mark it read (or move it). Filing is idempotent by
        Message-ID: a crash between filing and marking files nothing twice on the next run."""
        endpoint = self.config.imap
        if endpoint is None:
            raise BadInput(_("[mail] imap_url is not set: nothing to fetch"))
        report = FetchReport()
        imap = open_imap(self.config, endpoint, self.password())
        try:
            self._fetch_all(imap, endpoint, report, on_filed)
        except (imaplib.IMAP4.error, OSError) as exc:  # the connection dropped or the server refused mid-way
            raise MailServerError(
                _("{server}: {error}").format(server=endpoint.describe(), error=imap_text(exc))
            ) from exc
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        self.note_ok("fetch")
        return report

    def _fetch_all(
        self,
        imap: imaplib.IMAP4,
        endpoint: Endpoint,
        report: FetchReport,
        on_filed: Callable[[Filed], None] | None,
    ) -> None:
        """File each unread message, then mark it read (or move it): the mark comes after the commit."""
        if self.config.processed_folder:
            imap.create(quote_folder(self.config.processed_folder))  # NO when it exists already: that is fine
        imap_ok(imap.select(quote_folder(endpoint.folder)), endpoint)
        typ, data = imap.uid("SEARCH", "UNSEEN")
        imap_ok((typ, data), endpoint)
        uids = (data[0] or b"").split() if data else []
        for uid in uids:
            typ, parts = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            imap_ok((typ, parts), endpoint)
            raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
            if not isinstance(raw, bytes):
                continue
            report.seen += 1
            filed = self.ingest(raw)
            if filed.outcome == "duplicate":
                report.duplicates += 1
            elif filed.outcome == "quarantined":
                report.quarantined += 1
            else:
                report.filed += 1
            if on_filed is not None:
                on_filed(filed)
            if self.config.processed_folder:
                imap_ok(imap.uid("COPY", uid.decode(), quote_folder(self.config.processed_folder)), endpoint)
                imap_ok(imap.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Seen \Deleted)"), endpoint)
                imap.expunge()
            else:
                imap_ok(imap.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Seen)"), endpoint)

    # -- state ----------------------------------------------------------------------------------------------

    def note_ok(self, part: str) -> None:
        self.core.write(lambda: self.mail.set_ok(part, self.core.at(None)))

    def note_error(self, part: str, error: str) -> None:
        self.core.write(lambda: self.mail.set_error(part, " ".join(error.split())[:300], self.core.at(None)))


def mail_errors(store: Store) -> list[str]:
    """The fetcher's and sender's current errors, and the count of messages that failed for good: one line each
    (`mail status`, the supervisors' header line)."""
    from console.service.mail_outbox import MailView

    return MailView(ServiceCore(store, MAIL_ACTOR)).problems()
