"""Knowledge-base search on PostgreSQL: the same search as SQLite's (db/kb_search.py), on a ``tsvector`` with a GIN
index.

Preparation is db/kb_search.py's, in Python, for both engines: the same folding, Markdown stripping and a separator
around every CJK character (``index_row``). What SQLite's ``porter unicode61`` tokenizer then does in C is done here
in Python (``tokens``): runs of letters and digits, lower case, diacritics removed, English words stemmed by
db/pg/porter.py's Porter stemmer, the algorithm FTS5's ``porter`` uses. The server never tokenizes: the document is
built here as a ``tsvector`` literal with positions and weights (title A, tags B, body D; a gap between them so a
phrase never spans two) and the query as a ``tsquery`` literal, every lexeme quoted, so no user text is ever parsed
as tsquery syntax (``'``, ``&``, ``|``, ``!``, ``:*``, ``<->``, ``\\`` are at most characters of a lexeme, and
the tokenizer keeps only letters and digits). PostgreSQL's own dictionaries stem differently (Snowball's Porter2)
and do not split Chinese, so none is used.

The terms, the passes (all terms of a short query, then any), the title reordering and the score scaling are
db/kb_search.py's ``run_search``; this engine matches with ``@@`` (a Chinese word is a phrase of its characters,
``<->``), ranks with ``ts_rank_cd`` weighted as bm25's columns are on SQLite, breaks ties by id, and cuts snippets
from the body in Python (FTS5's ``snippet()`` has no counterpart that knows these tokens).

The store keeps ``kb_search`` current in the transaction that writes an article (``index_article``); rows go with
their article (ON DELETE CASCADE).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import takewhile
from typing import Any

import psycopg

from db.kb_search import (
    DEFAULT_STRATEGY,
    SUGGEST_STRATEGY,
    KbHit,
    Match,
    Phrase,
    Row,
    Strategy,
    clean_snippet,
    index_row,
    prepare_text,
    run_search,
)
from db.pg.porter import stem

__all__ = [
    "PgEngine",
    "document",
    "index_article",
    "reindex_all",
    "search_articles",
    "suggest_for_text",
    "tokens",
    "tsquery",
]

# unicode61's token characters: letters and digits (combining marks stay in the word, to be removed with the
# diacritics); everything else, U+001F around CJK characters included, separates tokens.
_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
# PostgreSQL refuses a lexeme of 2 KiB or more; a "word" that long is no word: left out of index and query alike.
_MAX_LEXEME_BYTES = 1000
_MAX_POSITION = 16383  # tsvector positions stop here
_MAX_POSITIONS = 256  # positions kept per lexeme (as PostgreSQL keeps)
_SNIPPET_TOKENS = 32  # as db/kb_search.py's snippet()
# ts_rank_cd's normalization: 1 divides by 1 + log(document length), as bm25 favours a short article somewhat.
_NORMALIZATION = 1


@lru_cache(maxsize=200_000)
def _lexeme(token: str) -> str:
    """One token as FTS5's ``porter unicode61 remove_diacritics 2`` would index it."""
    word = token.lower()
    if not word.isascii():
        stripped = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
        word = unicodedata.normalize("NFC", stripped)
    # FTS5's porter stems tokens of 3 to 64 bytes; its rules only ever touch ASCII letters.
    if word.isascii() and 3 <= len(word) <= 64:
        word = stem(word)
    return word if len(word.encode()) <= _MAX_LEXEME_BYTES else ""


def _tokens_at(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lexeme) of each token of prepared text."""
    for m in _TOKEN.finditer(text):
        lex = _lexeme(m.group())
        if lex:
            yield m.start(), m.end(), lex


def tokens(text: str) -> list[str]:
    """The lexemes of prepared text (``prepare_text``/``index_row``), in order."""
    return [lex for _, _, lex in _tokens_at(text)]


def _quoted(lexeme: str) -> str:
    """A lexeme as a tsvector/tsquery literal: quoted, so nothing in it is syntax."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def document(title: str, body: str, tags: str) -> str:
    """The article's ``tsvector`` literal: title (A), tags (B) and body (D) prepared as on SQLite, positions in that
    order with a gap between fields."""
    title_text, body_text, tags_text = index_row(title, body, tags)
    positions: dict[str, list[str]] = {}
    pos = 0
    for text, weight in ((title_text, "A"), (tags_text, "B"), (body_text, "D")):
        pos += 1  # the gap: "a <-> b" never joins the title's last word to the tags' first
        for lex in tokens(text):
            pos += 1
            kept = positions.setdefault(lex, [])
            if len(kept) < _MAX_POSITIONS and pos <= _MAX_POSITION:
                kept.append(f"{pos}{weight}")
    # A word first seen past the last position is still found (with no position: no phrase, no cover).
    return " ".join(f"{_quoted(lex)}:{','.join(at)}" if at else _quoted(lex) for lex, at in positions.items())


def _phrase_lexemes(phrase: Phrase) -> list[str]:
    return [lex for part in phrase.parts for lex in tokens(prepare_text(part))]


def tsquery(match: Match) -> str | None:
    """The ``tsquery`` literal of a match: each phrase its lexemes joined by ``<->`` (the last one ``:*`` for a
    prefix), all phrases ANDed or ORed. None when nothing can match."""
    parts: list[str] = []
    for phrase in match.phrases:
        lexemes = [_quoted(lex) for lex in _phrase_lexemes(phrase)]
        if not lexemes:
            if match.every:
                return None  # a required word that cannot be indexed is in no article
            continue
        if phrase.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0])
    return (" & " if match.every else " | ").join(parts) or None


def _rank_weights(weights: tuple[float, float, float]) -> list[float]:
    """bm25's column weights (title, body, tags) as ts_rank_cd's {D, C, B, A}, which must lie in 0..1."""
    title, body, tags = weights
    top = max(weights) or 1.0
    return [body / top, 0.0, tags / top, title / top]


_CANDIDATES_SQL = f"""
SELECT a.id, a.ref, a.title, a.status, ts_rank_cd(%s::real[], s.document, q, {_NORMALIZATION}) AS score
FROM kb_search AS s JOIN kb_articles AS a ON a.id = s.article_id, CAST(%s AS tsquery) AS q
WHERE s.document @@ q AND (%s OR a.status = 'published')
ORDER BY score DESC, a.id
LIMIT %s
"""


class PgEngine:
    """The ``kb_search`` table on one connection (the caller holds whatever lock guards it)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def candidates(
        self, match: Match, pool: int, include_drafts: bool, weights: tuple[float, float, float]
    ) -> list[Row]:
        query = tsquery(match)
        if query is None:
            return []
        params = (_rank_weights(weights), query, include_drafts, pool)
        rows = self.conn.cursor().execute(_CANDIDATES_SQL, params).fetchall()
        return [(int(r[0]), r[1], r[2], r[3], float(r[4])) for r in rows]

    def snippets(self, match: Match, ids: Sequence[int]) -> list[str]:
        rows = self.conn.cursor().execute("SELECT id, body FROM kb_articles WHERE id = ANY(%s)", (list(ids),))
        bodies = {int(aid): body for aid, body in rows.fetchall()}
        phrases = [(lex, p.prefix) for p in match.phrases if (lex := _phrase_lexemes(p))]
        return [snippet(bodies.get(aid, ""), phrases) for aid in ids]


def snippet(body: str, phrases: Sequence[tuple[list[str], bool]]) -> str:
    """Up to 32 tokens of the body around the most distinct phrases found (then the most hits), the phrases'
    tokens marked, … where the body goes on: what FTS5's snippet() makes, cleaned by ``clean_snippet``."""
    text = index_row("", body, "")[1]
    toks = list(_tokens_at(text))
    if not toks:
        return ""
    lexes = [t[2] for t in toks]
    where: dict[str, list[int]] = {}
    for i, lex in enumerate(lexes):
        where.setdefault(lex, []).append(i)
    marked: set[int] = set()
    hits: list[tuple[int, int]] = []  # (token index, phrase number)
    for n, (words, prefix) in enumerate(phrases):
        size = len(words)
        ends = {lex for lex in where if lex.startswith(words[-1])} if prefix else {words[-1]}
        firsts = ends if size == 1 else {words[0]}
        for i in sorted(i for lex in firsts for i in where.get(lex, ())):
            if size == 1 or (
                lexes[i : i + size - 1] == words[:-1] and i + size <= len(lexes) and lexes[i + size - 1] in ends
            ):
                hits.append((i, n))
                marked.update(range(i, i + size))
    hits.sort()
    start = 0
    best = -1
    for k, (first, _) in enumerate(hits):
        stop = first + _SNIPPET_TOKENS
        inside = list(takewhile(lambda h: h[0] < stop, hits[k:]))  # noqa: B023 (used at once)
        score = 1000 * len({n for _, n in inside}) + len(inside)
        if score > best:
            last = inside[-1][0]
            centred = first - (_SNIPPET_TOKENS - (last - first + 1)) // 2
            best, start = score, max(0, min(centred, len(toks) - _SNIPPET_TOKENS))
    end = min(len(toks), start + _SNIPPET_TOKENS)
    # As snippet(): the text before the first token when the window starts the body, after the last when it ends it.
    out = ["…"] if start > 0 else [text[: toks[0][0]]]
    for i in range(start, end):
        if i > start:
            out.append(text[toks[i - 1][1] : toks[i][0]])
        word = text[toks[i][0] : toks[i][1]]
        out.append(f"\x02{word}\x03" if i in marked else word)
    out.append("…" if end < len(toks) else text[toks[-1][1] :])
    return clean_snippet("".join(out))


def search_articles(
    conn: psycopg.Connection[Any],
    query: str,
    limit: int = 10,
    include_drafts: bool = False,
    *,
    prefix_last: bool = True,
    strategy: Strategy = DEFAULT_STRATEGY,
    snippets: bool = True,
) -> list[KbHit]:
    """db/kb_search.py's ``search_articles`` on PostgreSQL: the same terms, passes and order."""
    engine = PgEngine(conn)
    return run_search(
        engine, query, limit, include_drafts, prefix_last=prefix_last, strategy=strategy, snippets=snippets
    )


def suggest_for_text(conn: psycopg.Connection[Any], text: str, limit: int = 5) -> list[KbHit]:
    """db/kb_search.py's ``suggest_for_text`` on PostgreSQL."""
    return run_search(PgEngine(conn), text, limit, False, prefix_last=False, strategy=SUGGEST_STRATEGY)


_UPSERT_SQL = (
    "INSERT INTO kb_search (article_id, document) VALUES (%s, %s::tsvector)"
    " ON CONFLICT (article_id) DO UPDATE SET document = excluded.document"
)


def index_article(conn: psycopg.Connection[Any], article_id: int) -> None:
    """(Re)index one article from its current row, in the caller's transaction; an id with no row is removed."""
    row = conn.execute("SELECT title, body, tags FROM kb_articles WHERE id = %s", (article_id,)).fetchone()
    if row is None:
        conn.execute("DELETE FROM kb_search WHERE article_id = %s", (article_id,))
        return
    conn.execute(_UPSERT_SQL, (article_id, document(row[0], row[1], row[2] or "")))


def reindex_all(conn: psycopg.Connection[Any], batch: int = 500) -> int:
    """Rebuild ``kb_search`` from kb_articles (in the caller's transaction); returns the number indexed."""
    conn.execute("DELETE FROM kb_search")
    count = 0
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, title, body, tags FROM kb_articles WHERE id > %s ORDER BY id LIMIT %s", (last, batch)
        ).fetchall()
        if not rows:
            return count
        with conn.cursor() as cur:
            cur.executemany(_UPSERT_SQL, [(r[0], document(r[1], r[2], r[3] or "")) for r in rows])
        count += len(rows)
        last = rows[-1][0]
