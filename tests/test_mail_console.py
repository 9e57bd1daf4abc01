"""The console shows the e-mail channel: per reply whether it was sent, is waiting or failed; the attachments; a
mark in the queue row of a ticket whose mail failed; the mail errors in the supervisors' header line."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from console.tui.screens.queue import MAIL_FAILED, QueueScreen
from tests.conftest import FrozenClock, settle
from tests.mailservers import SmtpSink, smtp, write_config
from tests.test_hostile_text import screen_output
from tests.test_ticket_screen import open_ticket

__all__ = ["smtp"]

Team = Callable[[str], HelpdeskService]
CORPUS = Path(__file__).resolve().parent / "data" / "mail"


def helpdesk(db: Path, *argv: str, stdin: bytes = b"") -> int:
    from console.cli.main import main

    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with redirect_stdout(io.StringIO()):
            return main(["--db", str(db), *argv])
    finally:
        sys.stdin = old


@pytest.fixture
def mailed(team: Team, db_path: Path, tmp_path: Path, smtp: SmtpSink) -> Iterator[tuple[int, int]]:
    """Two tickets opened by mail: one whose reply was sent and a second reply waits, one whose reply bounced."""
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, imap_port=1, user="x@example.com"))
    sue = team("sue")
    assert (
        helpdesk(db_path, "mail", "ingest", "--config", config, stdin=(CORPUS / "gmail_new_en.eml").read_bytes()) == 0
    )
    raw = (CORPUS / "attachment_pdf_zh_name.eml").read_bytes()
    assert helpdesk(db_path, "mail", "ingest", "--config", config, stdin=raw) == 0
    ok, bounced = 1, 2
    sue.reply(ok, "Please update the VPN client to 5.2.")
    sue.reply(bounced, "收到截图，我们正在分析。")
    assert helpdesk(db_path, "mail", "send", "--once", "--config", config) == 0
    sue.reply(ok, "Did the update help?")  # waiting: not sent yet
    our_id = sue.mail.detail(bounced).outbox[-1]["message_id"]
    dsn = (CORPUS / "dsn_postfix.eml").read_bytes().replace(b"ORIGINAL_ID", our_id.encode())
    assert helpdesk(db_path, "mail", "ingest", "--config", config, stdin=dsn) == 0
    assert helpdesk(db_path, "mail", "fetch", "--once", "--config", config) == 1  # IMAP port 1: an error to show
    yield ok, bounced


async def test_ticket_shows_sent_waiting_and_failed(team: Team, clock: FrozenClock, mailed: tuple[int, int]) -> None:
    ok, bounced = mailed
    sue = team("sue")
    app = HelpdeskApp(sue, clock=lambda: clock().timestamp(), live_interval=3600)
    async with app.run_test(size=(140, 60)) as pilot:
        await open_ticket(pilot, app, ok)
        text = screen_output(app)[0]
        assert "✉ sent to anna.schmidt@gmail.com" in text
        assert "✉ waiting to be sent to anna.schmidt@gmail.com" in text
        assert "Receipt confirmation ✉ sent to anna.schmidt@gmail.com" in text
        await pilot.press("escape")
        await open_ticket(pilot, app, bounced)
        text = screen_output(app)[0]
        assert "✉ delivery to liuyang@corp.cn failed: 5.1.1" in text
        assert "📎 报错说明.pdf · application/pdf" in text


async def test_queue_marks_failed_mail_and_supervisors_see_mail_errors(
    team: Team, clock: FrozenClock, mailed: tuple[int, int]
) -> None:
    ok, bounced = mailed
    for name, sees in (("sue", True), ("li.wei", False)):
        app = HelpdeskApp(team(name), clock=lambda: clock().timestamp(), live_interval=3600)
        async with app.run_test(size=(140, 30)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, QueueScreen)
            text = screen_output(app)[0]
            header = text.splitlines()[0]
            assert ("mail: fetch failing · 1 not delivered" in header) is sees, header
            if sees:
                row = next(line for line in text.splitlines() if f" {bounced} P3" in line)
                assert MAIL_FAILED.strip() in row
                other = next(line for line in text.splitlines() if f" {ok} P3" in line)
                assert MAIL_FAILED.strip() not in other


async def test_a_reply_typed_in_the_console_reaches_the_customer_threaded(
    team: Team, clock: FrozenClock, db_path: Path, tmp_path: Path, smtp: SmtpSink
) -> None:
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, receipt=False))
    raw = (CORPUS / "big5_new.eml").read_bytes()
    assert helpdesk(db_path, "mail", "ingest", "--config", config, stdin=raw) == 0
    sue = team("sue")
    app = HelpdeskApp(sue, clock=lambda: clock().timestamp(), live_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ticket(pilot, app, 1)
        await pilot.press("r", *"Please power-cycle the printer.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.detail is not None and screen.detail.messages[-1].kind == "reply"
        assert "✉ waiting to be sent to chen@example.com.tw" in screen_output(app)[0]
        assert helpdesk(db_path, "mail", "send", "--once", "--config", config) == 0
    (received,) = smtp.to("chen@example.com.tw")
    msg = received.message
    assert msg["In-Reply-To"] == "<big5-0001@example.com.tw>" and "[#1]" in msg["Subject"]
    assert msg["Subject"].endswith("印表機無法連線") and "power-cycle the printer" in msg.get_content()
