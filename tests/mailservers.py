"""Real mail servers for the mail tests: Dovecot (IMAP) started with a throwaway configuration on 127.0.0.1, and
aiosmtpd (SMTP) receiving what the helpdesk sends. Each is started once per test module."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "imap-s3cret-7f"
USERS = 40  # mailboxes user1 … user40, one per test that needs its own


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


@dataclass
class Dovecot:
    port: int
    base: Path
    proc: subprocess.Popen[bytes]
    taken: int = 0

    def new_user(self) -> str:
        self.taken += 1
        assert self.taken <= USERS, "more mailboxes than the passwd file holds"
        return f"user{self.taken}@example.com"

    def connect(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=20)
        imap.login(user, PASSWORD)
        return imap

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        imap = self.connect(user)
        try:
            typ, data = imap.append(folder, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            assert typ == "OK", data
        finally:
            imap.logout()

    def unseen(self, user: str, folder: str = "INBOX") -> list[bytes]:
        imap = self.connect(user)
        try:
            imap.select(folder)
            typ, data = imap.uid("SEARCH", "UNSEEN")
            assert typ == "OK"
            return (data[0] or b"").split()
        finally:
            imap.logout()

    def count(self, user: str, folder: str = "INBOX") -> int:
        imap = self.connect(user)
        try:
            typ, data = imap.select(folder, readonly=True)
            assert typ == "OK", data
            return int(data[0] or 0)
        finally:
            imap.logout()


def _mail_user() -> tuple[str, str, str]:
    """(login user, mail uid name, mail gid name): as root, Dovecot's own unprivileged accounts and nobody (it
    refuses to run its login process or mail processes as root); otherwise the current user for all."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, me.pw_name, str(me.pw_gid)
    login = "dovenull" if _exists("dovenull") else "nobody"
    return login, "nobody", str(pwd.getpwnam("nobody").pw_gid)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def start_dovecot() -> Dovecot:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)")
    # Not under pytest's tmp_path: the mail processes run as nobody and must reach their maildirs.
    base = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    os.chmod(base, 0o755)
    login, mail_uid, mail_gid = _mail_user()
    internal = "dovecot" if os.getuid() == 0 and _exists("dovecot") else login
    maildirs = base / "mail"
    maildirs.mkdir()
    if os.getuid() == 0:
        shutil.chown(maildirs, pwd.getpwnam(mail_uid).pw_uid, int(mail_gid))
    users = base / "users"
    users.write_text("".join(f"user{i}@example.com:{{PLAIN}}{PASSWORD}\n" for i in range(1, USERS + 1)))
    os.chmod(users, 0o644)
    port = free_port()
    conf = base / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{maildirs}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={maildirs}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""
    )
    proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(port, base, proc)
    deadline = time.monotonic() + 20
    while True:
        try:
            imap = server.connect("user40@example.com")
            imap.logout()
            return server
        except (OSError, imaplib.IMAP4.error):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (base / "dovecot.log").read_text(errors="replace") if (base / "dovecot.log").exists() else ""
                stop_dovecot(server)
                pytest.fail(f"dovecot did not start: {log[-2000:]}")
            time.sleep(0.1)


def stop_dovecot(server: Dovecot) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot()
    try:
        yield server
    finally:
        stop_dovecot(server)


# -- SMTP -------------------------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class SmtpSink:
    port: int
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds each DATA takes (for the kill tests)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.sink.refuse:
            return self.sink.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        with self.sink.lock:
            self.sink.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=0)
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=free_port(), data_size_limit=64 * 2**20)
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


def write_config(
    path: Path, *, smtp_port: int | None = None, imap_port: int | None = None, user: str = "", **extra: Any
) -> Path:
    """A helpdesk.toml for the tests, the password in a 0600 file beside it."""
    secret = path.parent / "mail-password"
    secret.write_text(PASSWORD + "\n")
    os.chmod(secret, 0o600)
    lines = ["[mail]", 'address = "support@example.com"', 'name = "Example Support"']
    if smtp_port is not None:
        lines.append(f'smtp_url = "smtp://127.0.0.1:{smtp_port}"')
    if imap_port is not None:
        lines.append(f'imap_url = "imap://127.0.0.1:{imap_port}/INBOX"')
    if user:
        lines.append(f'username = "{user}"')
        lines.append(f'password_file = "{secret}"')
    for key, value in extra.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, bool) else f"{key} = {str(value).lower()}")
    path.write_text("\n".join(lines) + "\n")
    return path
