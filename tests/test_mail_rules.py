"""The mail channel's pure rules: configuration, reading messages, writing them."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from console.rules.errors import BadInput
from console.rules.mailcompose import Outgoing, compose, references, tagged_subject
from console.rules.mailconfig import parse_config
from console.rules.mailparse import strip_reply_prefixes, ticket_tag
from console.rules.mailtext import decode_bytes, trim_reply


def test_config_is_checked_field_by_field() -> None:
    config = parse_config(
        '[mail]\naddress = "help@corp.example"\nsmtp_url = "smtps://mx.corp.example"\n'
        'imap_url = "imaps://mx.corp.example/Support%20Inbox"\ntag_prefix = "HD#"\n',
        "x.toml",
    )
    assert config.smtp is not None and (config.smtp.scheme, config.smtp.port) == ("smtps", 465)
    assert config.imap is not None and (config.imap.port, config.imap.folder) == (993, "Support Inbox")
    assert config.domain == "corp.example" and config.tag_prefix == "HD#"
    sendmail = parse_config('[mail]\naddress = "a@b.example"\nsmtp_url = "sendmail:"\n', "x.toml").smtp
    assert sendmail is not None and sendmail.path == "/usr/sbin/sendmail"
    for text, words in (
        ("[mail]\n", "address"),
        ('[mail]\naddress = "a@b.example"\nsmtp_url = "http://x"\n', "smtp_url"),
        ('[mail]\naddress = "a@b.example"\nimap_url = "imap://u:p@host"\n', "password_file"),
        ('[mail]\naddress = "a@b.example"\nsurprise = 1\n', "unknown key surprise"),
        ('[mail]\naddress = "a@b.example"\nmax_attachment_mb = "big"\n', "max_attachment_mb"),
        ("not toml [", "not valid TOML"),
    ):
        with pytest.raises(BadInput, match=words):
            parse_config(text, "x.toml")


def test_tags_and_subjects() -> None:
    assert ticket_tag("Re: [#123] Printer", "#") == 123
    assert ticket_tag("答复: [ HD#7 ] 打印机", "HD#") == 7
    assert ticket_tag("Invoice [123]", "#") is None
    assert strip_reply_prefixes("RE: Fwd: 回复：答复: Printer") == "Printer"
    assert tagged_subject("Printer", 5, "#") == "Re: [#5] Printer"
    assert tagged_subject("Re: [#5] Printer", 5, "#") == "Re: [#5] Printer"
    long = [f"id{i}@x" for i in range(50)]
    refs = references(long)
    assert len(refs) == 20 and refs[0] == "id0@x" and refs[-1] == "id49@x"


def test_trimming_keeps_what_was_written_this_time() -> None:
    assert trim_reply("Thanks!\n\nOn Mon, 7 Dec 2026, Support <s@x> wrote:\n> old") == "Thanks!"
    assert trim_reply("好的\n\n在 2026年12月7日 写道：\n> 旧") == "好的"
    assert trim_reply("Fixed.\n-----Original Message-----\nFrom: x") == "Fixed."
    assert trim_reply("Yes\n\n-- \nJan | Firma") == "Yes"
    assert trim_reply("> only a quote") == "> only a quote"  # trimming that would leave nothing keeps all


def test_charsets_widen_and_fall_back() -> None:
    assert decode_bytes("镕".encode("gbk"), "gb2312") == "镕"
    assert decode_bytes("𠮷".encode("gb18030"), "gbk") == "𠮷"
    assert decode_bytes("中文".encode("gb18030"), None) == "中文"
    assert decode_bytes(b"\xff\xfe\xfa", "no-such-charset")  # never raises


def test_the_same_outbox_row_is_the_same_bytes() -> None:
    out = Outgoing(
        message_id="helpdesk.1.abc@example.com",
        from_name="示例支持",
        from_address="support@example.com",
        to_name="张三",
        to_address="zhang@cust.example",
        subject="Re: [#1] 打印机",
        body="您好！\n请重启打印机。",
        date=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
        in_reply_to="abc@cust.example",
        references=("abc@cust.example",),
        automatic=False,
    )
    first, second = compose(out), compose(out)
    assert first == second
    msg = message_from_bytes(first, policy=policy.default)
    assert msg["Message-ID"] == "<helpdesk.1.abc@example.com>" and msg["In-Reply-To"] == "<abc@cust.example>"
    assert msg["Auto-Submitted"] is None and str(msg["Subject"]) == "Re: [#1] 打印机"
    auto = message_from_bytes(compose(Outgoing(**{**out.__dict__, "automatic": True})), policy=policy.default)
    assert auto["Auto-Submitted"] == "auto-replied"
