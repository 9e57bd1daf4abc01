"""The e-mail channel: customers' mail filed on tickets (from the MTA's pipe or from IMAP), the outbox delivered
over SMTP or the local sendmail, and the state of both kept where supervisors see it.

Who acts: the mail commands run as the database's owner account (the MTA alias, a service unit) or as an admin,
and record their changes as the system actor ``mail``; a customer's message is the customer's (its author), the
event's actor is ``mail``. Times come from the clock.
"""

from __future__ import annotations

import hashlib
import imaplib
import os
import smtplib
import ssl
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from console.i18n import N_, _
from console.rules.clock import Clock, utcnow
from console.rules.errors import BadInput, HelpdeskError, PermissionDenied
from console.rules.macros import MacroSet
from console.rules.mailcompose import Outgoing, compose
from console.rules.mailconfig import Endpoint, MailConfig, parse_config
from console.rules.mailparse import MailUnparseable, ParsedMail, parse_mail, strip_reply_prefixes, ticket_tag
from console.rules.validation import MAX_BODY, MAX_SUBJECT, validate_new_ticket
from console.rules.whoami import invoking_login, os_login
from console.service.core import ServiceCore, open_store
from console.service.helpdesk import HelpdeskService
from console.service.mail_outbox import DOMAIN_KEY, PREFIX_KEY, queue_mail
from db.errors import NotFound
from db.mail_store import MailStore
from db.models import Agent, Ticket
from db.store import Store

MAIL_ACTOR = "mail"
EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again
BACKOFF_MAX_S = 3600.0
PASSWORD_ENV = "HELPDESK_MAIL_PASSWORD"


class MailServerError(HelpdeskError):
    """A mail server could not be reached or refused us (one line; exit 1)."""

    exit_code = 1


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


# -- configuration and the password ---------------------------------------------------------------------------


def load_config(path: Path) -> MailConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInput(
            _("no configuration file {file}: give --config, or HELPDESK_CONFIG (see 'helpdesk mail --help')").format(
                file=path
            )
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc)) from exc
    return parse_config(text, str(path))


def read_password(config: MailConfig) -> str:
    """The mail password: from HELPDESK_MAIL_PASSWORD, else from password_file, which must be 0600 (readable by
    its owner only). Never printed, never stored."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not config.password_file:
        return ""
    path = Path(config.password_file)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise BadInput(_("cannot read password_file {file}: {error}").format(file=path, error=exc.strerror)) from exc
    if mode & 0o077:
        raise BadInput(
            _("password_file {file} is readable by others (mode {mode:04o}); chmod 600 it").format(file=path, mode=mode)
        )
    try:
        return path.read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("cannot read password_file {file}: {error}").format(file=path, error=exc)) from exc


def files_dir(db_path: Path, config: MailConfig) -> Path:
    """Attachments, originals and the quarantine: the configured folder, or one beside the database."""
    return Path(config.files_dir) if config.files_dir else db_path.with_name(db_path.name + ".mail")


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


# -- quarantine (needs no database) ----------------------------------------------------------------------------


def quarantine(folder: Path, raw: bytes, reason: str, clock: Clock = utcnow) -> Path:
    """Keep ``raw`` as an .eml file (and the reason beside it); written to a temporary name and renamed, so a
    crash leaves no half file under the listed name."""
    target = folder / "quarantine"
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    stamp = clock().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = target / f"{stamp}-{digest}.eml"
    _write_atomic(path, raw)
    _write_atomic(path.with_suffix(".reason"), (" ".join(reason.split())[:300] + "\n").encode("utf-8"))
    return path


def quarantined(folder: Path) -> list[dict[str, Any]]:
    target = folder / "quarantine"
    if not target.is_dir():
        return []
    items = []
    for path in sorted(target.glob("*.eml")):
        reason_file = path.with_suffix(".reason")
        try:
            reason = reason_file.read_text(encoding="utf-8").strip()
        except OSError:
            reason = ""
        st = path.stat()
        items.append(
            {
                "file": str(path),
                "size": st.st_size,
                "at": datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "reason": reason,
            }
        )
    return items


def _write_atomic(path: Path, data: bytes) -> None:
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def store_blob(folder: Path, kind: str, data: bytes) -> str:
    """``data`` content-addressed under ``folder/kind`` (sha256); its digest. Written once, never executed."""
    digest = hashlib.sha256(data).hexdigest()
    target = folder / kind / digest[:2]
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_atomic(target / digest, data)
    return digest


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
                _("{server}: {error}").format(server=endpoint.describe(), error=_imap_text(exc))
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
            imap.create(_quote(self.config.processed_folder))  # NO when it exists already: that is fine
        _ok(imap.select(_quote(endpoint.folder)), endpoint)
        typ, data = imap.uid("SEARCH", "UNSEEN")
        _ok((typ, data), endpoint)
        uids = (data[0] or b"").split() if data else []
        for uid in uids:
            typ, parts = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            _ok((typ, parts), endpoint)
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
                _ok(imap.uid("COPY", uid.decode(), _quote(self.config.processed_folder)), endpoint)
                _ok(imap.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Seen \Deleted)"), endpoint)
                imap.expunge()
            else:
                _ok(imap.uid("STORE", uid.decode(), "+FLAGS.SILENT", r"(\Seen)"), endpoint)

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


# -- talking to the servers -------------------------------------------------------------------------------------


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(result: tuple[str, Any], endpoint: Endpoint) -> None:
    typ, data = result
    if typ != "OK":
        detail = data[0].decode("utf-8", "replace") if data and isinstance(data[0], bytes) else str(data)
        raise MailServerError(_("{server}: {error}").format(server=endpoint.describe(), error=detail))


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1")


def open_imap(config: MailConfig, endpoint: Endpoint, password: str) -> imaplib.IMAP4:
    try:
        imap: imaplib.IMAP4
        if endpoint.tls:
            imap = imaplib.IMAP4_SSL(
                endpoint.host, endpoint.port, ssl_context=ssl.create_default_context(), timeout=config.timeout_seconds
            )
        else:
            imap = imaplib.IMAP4(endpoint.host, endpoint.port, timeout=config.timeout_seconds)
            if "STARTTLS" in imap.capabilities:
                imap.starttls(ssl.create_default_context())
            elif not _loopback(endpoint.host):
                imap.logout()
                raise MailServerError(
                    _("{server}: offers no STARTTLS; refusing to send the password unencrypted").format(
                        server=endpoint.describe()
                    )
                )
        if not config.username:
            raise MailServerError(_("[mail] username is not set: IMAP needs a login"))
        imap.login(config.username, password)
        return imap
    except imaplib.IMAP4.error as exc:
        raise MailServerError(_("{server}: {error}").format(server=endpoint.describe(), error=_imap_text(exc))) from exc
    except (OSError, ssl.SSLError) as exc:
        raise MailServerError(
            _("{server}: cannot connect: {error}").format(server=endpoint.describe(), error=exc.strerror or exc)
        ) from exc


def _imap_text(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text


class Transport:
    """SMTP (STARTTLS when offered), SMTPS, or the local sendmail; connected on first use."""

    def __init__(self, config: MailConfig, endpoint: Endpoint, password: str) -> None:
        self.config = config
        self.endpoint = endpoint
        self.password = password
        self.smtp: smtplib.SMTP | None = None

    def connect(self) -> smtplib.SMTP:
        e = self.endpoint
        try:
            smtp: smtplib.SMTP
            if e.tls:
                smtp = smtplib.SMTP_SSL(
                    e.host, e.port, timeout=self.config.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(e.host, e.port, timeout=self.config.timeout_seconds, local_hostname=None)
            smtp.ehlo()
            secure = e.tls
            if not e.tls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                secure = True
            # a local relay may offer no AUTH: it is then not asked to log in
            if self.config.username and smtp.has_extn("auth"):
                if not secure and not _loopback(e.host):
                    smtp.close()
                    raise MailServerError(
                        _("{server}: offers no STARTTLS; refusing to send the password unencrypted").format(
                            server=e.describe()
                        )
                    )
                smtp.login(self.config.username, self.password)
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            raise MailServerError(
                _("{server}: login refused ({code})").format(server=e.describe(), code=exc.smtp_code)
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailServerError(
                _("{server}: cannot connect: {error}").format(server=e.describe(), error=exc)
            ) from exc

    def send(self, sender: str, to: str, data: bytes) -> None:
        if self.endpoint.scheme == "sendmail":
            self._sendmail(sender, to, data)
            return
        if self.smtp is None:
            self.smtp = self.connect()
        try:
            self.smtp.sendmail(sender, [to], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _by_code(code, text) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.smtp = None
            raise MailServerError(
                _("{server}: connection lost: {error}").format(server=self.endpoint.describe(), error=exc)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPException as exc:
            raise TemporaryFailure(str(exc)[:500]) from exc

    def _sendmail(self, sender: str, to: str, data: bytes) -> None:
        try:
            done = subprocess.run(
                [self.endpoint.path, "-oi", "-f", sender, "--", to],
                input=data,
                capture_output=True,
                timeout=self.config.timeout_seconds,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MailServerError(_("{server}: {error}").format(server=self.endpoint.describe(), error=exc)) from exc
        if done.returncode == 0:
            return
        text = done.stderr.decode("utf-8", "replace").strip()[:300] or f"exit {done.returncode}"
        # sysexits: 75 (EX_TEMPFAIL) and 69-74 are worth another try; 64-68 (bad address, no user, no host) are not
        if done.returncode in (64, 65, 67, 68):
            raise PermanentFailure(text)
        raise TemporaryFailure(text)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None


def _by_code(code: int, text: bytes | str) -> Exception:
    message = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip()[:500]
    return PermanentFailure(message) if 500 <= code < 600 else TemporaryFailure(message)


def check_servers(config: MailConfig, password: str) -> list[tuple[bool, str]]:
    """Each configured server tried as the commands use it: (works, one line saying so or what is wrong)."""
    lines: list[tuple[bool, str]] = []
    if config.smtp is None:
        lines.append((False, _("SMTP: smtp_url is not set")))
    elif config.smtp.scheme == "sendmail":
        path = Path(config.smtp.path)
        usable = path.is_file() and os.access(path, os.X_OK)
        lines.append(
            (
                usable,
                _("SMTP {server}: ok").format(server=config.smtp.describe())
                if usable
                else _("SMTP {server}: no such program").format(server=config.smtp.describe()),
            )
        )
    else:
        transport = Transport(config, config.smtp, password)
        try:
            smtp = transport.connect()
            smtp.noop()
            transport.smtp = smtp
            lines.append((True, _("SMTP {server}: ok").format(server=config.smtp.describe())))
        except MailServerError as exc:
            lines.append((False, "SMTP " + str(exc)))
        except (smtplib.SMTPException, OSError) as exc:
            lines.append((False, f"SMTP {config.smtp.describe()}: {exc}"))
        finally:
            transport.close()
    if config.imap is None:
        lines.append((False, _("IMAP: imap_url is not set")))
    else:
        try:
            imap = open_imap(config, config.imap, password)
            try:
                typ, data = imap.select(_quote(config.imap.folder), readonly=True)
                _ok((typ, data), config.imap)
                count = int(data[0] or 0) if data and data[0] else 0
                lines.append(
                    (True, _("IMAP {server}: ok, {n} messages").format(server=config.imap.describe(), n=count))
                )
            finally:
                imap.logout()
        except MailServerError as exc:
            lines.append((False, "IMAP " + str(exc)))
        except (imaplib.IMAP4.error, OSError) as exc:
            lines.append((False, f"IMAP {config.imap.describe()}: {exc}"))
    return lines
