"""The `[mail]` section of the helpdesk's TOML configuration file, checked: what the mail commands need to reach the
servers. Pure: the file is read and the password found by the service (console/service/mail.py)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from console.i18n import _
from console.rules.errors import BadInput

PRIORITIES = ("P1", "P2", "P3", "P4")
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass(frozen=True)
class Endpoint:
    """A server: ``scheme`` smtp, smtps, sendmail, imap or imaps; ``folder`` for IMAP; ``path`` for sendmail."""

    scheme: str
    host: str = ""
    port: int = 0
    folder: str = "INBOX"
    path: str = ""

    @property
    def tls(self) -> bool:
        return self.scheme in ("smtps", "imaps")

    def describe(self) -> str:
        if self.scheme == "sendmail":
            return f"sendmail:{self.path}"
        return f"{self.scheme}://{self.host}:{self.port}" + (
            f"/{self.folder}" if self.scheme.startswith("imap") else ""
        )


@dataclass(frozen=True)
class MailConfig:
    address: str
    name: str = "Support"
    smtp: Endpoint | None = None
    imap: Endpoint | None = None
    username: str = ""
    password_file: str = ""
    tag_prefix: str = "#"
    priority: str = "P3"
    receipt: bool = True
    max_attachment_bytes: int = 25 * 1024 * 1024
    new_tickets_per_hour: int = 5
    poll_seconds: float = 60.0
    processed_folder: str = ""
    files_dir: str = ""
    max_attempts: int = 8
    timeout_seconds: float = 30.0
    busy_seconds: float = 10.0

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1].lower()


def parse_endpoint(url: str, kinds: tuple[str, ...], key: str) -> Endpoint:
    text = url.strip()
    if "sendmail" in kinds and (text == "sendmail:" or text.startswith("sendmail:")):
        path = text.split(":", 1)[1] or "/usr/sbin/sendmail"
        return Endpoint("sendmail", path=path)
    parts = urlsplit(text)
    if parts.scheme not in kinds or not parts.hostname:
        raise BadInput(
            _("[mail] {key}: {url!r} is not one of {kinds}").format(
                key=key, url=text, kinds=", ".join(k + ":" if k == "sendmail" else k + "://host:port" for k in kinds)
            )
        )
    if parts.username or parts.password:
        raise BadInput(
            _("[mail] {key}: no user or password in the URL; use username and password_file").format(key=key)
        )
    defaults = {"smtp": 25, "smtps": 465, "imap": 143, "imaps": 993}
    try:
        port = parts.port or defaults[parts.scheme]
    except ValueError as exc:
        raise BadInput(_("[mail] {key}: bad port in {url!r}").format(key=key, url=text)) from exc
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return Endpoint(parts.scheme, parts.hostname, port, folder)


def parse_config(text: str, source: str) -> MailConfig:
    """The `[mail]` section of ``text`` (the file ``source``), every field checked; BadInput names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(_("{file}: not valid TOML: {error}").format(file=source, error=exc)) from exc
    mail = data.get("mail")
    if not isinstance(mail, dict):
        raise BadInput(_("{file}: no [mail] section").format(file=source))
    known = set(MailConfig.__dataclass_fields__) - {"smtp", "imap", "max_attachment_bytes"}
    known |= {"smtp_url", "imap_url", "max_attachment_mb"}
    if "password" in mail:
        raise BadInput(
            _("{file}: [mail] password is not read from the file; use password_file or HELPDESK_MAIL_PASSWORD").format(
                file=source
            )
        )
    unknown = sorted(set(mail) - known)
    if unknown:
        raise BadInput(_("{file}: [mail] unknown key {key}").format(file=source, key=unknown[0]))

    def text_of(key: str, default: str = "") -> str:
        value = mail.get(key, default)
        if not isinstance(value, str):
            raise BadInput(_("{file}: [mail] {key} must be text").format(file=source, key=key))
        return value.strip()

    def number(key: str, default: float, low: float, high: float) -> float:
        value = mail.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise BadInput(
                _("{file}: [mail] {key} must be a number from {low} to {high}").format(
                    file=source, key=key, low=low, high=high
                )
            )
        return float(value)

    address = text_of("address")
    if not _ADDRESS.match(address):
        raise BadInput(_("{file}: [mail] address must be the support e-mail address").format(file=source))
    priority = text_of("priority", "P3").upper()
    if priority not in PRIORITIES:
        raise BadInput(_("{file}: [mail] priority must be one of P1..P4").format(file=source))
    receipt: Any = mail.get("receipt", True)
    if not isinstance(receipt, bool):
        raise BadInput(_("{file}: [mail] receipt must be true or false").format(file=source))
    prefix = text_of("tag_prefix", "#")
    if not prefix or any(ch in prefix for ch in "[] \t"):
        raise BadInput(
            _("{file}: [mail] tag_prefix must be a short word without spaces or brackets").format(file=source)
        )
    smtp_url, imap_url = text_of("smtp_url"), text_of("imap_url")
    return MailConfig(
        address=address,
        name=text_of("name", "Support") or "Support",
        smtp=parse_endpoint(smtp_url, ("smtp", "smtps", "sendmail"), "smtp_url") if smtp_url else None,
        imap=parse_endpoint(imap_url, ("imap", "imaps"), "imap_url") if imap_url else None,
        username=text_of("username"),
        password_file=text_of("password_file"),
        tag_prefix=prefix[:16],
        priority=priority,
        receipt=receipt,
        max_attachment_bytes=int(number("max_attachment_mb", 25, 0, 2048) * 1024 * 1024),
        new_tickets_per_hour=int(number("new_tickets_per_hour", 5, 1, 10_000)),
        poll_seconds=number("poll_seconds", 60, 1, 86_400),
        processed_folder=text_of("processed_folder"),
        files_dir=text_of("files_dir"),
        max_attempts=int(number("max_attempts", 8, 1, 100)),
        timeout_seconds=number("timeout_seconds", 30, 1, 600),
        busy_seconds=number("busy_seconds", 10, 0.1, 600),
    )


SAMPLE = """\
[mail]
address = "support@example.com"        # the support address: From of every message sent, To of the customers'
name = "Example Support"               # the name shown beside it
smtp_url = "smtp://mail.example.com:587"   # STARTTLS when offered; or smtps://host:465, or sendmail: (local MTA)
imap_url = "imaps://mail.example.com:993/INBOX"
username = "support@example.com"
password_file = "/srv/helpdesk/mail-password"   # mode 0600; or the environment variable HELPDESK_MAIL_PASSWORD
# tag_prefix = "#"            # subjects carry [#123]
# priority = "P3"             # of tickets opened by mail
# receipt = true              # acknowledge a new ticket (macro mail_receipt, in the customer's language)
# max_attachment_mb = 25      # larger attachments are listed, not stored
# new_tickets_per_hour = 5    # per sender; more are kept in quarantine, not opened
# poll_seconds = 60           # mail fetch / mail run: how often to look for new mail
# processed_folder = ""       # move fetched mail there (default: mark it read)
# files_dir = ""              # attachments, originals, quarantine (default: beside a SQLite database;
#                             # PostgreSQL: mail/HOST-PORT-DATABASE in the user's data folder)
# max_attempts = 8            # delivery attempts before a message is marked failed
# busy_seconds = 10           # mail ingest: how long to wait for a busy database before exit 75 (the MTA retries)
"""
