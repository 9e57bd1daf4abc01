"""Forbidden-phrase guard for replies (服务忌语), following the service standards.

Pure logic: no database, no UI. Rules are data (``console/defaults/phrases.toml``, Chinese and English);
``check`` returns hits with offsets into the original text so the UI can highlight them.

Matching, in short: text and phrases are NFKC-normalised and case-folded, then cut into tokens — one token
per CJK character, one per English word (apostrophes ignored). A phrase matches a run of consecutive
tokens; separators between them are seen through unless they end a sentence, and clause punctuation
(commas, 、, colons) is only seen through inside phrases of three or more tokens, because two-token
matches across a comma are mostly coincidences ("认可，能否" is not 可能). A hit inside one of its
rule's allow-contexts is dropped; overlapping hits keep the longest.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    "Hit",
    "PhraseError",
    "PhraseRule",
    "PhraseRules",
    "check",
    "default_rules",
    "default_rules_toml",
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


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(tok.text for tok in tokenize(phrase))


def _match_at(tokens: Sequence[Token], i: int, pattern: tuple[str, ...]) -> bool:
    """Whether ``pattern`` matches the tokens starting at ``i`` without crossing forbidden separators."""
    if i + len(pattern) > len(tokens):
        return False
    limit = _GAP_CLAUSE if len(pattern) >= _CLAUSE_MIN_TOKENS else _GAP_SOFT
    for k, expected in enumerate(pattern):
        tok = tokens[i + k]
        if tok.text != expected or (k and tok.gap > limit):
            return False
    return True


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    width = len(needle)
    return any(haystack[i : i + width] == needle for i in range(len(haystack) - width + 1))


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
        for phrase in value:
            if not _phrase_tokens(phrase):
                raise ValueError(_("phrase {phrase!r} has no letters or characters to match").format(phrase=phrase))
        return value

    @field_validator("allow")
    @classmethod
    def _allow_contains_phrase(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        phrases = [_phrase_tokens(p) for p in info.data.get("phrases", ())]
        for context in value:
            tokens = _phrase_tokens(context)
            if not any(_contains(tokens, p) for p in phrases):
                # An exception that contains none of the phrases could never apply: surely a typo.
                raise ValueError(
                    _("allow-context {context!r} contains none of the rule's phrases").format(context=context)
                )
        return value


@dataclass(frozen=True, slots=True)
class _Entry:
    tokens: tuple[str, ...]
    rule: PhraseRule
    allow: tuple[tuple[str, ...], ...]


class PhraseRules(BaseModel):
    """The configured forbidden phrases; ``(id, lang)`` is unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[PhraseRule, ...] = ()
    _index: dict[str, list[_Entry]] = PrivateAttr(default_factory=dict)

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
        # Index by first token so checking a reply only tries phrases that can start at each token.
        index: dict[str, list[_Entry]] = {}
        for rule in self.rules:
            allow = tuple(_phrase_tokens(a) for a in rule.allow)
            for phrase in rule.phrases:
                tokens = _phrase_tokens(phrase)
                index.setdefault(tokens[0], []).append(_Entry(tokens, rule, allow))
        self._index = index

    @classmethod
    def from_toml(cls, text: str) -> PhraseRules:
        return cls._validated(parse(text, "toml", PhraseError, _("Phrase rules are not valid TOML: {error}")))

    @classmethod
    def from_json(cls, text: str) -> PhraseRules:
        return cls._validated(parse(text, "json", PhraseError, _("Phrase rules are not valid JSON: {error}")))

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def _validated(cls, data: Any) -> PhraseRules:
        return validate(cls, data, PhraseError, _("Invalid phrase rules, field {field}: {problem}"))

    def for_lang(self, lang: str) -> list[PhraseRule]:
        return [rule for rule in self.rules if rule.lang == lang]

    def entries_starting_with(self, token: str) -> list[_Entry]:
        return self._index.get(token, [])


def default_rules_toml() -> str:
    """The bundled default rules as TOML text (documented; also a template for custom files)."""
    return resources.files("console").joinpath("defaults/phrases.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_rules() -> PhraseRules:
    return PhraseRules.from_toml(default_rules_toml())


def _allowed(tokens: Sequence[Token], start: int, end: int, allow: Iterable[tuple[str, ...]]) -> bool:
    """Whether tokens[start:end] lies wholly inside a match of one of the allow-contexts."""
    for context in allow:
        width = len(context)
        for s in range(max(0, end - width), start + 1):
            if _match_at(tokens, s, context):
                return True
    return False


def check(text: str, rules: PhraseRules, lang: str | None = None) -> list[Hit]:
    """Forbidden phrases in ``text``, in order of position; ``lang=None`` checks every language."""
    wanted = normalize_lang(lang)
    tokens = tokenize(text)
    candidates: list[tuple[int, int, PhraseRule]] = []
    for i, tok in enumerate(tokens):
        for entry in rules.entries_starting_with(tok.text):
            if wanted is not None and entry.rule.lang != wanted:
                continue
            end = i + len(entry.tokens)
            if _match_at(tokens, i, entry.tokens) and not _allowed(tokens, i, end, entry.allow):
                candidates.append((i, end, entry.rule))

    # Longest first (in tokens, then characters), so 不可能 wins over the 可能 inside it.
    candidates.sort(key=lambda c: (-(c[1] - c[0]), -(tokens[c[1] - 1].end - tokens[c[0]].start), c[0]))
    taken = [False] * len(tokens)
    hits: list[Hit] = []
    for first, end, rule in candidates:
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
