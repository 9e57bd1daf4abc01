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
db/kb_search.py's ``run_search``; this engine matches with ``@@`` (a Chinese word is a phrase of its 2-character
units, each also indexed as one lexeme, ``<->`` between them), ranks by the sum over the query's phrases of
``ts_rank`` times bm25's idf (article counts from ``kb_terms``; see ``_NORMALIZATION`` for what was measured),
breaks ties by id, and cuts snippets from the body in Python (FTS5's ``snippet()`` has no counterpart that knows
these tokens).

The store keeps ``kb_search`` and ``kb_terms`` current in the transaction that writes an article
(``index_article``); a row of kb_search goes with its article (ON DELETE CASCADE), though its counts in kb_terms
stay until ``reindex_all`` (the helpdesk never deletes an article).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import pairwise, takewhile
from typing import Any

import psycopg

from db.kb_search import (
    _CJK_CHAR,
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
# Snippets are cut in Python from the start of the body (a match further in shows the start, as a title-only match
# does): 10 long bodies took 45 ms to tokenize whole.
_SNIPPET_SCAN_CHARS = 20_000
# The ranking, measured with tests/bench/kb_search.py --pg-cluster (recall@5 over the real articles): each phrase's
# ts_rank times its idf (bm25's, from kb_terms), summed. Without the idf, a pasted description is ranked by its
# commonest words (Chinese descriptions: 57 % instead of 86 %). ts_rank, not ts_rank_cd: the cover density of
# a phrase query costs 5x as much (143 against 30 ms for one description over 4,095 articles) and found less.
# Neighbouring CJK characters are also indexed as one lexeme (``document``): a 2-character unit is then ranked by
# its own frequency, and ts_rank of "会 <-> 议" compared every position of 会 with every one of 议 (0.14 s
# for "Teams 会议" over 10,000 articles).
# Normalization 1 divides by 1 + log(document length), as bm25 favours a short article somewhat. Weights
# {D body, C, B tags, A title}: title 4x the others (16x, as bm25's, ranked long bodies far too low: ts_rank's
# frequency saturates sooner than bm25's).
_NORMALIZATION = 1
_WEIGHTS = [0.25, 0.0, 0.25, 1.0]


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


def _is_cjk(lexeme: str) -> bool:
    return len(lexeme) == 1 and _CJK_CHAR.match(lexeme) is not None


def document(title: str, body: str, tags: str) -> tuple[str, list[str]]:
    """The article's ``tsvector`` literal: title (A), tags (B) and body (D) prepared as on SQLite, positions in that
    order with a gap between fields; and its terms, counted in kb_terms."""
    title_text, body_text, tags_text = index_row(title, body, tags)
    positions: dict[str, list[str]] = {}
    pos = 0
    for text, weight in ((title_text, "A"), (tags_text, "B"), (body_text, "D")):
        pos += 1  # the gap: "a <-> b" never joins the title's last word to the tags' first
        previous = ""
        for lex in tokens(text):
            pos += 1
            kept = positions.setdefault(lex, [])
            if len(kept) < _MAX_POSITIONS and pos <= _MAX_POSITION:
                kept.append(f"{pos}{weight}")
            if _is_cjk(lex) and _is_cjk(previous) and pos <= _MAX_POSITION + 1:
                # Each pair of neighbouring CJK characters is also a lexeme, at the first one's position: a Chinese
                # 2-character unit is then looked up, counted (idf) and ranked (frequency) as one word.
                pair = positions.setdefault(previous + lex, [])
                if len(pair) < _MAX_POSITIONS:
                    pair.append(f"{pos - 1}{weight}")
            previous = lex
    terms = {"", *positions}  # every article has the empty term: its count is the number of articles
    # A word first seen past the last position is still found (with no position: no phrase, no cover).
    vector = " ".join(f"{_quoted(lex)}:{','.join(at)}" if at else _quoted(lex) for lex, at in positions.items())
    return vector, sorted(terms)


def _phrase_lexemes(phrase: Phrase) -> list[str]:
    return [lex for part in phrase.parts for lex in tokens(prepare_text(part))]


def _pairs(lexemes: Sequence[str]) -> list[str]:
    """A phrase's lexemes as looked up: a run of two or more CJK characters as its chain of 2-character units."""
    if len(lexemes) >= 2 and all(map(_is_cjk, lexemes)):
        return [a + b for a, b in pairwise(lexemes)]
    return list(lexemes)


def _phrase_query(lexemes: Sequence[str], prefix: bool) -> str:
    """One phrase as a tsquery: its lexemes joined by ``<->``, the last one ``:*`` for a prefix."""
    quoted = [_quoted(lex) for lex in _pairs(lexemes)]
    if prefix:
        quoted[-1] += ":*"
    return "(" + " <-> ".join(quoted) + ")" if len(quoted) > 1 else quoted[0]


def tsquery(match: Match) -> str | None:
    """The ``tsquery`` literal of a match: its phrases ANDed or ORed. None when nothing can match."""
    parts: list[str] = []
    for phrase in match.phrases:
        lexemes = _phrase_lexemes(phrase)
        if not lexemes:
            if match.every:
                return None  # a required word that cannot be indexed is in no article
            continue
        parts.append(_phrase_query(lexemes, phrase.prefix))
    return (" & " if match.every else " | ").join(parts) or None


_CANDIDATES_SQL = """
SELECT a.id, a.ref, a.title, a.status, {score} AS score
FROM (SELECT article_id, document || ''::tsvector AS document FROM kb_search WHERE document @@ %(match)s::tsquery
      OFFSET 0) AS s
JOIN kb_articles AS a ON a.id = s.article_id
WHERE %(drafts)s OR a.status = 'published'
ORDER BY score DESC, a.id
LIMIT %(pool)s
"""
# (The subquery's concatenation detoasts each matching document once, not once per phrase ranked.)


def _keys(lexemes: Sequence[str]) -> list[str]:
    """kb_terms' terms that bound a phrase's document frequency (its rarest is in every article it is)."""
    return _pairs(lexemes)


class PgEngine:
    """The ``kb_search`` table on one connection (the caller holds whatever lock guards it)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _idfs(self, phrases: Sequence[tuple[list[str], bool]]) -> list[float]:
        """bm25's idf of each phrase, from kb_terms: a phrase is in at most as many articles as its rarest term
        (a prefix: as all the words it begins, together)."""
        wanted = sorted({k for lexemes, prefix in phrases for k in _keys(lexemes[:-1] if prefix else lexemes)} | {""})
        prefixes = sorted({lexemes[-1] for lexemes, prefix in phrases if prefix})
        rows = self.conn.execute(
            "SELECT term, docs FROM kb_terms WHERE term = ANY(%s)"
            " UNION ALL SELECT '*' || p, (SELECT coalesce(sum(docs), 0) FROM kb_terms"
            " WHERE term >= p AND term < p || chr(1114111)) FROM unnest(%s::text[]) AS p",
            (wanted, prefixes),
        ).fetchall()
        docs = dict(rows)
        total = max(int(docs.get("", 0)), 1)
        out = []
        for lexemes, prefix in phrases:
            counts = [int(docs.get(k, 0)) for k in _keys(lexemes[:-1] if prefix else lexemes)]
            if prefix:
                counts.append(min(total, int(docs.get("*" + lexemes[-1], 0))))
            found = min(counts) if counts else total
            out.append(max(1e-6, math.log((total - found + 0.5) / (found + 0.5))))
        return out

    def candidates(
        self, match: Match, pool: int, include_drafts: bool, weights: tuple[float, float, float]
    ) -> list[Row]:
        # (weights are bm25's, for SQLite; this ranking has its own, measured: _WEIGHTS)
        phrases = [(lexemes, p.prefix) for p in match.phrases if (lexemes := _phrase_lexemes(p))]
        query = tsquery(match)
        if query is None or not phrases:
            return []
        idfs = self._idfs(phrases)
        params: dict[str, Any] = {"weights": _WEIGHTS, "match": query, "drafts": include_drafts, "pool": pool}
        ranks = []
        for n, ((lexemes, prefix), idf) in enumerate(zip(phrases, idfs, strict=True)):
            params[f"q{n}"] = _phrase_query(lexemes, prefix)
            ranks.append(f"{idf!r} * ts_rank(%(weights)s::real[], s.document, %(q{n})s::tsquery, {_NORMALIZATION})")
        sql = _CANDIDATES_SQL.format(score=" + ".join(ranks))
        rows = self.conn.cursor().execute(sql, params).fetchall()
        return [(int(r[0]), r[1], r[2], r[3], float(r[4])) for r in rows]

    def snippets(self, match: Match, ids: Sequence[int]) -> list[str]:
        rows = self.conn.cursor().execute("SELECT id, body FROM kb_articles WHERE id = ANY(%s)", (list(ids),))
        bodies = {int(aid): body for aid, body in rows.fetchall()}
        phrases = [(lex, p.prefix) for p in match.phrases if (lex := _phrase_lexemes(p))]
        return [snippet(bodies.get(aid, ""), phrases) for aid in ids]


def snippet(body: str, phrases: Sequence[tuple[list[str], bool]]) -> str:
    """Up to 32 tokens of the body around the most distinct phrases found (then the most hits), the phrases'
    tokens marked, … where the body goes on: what FTS5's snippet() makes, cleaned by ``clean_snippet``."""
    text = index_row("", body[:_SNIPPET_SCAN_CHARS], "")[1]
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
    "INSERT INTO kb_search (article_id, document, terms) VALUES (%s, %s::tsvector, %s)"
    " ON CONFLICT (article_id) DO UPDATE SET document = excluded.document, terms = excluded.terms"
)


def _count(conn: psycopg.Connection[Any], terms: Sequence[str], step: int) -> None:
    if step > 0:
        conn.execute(
            "INSERT INTO kb_terms (term, docs) SELECT unnest(%s::text[]), 1"
            " ON CONFLICT (term) DO UPDATE SET docs = kb_terms.docs + 1",
            (list(terms),),
        )
    else:
        conn.execute("UPDATE kb_terms SET docs = docs - 1 WHERE term = ANY(%s)", (list(terms),))


def index_article(conn: psycopg.Connection[Any], article_id: int) -> None:
    """(Re)index one article from its current row, in the caller's transaction (which must hold the writers' lock:
    kb_terms' counts are read, changed and written); an id with no row is removed."""
    row = conn.execute("SELECT title, body, tags FROM kb_articles WHERE id = %s", (article_id,)).fetchone()
    old = conn.execute("SELECT terms FROM kb_search WHERE article_id = %s", (article_id,)).fetchone()
    before = set(old[0]) if old else set()
    if row is None:
        conn.execute("DELETE FROM kb_search WHERE article_id = %s", (article_id,))
        after: set[str] = set()
    else:
        vector, terms = document(row[0], row[1], row[2] or "")
        conn.execute(_UPSERT_SQL, (article_id, vector, terms))
        after = set(terms)
    if before - after:
        _count(conn, sorted(before - after), -1)
    if after - before:
        _count(conn, sorted(after - before), +1)


def reindex_all(conn: psycopg.Connection[Any], batch: int = 500) -> int:
    """Rebuild ``kb_search`` and ``kb_terms`` from kb_articles (in the caller's transaction); returns the number
    indexed."""
    conn.execute("DELETE FROM kb_search")
    conn.execute("DELETE FROM kb_terms")
    counts: Counter[str] = Counter()
    count = 0
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, title, body, tags FROM kb_articles WHERE id > %s ORDER BY id LIMIT %s", (last, batch)
        ).fetchall()
        if not rows:
            break
        docs = [(r[0], *document(r[1], r[2], r[3] or "")) for r in rows]
        with conn.cursor() as cur:
            cur.executemany(_UPSERT_SQL, docs)
        for _, _, terms in docs:
            counts.update(terms)
        count += len(rows)
        last = rows[-1][0]
    conn.execute(
        "INSERT INTO kb_terms (term, docs) SELECT * FROM unnest(%s::text[], %s::int[])",
        (list(counts), list(counts.values())),
    )
    return count
