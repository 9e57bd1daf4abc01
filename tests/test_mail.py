"""The e-mail channel against real servers: Dovecot (IMAP) for fetching, aiosmtpd (SMTP) receiving what is sent,
and the MTA's pipe (`helpdesk mail ingest`) fed the corpus of real-world-shaped messages (tests/data/mail)."""

from __future__ import annotations

import io
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from console.i18n import set_language
from console.service.helpdesk import HelpdeskService
from tests.conftest import Result
from tests.mailservers import PASSWORD, Dovecot, SmtpSink, dovecot, smtp, write_config

__all__ = ["dovecot", "smtp"]  # the module-scoped server fixtures

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "mail"


class _Stdin(io.TextIOWrapper):
    pass


def mail_cli(database: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`helpdesk --db DATABASE …` in-process (a file or a PostgreSQL URL); ``stdin`` as bytes (the MTA's pipe)."""
    from console.cli.main import main

    monkeypatch.delenv("HELPDESK_MAIL_PASSWORD", raising=False)
    monkeypatch.delenv("HELPDESK_CONFIG", raising=False)

    def run(*argv: str, stdin: bytes = b"") -> Result:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", _Stdin(io.BytesIO(stdin), encoding="utf-8"))
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(["--db", database, *argv])
            except SystemExit as exc:
                code = int(exc.code or 0)
        set_language("en")
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def hd(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    return mail_cli(str(db_path), monkeypatch)


@pytest.fixture
def desk(db_path: Path) -> Iterator[HelpdeskService]:
    service = HelpdeskService.open(db_path, "boss", create=True)
    service.init("boss")
    service.add_agent("li.wei", "agent", "L1")
    yield service
    service.shutdown()


def rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- the MTA's pipe, fed the corpus -----------------------------------------------------------------------------

# What each message of the corpus becomes, filed in name order on an empty helpdesk: a reply whose tag ([#3]) or
# References name a ticket filed before it is added there (the corpus's tags point at tickets opened earlier in the
# run), others open tickets; automatic mail is kept on the ticket it concerns or dropped when it concerns none, as are
# bounces about nothing we sent; the unparseable are quarantined.
EXPECTED = {
    "apple_mail_reply.eml": "new",
    "attachment_hostile_name.eml": "new",
    "attachment_pdf_zh_name.eml": "new",
    "auto_generated_notice.eml": "dropped",
    "base64_utf8.eml": "new",
    "big5_new.eml": "new",
    "bounce_qmail_prose.eml": "dropped",
    "broken_mime.eml": "new",
    "dsn_exchange_headers.eml": "dropped",
    "dsn_postfix.eml": "dropped",
    "foxmail_gbk.eml": "new",
    "gb18030_rare.eml": "new",
    "gb2312_label_gbk_body.eml": "new",
    "gmail_new_en.eml": "new",
    "gmail_reply_en.eml": "added",
    "gmail_reply_zh.eml": "added",
    "hostile_subject.eml": "new",
    "html_only.eml": "new",
    "iso2022jp.eml": "new",
    "list_mail.eml": "dropped",
    "malformed_garbage.eml": "quarantined",
    "malformed_no_from.eml": "quarantined",
    "mobile_zh_sent_from.eml": "new",
    "newsletter_bulk.eml": "dropped",
    "no_message_id.eml": "new",
    "outlook_ooo.eml": "auto",
    "outlook_related_zh.eml": "new",
    "outlook_reply_en.eml": "added",
    "outlook_reply_zh_gb2312.eml": "added",
    "qp_latin1.eml": "new",
    "qqmail_html_gb18030.eml": "added",
    "raw_8bit_gbk_header.eml": "new",
    "signature_dashes.eml": "new",
    "unknown_charset.eml": "new",
    "vacation_autoreply.eml": "auto",
}


def test_corpus_through_the_pipe(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path
) -> None:
    files = sorted(CORPUS.glob("*.eml"))
    assert len(files) >= 30 and {f.name for f in files} == set(EXPECTED)
    config = write_config(tmp_path / "helpdesk.toml", new_tickets_per_hour=100)
    for path in files:
        r = hd("mail", "ingest", "--config", str(config), "--json", stdin=path.read_bytes())
        assert r.code == 0, (path.name, r.err)
        assert r.json()["outcome"] == EXPECTED[path.name], path.name
    # idempotent: the same message again is filed once
    again = hd("mail", "ingest", "--config", str(config), "--json", stdin=(CORPUS / "foxmail_gbk.eml").read_bytes())
    assert again.code == 0 and again.json()["outcome"] == "duplicate"

    subjects = {str(s) for (s,) in rows(db_path, "SELECT subject FROM tickets")}
    bodies = " ".join(str(b) for (b,) in rows(db_path, "SELECT body FROM tickets UNION ALL SELECT body FROM messages"))
    assert {
        "财务系统导出报表内存不足",
        "印表機無法連線",
        "ログインできません",
        "生僻字无法保存",
        "系统登录失败",
    } <= subjects
    assert {"邮件无法发送", "Contraseña caducada", "Problème d'imprimante", "新员工邮箱开通申请"} <= subjects
    assert "𠮷野家" in bodies and "镕基系统" in bodies and "我們的印表機" in bodies and "サーバーにログイン" in bodies
    # HTML-only mail as readable text, scripts and styles gone
    assert "Server db01 reports <95% used> & rising." in bodies and "alert(1)" not in bodies
    # quoted history and signatures trimmed from the stored text, the originals kept on disk
    assert "Please update the client" not in bodies and "Did the backup run" not in bodies
    assert "Hello Tom, please restart" not in bodies and "请重启服务器" not in bodies and "请清除缓存" not in bodies
    assert "The printer still shows error 0x41 after the restart – what next?" in bodies
    assert "原始邮件" not in bodies and "Firma s.r.o." not in bodies and "发自我的" not in bodies
    originals = list((db_path.parent / (db_path.name + ".mail") / "originals").rglob("*"))
    assert sum(1 for p in originals if p.is_file()) == sum(1 for v in EXPECTED.values() if v != "quarantined")
    # hostile text reaches the database without terminal escapes or bidi overrides
    stored = " ".join(str(v) for row in rows(db_path, "SELECT subject, body FROM tickets") for v in row)
    stored += " ".join(str(n) for (n,) in rows(db_path, "SELECT name FROM customers"))
    stored += " ".join(str(n) for (n,) in rows(db_path, "SELECT name FROM mail_attachments"))
    assert "\x1b" not in stored and "\u202e" not in stored and "\x07" not in stored
    # attachments: names sanitised (no path), stored by content
    names = {str(n) for (n,) in rows(db_path, "SELECT name FROM mail_attachments")}
    assert {"报错说明.pdf", "passwd.sh", "log.txt", "image001.png"} <= names
    digest = rows(db_path, "SELECT sha256 FROM mail_attachments WHERE name = '报错说明.pdf'")[0][0]
    blob = db_path.parent / (db_path.name + ".mail") / "attachments" / str(digest)[:2] / str(digest)
    assert blob.read_bytes().startswith(b"%PDF-1.4") and not os.access(blob, os.X_OK)
    # the unparseable are kept raw and listed
    q = hd("mail", "quarantine", "--config", str(config), "--json")
    assert q.code == 0 and len(q.json()) == 2
    kept = {Path(i["file"]).read_bytes() for i in q.json()}
    assert (CORPUS / "malformed_no_from.eml").read_bytes() in kept
    # tickets opened by mail are e-mail tickets with the customer found or created by address
    assert rows(db_path, "SELECT DISTINCT channel FROM tickets") == [("email",)]
    assert rows(db_path, "SELECT count(*) FROM customers WHERE email = 'anna.schmidt@gmail.com'") == [(1,)]


def test_twenty_megabyte_attachment(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path
) -> None:
    from email.message import EmailMessage

    payload = os.urandom(20 * 2**20)
    msg = EmailMessage()
    msg["From"] = "Big Sender <big@corp.example>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "core dump attached"
    msg["Message-ID"] = "<big-0001@corp.example>"
    msg.set_content("The core dump is attached.")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="core.dump")
    raw = msg.as_bytes()
    config = write_config(tmp_path / "helpdesk.toml")
    r = hd("mail", "ingest", "--config", str(config), stdin=raw)
    assert r.code == 0, r.err
    ((name, size, digest, refused),) = rows(db_path, "SELECT name, size, sha256, refused FROM mail_attachments")
    assert (name, size, refused) == ("core.dump", len(payload), None)
    blob = db_path.parent / (db_path.name + ".mail") / "attachments" / str(digest)[:2] / str(digest)
    assert blob.read_bytes() == payload
    # over the configured limit: listed on the ticket, not stored
    small = write_config(tmp_path / "small.toml", max_attachment_mb=10)
    r = hd("mail", "ingest", "--config", str(small), stdin=raw.replace(b"big-0001", b"big-0002"))
    assert r.code == 0, r.err
    refused_row = rows(db_path, "SELECT sha256, refused FROM mail_attachments ORDER BY id DESC LIMIT 1")[0]
    assert refused_row[0] is None and "10 MB" in str(refused_row[1])


def test_ingest_busy_database_asks_the_mta_to_retry(desk: HelpdeskService, tmp_path: Path, db_path: Path) -> None:
    config = write_config(tmp_path / "helpdesk.toml", busy_seconds=1)
    raw = (CORPUS / "gmail_new_en.eml").read_bytes()
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "console", "--db", str(db_path), "mail", "ingest", "--config", str(config)],
            input=raw,
            capture_output=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert done.returncode == 75, done.stderr
    err = done.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("helpdesk: ")
    again = subprocess.run(
        [sys.executable, "-m", "console", "--db", str(db_path), "mail", "ingest", "--config", str(config)],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert again.returncode == 0 and rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]


def test_password_rules(hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, smtp: SmtpSink) -> None:
    config = write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, imap_port=1, user="support@example.com")
    secret = tmp_path / "mail-password"
    os.chmod(secret, 0o644)
    r = hd("mail", "check", "--config", str(config))
    assert r.code == 2 and r.err.count("\n") == 1 and "chmod 600" in r.err and PASSWORD not in r.err + r.out
    os.chmod(secret, 0o600)
    r = hd("mail", "check", "--config", str(config))
    # SMTP works, IMAP (port 1) does not: one line each, the failing one on stderr, no password anywhere
    assert r.code == 1 and "SMTP smtp://127.0.0.1" in r.out and r.err.count("\n") == 1 and "IMAP" in r.err
    assert PASSWORD not in r.out + r.err
    # a password in the configuration file itself is refused
    (tmp_path / "bad.toml").write_text('[mail]\naddress = "support@example.com"\npassword = "x"\n')
    r = hd("mail", "check", "--config", str(tmp_path / "bad.toml"))
    assert r.code == 2 and "password_file" in r.err
    # the database never holds it
    dump = "\n".join(sqlite3.connect(desk.path).iterdump())
    assert PASSWORD not in dump


# -- end to end against the real servers ------------------------------------------------------------------------


def customer_mail(message_id: str, subject: str, body: str, *, extra: str = "") -> bytes:
    return (
        f"From: Anna Schmidt <anna@customer.example>\nTo: support@example.com\nSubject: {subject}\n"
        f"Date: Mon, 7 Dec 2026 09:00:00 +0100\nMessage-ID: <{message_id}>\n{extra}"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    ).encode()


def test_end_to_end(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path, dovecot: Dovecot, smtp: SmtpSink
) -> None:
    user = dovecot.new_user()
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, imap_port=dovecot.port, user=user))
    assert hd("mail", "check", "--config", config).code == 0

    # 1. the customer writes in: a ticket, and the receipt confirmation
    dovecot.append(user, customer_mail("first@customer.example", "Printer jams", "The printer jams on every page."))
    r = hd("mail", "fetch", "--once", "--config", config)
    assert r.code == 0 and "1 filed" in r.out, r.err
    assert dovecot.unseen(user) == []
    ((ticket_id, _status, channel),) = rows(db_path, "SELECT id, status, channel FROM tickets")
    assert channel == "email"
    assert hd("mail", "send", "--once", "--config", config).code == 0
    (receipt,) = smtp.to("anna@customer.example")
    msg = receipt.message
    assert msg["In-Reply-To"] == "<first@customer.example>" and f"[#{ticket_id}]" in msg["Subject"]
    assert msg["Auto-Submitted"] == "auto-replied" and msg["From"].addresses[0].addr_spec == "support@example.com"

    # 2. the agent's reply (the console's reply action) arrives threaded to the customer's message
    desk.reply(ticket_id, "Please clean the paper roller and try again.")
    assert rows(db_path, "SELECT status FROM mail_outbox ORDER BY id") == [("sent",), ("waiting",)]
    assert hd("mail", "send", "--once", "--config", config).code == 0
    reply = smtp.to("anna@customer.example")[-1].message
    assert reply["In-Reply-To"] == "<first@customer.example>"
    assert "<first@customer.example>" in reply["References"] and reply["Auto-Submitted"] is None
    assert f"[#{ticket_id}]" in reply["Subject"] and "paper roller" in reply.get_content()
    assert rows(db_path, "SELECT status FROM mail_outbox ORDER BY id") == [("sent",), ("sent",)]

    # 3. the customer's reply to it lands on the same ticket (threaded by In-Reply-To alone: no tag in the subject)
    our_id = reply["Message-ID"]
    dovecot.append(
        user,
        customer_mail(
            "second@customer.example",
            "Re: Printer jams",
            "Cleaned it, still jams.\n\nOn Mon, Example Support wrote:\n> Please clean the paper roller",
            extra=f"In-Reply-To: {our_id}\nReferences: <first@customer.example> {our_id}\n",
        ),
    )
    assert hd("mail", "fetch", "--once", "--config", config).code == 0
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]
    texts = [
        str(b)
        for (b,) in rows(db_path, "SELECT body FROM messages WHERE ticket_id = ? AND kind = 'customer'", (ticket_id,))
    ]
    assert texts == ["Cleaned it, still jams."]

    # 4. a vacation auto-reply to our reply: kept on the ticket, no receipt, no reopen, nothing sent: no loop
    sent_before = len(smtp.to("anna@customer.example"))
    events_before = rows(db_path, "SELECT count(*) FROM events WHERE ticket_id = ?", (ticket_id,))[0][0]
    dovecot.append(
        user,
        customer_mail(
            "vacation@customer.example",
            f"Auto: Re: [#{ticket_id}] Printer jams",
            "I am on holiday.",
            extra=f"Auto-Submitted: auto-replied\nIn-Reply-To: {our_id}\n",
        ),
    )
    assert hd("mail", "fetch", "--once", "--config", config).code == 0
    assert hd("mail", "send", "--once", "--config", config).code == 0
    assert len(smtp.to("anna@customer.example")) == sent_before
    assert rows(db_path, "SELECT outcome FROM mail_messages WHERE message_id = 'vacation@customer.example'") == [
        ("auto",)
    ]
    kinds = [
        k for (k,) in rows(db_path, "SELECT kind FROM events WHERE ticket_id = ? AND id > 0 ORDER BY id", (ticket_id,))
    ]
    assert kinds[events_before:] == ["mail_auto"]
    assert rows(db_path, "SELECT count(*) FROM mail_outbox") == [(2,)]
    assert list(desk.mail.detail(ticket_id).automatic.values()) == ["Auto-Submitted: auto-replied"]

    # 5. status for people
    st = hd("mail", "status", "--config", config, "--json")
    assert st.code == 0 and st.json()["outbox"] == {"waiting": 0, "sent": 2, "failed": 0} and not st.json()["problems"]


def test_reopen_rules_and_rate_limit(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path
) -> None:
    config = str(write_config(tmp_path / "helpdesk.toml", new_tickets_per_hour=2))
    assert (
        hd("mail", "ingest", "--config", config, stdin=customer_mail("a1@customer.example", "Disk", "Disk full")).code
        == 0
    )
    ((ticket_id,),) = rows(db_path, "SELECT id FROM tickets")
    desk.reply(ticket_id, "Deleted old logs.")
    desk.resolve(ticket_id, "Deleted old logs")
    # a reply tagged [#id] reopens a resolved ticket
    r = hd(
        "mail",
        "ingest",
        "--config",
        config,
        "--json",
        stdin=customer_mail("a2@customer.example", f"Re: [#{ticket_id}] Disk", "Full again"),
    )
    assert r.json() == {"outcome": "added", "ticket": ticket_id, "message_id": "a2@customer.example", "reason": ""}
    assert rows(db_path, "SELECT status, reopens FROM tickets WHERE id = ?", (ticket_id,)) == [("open", 1)]
    # per-sender limit on new tickets: the third new one in an hour is kept in the quarantine, not opened
    for n in (3, 4):
        r = hd(
            "mail",
            "ingest",
            "--config",
            config,
            "--json",
            stdin=customer_mail(f"a{n}@customer.example", f"New {n}", "x"),
        )
        assert r.code == 0
    assert r.json()["outcome"] == "dropped" and "new tickets in an hour" in r.json()["reason"]
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(2,)]
    assert len(hd("mail", "quarantine", "--config", config, "--json").json()) == 1


def test_failures_are_visible(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path, smtp: SmtpSink
) -> None:
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, imap_port=1, user="x@example.com"))
    smtp.refuse["gone@customer.example"] = "550 5.1.1 no such user"
    smtp.refuse["later@customer.example"] = "451 4.3.0 try again later"
    for n, sender in enumerate(("gone@customer.example", "later@customer.example", "ok@customer.example")):
        raw = customer_mail(f"f{n}@customer.example", f"Problem {n}", "help").replace(
            b"anna@customer.example", sender.encode()
        )
        assert hd("mail", "ingest", "--config", config, stdin=raw).code == 0
    r = hd("mail", "send", "--once", "--config", config)
    assert r.code == 0 and "sent 1, to retry 1, failed 1" in r.out
    statuses = rows(db_path, "SELECT to_addr, status FROM mail_outbox ORDER BY id")
    assert statuses == [
        ("gone@customer.example", "failed"),
        ("later@customer.example", "waiting"),
        ("ok@customer.example", "sent"),
    ]
    # the IMAP server cannot be reached: one line, exit 1, and the error stays visible
    r = hd("mail", "fetch", "--once", "--config", config)
    assert r.code == 1 and r.err.count("\n") == 1 and "cannot connect" in r.err
    st = hd("mail", "status", "--config", config, "--json").json()
    assert st["outbox"]["failed"] == 1 and any("fetch" in p for p in st["problems"])
    assert any("1 outgoing messages failed" in p for p in st["problems"])
    # the queue marks the ticket whose mail failed for good; a supervisor may send it again
    failed_ticket = rows(db_path, "SELECT ticket_id FROM mail_outbox WHERE status = 'failed'")[0][0]
    assert desk.mail.failed_tickets([int(str(failed_ticket)), 999]) == {int(str(failed_ticket))}
    ((outbox_id,),) = rows(db_path, "SELECT id FROM mail_outbox WHERE status = 'failed'")
    assert hd("mail", "retry", str(outbox_id), "--config", config).code == 0
    assert rows(db_path, "SELECT status FROM mail_outbox WHERE id = ?", (outbox_id,)) == [("waiting",)]


def test_bounce_marks_the_outgoing_message_failed(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path, smtp: SmtpSink
) -> None:
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, receipt=False))
    assert hd("mail", "ingest", "--config", config, stdin=customer_mail("b1@customer.example", "VPN", "down")).code == 0
    ((ticket_id,),) = rows(db_path, "SELECT id FROM tickets")
    desk.reply(ticket_id, "Which client version?")
    assert hd("mail", "send", "--once", "--config", config).code == 0
    ((our_id,),) = rows(db_path, "SELECT message_id FROM mail_outbox")
    bounce = (CORPUS / "dsn_postfix.eml").read_bytes().replace(b"ORIGINAL_ID", str(our_id).encode())
    r = hd("mail", "ingest", "--config", config, "--json", stdin=bounce)
    assert r.code == 0 and r.json()["outcome"] == "bounce" and r.json()["ticket"] == ticket_id
    assert rows(db_path, "SELECT status FROM mail_outbox") == [("failed",)]
    ((error,),) = rows(db_path, "SELECT last_error FROM mail_outbox")
    assert "5.1.1" in str(error)
    # never a reopen or a receipt: the ticket's state is the reply's
    assert rows(db_path, "SELECT status, reopens FROM tickets") == [("open", 0)]
    detail = desk.mail.detail(ticket_id)
    assert [m["status"] for m in detail.outbox] == ["failed"]


def test_receipt_in_the_customers_language_and_processed_folder(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path, dovecot: Dovecot, smtp: SmtpSink
) -> None:
    user = dovecot.new_user()
    config = str(
        write_config(
            tmp_path / "helpdesk.toml", smtp_port=smtp.port, imap_port=dovecot.port, user=user, processed_folder="Filed"
        )
    )
    dovecot.append(user, (CORPUS / "foxmail_gbk.eml").read_bytes())
    dovecot.append(user, (CORPUS / "malformed_no_from.eml").read_bytes())
    r = hd("mail", "fetch", "--once", "--config", config)
    assert r.code == 0 and "1 filed" in r.out and "1 quarantined" in r.out, r.out + r.err
    # both left the inbox for the processed folder: the unparseable one is kept in the quarantine, not lost
    assert dovecot.count(user) == 0 and dovecot.count(user, "Filed") == 2
    assert hd("mail", "send", "--once", "--config", config).code == 0
    receipt = smtp.to("zhaomin@163.com")[-1].message
    body = receipt.get_content()
    assert "您的邮件我们已收到" in body and "#1" in body and "Example Support" in body
    assert receipt["In-Reply-To"] == "<202612060930001234567@163.com>"
    # the customer's name, encoded as RFC 2047 needs, survives the round trip
    assert receipt["To"].addresses[0].display_name == "赵敏"


def test_mail_for_a_closed_ticket_follows_the_reopen_rules(
    desk: HelpdeskService, tmp_path: Path, db_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from console.service.mail import Mailroom
    from console.service.mail_files import load_config

    config = load_config(write_config(tmp_path / "helpdesk.toml", receipt=False))
    room = Mailroom(db_path, config)
    try:
        opened = room.ingest(customer_mail("c1@customer.example", "Password reset", "Locked out"))
    finally:
        room.close()
    ticket_id = opened.ticket_id
    assert ticket_id is not None
    desk.reply(ticket_id, "Unlocked your account.")
    desk.resolve(ticket_id, "Account unlocked")
    desk.close(
        ticket_id,
        summary="Account unlocked",
        confirmed=True,
        confirmed_by="email",
        asked_anything_else=True,
        kb_needed=True,
    )
    window = timedelta(days=desk.policy().settings.reopen_window_days)

    def later(days: timedelta) -> Mailroom:
        start = datetime.now(UTC) + days
        return Mailroom(db_path, config, clock=lambda: start)

    # inside the window: the closed ticket reopens
    room = later(window - timedelta(days=1))
    try:
        filed = room.ingest(customer_mail("c2@customer.example", f"Re: [#{ticket_id}] Password reset", "Locked again"))
    finally:
        room.close()
    assert (filed.outcome, filed.ticket_id) == ("added", ticket_id)
    assert rows(db_path, "SELECT status, reopens FROM tickets WHERE id = ?", (ticket_id,)) == [("open", 1)]
    desk.resolve(ticket_id, "Unlocked again")
    desk.close(
        ticket_id,
        summary="Unlocked again",
        confirmed=True,
        confirmed_by="email",
        asked_anything_else=True,
        kb_needed=True,
    )
    # after it: a follow-up ticket linked to the old one; replies on it are mailed, threaded to the new message
    room = later(window * 3)
    try:
        filed = room.ingest(customer_mail("c3@customer.example", f"Re: [#{ticket_id}] Password reset", "And again"))
    finally:
        room.close()
    assert filed.outcome == "follow-up" and filed.ticket_id not in (None, ticket_id)
    assert rows(db_path, "SELECT parent_id, channel FROM tickets WHERE id = ?", (filed.ticket_id,)) == [
        (ticket_id, "email")
    ]
    assert rows(db_path, "SELECT status FROM tickets WHERE id = ?", (ticket_id,)) == [("closed",)]


class Forwarder:
    """A TCP port that is closed until `open()`, then forwards to the IMAP server: the server "comes back"."""

    def __init__(self, target: int) -> None:
        from tests.mailservers import free_port

        self.port = free_port()
        self.target = target
        self.server: socket.socket | None = None

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self.server = server

        def pipe(a: socket.socket, b: socket.socket) -> None:
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:
                pass
            finally:
                a.close()
                b.close()

        def accept() -> None:
            while True:
                try:
                    client, _addr = server.accept()
                except OSError:
                    return
                upstream = socket.create_connection(("127.0.0.1", self.target))
                threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def test_fetch_keeps_running_through_an_outage(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path, dovecot: Dovecot
) -> None:
    """`mail fetch` (no --once) with the IMAP server down: the error is recorded where supervisors see it, the
    fetcher keeps running and reconnects after its backoff, and the error clears once mail flows again."""
    user = dovecot.new_user()
    proxy = Forwarder(dovecot.port)
    config = str(write_config(tmp_path / "helpdesk.toml", imap_port=proxy.port, user=user, poll_seconds=1))
    dovecot.append(user, customer_mail("outage@customer.example", "Mail while the server was down", "hello"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db_path), "mail", "fetch", "--config", config],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not desk.mail.problems() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any("mail fetch" in p and "cannot connect" in p for p in desk.mail.problems())
        assert proc.poll() is None  # still running
        proxy.open()
        while rows(db_path, "SELECT count(*) FROM tickets") == [(0,)] and time.monotonic() < deadline + 10:
            time.sleep(0.1)
        assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]
        while desk.mail.problems() and time.monotonic() < deadline + 10:  # cleared once the round ends
            time.sleep(0.1)
        assert desk.mail.problems() == [] and proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.stderr.close()
        proxy.close()
    assert "cannot connect" in err and "Traceback" not in err


def test_a_running_sender_sends_a_new_reply_at_once(
    hd: Callable[..., Result], desk: HelpdeskService, tmp_path: Path, db_path: Path, smtp: SmtpSink
) -> None:
    """`mail send` (running, polling every minute) sees the console's commit and sends the reply within seconds."""
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, receipt=False, poll_seconds=60))
    raw = customer_mail("soon@customer.example", "Quick one", "hi").replace(b"anna@", b"soon@")
    assert hd("mail", "ingest", "--config", config, stdin=raw).code == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db_path), "mail", "send", "--config", config],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not rows(db_path, "SELECT ok_at FROM mail_state WHERE part = 'send'") and time.monotonic() < deadline:
            time.sleep(0.1)  # until it has looked once and found nothing to send: now it pauses for a minute
        desk.reply(1, "Here is the answer.")
        deadline = time.monotonic() + 10
        while not smtp.to("soon@customer.example") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(smtp.to("soon@customer.example")) == 1
    finally:
        proc.kill()
        proc.wait()


def test_fetch_waits_in_idle_and_files_new_mail_as_it_arrives(
    desk: HelpdeskService, tmp_path: Path, db_path: Path, dovecot: Dovecot
) -> None:
    """`mail fetch` polling once a minute still files a new message within seconds: it waits in IMAP IDLE."""
    user = dovecot.new_user()
    config = str(write_config(tmp_path / "helpdesk.toml", imap_port=dovecot.port, user=user, poll_seconds=60))
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "--db", str(db_path), "mail", "fetch", "--config", config],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not rows(db_path, "SELECT ok_at FROM mail_state WHERE part = 'fetch'") and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # into its wait
        dovecot.append(user, customer_mail("idle@customer.example", "Arrived while idling", "hi"))
        deadline = time.monotonic() + 15
        while rows(db_path, "SELECT count(*) FROM tickets") == [(0,)] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rows(db_path, "SELECT subject FROM tickets") == [("Arrived while idling",)]
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
