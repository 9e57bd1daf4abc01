"""The e-mail channel's mail room: customers' mail filed on tickets (from the MTA's pipe or from IMAP: filing is
mail_inbound's), the outbox delivered over SMTP or the local sendmail, and the state of both kept where supervisors
see it.

Who acts: the mail commands run as the database's owner account (the MTA alias, a service unit) or as an admin,
and record their changes as the system actor ``mail``; a customer's message is the customer's (its author), the
event's actor is ``mail``. Times come from the clock.
"""

from __future__ import annotations

import imaplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from console.i18n import _
from console.rules.clock import Clock, utcnow
from console.rules.errors import BadInput
from console.rules.mailcompose import Outgoing, compose
from console.rules.mailconfig import Endpoint, MailConfig
from console.service.core import ServiceCore, open_store
from console.service.helpdesk import HelpdeskService
from console.service.mail_actor import SystemCore, authorise
from console.service.mail_files import files_dir, quarantined, read_password
from console.service.mail_inbound import Filed, Filing
from console.service.mail_outbox import DOMAIN_KEY, PREFIX_KEY
from console.service.mail_servers import (
    MailServerError,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    idle,
    imap_ok,
    imap_text,
    open_imap,
    quote_folder,
)
from db.mail_store import MailStore
from db.store_api import StoreAPI
from db.vocabulary import MAIL_ACTOR

EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again
BACKOFF_MAX_S = 3600.0


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


# -- the mail room --------------------------------------------------------------------------------------------


class Mailroom:
    """One database's mail: filing inbound messages, delivering the outbox, the servers' state."""

    def __init__(
        self,
        path: str | Path,
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
        self.store.set_busy_timeout(config.busy_seconds)
        self.core = SystemCore(self.store, MAIL_ACTOR, clock=clock)
        self.service = HelpdeskService(self.store, MAIL_ACTOR, clock=clock, core=self.core)
        self.mail = MailStore(self.store)
        self.files = files_dir(path, config)
        self.filing = Filing(self.core, self.service, config, self.files, clock)
        self.ingest = self.filing.ingest  # file one message (the MTA's pipe, each fetched message)
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

    def wait_for_mail(self, seconds: float) -> bool:
        """Wait up to ``seconds`` in IMAP IDLE, so new mail is fetched as it arrives rather than at the next poll;
        False when the server offers no IDLE or the wait failed (the caller then pauses, and the next fetch reports
        the error)."""
        endpoint = self.config.imap
        if endpoint is None:
            return False
        try:
            imap = open_imap(self.config, endpoint, self.password())
        except MailServerError:
            return False
        try:
            imap_ok(imap.select(quote_folder(endpoint.folder), readonly=True), endpoint)
            typ, data = imap.uid("SEARCH", "UNSEEN")
            if typ == "OK" and data and data[0]:
                return True  # arrived since the last fetch, before this wait began
            return idle(imap, seconds) is not None
        except (imaplib.IMAP4.error, OSError, MailServerError):
            return False
        finally:
            try:
                imap.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

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


def mail_errors(store: StoreAPI) -> list[str]:
    """The fetcher's and sender's current errors, and the count of messages that failed for good: one line each
    (`mail status`, the supervisors' header line)."""
    from console.service.mail_outbox import MailView

    return MailView(ServiceCore(store, MAIL_ACTOR)).problems()
