"""Knowledge-base full-text search (SQLite FTS5) for English and Chinese.

Index: one FTS5 table ``kb_fts`` (title, body, tags; rowid = kb_articles.id) with the ``porter unicode61``
tokenizer, which stems English words. ``unicode61`` would keep an unsegmented Chinese sentence as one token,
so the text is prepared in Python before it is indexed: every CJK character becomes a token of its own
(an invisible separator, U+001F, is put around it). A Chinese word is then searched as a phrase of its
characters, which finds 2-character words inside sentences as well as longer ones, with no dictionary.

Sync is by function, not by trigger, because the preparation runs in Python: the store calls
``index_article`` after each insert or update of an article, in the same transaction. A delete needs no
preparation, so a trigger in ``KB_FTS_SQL`` removes the row from the index; ``unindex_article`` does the
same by hand and is harmless to call twice. ``reindex_all`` rebuilds the whole index.

Queries are user text: they are split into words and CJK runs here and each one is quoted, so FTS5 query
syntax (``AND``, ``NEAR``, ``*``, ``^``, ``:``, quotes, parentheses) is always searched literally. Up to
three terms: articles holding all of them come first (a CJK run as one exact phrase), then articles holding
some. A longer text is searched for any of its terms: English words, adjacent word pairs as phrases, and
the overlapping 2-character units of each Chinese run (cut at function words). bm25 ranks (title 16x body,
tags 2x); the best 30 are then reordered by how much of the query the title holds. These choices, and
the per-character index itself, were measured with ``python -m tests.bench.kb_search`` on real articles.

Snippets come from the body: matched text is wrapped in « and » (a « or » already in the text is
shown as a plain double quote, so the markers are unambiguous); ``snippet_spans`` splits one for the UI.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from db.errors import DatabaseUnavailable

__all__ = [
    "KB_FTS_SQL",
    "KbHit",
    "Match",
    "Phrase",
    "SearchEngine",
    "index_article",
    "prepare_text",
    "reindex_all",
    "search_articles",
    "snippet_spans",
    "suggest_for_text",
    "unindex_article",
]

FTS_TABLE = "kb_fts"

# prefix='2 3': indexes of 2- and 3-character prefixes, so a word being typed ("pr", "pri") is looked up
# instead of merging every term that starts with it (p95 36 ms -> 12 ms over 10,000 articles).
KB_FTS_SQL = """
CREATE VIRTUAL TABLE kb_fts USING fts5(
  title, body, tags,
  tokenize = 'porter unicode61 remove_diacritics 2',
  prefix = '2 3'
);
CREATE TRIGGER kb_articles_fts_delete AFTER DELETE ON kb_articles BEGIN
  DELETE FROM kb_fts WHERE rowid = old.id;
END;
"""

MARK_OPEN = "«"
MARK_CLOSE = "»"

_SNIPPET_TOKENS = 32
# Caps keep a pasted 10,000-character query (or ticket body) a bounded amount of work.
_MAX_QUERY_CHARS = 2000
_STRICT_MAX_CHARS = 32

# Han (with extensions and compatibility forms), kana, bopomofo and Hangul syllables: scripts written
# without spaces between words, so each character is indexed as its own token.
_CJK = (
    "\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_SEP = "\x1f"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_EDGE = re.compile(rf"(?<=[{_CJK}])(?=[^\s{_SEP}])|(?<=[^\s{_SEP}])(?=[{_CJK}])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FULLWIDTH = {
    c: c - 0xFEE0 for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)) for c in range(r[0], r[1] + 1)
}
# Words may be joined by - _ . ' (Wi-Fi, tidb_ddl_version, v8.0.0): kept together and searched as a phrase.
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+(?:['._-][^\W_{_CJK}]+)*)")

# Markdown that carries no searchable words: link targets, image syntax, HTML tags, emphasis markers.
_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_MD_REF_DEF = re.compile(r"^\s*\[[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,200}>")
_MD_MARKS = re.compile(r"(?:\*\*|__|`+|^#{1,6}\s+|^>\s*(?:\[![A-Z]+\])?)", re.MULTILINE)

_EN_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
ours out over own same she should so some such than that the their theirs them then there these they this those
through to too under until up very was we were what when where which while who whom why will with would you your
yours since also get got via please hi hello thanks thank
"""
_EN_STOPWORDS = frozenset(_EN_STOPWORD_TEXT.split())
# Chinese function words (particles, question words, conjunctions): a CJK run is cut at them, since a
# 2-character unit across one is a seam between words, not a word.
_ZH_PARTICLES = frozenset("的了吗呢吧啊么")
_ZH_STOPWORDS = (
    "为什么 为何 如何 怎么 怎样 什么 是否 能否 可否 哪些 哪个 可以 这个 那个 这些 那些 我们 你们 他们 一个 "
    "如果 因为 所以 但是 以及 或者 没有 还是 就是 需要 进行 无法 不能 的 了 吗 呢 吧 啊 么"
)
_ZH_STOP_SPLIT = re.compile("|".join(sorted(_ZH_STOPWORDS.split(), key=len, reverse=True)))


class KbHit(BaseModel):
    """One search result. ``snippet`` is plain text with « » around matched terms; ``score`` is higher
    for better matches and decreases down the list."""

    model_config = ConfigDict(frozen=True)

    id: int
    ref: str | None
    title: str
    score: float
    snippet: str
    status: Literal["draft", "published"]

    def spans(self) -> list[tuple[str, bool]]:
        """The snippet as (text, is_match) spans, for rendering without markup."""
        return snippet_spans(self.snippet)


# -- text preparation ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Full-width letters and digits as ASCII (ＴＥＡＭＳ matches Teams), control characters as spaces.
    Full-width punctuation stays: it separates tokens either way and reads better in Chinese snippets."""
    return _CONTROL.sub(" ", text.translate(_FULLWIDTH))


def prepare_text(text: str) -> str:
    """Text as indexed: folded, with a U+001F separator around each CJK character so the tokenizer
    sees it as a token of its own."""
    return _CJK_EDGE.sub(_SEP, _fold(text))


def _plain_markdown(body: str) -> str:
    """Body without Markdown that holds no words (URLs, tags, emphasis): fewer noise tokens, cleaner snippets."""
    body = _MD_IMAGE.sub(r"\1", body)
    body = _MD_LINK.sub(r"\1", body)
    body = _MD_REF_DEF.sub("", body)
    body = _HTML_TAG.sub(" ", body)
    return _MD_MARKS.sub("", body)


def index_row(title: str, body: str, tags: str) -> tuple[str, str, str]:
    """Title, body and tags as indexed (on either engine: db/pg/kb_search.py tokenizes this same text)."""
    return prepare_text(title), prepare_text(_plain_markdown(body)), prepare_text(tags.replace(",", " , "))


def index_article(conn: sqlite3.Connection, article_id: int) -> None:
    """(Re)index one article from its current row; call after insert or update, in the same transaction.
    An id with no row is removed from the index instead."""
    cur = conn.cursor()
    cur.row_factory = None
    row = cur.execute("SELECT title, body, tags FROM kb_articles WHERE id = ?", (article_id,)).fetchone()
    cur.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", (article_id,))
    if row is not None:
        cur.execute(
            f"INSERT INTO {FTS_TABLE} (rowid, title, body, tags) VALUES (?, ?, ?, ?)",
            (article_id, *index_row(row[0], row[1], row[2] or "")),
        )


def unindex_article(conn: sqlite3.Connection, article_id: int) -> None:
    """Drop one article from the index (the delete trigger already does this; calling again is harmless)."""
    conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", (article_id,))


def reindex_all(conn: sqlite3.Connection, batch: int = 500) -> int:
    """Rebuild the index from kb_articles; returns the number of articles indexed."""
    conn.execute(f"DELETE FROM {FTS_TABLE}")
    read = conn.cursor()
    read.row_factory = None
    read.execute("SELECT id, title, body, tags FROM kb_articles ORDER BY id")
    count = 0
    while rows := read.fetchmany(batch):
        conn.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, body, tags) VALUES (?, ?, ?, ?)",
            [(r[0], *index_row(r[1], r[2], r[3] or "")) for r in rows],
        )
        count += len(rows)
    # One merged b-tree per term instead of one per batch: fewer segments to read on every query.
    conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")
    return count


# -- query building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """Words (or CJK characters) to be found side by side, in this order; with ``prefix`` the last one also
    matches as the start of a longer word. Each engine renders it in its own query syntax from the parts, which
    are only ever tokenized, never parsed as syntax."""

    parts: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Match:
    """What a search pass looks for: every phrase (``every``) or any of them."""

    phrases: tuple[Phrase, ...]
    every: bool


def _phrase(units: Iterable[str], prefix: bool = False) -> Phrase:
    return Phrase(tuple(units), prefix)


def fts5_phrase(phrase: Phrase) -> str:
    """A quoted FTS5 phrase; the text inside is only ever tokenized, never parsed as query syntax."""
    inner = " ".join(phrase.parts).replace('"', '""')
    return f'"{inner}"' + ("*" if phrase.prefix else "")


def fts5_expr(match: Match) -> str:
    return (" AND " if match.every else " OR ").join(map(fts5_phrase, match.phrases))


def cjk_units(run: str) -> list[str]:
    """Query units of a CJK run: the run is cut at function words (particles, question words), then
    each piece gives its overlapping 2-character units. Pieces of one character left by the cut are
    dropped; a run of one character is its own unit."""
    if len(run) == 1:
        return [] if run in _ZH_PARTICLES else [run]
    units: list[str] = []
    for piece in _ZH_STOP_SPLIT.split(run):
        units += [piece[i : i + 2] for i in range(len(piece) - 1)]
    return units


@dataclass(frozen=True)
class _Term:
    key: str
    strict: Phrase  # used when every term must match
    loose: tuple[Phrase, ...]  # used when any may match
    units: tuple[str, ...]  # what the title is checked for (words, CJK 2-character units)
    stop: bool = False
    pair: bool = False  # two adjacent words as a phrase: a bonus, never required


@dataclass(frozen=True)
class Strategy:
    """How a query becomes FTS5 expressions and a ranking; the defaults are the measured choice."""

    and_first_max_terms: int = 3
    segment: Callable[[str], list[str]] = field(default=cjk_units)
    max_phrases: int = 20
    # bm25 column weights: title, body, tags. A title hit says far more about the article than a body hit.
    weights: tuple[float, float, float] = (16.0, 1.0, 2.0)
    pairs: bool = True
    title_boost: float = 0.5
    pool: int = 30


DEFAULT_STRATEGY = Strategy()


def _terms(text: str, prefix_last: bool, strategy: Strategy) -> list[_Term]:
    """The query's terms in order, repeats included (a long text repeats its topic)."""
    text = _fold(text[:_MAX_QUERY_CHARS])
    matches = list(_TOKEN.finditer(text))
    terms: list[_Term] = []
    previous: str | None = None
    for n, m in enumerate(matches):
        if m.group("cjk"):
            run = m.group("cjk")
            units = strategy.segment(run)
            whole = _phrase(run)
            loose = tuple(_phrase(u) for u in units) or (whole,)
            # A lone character (和, 中, 后 between English words) says little: used only if nothing else is.
            stop = len(units) == 0 or len(run) == 1
            terms.append(_Term("c:" + run, whole, loose, tuple(units) or (run,), stop=stop))
            previous = None
            continue
        word = m.group("word").lower()
        # Search-as-you-type: the word being typed is a prefix, unless the query already moved past it.
        prefix = prefix_last and n == len(matches) - 1 and m.end() == len(text) and len(word) >= 2
        parts = re.split(r"['._-]", word)
        phrase = _phrase(parts, prefix)
        stop = word in _EN_STOPWORDS
        terms.append(_Term("w:" + word, phrase, (phrase,), (word,), stop=stop))
        if strategy.pairs and previous and not stop and text[matches[n - 1].end() : m.start()].isspace():
            # "search center", "show config": articles with the words side by side rank higher.
            pair = _phrase([*re.split(r"['._-]", previous), *parts], prefix)
            terms.append(_Term(f"p:{previous} {word}", pair, (pair,), (), pair=True))
        previous = None if stop else word
    content = [t for t in terms if not t.stop]
    # A query of nothing but stopwords ("not", "how to") is still searched, literally.
    return content or terms


def _unique(terms: Sequence[_Term]) -> list[_Term]:
    return list({t.key: t for t in terms if not t.pair}.values())


def _loose_phrases(terms: Sequence[_Term], max_phrases: int) -> tuple[Phrase, ...]:
    """The terms' phrases, any of which may match. A long text (a pasted paragraph, a ticket) is cut to ``max_phrases``,
    keeping the phrases it repeats most (its topic), then the earliest: each phrase costs a doclist scan.
    Word pairs come last, so they are the first to go."""
    counts = Counter(p for t in terms for p in t.loose)
    pairs = {p for t in terms if t.pair for p in t.loose}
    first = {p: i for i, p in enumerate(counts)}
    ranked = sorted(counts, key=lambda p: (p in pairs, -counts[p], first[p]))
    keep = set(ranked[:max_phrases])
    return tuple(p for p in counts if p in keep)


_TITLE_WORD = re.compile(rf"[^\W_{_CJK}]+(?:['._-][^\W_{_CJK}]+)*")


def _word_covered(word: str, title_words: Sequence[str]) -> bool:
    """Whether a title holds the word or another form of it (one a prefix of the other: site/sites,
    print/printing; or five letters in common: printer/printing). Looser than the stemmer on purpose:
    it only reorders articles that already matched."""
    for t in title_words:
        if t == word:
            return True
        short = min(len(t), len(word))
        common = next((i for i, (x, y) in enumerate(zip(t, word, strict=False)) if x != y), short)
        if (short >= 3 and common == short) or common >= 5:
            return True
    return False


def _title_coverage(units: Sequence[str], title: str) -> float:
    """Share of the query's units that the title holds."""
    if not units:
        return 0.0
    folded = _fold(title).lower()
    words = _TITLE_WORD.findall(folded)
    hit = sum(u in folded if _CJK_CHAR.match(u) else _word_covered(u, words) for u in units)
    return hit / len(units)


# -- search -------------------------------------------------------------------------------------------

_CANDIDATES_SQL = f"""
SELECT a.id, a.ref, a.title, a.status, rank
FROM {FTS_TABLE} JOIN kb_articles AS a ON a.id = {FTS_TABLE}.rowid
WHERE {FTS_TABLE} MATCH ? AND rank MATCH ? AND (? OR a.status = 'published')
ORDER BY rank
LIMIT ?
"""
# snippet() reads the whole body, so it runs only for the articles finally shown.
_SNIPPET_SQL = f"""
SELECT rowid, snippet({FTS_TABLE}, 1, char(2), char(3), '…', {_SNIPPET_TOKENS})
FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? AND rowid = ?
"""

_RAW_MARK = re.compile("\x02([^\x02\x03]*)\x03")
_SPACES = re.compile(r"\s+")


def clean_snippet(raw: str) -> str:
    """A snippet with its matched tokens between \\x02 and \\x03 (as either engine makes it) as shown: « »."""
    text = raw.replace(_SEP, "")
    # A CJK phrase is marked per character; join neighbouring marks into one.
    text = text.replace("\x03\x02", "")
    text = text.replace(MARK_OPEN, '"').replace(MARK_CLOSE, '"')
    text = _RAW_MARK.sub(lambda m: f"{MARK_OPEN}{m.group(1)}{MARK_CLOSE}", text)
    return _SPACES.sub(" ", text.replace("\x02", "").replace("\x03", "")).strip()


def snippet_spans(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into (text, is_match) spans, for rendering without markup."""
    return [(part, n % 2 == 1) for n, part in enumerate(re.split(f"[{MARK_OPEN}{MARK_CLOSE}]", snippet)) if part]


Row = tuple[int, str | None, str, str, float]


class SearchEngine(Protocol):
    """What the shared search (``run_search``) needs of an engine: SQLite's FTS5 here, PostgreSQL's tsvector in
    db/pg/kb_search.py. The query's terms, the passes (all terms, then any), the title reordering and the score
    scaling are the same on both; only matching, ranking and snippets are the engine's."""

    def candidates(
        self, match: Match, pool: int, include_drafts: bool, weights: tuple[float, float, float]
    ) -> list[Row]:
        """The best ``pool`` matches, best first: (id, ref, title, status, score); a higher score is better."""
        ...

    def snippets(self, match: Match, ids: Sequence[int]) -> list[str]:
        """A cleaned snippet of each article's body (``clean_snippet``), in the order of ``ids``."""
        ...


class Fts5Engine:
    """SQLite's FTS5 index (``kb_fts``) on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def candidates(
        self, match: Match, pool: int, include_drafts: bool, weights: tuple[float, float, float]
    ) -> list[Row]:
        cur = self.conn.cursor()
        cur.row_factory = None
        rank = f"bm25({', '.join(map(str, weights))})"
        rows = cur.execute(_CANDIDATES_SQL, (fts5_expr(match), rank, int(include_drafts), pool)).fetchall()
        return [(aid, ref, title, status, -score) for aid, ref, title, status, score in rows]

    def snippets(self, match: Match, ids: Sequence[int]) -> list[str]:
        cur = self.conn.cursor()
        cur.row_factory = None
        expr = fts5_expr(match)
        out = []
        for aid in ids:
            row = cur.execute(_SNIPPET_SQL, (expr, aid)).fetchone()
            out.append(clean_snippet(row[1] or "") if row else "")
        return out


@dataclass
class _Candidate:
    id: int
    ref: str | None
    title: str
    status: str
    score: float
    match: Match

    def hit(self, snippet: str) -> KbHit:
        status: Literal["draft", "published"] = "draft" if self.status == "draft" else "published"
        return KbHit(id=self.id, ref=self.ref, title=self.title, score=self.score, snippet=snippet, status=status)


def _candidates(
    engine: SearchEngine,
    match: Match,
    units: Sequence[str],
    limit: int,
    include_drafts: bool,
    strategy: Strategy,
) -> list[_Candidate]:
    """Best matches by the engine's rank, then reordered by how much of the query the title holds: a title that
    names the query's subject beats a long body that mentions its words often."""
    pool = max(limit, strategy.pool) if strategy.title_boost else limit
    rows = engine.candidates(match, pool, include_drafts, strategy.weights)
    found = [_Candidate(aid, ref, title, status, score, match) for aid, ref, title, status, score in rows]
    if strategy.title_boost and found:
        bonus = strategy.title_boost * max(c.score for c in found)
        for c in found:
            c.score += bonus * _title_coverage(units, c.title)
        found.sort(key=lambda c: -c.score)
    return found[:limit]


def _hits(engine: SearchEngine, found: Sequence[_Candidate]) -> list[KbHit]:
    hits: list[KbHit] = []
    for match in dict.fromkeys(c.match for c in found):
        group = [c for c in found if c.match == match]
        hits += [c.hit(s) for c, s in zip(group, engine.snippets(match, [c.id for c in group]), strict=True)]
    order = {c.id: n for n, c in enumerate(found)}
    return sorted(hits, key=lambda h: order[h.id])


def run_search(
    engine: SearchEngine,
    query: str,
    limit: int,
    include_drafts: bool,
    *,
    prefix_last: bool,
    strategy: Strategy = DEFAULT_STRATEGY,
    snippets: bool = True,
) -> list[KbHit]:
    """The search both engines run (``search_articles``, ``suggest_for_text`` and PostgreSQL's counterparts)."""
    limit = min(int(limit), 1000)
    terms = _terms(query, prefix_last, strategy)
    if limit <= 0 or not terms:
        return []
    unique = _unique(terms)
    units = list(dict.fromkeys(u for t in unique for u in t.units))
    loose = Match(_loose_phrases(terms, strategy.max_phrases), every=False)
    strict = Match(tuple(t.strict for t in unique), every=True)
    found: list[_Candidate] = []
    # A few keywords: articles holding all of them first. A longer text is ranked over any of its terms;
    # requiring all of them would drop the right article for one missing word.
    # (An exact phrase of a pasted 2,000-character run would cost ~0.4 s for nothing: such runs go OR.)
    short = len(unique) <= strategy.and_first_max_terms and all(len(t.key) - 2 <= _STRICT_MAX_CHARS for t in unique)
    if short and not (len(strict.phrases) == 1 and strict.phrases == loose.phrases):
        found = _candidates(engine, strict, units, limit, include_drafts, strategy)
    if len(found) < limit:
        seen = {c.id for c in found}
        more = _candidates(engine, loose, units, limit + len(found), include_drafts, strategy)
        more = [c for c in more if c.id not in seen][: limit - len(found)]
        if found and more:
            # Keep scores falling down the list: a partial match ranks below every full match.
            floor, top = found[-1].score, more[0].score
            scale = min(1.0, 0.99 * floor / top) if top > 0 else 1.0
            for c in more:
                c.score *= scale
        found += more
    if not snippets:
        return [c.hit("") for c in found]
    return _hits(engine, found)


def search_articles(
    conn: sqlite3.Connection,
    query: str,
    limit: int = 10,
    include_drafts: bool = False,
    *,
    prefix_last: bool = True,
) -> list[KbHit]:
    """Articles matching a user's query, best first; drafts only with ``include_drafts``. For a few
    keywords, articles holding all of them come before those holding some. With ``prefix_last`` the
    last word also matches as a prefix while it is being typed (no trailing space)."""
    try:
        return run_search(Fts5Engine(conn), query, limit, include_drafts, prefix_last=prefix_last)
    except sqlite3.ProgrammingError:
        raise
    except sqlite3.DatabaseError as exc:
        raise _unreadable(exc) from exc


SUGGEST_STRATEGY = replace(DEFAULT_STRATEGY, and_first_max_terms=0)


def suggest_for_text(conn: sqlite3.Connection, text: str, limit: int = 5) -> list[KbHit]:
    """Published articles for a ticket's subject and body: any of its salient terms (stopwords and
    Chinese function words dropped, the most repeated kept for a long text), ranked by bm25 and title."""
    try:
        return run_search(Fts5Engine(conn), text, limit, False, prefix_last=False, strategy=SUGGEST_STRATEGY)
    except sqlite3.ProgrammingError:
        raise
    except sqlite3.DatabaseError as exc:
        raise _unreadable(exc) from exc


def _unreadable(exc: sqlite3.DatabaseError) -> DatabaseUnavailable:
    """A damaged index or table met by a search: one line for every layer above (as the store's reads do)."""
    return DatabaseUnavailable(f"the knowledge base cannot be searched: {exc}")
