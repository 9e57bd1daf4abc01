"""Knowledge-base search on PostgreSQL: the same search as SQLite's (db/kb_search.py), ranked from per-term posting
lists.

Preparation is db/kb_search.py's, in Python, for both engines: the same folding, Markdown stripping and a separator
around every CJK character (``index_row``). What SQLite's ``porter unicode61`` tokenizer then does in C is done here
in Python (``tokens``): runs of letters and digits, lower case, diacritics removed, English words stemmed by
db/pg/porter.py's Porter stemmer, the algorithm FTS5's ``porter`` uses. Neighbouring CJK characters are also indexed
as one term, so a Chinese 2-character unit is looked up, counted and ranked as a word. PostgreSQL's own dictionaries
stem differently (Snowball's Porter2) and do not split Chinese, so none is used, and no user text is ever parsed as
query syntax: terms are parameters, and the phrase checks below are ``tsquery`` literals with every lexeme quoted.

Ranking is FTS5's bm25 (k1 1.2, b 0.75, title 16x body, tags 2x), computed from what is stored for each term and
article: ``kb_postings`` holds each term's list of (article, version, frequency weighted by field, article length),
so a query reads only its terms' lists, one pass, and no article's document (the first version ranked with
``ts_rank`` over every matching article's tsvector: 116-226 ms p95 at 10,000 articles). Articles written since the
last merge have their postings in ``kb_delta`` (a row each); a merge folds them into the lists when kb_delta grows
past half of them, and drops the entries of replaced versions (until then they are skipped: their version is not
the article's). A phrase of several lexemes (a Chinese word of three or more characters, ``e-mail``, two words side
by side) is ranked from the lists as found where all its lexemes are, then checked on the articles read in their
``tsvector`` (positions, kept in ``kb_search``); an article whose words do not stand together loses that part of
its score (or drops out, when the phrase is required), and more are read until no unread article could rank above
the last shown. idf and the average length come from ``kb_terms`` and ``kb_stats``.

The terms, the passes (all terms of a short query, then any), the title reordering and the score scaling are
db/kb_search.py's ``run_search``. Snippets are cut from the body in Python (FTS5's ``snippet()`` has no counterpart
that knows these tokens), reading from a little before the body first mentions the query.

The store keeps all of it current in the transaction that writes an article (``index_article``); a row of kb_search
goes with its article (ON DELETE CASCADE), though its counts in kb_terms and kb_stats stay until ``reindex_all`` (the
helpdesk never deletes an article).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import pairwise, takewhile
from typing import Any, NamedTuple

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
]

# unicode61's token characters: letters and digits (combining marks stay in the word, to be removed with the
# diacritics); everything else, U+001F around CJK characters included, separates tokens.
_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
# PostgreSQL refuses a lexeme of 2 KiB or more; a "word" that long is no word: left out of index and query alike.
_MAX_LEXEME_BYTES = 1000
_MAX_POSITION = 16383  # tsvector positions stop here
_MAX_POSITIONS = 256  # positions kept per lexeme (as PostgreSQL keeps)
_SNIPPET_TOKENS = 32  # as db/kb_search.py's snippet()
# Snippets are cut in Python from the body's first 20,000 characters, read in pieces from just before the first
# mention of the query (``snippet``): ten long bodies took 45 ms to tokenize whole.
_SNIPPET_SCAN_CHARS = 20_000
_SNIPPET_PIECE_CHARS = 240
_SNIPPET_LEAD_CHARS = 120  # read before the first mention, for the words before it


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


# FTS5's bm25 (db/kb_search.py's Strategy.weights: title, body, tags), computed here from the stored frequencies.
_TITLE_W, _BODY_W, _TAGS_W = DEFAULT_STRATEGY.weights
_K1 = 1.2
_B = 0.75


class Indexed(NamedTuple):
    """An article as indexed: its ``tsvector`` literal (positions, for phrases), its terms (counted in kb_terms),
    its length in tokens and each term's frequency weighted by field (title 16, body 1, tags 2, as bm25 weighs
    FTS5's columns on SQLite)."""

    vector: str
    terms: list[str]
    length: int
    freqs: dict[str, int]


def document(title: str, body: str, tags: str) -> Indexed:
    """The article as indexed: title (A), tags (B) and body (D) prepared as on SQLite, positions in that order with
    a gap between fields."""
    title_text, body_text, tags_text = index_row(title, body, tags)
    positions: dict[str, list[str]] = {}
    freqs: Counter[str] = Counter()
    pos = 0
    length = 0
    for text, weight, factor in ((title_text, "A", _TITLE_W), (tags_text, "B", _TAGS_W), (body_text, "D", _BODY_W)):
        pos += 1  # the gap: "a <-> b" never joins the title's last word to the tags' first
        previous = ""
        for lex in tokens(text):
            pos += 1
            length += 1
            freqs[lex] += int(factor)
            kept = positions.setdefault(lex, [])
            if len(kept) < _MAX_POSITIONS and pos <= _MAX_POSITION:
                kept.append(f"{pos}{weight}")
            if _is_cjk(lex) and _is_cjk(previous):
                # Each pair of neighbouring CJK characters is also a lexeme, at the first one's position: a Chinese
                # 2-character unit is then looked up, counted (idf) and ranked (frequency) as one word.
                freqs[previous + lex] += int(factor)
                pair = positions.setdefault(previous + lex, [])
                if len(pair) < _MAX_POSITIONS and pos <= _MAX_POSITION + 1:
                    pair.append(f"{pos - 1}{weight}")
            previous = lex
    terms = {"", *positions}  # every article has the empty term: its count is the number of articles
    # A word first seen past the last position is still found (with no position: no phrase).
    vector = " ".join(f"{_quoted(lex)}:{','.join(at)}" if at else _quoted(lex) for lex, at in positions.items())
    return Indexed(vector, sorted(terms), length, dict(freqs))


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


# A query's keys are ranges of kb_postings' terms (collation "C"): a lexeme is [lexeme, lexeme + U+0001) (no lexeme
# holds U+0001), the start of words typed so far is [start, start + U+10FFFF).
_EXACT_END = "\x01"
_PREFIX_END = chr(0x10FFFF)
# Articles read past the pool in one go, so that a few dropped (a phrase not side by side after all, a draft, a
# version being replaced) rarely need a second read.
_SLACK = 20

_SCORE_SQL = """
WITH q AS MATERIALIZED (SELECT * FROM unnest(%(lo)s::text[], %(hi)s::text[]) WITH ORDINALITY AS q(lo, hi, k)),
raw AS (
  SELECT q.k, u.id, u.v, u.f, u.len FROM q JOIN kb_postings AS p ON p.term >= q.lo AND p.term < q.hi
  CROSS JOIN LATERAL unnest(p.ids, p.versions, p.freqs, p.lengths) AS u(id, v, f, len){delta}
),
docs AS (SELECT id, v, min(len)::float8 AS len, {keys} FROM raw GROUP BY id, v),
found AS (SELECT id, v, len, {phrases} FROM docs)
SELECT id, v, {score} AS score, {singles} AS singles{parts} FROM found WHERE {present}
ORDER BY score DESC, id LIMIT %(cut)s
"""
_DELTA_SQL = """
  UNION ALL
  SELECT q.k, d.article_id, d.version, d.freq, d.length FROM q JOIN kb_delta AS d ON d.term >= q.lo AND d.term < q.hi"""
# (Every frequency of a matching article in one pass over the keys' posting lists, then bm25 from them: no
# per-article document is read. A phrase of several lexemes counts as found where all of them are, at the least
# frequent one's frequency; whether they stand side by side is checked on the articles read, in their tsvector.)

_CHECK_SQL = """
SELECT s.article_id, s.version, a.ref, a.title, a.status{checks}
FROM kb_search AS s JOIN kb_articles AS a ON a.id = s.article_id
WHERE s.article_id = ANY(%(ids)s)
"""


def _bm25(f: str, idf: float, avgdl: float) -> str:
    """One phrase's bm25 term for frequency column ``f`` (NULL where the phrase is not found)."""
    return f"{idf!r} * {f} * {_K1 + 1!r} / ({f} + {_K1!r} * ({1 - _B!r} + {_B!r} * len / {avgdl!r}))"


def _score_sql(
    per_phrase: Sequence[Sequence[int]], idfs: Sequence[float], avgdl: float, every: bool, delta: bool = True
) -> str:
    """_SCORE_SQL for phrases given as their keys' numbers (only numbers and floats are written into the SQL; the
    terms are parameters); ``delta``: kb_delta holds postings (none since the last merge: it is not read)."""
    count = max(k for ks in per_phrase for k in ks)
    keys = ", ".join(f"sum(f) FILTER (WHERE k = {k})::float8 AS k{k}" for k in range(1, count + 1))
    phrases = []
    for n, ks in enumerate(per_phrase):
        if len(ks) == 1:
            phrases.append(f"k{ks[0]} AS f{n}")
        else:
            found = " AND ".join(f"k{k} IS NOT NULL" for k in ks)
            phrases.append(f"CASE WHEN {found} THEN least({', '.join(f'k{k}' for k in ks)}) END AS f{n}")
    score = " + ".join(f"coalesce({_bm25(f'f{n}', idf, avgdl)}, 0)" for n, idf in enumerate(idfs))
    single = [n for n, ks in enumerate(per_phrase) if len(ks) == 1]
    singles = " OR ".join(f"f{n} IS NOT NULL" for n in single) or "false"
    parts = "".join(f", {_bm25(f'f{n}', idfs[n], avgdl)}" for n, ks in enumerate(per_phrase) if len(ks) > 1)
    present = (" AND " if every else " OR ").join(f"f{n} IS NOT NULL" for n in range(len(per_phrase)))
    return _SCORE_SQL.format(
        delta=_DELTA_SQL if delta else "",
        keys=keys,
        phrases=", ".join(phrases),
        score=score,
        singles=f"({singles})",
        parts=parts,
        present=present,
    )


class PgEngine:
    """The posting lists (kb_postings, kb_delta) and documents (kb_search) on one connection (the caller holds
    whatever lock guards it)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _stats(self, phrases: Sequence[tuple[list[str], bool]]) -> tuple[list[float], float, bool]:
        """bm25's idf of each phrase, from kb_terms (a phrase is in at most as many articles as its rarest term; a
        prefix: as all the words it begins, together), the articles' average length in tokens, and whether kb_delta
        holds postings."""
        # A phrase's looked-up units bound its document frequency: its rarest is in every article it is.
        wanted = sorted({k for lexemes, prefix in phrases for k in _pairs(lexemes[:-1] if prefix else lexemes)} | {""})
        prefixes = sorted({lexemes[-1] for lexemes, prefix in phrases if prefix})
        rows = self.conn.execute(
            "SELECT term, docs::bigint FROM kb_terms WHERE term = ANY(%s)"
            " UNION ALL SELECT '*' || p, (SELECT coalesce(sum(docs), 0) FROM kb_terms"
            " WHERE term >= p AND term < p || chr(1114111)) FROM unnest(%s::text[]) AS p"
            " UNION ALL SELECT ' tokens', tokens FROM kb_stats UNION ALL SELECT ' delta', delta_postings FROM kb_stats",
            (wanted, prefixes),
        ).fetchall()
        docs = {term: int(n) for term, n in rows}
        total = max(docs.get("", 0), 1)
        out = []
        for lexemes, prefix in phrases:
            counts = [docs.get(k, 0) for k in _pairs(lexemes[:-1] if prefix else lexemes)]
            if prefix:
                counts.append(min(total, docs.get("*" + lexemes[-1], 0)))
            found = min(counts) if counts else total
            out.append(max(1e-6, math.log((total - found + 0.5) / (found + 0.5))))
        return out, max(docs.get(" tokens", 0) / total, 1.0), docs.get(" delta", 1) != 0

    def candidates(
        self, match: Match, pool: int, include_drafts: bool, weights: tuple[float, float, float]
    ) -> list[Row]:
        # (weights: bm25's columns on SQLite; here the same weights are in the stored frequencies: _TITLE_W…)
        phrases = [(lexemes, p.prefix) for p in match.phrases if (lexemes := _phrase_lexemes(p))]
        if not phrases or (match.every and len(phrases) < len(match.phrases)):
            return []  # nothing to look for; or a required word that cannot be indexed, which no article holds
        idfs, avgdl, delta = self._stats(phrases)
        keys: dict[tuple[str, str], int] = {}
        per_phrase: list[list[int]] = []
        for lexemes, prefix in phrases:
            units = _pairs(lexemes)
            per_phrase.append(
                [
                    keys.setdefault(
                        (unit, unit + (_PREFIX_END if prefix and j == len(units) - 1 else _EXACT_END)), len(keys) + 1
                    )
                    for j, unit in enumerate(units)
                ]
            )
        sql = _score_sql(per_phrase, idfs, avgdl, match.every, delta)
        multi = [n for n, ks in enumerate(per_phrase) if len(ks) > 1]
        params: dict[str, Any] = {"lo": [lo for lo, _ in keys], "hi": [hi for _, hi in keys]}
        cut = pool + _SLACK
        while True:
            params["cut"] = cut
            rows = self.conn.execute(sql, params).fetchall()
            found = self._checked(rows, [phrases[n] for n in multi], match.every, include_drafts)
            if len(rows) < cut:
                return found[:pool]  # every matching article was read
            # No article left unread scores more than the last one read (its phrases are assumed side by side).
            if len(found) >= pool and found[pool - 1][4] >= float(rows[-1][2]):
                return found[:pool]
            cut *= 4

    def _checked(
        self, rows: Sequence[tuple[Any, ...]], multi: Sequence[tuple[list[str], bool]], every: bool, drafts: bool
    ) -> list[Row]:
        """The rows read, as shown: their article's current version, published (unless drafts are wanted), each
        phrase of several lexemes found side by side or its part of the score taken back; best first."""
        if not rows:
            return []
        checks = "".join(f", s.document @@ %(p{n})s::tsquery" for n in range(len(multi)))
        params: dict[str, Any] = {"ids": [int(r[0]) for r in rows]}
        for n, (lexemes, prefix) in enumerate(multi):
            params[f"p{n}"] = _phrase_query(lexemes, prefix)
        meta = {int(m[0]): m for m in self.conn.execute(_CHECK_SQL.format(checks=checks), params).fetchall()}
        out: list[Row] = []
        for aid, version, score, singles, *parts in rows:
            m = meta.get(int(aid))
            if m is None or m[1] != version or not (drafts or m[4] == "published"):
                continue  # an article since changed (its new version is read too) or deleted, or a draft
            present = bool(singles)
            total = float(score)
            for part, side_by_side in zip(parts, m[5:], strict=True):
                if part is None:
                    continue  # not all of the phrase's lexemes are in the article
                if side_by_side:
                    present = True
                elif every:
                    break
                else:
                    total -= float(part)
            else:
                if present:
                    out.append((int(aid), m[2], m[3], m[4], total))
        out.sort(key=lambda r: (-r[4], r[0]))
        return out

    def snippets(self, match: Match, ids: Sequence[int]) -> list[str]:
        rows = self.conn.cursor().execute("SELECT id, body FROM kb_articles WHERE id = ANY(%s)", (list(ids),))
        bodies = {int(aid): body for aid, body in rows.fetchall()}
        phrases = [(lex, p.prefix) for p in match.phrases if (lex := _phrase_lexemes(p))]
        return [snippet(bodies.get(aid, ""), phrases) for aid in ids]


def _pieces(body: str, start: int) -> Iterator[str]:
    """The body from ``start`` to _SNIPPET_SCAN_CHARS in pieces of about _SNIPPET_PIECE_CHARS cut after a line, so
    the snippet can stop reading once it has what it needs (Markdown's links and marks stay within a line)."""
    body = body[:_SNIPPET_SCAN_CHARS]
    while start < len(body):
        end = body.find("\n", start + _SNIPPET_PIECE_CHARS)
        end = len(body) if end < 0 else end + 1
        yield body[start:end]
        start = end


def _surface(words: Sequence[str]) -> str:
    """What a phrase indexed as ``words`` starts with in the text (lower case): a Chinese word's characters; else
    its first word's stem, less the i that Porter puts for a final y (happy: happi)."""
    if all(map(_is_cjk, words)):
        return "".join(words)
    first = words[0]
    return first[:-1] if len(first) > 2 and first.endswith("i") else first


def _piece_start(body: str, at: int) -> int:
    """A place at or before ``at`` where no token is cut: after a space, or before a CJK character (0 if none is
    near)."""
    for i in range(max(at, 0), max(at - 100, 0), -1):
        if body[i - 1].isspace() or _CJK_CHAR.match(body[i]):
            return i
    return 0


def _hits(
    lexes: Sequence[str], where: dict[str, list[int]], phrases: Sequence[tuple[list[str], bool]]
) -> tuple[list[tuple[int, int]], set[int]]:
    """Where each phrase starts among the tokens (``where``: each lexeme's token indexes), as (token index, phrase
    number) in order, and its tokens."""
    marked: set[int] = set()
    hits: list[tuple[int, int]] = []
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
    return hits, marked


def _window(hits: Sequence[tuple[int, int]], count: int) -> tuple[int, int, int]:
    """The best 32-token window over ``count`` tokens: (its first token, how many distinct phrases it holds, its
    last hit), the most distinct phrases first, then the most hits; the hits centred."""
    start = distinct = last_hit = 0
    best = -1
    for k, (first, _) in enumerate(hits):
        stop = first + _SNIPPET_TOKENS
        inside = list(takewhile(lambda h: h[0] < stop, hits[k:]))  # noqa: B023 (used at once)
        phrases = len({n for _, n in inside})
        score = 1000 * phrases + len(inside)
        if score > best:
            last = inside[-1][0]
            centred = first - (_SNIPPET_TOKENS - (last - first + 1)) // 2
            best, start = score, max(0, min(centred, count - _SNIPPET_TOKENS))
            distinct, last_hit = phrases, last
    return start, distinct, last_hit


def snippet(body: str, phrases: Sequence[tuple[list[str], bool]]) -> str:
    """Up to 32 tokens of the body around the most distinct phrases found (then the most hits), the phrases'
    tokens marked, … where the body goes on: what FTS5's snippet() makes, cleaned by ``clean_snippet``.

    The body is read in pieces, up to the first that mentions the phrases and the tokens after its best window: where
    the article first speaks of the query (tokenizing a whole long body in Python costs milliseconds, and a search
    shows ten snippets)."""
    text = ""
    toks: list[tuple[int, int, str]] = []
    # Reading starts a little before the body first mentions a phrase; a body that does not (the article matched by
    # its title or tags) shows its start: one piece.
    folded = body[:_SNIPPET_SCAN_CHARS].lower()
    found = [at for words, _ in phrases if (at := folded.find(_surface(words))) >= 0]
    mentioned = bool(found)
    skipped = _piece_start(body, min(found) - _SNIPPET_LEAD_CHARS) if found else 0
    pieces = _pieces(body, skipped)
    lexes: list[str] = []
    where: dict[str, list[int]] = {}
    for piece in pieces:
        prepared = index_row("", piece, "")[1]
        base = len(text)
        text += prepared
        for s, e, lex in _tokens_at(prepared):
            where.setdefault(lex, []).append(len(toks))
            toks.append((s + base, e + base, lex))
            lexes.append(lex)
        if not mentioned:
            break
        hits, _ = _hits(lexes, where, phrases)
        if hits and len(toks) >= _window(hits, len(toks))[2] + _SNIPPET_TOKENS:
            break
    unread = next(pieces, None) is not None
    if not toks:
        return ""
    hits, marked = _hits(lexes, where, phrases)
    start = _window(hits, len(toks))[0] if hits else 0
    end = min(len(toks), start + _SNIPPET_TOKENS)
    # As snippet(): the text before the first token when the window starts the body, after the last when it ends it.
    out = ["…"] if start > 0 or skipped else [text[: toks[0][0]]]
    for i in range(start, end):
        if i > start:
            out.append(text[toks[i - 1][1] : toks[i][0]])
        word = text[toks[i][0] : toks[i][1]]
        out.append(f"\x02{word}\x03" if i in marked else word)
    out.append("…" if end < len(toks) or unread else text[toks[-1][1] :])
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
    "INSERT INTO kb_search (article_id, document, terms, version, length) VALUES (%s, %s::tsvector, %s, %s, %s)"
    " ON CONFLICT (article_id) DO UPDATE SET document = excluded.document, terms = excluded.terms,"
    " version = excluded.version, length = excluded.length"
)
# The merge: the posting lists of the terms kb_delta holds, rewritten with its rows and without the entries of
# versions no longer current (an article rewritten or deleted); then kb_delta is empty.
_MERGE_SQL = """
INSERT INTO kb_postings (term, ids, versions, freqs, lengths)
SELECT e.term, array_agg(e.id ORDER BY e.id), array_agg(e.v ORDER BY e.id), array_agg(e.f ORDER BY e.id),
       array_agg(e.len ORDER BY e.id)
FROM (
  SELECT p.term, u.id, u.v, u.f, u.len FROM kb_postings AS p
  CROSS JOIN LATERAL unnest(p.ids, p.versions, p.freqs, p.lengths) AS u(id, v, f, len)
  WHERE p.term IN (SELECT term FROM kb_delta)
  UNION ALL
  SELECT term, article_id, version, freq, length FROM kb_delta
) AS e JOIN kb_search AS s ON s.article_id = e.id AND s.version = e.v
GROUP BY e.term
ON CONFLICT (term) DO UPDATE SET ids = excluded.ids, versions = excluded.versions, freqs = excluded.freqs,
  lengths = excluded.lengths
"""
# kb_delta is merged when it holds more than this many postings and more than half as many as the lists: an article
# saved costs a few hundred rows, an import of many a merge now and then (each about the size of what is merged,
# so an import's merges together rewrite about three times its postings).
_MERGE_MIN = 50_000


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
    kb_terms' counts and kb_stats are read, changed and written); an id with no row is removed.

    The article gets a new version: its postings go to kb_delta, and those of its previous version (in the lists
    until the next merge) no longer count."""
    row = conn.execute("SELECT title, body, tags FROM kb_articles WHERE id = %s", (article_id,)).fetchone()
    old = conn.execute("SELECT terms, version, length FROM kb_search WHERE article_id = %s", (article_id,)).fetchone()
    before = set(old[0]) if old else set()
    version = (int(old[1]) if old else 0) + 1
    old_length = int(old[2]) if old else 0
    removed = 0
    if old:
        removed = conn.execute(
            "DELETE FROM kb_delta WHERE term = ANY(%s) AND article_id = %s", (list(before), article_id)
        ).rowcount
    if row is None:
        conn.execute("DELETE FROM kb_search WHERE article_id = %s", (article_id,))
        after: set[str] = set()
        length = added = 0
    else:
        doc = document(row[0], row[1], row[2] or "")
        conn.execute(_UPSERT_SQL, (article_id, doc.vector, doc.terms, version, doc.length))
        conn.execute(
            "INSERT INTO kb_delta (term, article_id, version, freq, length)"
            " SELECT t, %s, %s, f, %s FROM unnest(%s::text[], %s::int[]) AS u(t, f)",
            (article_id, version, doc.length, list(doc.freqs), list(doc.freqs.values())),
        )
        after, length, added = set(doc.terms), doc.length, len(doc.freqs)
    if before - after:
        _count(conn, sorted(before - after), -1)
    if after - before:
        _count(conn, sorted(after - before), +1)
    stats = conn.execute(
        "UPDATE kb_stats SET tokens = tokens + %s, delta_postings = delta_postings + %s"
        " RETURNING main_postings, delta_postings",
        (length - old_length, added - removed),
    ).fetchone()
    if stats is not None and stats[1] > max(_MERGE_MIN, stats[0] // 2):
        merge(conn)


def merge(conn: psycopg.Connection[Any]) -> None:
    """Fold kb_delta into the posting lists (in the caller's transaction, under the writers' lock)."""
    conn.execute(_MERGE_SQL)
    conn.execute("DELETE FROM kb_delta")
    # (main_postings only decides when to merge: the entries of old versions dropped by merges are not counted off)
    conn.execute("UPDATE kb_stats SET main_postings = main_postings + delta_postings, delta_postings = 0")


def _copy_text(term: str) -> str:
    return term.replace("\\", "\\\\") if "\\" in term else term


def reindex_all(conn: psycopg.Connection[Any], batch: int = 500) -> int:
    """Rebuild the documents, posting lists and counts from kb_articles (in the caller's transaction); returns the
    number indexed."""
    for table in ("kb_search", "kb_terms", "kb_delta", "kb_postings"):
        conn.execute(f"DELETE FROM {table}")
    # Every posting once in a temporary table with no index, then each term's list in one aggregate.
    conn.execute("DROP TABLE IF EXISTS kb_reindex")
    conn.execute(
        'CREATE TEMPORARY TABLE kb_reindex (term TEXT COLLATE "C", article_id BIGINT, freq INTEGER, length INTEGER)'
        " ON COMMIT DROP"
    )
    counts: Counter[str] = Counter()
    count = tokens = postings = 0
    last = 0
    while True:
        rows = conn.execute(
            "SELECT id, title, body, tags FROM kb_articles WHERE id > %s ORDER BY id LIMIT %s", (last, batch)
        ).fetchall()
        if not rows:
            break
        docs = [(int(r[0]), document(r[1], r[2], r[3] or "")) for r in rows]
        with conn.cursor() as cur:
            with cur.copy("COPY kb_search (article_id, document, terms, version, length) FROM STDIN") as copy:
                for aid, doc in docs:
                    copy.write_row((aid, doc.vector, doc.terms, 1, doc.length))
            with cur.copy("COPY kb_reindex (term, article_id, freq, length) FROM STDIN") as copy:
                # COPY's text format written whole (millions of rows); a lexeme holds no tab or line break.
                copy.write(
                    "".join(
                        f"{_copy_text(term)}\t{aid}\t{freq}\t{doc.length}\n"
                        for aid, doc in docs
                        for term, freq in doc.freqs.items()
                    )
                )
        for _, doc in docs:
            counts.update(doc.terms)
            tokens += doc.length
            postings += len(doc.freqs)
        count += len(rows)
        last = rows[-1][0]
    conn.execute("SET LOCAL work_mem = '64MB'")  # the aggregate's sort in memory
    conn.execute(
        "INSERT INTO kb_postings (term, ids, versions, freqs, lengths)"
        " SELECT term, array_agg(article_id ORDER BY article_id), array_fill(1, ARRAY[count(*)::int]),"
        " array_agg(freq ORDER BY article_id), array_agg(length ORDER BY article_id) FROM kb_reindex GROUP BY term"
    )
    conn.execute("DROP TABLE kb_reindex")
    conn.execute(
        "INSERT INTO kb_terms (term, docs) SELECT * FROM unnest(%s::text[], %s::int[])",
        (list(counts), list(counts.values())),
    )
    conn.execute("UPDATE kb_stats SET tokens = %s, main_postings = %s, delta_postings = 0", (tokens, postings))
    return count
