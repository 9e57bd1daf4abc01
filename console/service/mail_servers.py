"""Talking to the mail servers: IMAP (imaplib) and SMTP (smtplib, STARTTLS when offered, or SMTPS) or the local
sendmail. A server that cannot be reached or refuses us is one line (MailServerError); a message the server refuses
is a PermanentFailure (5xx) or a TemporaryFailure (anything else, tried again later)."""

from __future__ import annotations

import imaplib
import os
import smtplib
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

from console.i18n import _
from console.rules.errors import HelpdeskError
from console.rules.mailconfig import Endpoint, MailConfig


class MailServerError(HelpdeskError):
    """A mail server could not be reached or refused us (one line; exit 1)."""

    exit_code = 1


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


# -- talking to the servers -------------------------------------------------------------------------------------


def quote_folder(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_ok(result: tuple[str, Any], endpoint: Endpoint) -> None:
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
        raise MailServerError(_("{server}: {error}").format(server=endpoint.describe(), error=imap_text(exc))) from exc
    except (OSError, ssl.SSLError) as exc:
        raise MailServerError(
            _("{server}: cannot connect: {error}").format(server=endpoint.describe(), error=exc.strerror or exc)
        ) from exc


def imap_text(exc: Exception) -> str:
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
                typ, data = imap.select(quote_folder(config.imap.folder), readonly=True)
                imap_ok((typ, data), config.imap)
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


def idle(imap: imaplib.IMAP4, seconds: float) -> bool | None:
    """Wait in IMAP IDLE (RFC 2177) on the selected folder until the server reports new mail (True) or ``seconds``
    pass (False); None when the server offers no IDLE. imaplib (Python 3.11) has no IDLE command: it is spoken
    here with the connection's own line reader."""
    if "IDLE" not in imap.capabilities:
        return None
    sock = imap.socket()
    previous = sock.gettimeout()
    imap.send(b"HDIDLE IDLE\r\n")
    if not imap.readline().startswith(b"+"):
        return None
    news = False
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                line = imap.readline()
            except TimeoutError:
                break
            if not line:
                raise imaplib.IMAP4.abort("connection closed during IDLE")
            if line.startswith(b"*") and (b"EXISTS" in line or b"RECENT" in line):
                news = True
                break
    finally:
        sock.settimeout(previous)
        imap.send(b"DONE\r\n")
        while not imap.readline().startswith(b"HDIDLE "):
            pass
    return news
