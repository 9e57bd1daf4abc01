"""Reading a customer's e-mail: the standard library's parser (modern policy) with the charsets real customers send,
HTML turned into text, quoted history and signatures trimmed, automatic mail (RFC 3834) and bounces recognised.

Pure: bytes in, a `ParsedMail` out. Nothing here is trusted: names, subjects and bodies are cleaned by the caller's
validation before storage and by the screens' cleaning before display.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

# Labels mail programs use for charsets Python knows under a wider name: GB2312 and GBK mail routinely holds
# characters only GB18030 has, Big5 mail the HKSCS ones, and ISO-2022-JP mail the Microsoft extensions.
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "iso-2022-jp": "iso2022_jp_ext",
    "ks_c_5601-1987": "cp949",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}
MAX_TEXT = 100_000  # characters of body kept (validation's MAX_BODY)


class MailUnparseable(ValueError):
    """Not a message we can file: kept raw in the quarantine folder."""


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class Bounce:
    """A delivery status notification: which of our messages failed, for whom, and why."""

    original_ids: list[str]
    recipient: str
    status: str
    diagnostic: str


@dataclass
class ParsedMail:
    message_id: str
    sender: str  # lower-case address
    sender_name: str
    subject: str
    body: str  # what the customer wrote: quoted history and signature trimmed
    full_text: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    auto: str | None = None  # why this is automatic mail (never acknowledged, never reopens)
    bounce: Bounce | None = None
    synthetic_id: bool = False


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` in its declared charset (widened, see CHARSET_ALIASES); undeclared or wrong: UTF-8, then GB18030,
    then Big5, and finally UTF-8 with replacement characters (never an exception)."""
    tried: list[str] = []
    if charset:
        name = charset.strip().strip('"').lower()
        name = CHARSET_ALIASES.get(name, name)
        try:
            codecs.lookup(name)
            tried.append(name)
        except LookupError:
            pass
    for fallback in ("utf-8", "gb18030", "big5hkscs"):
        if fallback not in tried:
            tried.append(fallback)
    for name in tried:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace")


def _header_text(value: object) -> str:
    """A header as text. Raw 8-bit headers (old Foxmail, some webmail) reach us as surrogate escapes: decoded as
    UTF-8, else GB18030, else Big5."""
    text = str(value or "")
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raw = text.encode("utf-8", "surrogateescape")
        text = decode_bytes(raw, None)
    return " ".join(text.split())


def _header(msg: Message, name: str) -> str:
    """A header's text. Raw 8-bit bytes (old Foxmail, some webmail) are read by the modern policy as U+FFFD: the
    raw value (surrogate escapes) is decoded by hand then (UTF-8, else GB18030, else Big5)."""
    try:
        text = _header_text(msg.get(name, ""))
    except Exception:  # a header the modern policy cannot read
        text = "\ufffd"
    if "\ufffd" in text:
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")
        if any("\udc80" <= ch <= "\udcff" for ch in str(raw)) or text == "\ufffd":
            return _header_text(raw)
    return text


_ID = re.compile(r"<([^<>\s]{1,500})>")


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header (angle brackets dropped); a bare id without brackets is taken as it is."""
    found = _ID.findall(value or "")
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return found


# Terminal control sequences whole (CSI, OSC, other escapes), so no "[31m" is left behind when the escape goes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]")


def _visible(text: str) -> str:
    """Drop what a terminal or the database would act on (escape sequences, controls but newline and tab, bidi
    formatting), keep the rest."""
    text = _ESCAPES.sub("", text)
    return "".join(
        ch
        for ch in text
        if ch in "\n\t"
        or not (unicodedata.category(ch) in ("Cc", "Cs") or "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069")
    )


# -- HTML to readable text --------------------------------------------------------------------------------------

_BLOCK = {
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "blockquote",
    "pre",
    "hr",
    "ul",
    "ol",
}


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "blockquote":
            self.quote += 1
            self.out.append("\n")
        elif tag in _BLOCK:
            self.out.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self.out.append("\n")
        elif tag in _BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = re.sub(r"[ \t\r\n\f]+", " ", data)
        if self.quote:
            text = text.replace("\n", "\n> ")
            if not self.out or self.out[-1].endswith("\n"):
                text = "> " + text.lstrip()
        self.out.append(text)


def html_to_text(html: str) -> str:
    maker = _TextMaker()
    try:
        maker.feed(html)
        maker.close()
    except Exception:  # HTMLParser is lenient; this is for the unforeseen
        return re.sub(r"<[^>]*>", " ", html)
    lines = [line.strip() for line in "".join(maker.out).replace("\xa0", " ").splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# -- quoted history and signatures ------------------------------------------------------------------------------

# Where the history under a reply begins, in the forms the common mail programs write it.
_QUOTE_STARTS = [
    re.compile(r"^\s*On .{4,200}(wrote|schrieb|a écrit)\s*:\s*$", re.I),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^\s*在\s?.{4,200}(写道|寫道)\s*[:：]\s*$"),  # the same in Chinese
    re.compile(r"^\s*-{2,}\s*(Original Message|原始邮件|原始郵件|Original)\s*-{2,}\s*$", re.I),  # Outlook, Foxmail/QQ
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted header block
    re.compile(r"^\s*(From|发件人|寄件者)\s*[:：].+$"),  # a quoted header block without a rule (Outlook)
    re.compile(r"^\s*-{5,}\s*(Forwarded message|转发的邮件|轉寄的郵件)\s*-{5,}\s*$", re.I),
]
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),  # RFC 3676's signature separator
    re.compile(r"^\s*(Sent from my (iPhone|iPad|Android|mobile)|Get Outlook for \w+)", re.I),
    re.compile(r"^\s*(发自我的|從我的|来自我的)\s*(iPhone|iPad|手机|華為|华为|小米)?"),
]


def trim_reply(text: str) -> str:
    """What the sender wrote this time: up to the quoted history (a ``>`` block, an "On … wrote:" line, an Outlook
    or Foxmail header block) and without the signature. Everything, if trimming would leave nothing."""
    lines = text.splitlines()
    cut = len(lines)
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_STARTS) or (
            line.startswith(">") and all(not rest.strip() or rest.startswith(">") for rest in lines[i:])
        ):
            cut = i
            break
    kept = lines[:cut]
    for i, line in enumerate(kept):
        if any(p.match(line) for p in _SIGNATURE_STARTS):
            kept = kept[:i]
            break
    result = "\n".join(kept).strip()
    return result or text.strip()


# -- automatic mail ---------------------------------------------------------------------------------------------


def automatic(msg: Message) -> str | None:
    """Why ``msg`` is automatic mail (RFC 3834 and the headers in wide use), or None for a person's message."""
    auto = _visible(_header(msg, "Auto-Submitted")).lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto.split(';')[0].strip()[:40]}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if msg.get("X-Auto-Response-Suppress") is not None:
        return "X-Auto-Response-Suppress"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        if msg.get(name) is not None:
            return name
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if msg.get(name) is not None:
            return name
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    sender = parseaddr(_header(msg, "From"))[1].lower()
    if sender.split("@")[0] in ("mailer-daemon", "postmaster"):
        return "mailer-daemon"
    if _header(msg, "Return-Path").strip() == "<>":
        return "null sender"
    return None


def _bounce(msg: Message) -> Bounce | None:
    if msg.get_content_type() != "multipart/report" and automatic(msg) not in ("mailer-daemon", "null sender"):
        return None
    ids: list[str] = []
    recipient = status = diagnostic = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            for block in blocks:
                if not isinstance(block, Message):
                    continue
                recipient = recipient or parseaddr(_header(block, "Final-Recipient").split(";")[-1])[1]
                status = status or _header(block, "Status")
                diagnostic = diagnostic or _header(block, "Diagnostic-Code")
                action = _header(block, "Action").lower()
                if action and action not in ("failed", "delayed"):
                    status = status or action
        elif ctype in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                ids += message_ids(_header(inner, "Message-ID"))
        elif ctype == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            headers = message_from_bytes(raw if isinstance(raw, bytes) else b"", policy=policy.default)
            ids += message_ids(_header(headers, "Message-ID"))
    if not ids:  # a bounce in prose (older MTAs): the quoted Message-ID line of the original
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                raw = part.get_payload(decode=True)
                text = decode_bytes(raw if isinstance(raw, bytes) else b"", part.get_content_charset())
                ids += [m for m in re.findall(r"(?im)^\s*Message-ID:\s*<([^<>\s]+)>", text)]
    if not ids and msg.get_content_type() != "multipart/report":
        return None
    return Bounce(list(dict.fromkeys(ids)), recipient, status, diagnostic[:500])


# -- the message ------------------------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def safe_filename(name: str, content_type: str, index: int) -> str:
    """A name for display and download: no path, no controls, no reserved characters, at most 120 characters."""
    base = _visible(name).replace("\n", " ").replace("\t", " ")
    base = base.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if not base:
        base = f"attachment-{index}" + ({"text/plain": ".txt", "text/html": ".html"}.get(content_type, ".bin"))
    return base[-120:] if len(base) > 120 else base


def _part_text(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        payload = part.get_payload()
        raw = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return decode_bytes(raw, part.get_content_charset())


def _walk(msg: Message) -> tuple[str, str, list[Attachment]]:
    """(plain text, html, attachments) of the message's own parts: the first text alternative, files attached."""
    plain: list[str] = []
    html: list[str] = []
    files: list[Attachment] = []

    def visit(part: Message, in_alternative: bool) -> None:
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if part.is_multipart():
            if ctype == "multipart/report":  # a bounce: the human-readable part only
                payload = part.get_payload()
                if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                    visit(payload[0], False)
                return
            children = part.get_payload()
            for child in children if isinstance(children, list) else []:
                if isinstance(child, Message):
                    visit(child, in_alternative or ctype == "multipart/alternative")
            return
        try:
            filename = part.get_filename()
        except Exception:
            filename = None
        if disposition == "attachment" or (filename and disposition != "inline") or ctype.startswith("message/"):
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                data = str(part.get_payload()).encode("utf-8", "surrogateescape")
            files.append(Attachment(safe_filename(_header_text(filename or ""), ctype, len(files) + 1), ctype, data))
            return
        if ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            html.append(_part_text(part))
        elif filename or part.get_content_maintype() in ("image", "application", "audio", "video"):
            data = part.get_payload(decode=True)
            files.append(
                Attachment(
                    safe_filename(_header_text(filename or ""), ctype, len(files) + 1),
                    ctype,
                    data if isinstance(data, bytes) else b"",
                )
            )

    visit(msg, False)
    return "\n\n".join(p for p in plain if p.strip()), "\n\n".join(html), files


def parse_mail(raw: bytes) -> ParsedMail:
    """``raw`` (an RFC 5322 message) as a ParsedMail; MailUnparseable when it has no sender to answer."""
    if not raw.strip():
        raise MailUnparseable("empty message")
    try:
        msg = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the parser is lenient; this guards the unforeseen
        raise MailUnparseable(f"not a message: {exc}") from exc
    if not msg.keys():
        raise MailUnparseable("no headers")
    from_value = _header(msg, "Reply-To") or _header(msg, "From")
    found = [(n, a) for n, a in getaddresses([from_value]) if "@" in a]
    if not found and from_value != _header(msg, "From"):
        found = [(n, a) for n, a in getaddresses([_header(msg, "From")]) if "@" in a]
    if not found:
        raise MailUnparseable("no sender address")
    name, address = found[0]
    address = _visible(address).strip().lower()
    if not re.match(r"^[^@\s]{1,64}@[^@\s]{1,255}$", address):
        raise MailUnparseable("unusable sender address")
    ids = message_ids(_header(msg, "Message-ID"))
    synthetic = not ids
    message_id = ids[0] if ids else hashlib.sha256(raw).hexdigest() + "@helpdesk.invalid"
    try:
        plain, html, files = _walk(msg)
    except Exception as exc:
        raise MailUnparseable(f"unreadable body: {exc}") from exc
    text = plain if plain.strip() else html_to_text(html)
    text = _visible(text.replace("\r\n", "\n").replace("\r", "\n"))[:MAX_TEXT]
    subject = _visible(_header(msg, "Subject")).replace("\n", " ").replace("\t", " ").strip()
    if isinstance(msg, EmailMessage):
        pass
    return ParsedMail(
        message_id=message_id,
        sender=address,
        sender_name=_visible(name).replace("\n", " ").strip()[:200],
        subject=subject[:500],
        body=trim_reply(text),
        full_text=text,
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(_header(msg, "References")),
        attachments=files,
        auto=automatic(msg),
        bounce=_bounce(msg),
        synthetic_id=synthetic,
    )


def ticket_tag(subject: str, prefix: str) -> int | None:
    """The ticket number of a ``[#123]``-style tag in a subject (``prefix`` is what precedes the number)."""
    match = re.search(r"\[\s*" + re.escape(prefix) + r"\s*(\d{1,18})\s*\]", subject, re.I)
    return int(match.group(1)) if match else None


def strip_reply_prefixes(subject: str) -> str:
    """A subject without its Re:/Fwd:/回复:/答复: prefixes (for a new ticket's subject)."""
    pattern = re.compile(r"^\s*(re|fw|fwd|aw|sv|回复|答复|回覆|转发|轉寄)\s*(\[\d+\])?\s*[:：]\s*", re.I)
    previous = None
    while previous != subject:
        previous = subject
        subject = pattern.sub("", subject)
    return subject.strip()


def address_of(name: str, address: str) -> str:
    """A To header value, the name encoded as RFC 2047 needs."""
    return str(Address(display_name=name, addr_spec=address)) if name else address
