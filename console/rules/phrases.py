"""Forbidden-phrase guard for replies (服务忌语), following the service standards.

Pure logic: no database, no UI. Rules are data (``console/defaults/phrases.toml``, Chinese and English);
``check`` returns hits with offsets into the original text so the UI can highlight them.

Matching, in short: text and phrases are NFKC-normalised and case-folded, then cut into tokens — one token
per CJK character, one per English word (apostrophes ignored). A phrase matches a run of consecutive
tokens; separators between them are seen through unless they end a sentence, and clause punctuation
(commas, 、, colons) is only seen through inside phrases of three or more tokens, because two-token
matches across a comma are mostly coincidences ("认可，能否" is not 可能). A hit inside one of its
rule's allow-contexts is dropped (an allow-context never reaches over a comma); overlapping hits keep the longest.

Phrases and allow-contexts may hold alternatives, ``不{|太|是很}清楚`` (an empty alternative makes the group
optional), and ``*`` for one to `MAX_SKIP` words of one clause (``不归*管``); they are expanded once, when the rules
are loaded, into plain forms kept in a token trie, and parsed rules are cached by their text.
Only the agent's own words are checked: lines quoting the customer (``> …``) and text between paired
quotation marks on one line (“…”, "…", 「…」, 『…』: error messages, what someone else said) are skipped.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from console.i18n import _
from console.rules.documents import parse, validate

__all__ = [
    "LANGS",
    "MAX_FORMS",
    "MAX_SKIP",
    "Hit",
    "PhraseError",
    "PhraseRule",
    "PhraseRules",
    "check",
    "default_rules",
    "default_rules_toml",
    "expand",
    "lint_reply",
    "normalize_lang",
    "tokenize",
]

LANGS: tuple[str, ...] = ("zh", "en")

# Gap levels between two tokens: how strong the separators between them are.
_GAP_SOFT = 0
_GAP_CLAUSE = 1
_GAP_HARD = 2
# Clause punctuation is seen through only inside phrases at least this long (in tokens).
_CLAUSE_MIN_TOKENS = 3

_APOSTROPHES = frozenset("'`´‘’ʼ")
_CLAUSE_CHARS = frozenset(",、:")
_ALWAYS_HARD = frozenset("\n\r\u2028\u2029\u3002")
_SENTENCE_END = frozenset(".!?;")
_STOPS = _CLAUSE_CHARS | _ALWAYS_HARD | _SENTENCE_END
# One phrase or allow-context may stand for at most this many plain forms: enough for any real wording,
# small enough that a careless pattern cannot blow up the index.
MAX_FORMS = 2000
# Opening quotation mark -> closing one; text between a pair on one line is someone else's words.
_QUOTE_PAIRS = {"\u201c": "\u201d", "\u300c": "\u300d", "\u300e": "\u300f", '"': '"', "\uff02": "\uff02"}
_QUOTED_LINE = (">", "\uff1e")
# ``*`` in a phrase or allow-context: one to this many tokens of the same clause.
MAX_SKIP = 6
# The wildcard as a token; no text tokenizes to it (tokens never hold control characters).
_WILD = "\x00*"


class PhraseError(ValueError):
    """Phrase rules that cannot be used (bad TOML, bad JSON or a field that fails validation)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One forbidden phrase found; ``text[start:end]`` is ``phrase``."""

    phrase: str
    start: int
    end: int
    suggestion: str
    rule_id: str


@dataclass(frozen=True, slots=True)
class Token:
    """A comparable unit of text and the span of the original text it came from."""

    text: str
    start: int
    end: int
    # Strength of the separators between the previous token and this one.
    gap: int


def _is_cjk(ch: str) -> bool:
    """A letter of a script written without spaces, compared one character at a time."""
    cp = ord(ch)
    return ch.isalnum() and (
        0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3FFFF
        or 0x3040 <= cp <= 0x30FF
        or 0xAC00 <= cp <= 0xD7AF
    )


def _clusters(text: str) -> Iterable[tuple[int, int]]:
    """Spans of a base character plus its combining marks, so NFKC sees the whole cluster."""
    i = 0
    n = len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        yield i, j
        i = j


def tokenize(text: str) -> list[Token]:
    """Cut ``text`` into tokens whose spans index the original text."""
    tokens: list[Token] = []
    word: list[str] = []
    word_start = word_end = 0
    gap = _GAP_SOFT

    def flush() -> None:
        nonlocal word, gap
        if word:
            tokens.append(Token("".join(word), word_start, word_end, gap))
            word = []
            gap = _GAP_SOFT

    def separate(level: int) -> None:
        nonlocal gap
        flush()
        gap = max(gap, level)

    n = len(text)
    for start, end in _clusters(text):
        original = text[start]
        normalized = unicodedata.normalize("NFKC", text[start:end]).casefold()
        for ch in normalized:
            category = unicodedata.category(ch)
            if _is_cjk(ch):
                flush()
                tokens.append(Token(ch, start, end, gap))
                gap = _GAP_SOFT
            elif ch.isalnum():
                if not word:
                    word_start = start
                word.append(ch)
                word_end = end
            elif ch in _APOSTROPHES or category in ("Mn", "Mc", "Me") or (category == "Cf" and ch != "\u200b"):
                # Invisible inside a word: "don't" reads as "dont", soft hyphens and joiners vanish.
                if word:
                    word_end = end
            elif ch in _ALWAYS_HARD:
                separate(_GAP_HARD)
            elif ch in _SENTENCE_END:
                # Full-width 。！？； always end a sentence; ASCII ones only before a space or the end,
                # so "not.sure" is still read as "not sure" but "or not? Sure" is not.
                followed_by_space = end >= n or text[end].isspace()
                separate(_GAP_HARD if (not original.isascii() or followed_by_space) else _GAP_SOFT)
            elif ch in _CLAUSE_CHARS:
                separate(_GAP_CLAUSE)
            else:
                separate(_GAP_SOFT)
    flush()
    return tokens


@lru_cache(maxsize=65536)
def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    """A plain form's tokens; each ``*`` becomes the wildcard token (any 1 to `MAX_SKIP` tokens)."""
    parts = [tuple(tok.text for tok in tokenize(part)) for part in phrase.split("*")]
    out: list[str] = list(parts[0])
    for part in parts[1:]:
        out.append(_WILD)
        out.extend(part)
    return tuple(out)


def _wild_misplaced(tokens: tuple[str, ...]) -> bool:
    """A wildcard must stand between two words: not first, not last, not twice in a row."""
    if not tokens:
        return False
    if _WILD in (tokens[0], tokens[-1]):
        return True
    return any(a == b == _WILD for a, b in itertools.pairwise(tokens))


@lru_cache(maxsize=4096)
def expand(pattern: str) -> tuple[str, ...]:
    """The plain forms of a phrase written with alternatives: ``不{|太}清楚`` -> ``("不清楚", "不太清楚")``.

    ``{a|b}`` is one of ``a`` or ``b``; an empty alternative makes the group optional. Groups do not nest.
    Raises ValueError (translated message) on unbalanced or nested braces or too many forms.
    """
    groups: list[list[str]] = []
    literal: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "{":
            close = pattern.find("}", i + 1)
            inner = pattern[i + 1 : close] if close >= 0 else ""
            if close < 0:
                raise ValueError(_("{pattern!r}: a '{{' has no matching '}}'").format(pattern=pattern))
            if "{" in inner:
                raise ValueError(_("{pattern!r}: alternatives cannot be nested").format(pattern=pattern))
            groups.append(["".join(literal)])
            literal = []
            groups.append(inner.split("|"))
            i = close + 1
            continue
        if ch in "}|":
            raise ValueError(_("{pattern!r}: '{char}' outside '{{…}}'").format(pattern=pattern, char=ch))
        literal.append(ch)
        i += 1
    groups.append(["".join(literal)])
    if math.prod(len(g) for g in groups) > MAX_FORMS:
        raise ValueError(_("{pattern!r} stands for more than {limit} phrases").format(pattern=pattern, limit=MAX_FORMS))
    # An empty alternative leaves doubled or trailing spaces ("not {|really} sure"): one space is enough.
    return tuple(dict.fromkeys(" ".join("".join(parts).split()) for parts in itertools.product(*groups)))


@dataclass(slots=True)
class _Node:
    """A trie node over tokens; ``ends`` lists the rules (by position) whose phrase ends here."""

    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[int] = field(default_factory=list)

    def add(self, tokens: tuple[str, ...], payload: int) -> None:
        node = self
        for token in tokens:
            node = node.children.setdefault(token, _Node())
        if payload not in node.ends:
            node.ends.append(payload)


def _walk(root: _Node, tokens: Sequence[Token], start: int, soft_only: bool) -> Iterable[tuple[int, list[int]]]:
    """(end, payloads) for every form in the trie matching the tokens from ``start``.

    Separators: a sentence end is never crossed; a clause mark (comma, 、, colon) only inside forms of three
    or more tokens, and never with ``soft_only`` (allow-contexts: an exception never reaches over a comma,
    "不知道，您问问供应商" is not the polite "不知道您…"). A wildcard skips 1 to `MAX_SKIP` tokens of one clause.
    """
    n = len(tokens)
    stack: list[tuple[_Node, int, int]] = [(root, start, _GAP_SOFT)]
    while stack:
        node, k, widest = stack.pop()
        if k < n:
            tok = tokens[k]
            child = node.children.get(tok.text)
            if child is not None and (k == start or tok.gap <= (_GAP_SOFT if soft_only else _GAP_CLAUSE)):
                gap = widest if k == start else max(widest, tok.gap)
                width = k + 1 - start
                if child.ends and gap <= (_GAP_CLAUSE if width >= _CLAUSE_MIN_TOKENS else _GAP_SOFT):
                    yield k + 1, child.ends
                if child.children:
                    stack.append((child, k + 1, gap))
        wild = node.children.get(_WILD)
        if wild is not None and k > start:
            # Skip tokens k..j-1; the skipped run and the word after it stay within one clause.
            for j in range(k + 1, min(k + MAX_SKIP, n - 1) + 1):
                if tokens[j - 1].gap > _GAP_SOFT:
                    break
                if tokens[j].gap <= _GAP_SOFT:
                    stack.append((wild, j, widest))


def _contains_any(haystack: tuple[str, ...], needles: set[tuple[str, ...]]) -> bool:
    n = len(haystack)
    return any(haystack[i:j] in needles for i in range(n) for j in range(i + 1, n + 1))


def normalize_lang(lang: str | None) -> str | None:
    """``zh``/``en`` (also ``zh-CN``, ``en_GB``…), or None for every language; anything else is an error."""
    if lang is None:
        return None
    code = lang.strip().replace("-", "_").split("_")[0].lower()
    if code in LANGS:
        return code
    raise PhraseError(_("Unknown language {lang!r}: use zh or en.").format(lang=lang))


class PhraseRule(BaseModel):
    """One forbidden expression in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    lang: Literal["zh", "en"]
    phrases: tuple[str, ...] = Field(min_length=1)
    suggestion: str = Field(min_length=1)
    allow: tuple[str, ...] = ()
    note: str = ""

    @field_validator("phrases")
    @classmethod
    def _phrases_have_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            for phrase in expand(pattern):
                tokens = _phrase_tokens(phrase)
                if not tokens:
                    raise ValueError(_("phrase {phrase!r} has no letters or characters to match").format(phrase=phrase))
                if _wild_misplaced(tokens):
                    raise ValueError(_("{pattern!r}: '*' must stand between two words").format(pattern=phrase))
        return value

    @field_validator("allow")
    @classmethod
    def _allow_contains_phrase(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        phrases = {_phrase_tokens(form) for p in info.data.get("phrases", ()) for form in expand(p)}
        for pattern in value:
            for context in expand(pattern):
                tokens = _phrase_tokens(context)
                stops = [ch for ch in unicodedata.normalize("NFKC", context) if ch in _STOPS]
                if stops:
                    # An exception never reaches over these, and in a pattern they would silently vanish.
                    raise ValueError(
                        _("allow-context {context!r}: {mark!r} cannot be part of an exception").format(
                            context=context, mark=stops[0]
                        )
                    )
                if _wild_misplaced(tokens):
                    raise ValueError(_("{pattern!r}: '*' must stand between two words").format(pattern=context))
                if not _contains_any(tokens, phrases):
                    # An exception that contains none of the phrases could never apply: surely a typo.
                    raise ValueError(
                        _("allow-context {context!r} contains none of the rule's phrases").format(context=context)
                    )
        return value

    def forms(self) -> tuple[str, ...]:
        """Every plain phrase this rule stands for (its alternatives expanded)."""
        return tuple(form for pattern in self.phrases for form in expand(pattern))


class PhraseRules(BaseModel):
    """The configured forbidden phrases; ``(id, lang)`` is unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[PhraseRule, ...] = ()
    _trie: _Node = PrivateAttr(default_factory=_Node)
    # Per rule (same position as in ``rules``): a trie of its allow-contexts and how far back one can start.
    _allow: list[tuple[_Node, int]] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> PhraseRules:
        seen: set[tuple[str, str]] = set()
        for rule in self.rules:
            key = (rule.id, rule.lang)
            if key in seen:
                raise ValueError(_("duplicate rule id {id!r} for language {lang!r}").format(id=rule.id, lang=rule.lang))
            seen.add(key)
        return self

    def model_post_init(self, context: Any, /) -> None:
        # Every plain form goes into one token trie, so checking a reply walks it once from each token
        # whatever the number of phrases; each rule's allow-contexts get a small trie of their own.
        root = _Node()
        allow: list[tuple[_Node, int]] = []
        for position, rule in enumerate(self.rules):
            for form in rule.forms():
                root.add(_phrase_tokens(form), position)
            allow_root = _Node()
            reach = 0
            for pattern in rule.allow:
                for context in expand(pattern):
                    tokens = _phrase_tokens(context)
                    allow_root.add(tokens, 0)
                    reach = max(reach, len(tokens) + (MAX_SKIP - 1) * tokens.count(_WILD))
            allow.append((allow_root, reach))
        self._trie = root
        self._allow = allow

    @classmethod
    def from_toml(cls, text: str) -> PhraseRules:
        return _parsed(text, "toml")

    @classmethod
    def from_json(cls, text: str) -> PhraseRules:
        # The console reads the stored rules on every ticket it opens: the same text gives the same
        # (immutable) rules, so it is parsed, expanded and indexed once.
        return _parsed(text, "json")

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def _validated(cls, data: Any) -> PhraseRules:
        return validate(cls, data, PhraseError, _("Invalid phrase rules, field {field}: {problem}"))

    def for_lang(self, lang: str) -> list[PhraseRule]:
        return [rule for rule in self.rules if rule.lang == lang]

    def _matches(self, tokens: Sequence[Token], start: int, lang: str | None) -> set[tuple[int, int]]:
        """(end, rule position) for every phrase matching the tokens from ``start``."""
        return {
            (end, position)
            for end, ends in _walk(self._trie, tokens, start, soft_only=False)
            for position in ends
            if lang is None or self.rules[position].lang == lang
        }

    def _allowed(self, position: int, tokens: Sequence[Token], start: int, end: int) -> bool:
        """Whether tokens[start:end] lies wholly inside a match of one of the rule's allow-contexts."""
        root, reach = self._allow[position]
        if not root.children:
            return False
        for s in range(start, max(-1, start - reach), -1):
            if any(e >= end for e, _ends in _walk(root, tokens, s, soft_only=True)):
                return True
        return False


@lru_cache(maxsize=8)
def _parsed(text: str, fmt: Literal["toml", "json"]) -> PhraseRules:
    if fmt == "toml":
        invalid = _("Phrase rules are not valid TOML: {error}")
    else:
        invalid = _("Phrase rules are not valid JSON: {error}")
    return PhraseRules._validated(parse(text, fmt, PhraseError, invalid))


def default_rules_toml() -> str:
    """The bundled default rules as TOML text (documented; also a template for custom files)."""
    return resources.files("console").joinpath("defaults/phrases.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_rules() -> PhraseRules:
    return PhraseRules.from_toml(default_rules_toml())


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Character spans that are not the agent's own words: ``>`` quoted lines, and text between a pair of
    quotation marks on one line (an unpaired mark quotes nothing)."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(_QUOTED_LINE):
            spans.append((offset, offset + len(line)))
        else:
            closing: str | None = None
            opened = 0
            for i, ch in enumerate(line):
                if closing is None:
                    if ch in _QUOTE_PAIRS:
                        closing, opened = _QUOTE_PAIRS[ch], i
                elif ch == closing:
                    spans.append((offset + opened, offset + i + 1))
                    closing = None
        offset += len(line)
    return spans


def check(text: str, rules: PhraseRules, lang: str | None = None) -> list[Hit]:
    """Forbidden phrases in ``text``, in order of position; ``lang=None`` checks every language."""
    wanted = normalize_lang(lang)
    tokens = tokenize(text)
    quoted = [False] * len(tokens)
    spans = iter(_quoted_spans(text))  # in order and disjoint, like the tokens
    span = next(spans, None)
    for k, tok in enumerate(tokens):
        while span is not None and span[1] <= tok.start:
            span = next(spans, None)
        quoted[k] = span is not None and span[0] <= tok.start
    candidates: list[tuple[int, int, int]] = []  # first token, end token, rule position
    for i in range(len(tokens)):
        if quoted[i]:
            continue
        for end, position in rules._matches(tokens, i, wanted):
            if not any(quoted[i:end]) and not rules._allowed(position, tokens, i, end):
                candidates.append((i, end, position))

    # Longest first (in tokens, then characters), so 不可能 wins over the 可能 inside it; then position in the
    # text and in the rules, so equal spans always resolve the same way.
    candidates.sort(key=lambda c: (-(c[1] - c[0]), -(tokens[c[1] - 1].end - tokens[c[0]].start), c[0], c[2]))
    taken = [False] * len(tokens)
    hits: list[Hit] = []
    for first, end, position in candidates:
        rule = rules.rules[position]
        if any(taken[first:end]):
            continue
        for k in range(first, end):
            taken[k] = True
        start_char, end_char = tokens[first].start, tokens[end - 1].end
        hits.append(Hit(text[start_char:end_char], start_char, end_char, rule.suggestion, rule.id))
    hits.sort(key=lambda h: h.start)
    return hits


def lint_reply(text: str, rules: PhraseRules | None = None, lang: str | None = None) -> dict[str, Any]:
    """The ``helpdesk lint-reply`` report: ``{"hits": [{"phrase", "start", "end", "suggestion"}]}``."""
    found = check(text, rules if rules is not None else default_rules(), lang)
    return {
        "hits": [
            {"phrase": hit.phrase, "start": hit.start, "end": hit.end, "suggestion": hit.suggestion} for hit in found
        ]
    }
