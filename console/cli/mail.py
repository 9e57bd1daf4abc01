"""`helpdesk mail …`: the e-mail channel. `ingest` for the MTA's pipe, `fetch` from IMAP, `send` the outbox, `run`
both, `check` the servers, `status` and `quarantine` for people.

Exit codes: as every command (0 done, 1 a server failed or refused, 2 bad configuration, 3 not allowed, 5 database
unusable), except `mail ingest`: 0 when the message was filed or deliberately dropped (kept in the quarantine when
unparseable), 75 (EX_TEMPFAIL) for anything else, so that the MTA keeps the message and tries again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.cli.common import db_path, emit_json, emit_line, emit_table, server_url
from console.i18n import _
from console.rules.errors import HelpdeskError

if TYPE_CHECKING:
    from console.rules.mailconfig import MailConfig
    from console.service.mail import Mailroom

CONFIG_ENV = "HELPDESK_CONFIG"


def config_path(args: argparse.Namespace) -> Path:
    if getattr(args, "config", None):
        return Path(args.config)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    from platformdirs import user_config_dir

    return Path(user_config_dir("helpdesk", appauthor=False)) / "helpdesk.toml"


def _config(args: argparse.Namespace) -> MailConfig:
    from console.service.mail_files import load_config

    return load_config(config_path(args))


def _room(args: argparse.Namespace, roles: tuple[str, ...] = ("admin",)) -> Mailroom:
    from console.service.mail import Mailroom

    return Mailroom(_database(args), _config(args), roles=roles)


def _database(args: argparse.Namespace) -> str | Path:
    """The database the mail commands work on: a PostgreSQL URL as given, or the SQLite file."""
    return str(args.db) if server_url(args) else db_path(args)


# -- ingest: the MTA's pipe ------------------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    from console.service.mail import EX_TEMPFAIL

    raw = sys.stdin.buffer.read()
    try:
        room = _room(args)
        try:
            room.remember_settings()
            filed = room.ingest(raw)
        finally:
            room.close()
    except HelpdeskError as exc:
        sys.stderr.write(f"helpdesk: {_line(str(exc))}\n")
        return EX_TEMPFAIL
    except Exception as exc:  # the MTA must keep the message whatever went wrong here
        sys.stderr.write(f"helpdesk: {_line(type(exc).__name__ + ': ' + str(exc))}\n")
        return EX_TEMPFAIL
    _report_filed(args, filed)
    return 0


def _line(text: str) -> str:
    from widgets.safe_text import clean

    return clean(" ".join(text.split()))


def _report_filed(args: argparse.Namespace, filed: Any) -> None:
    from console.service.mail_inbound import OUTCOME_LABELS

    if args.json:
        emit_json(
            {
                "outcome": filed.outcome,
                "ticket": filed.ticket_id,
                "message_id": filed.message_id,
                "reason": filed.reason,
            }
        )
        return
    label = _(OUTCOME_LABELS.get(filed.outcome, filed.outcome))
    where = f" #{filed.ticket_id}" if filed.ticket_id is not None else ""
    why = f": {filed.reason}" if filed.reason and filed.outcome in ("dropped", "quarantined", "auto") else ""
    emit_line(f"{label}{where}{why}")


# -- fetch, send, run -----------------------------------------------------------------------------------------


def _cycle(room: Mailroom, parts: tuple[str, ...], args: argparse.Namespace) -> bool:
    """One round of fetching and/or sending; errors recorded (mail status, the console) and said on stderr."""
    from console.rules.errors import Unavailable
    from console.service.mail_servers import MailServerError

    ok = True
    for part in parts:
        try:
            if part == "fetch":
                fetched = room.fetch_once()
                if args.once or fetched.seen:
                    emit_line(
                        _("fetched {seen}: {filed} filed, {dup} already filed, {q} quarantined").format(
                            seen=fetched.seen, filed=fetched.filed, dup=fetched.duplicates, q=fetched.quarantined
                        )
                    )
            else:
                sent = room.send_due()
                if args.once or sent.sent or sent.retried or sent.failed:
                    emit_line(
                        _("sent {sent}, to retry {retried}, failed {failed}").format(
                            sent=sent.sent, retried=sent.retried, failed=sent.failed
                        )
                    )
        except (MailServerError, Unavailable) as exc:  # a server, or a busy database: tried again after a pause
            ok = False
            sys.stderr.write(f"helpdesk: {_line(str(exc))}\n")
            try:
                room.note_error(part, str(exc))
            except HelpdeskError:
                pass
    return ok


def _loop(args: argparse.Namespace, parts: tuple[str, ...]) -> int:
    room = _room(args)
    try:
        room.remember_settings()
        backoff = 5.0
        while True:
            ok = _cycle(room, parts, args)
            if args.once:
                return 0 if ok else 1
            # reconnects with backoff after a failure (5 s doubling to 5 min); otherwise the poll interval, or the
            # next retry of the outbox if sooner
            if ok:
                backoff = 5.0
                pause = room.config.poll_seconds
                if "send" in parts:
                    due = room.next_due()
                    if due is not None:
                        pause = max(1.0, min(pause, due - time.time()))
            else:
                pause, backoff = backoff, min(backoff * 2, 300.0)
            # `mail fetch` waits in IMAP IDLE when the server offers it (new mail is filed as it arrives); `mail run`
            # polls, watching the outbox meanwhile
            if not (ok and parts == ("fetch",) and room.wait_for_mail(pause)):
                room.pause(pause, until_outbox=ok and "send" in parts)
    finally:
        room.close()


def cmd_fetch(args: argparse.Namespace) -> int:
    return _loop(args, ("fetch",))


def cmd_send(args: argparse.Namespace) -> int:
    return _loop(args, ("send",))


def cmd_run(args: argparse.Namespace) -> int:
    """Fetch (when imap_url is set: with the MTA's pipe there is nothing to fetch) and send."""
    config = _config(args)
    return _loop(args, ("fetch", "send") if config.imap is not None else ("send",))


# -- check, status, quarantine, retry ---------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from console.service.mail_files import read_password
    from console.service.mail_servers import check_servers

    config = _config(args)
    results = check_servers(config, read_password(config))
    for ok, line in results:
        (sys.stdout if ok else sys.stderr).write(("" if ok else "helpdesk: ") + _line(line) + "\n")
    return 0 if all(ok for ok, _line_ in results) else 1


def cmd_status(args: argparse.Namespace) -> int:
    room = _room(args, ("supervisor", "admin"))
    try:
        status = room.status()
    finally:
        room.close()
    if args.json:
        emit_json(status)
        return 0
    state, counts, held = status["state"], status["outbox"], status["quarantined"]
    for part in ("fetch", "send"):
        row = state.get(part, {})
        ok_at = row.get("ok_at") or _("never")
        error = row.get("error")
        text = _("{part}: last success {at}").format(part=_(part), at=ok_at)
        if error:
            text += " · " + _("error: {error} ({at})").format(error=error, at=row.get("error_at"))
        emit_line(text)
    emit_line(
        _("outbox: {waiting} waiting, {sent} sent, {failed} failed · quarantine: {held}").format(
            waiting=counts["waiting"], sent=counts["sent"], failed=counts["failed"], held=held
        )
    )
    rows = status["failed"] + status["waiting"]
    if rows:
        emit_table(
            [_("Id"), _("Ticket"), _("To"), _("Status"), _("Attempts"), _("Error")],
            [
                [r["id"], f"#{r['ticket_id']}", r["to_addr"], _(r["status"]), r["attempts"], r["last_error"] or ""]
                for r in rows
            ],
        )
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from console.service.mail_files import files_dir, quarantined

    config = _config(args)
    room = _room(args, ("supervisor", "admin"))  # the same people as mail status
    room.close()
    items = quarantined(files_dir(_database(args), config))
    if args.json:
        emit_json(items)
    elif not items:
        emit_line(_("The quarantine is empty."))
    else:
        emit_table(
            [_("File"), _("Size"), _("At"), _("Reason")], [[i["file"], i["size"], i["at"], i["reason"]] for i in items]
        )
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    room = _room(args, ("supervisor", "admin"))
    try:
        done = room.retry(args.id)
    finally:
        room.close()
    if not done:
        from console.rules.errors import Refused

        raise Refused(_("outgoing message {id} has not failed").format(id=args.id))
    emit_line(_("Outgoing message {id} will be sent again.").format(id=args.id))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from console.rules.mailconfig import SAMPLE

    sys.stdout.write(SAMPLE)
    return 0


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    mail = sub.add_parser("mail", help=_("the e-mail channel: customers' mail in, replies out"), parents=[common])
    mail_sub = mail.add_subparsers(dest="mail_command", required=True)

    def sub_command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> Any:
        p = command(name, help_text, handler, mail_sub)
        p.add_argument(
            "--config", help=_("the configuration file (env HELPDESK_CONFIG; default helpdesk.toml in your config dir)")
        )
        return p

    sub_command("ingest", _("file one message read on standard input (for an MTA alias or procmail)"), cmd_ingest)
    for name, help_text, handler in (
        ("fetch", _("fetch new mail from IMAP and file it"), cmd_fetch),
        ("send", _("deliver the outbox"), cmd_send),
        ("run", _("fetch and send, continuously"), cmd_run),
    ):
        p = sub_command(name, help_text, handler)
        p.add_argument("--once", action="store_true", help=_("one round, then exit"))
    sub_command("check", _("try the SMTP and IMAP servers and say what is wrong"), cmd_check)
    sub_command("status", _("the fetcher's and sender's state and the outbox"), cmd_status)
    sub_command("quarantine", _("list the messages kept because they could not be filed"), cmd_quarantine)
    p = sub_command("retry", _("send a failed outgoing message again"), cmd_retry)
    p.add_argument("id", type=int)
    sub_command("sample-config", _("print a sample configuration file"), cmd_sample)
