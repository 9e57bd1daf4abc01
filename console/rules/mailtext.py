"""Text out of customers' mail: bytes in the charsets mail programs really send, HTML made readable, the quoted
history and the signature trimmed, and what a terminal would act on removed. Pure."""

from __future__ import annotations

import codecs
import re
import unicodedata
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


# Terminal control sequences whole (CSI, OSC, other escapes), so no "[31m" is left behind when the escape goes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]")


def visible(text: str) -> str:
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
