"""Knowledge-search benchmark on real articles: recall@5 per language and approach, index build time,
index size and query latency over 10,000 articles. Run by hand:

    python -m tests.bench.kb_search [--runs 3] [--sample N] [--only NAME ...] [--data ../shared/data] [--out FILE]
                                    [--pg URL | --pg-cluster]

Prints one JSON document. With ``--pg URL`` (a database the login may create a schema in; the bench works in a
scratch schema it drops) or ``--pg-cluster`` (a throwaway PostgreSQL 15 cluster from tests/pg.py), the shipped search
also runs on PostgreSQL (db/pg/kb_search.py) over the same articles and queries: its recall@5, suggestion recall,
index build time and size and latency at 10,000 articles are under ``postgresql``, and ``engines`` sets the two
engines' figures side by side (``--only cjk_char`` skips SQLite's other approaches). The data folder is read, never
copied (see its README); ``description`` is never indexed, since it is the article's own summary. Figures are
medians over ``--runs`` runs.

Approaches compared (each indexes title, body and tags of the same articles):
- ``naive``: FTS5 ``unicode61`` on the raw text; the query's whitespace-separated words quoted and ANDed
  (FTS5's default), plain bm25.
- ``unicode61``: ``porter unicode61`` on the raw text with this project's query policy (weights, stopwords,
  all-terms-then-any-term); Chinese runs cannot be split because the index holds whole runs.
- ``trigram``: FTS5 ``trigram`` on the raw text with the same policy; terms of 3+ characters via MATCH,
  shorter ones (2-character Chinese words, short English words) by a LIKE scan; long Chinese runs are
  split into overlapping 3-character pieces when any term may match. ``trigram_full``: the same index with
  the shipped ranking (any term for 4+ terms, adjacent word pairs, title reordering).
- ``cjk_char_basic``: the per-CJK-character index of db.kb_search with the baselines' query policy (all
  terms, then any term; no word pairs, no title reordering): compares the three indexes on equal terms.
- ``cjk_char`` (db.kb_search as shipped) and one-change variants of it: ``cjk_char_or_only`` (any term,
  also for 1-3 keywords), ``cjk_char_no_pairs`` (no adjacent-word phrases), ``cjk_char_no_title_boost``
  (bm25 order only), ``cjk_char_equal_weights`` (title = body = tags), ``cjk_char_plain_bigrams``
  (Chinese runs not cut at function words), ``cjk_char_no_prefix`` (last word not a prefix), and
  ``cjk_char_jieba`` (Chinese query segmented by jieba instead of 2-character units; only when jieba
  happens to be installed, it is not a dependency).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db import kb_search
from db.kb_search import DEFAULT_STRATEGY, Strategy
from db.schema import KB_ARTICLES_DDL, run_script

if TYPE_CHECKING:
    import psycopg

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CORPORA = ("kb_en", "kb_zh", "kb_zh_tidb")
PAD_TO = 10_000
K = 5

ARTICLES_DDL = KB_ARTICLES_DDL  # the table exactly as the migration creates it

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
TOKEN = kb_search._TOKEN
STOP = kb_search._EN_STOPWORDS


# -- data ---------------------------------------------------------------------------------------------


@dataclass
class Article:
    rowid: int
    ref: str
    corpus: str
    title: str
    description: str
    body: str
    tags: str


def load(data: Path) -> list[Article]:
    articles: list[Article] = []
    for corpus in CORPORA:
        with (data / corpus / "articles.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                tags = d.get("tags") or []
                articles.append(
                    Article(
                        rowid=len(articles) + 1,
                        ref=d["id"],
                        corpus=corpus,
                        title=d["title"],
                        description=(d.get("description") or "").strip(),
                        body=d["body"],
                        tags=",".join(str(t) for t in tags),
                    )
                )
    return articles


def padded(articles: Sequence[Article], total: int, seed: int = 7) -> list[Article]:
    """The real articles plus perturbed copies (paragraphs rotated, a copy number in the title) up to
    ``total``: realistic term statistics at the size the latency target is set for."""
    rng = random.Random(seed)
    out = list(articles)
    n = 0
    while len(out) < total:
        src = articles[rng.randrange(len(articles))]
        n += 1
        paras = src.body.split("\n\n")
        cut = rng.randrange(len(paras))
        body = "\n\n".join(paras[cut:] + paras[:cut])
        out.append(Article(len(out) + 1, f"{src.ref}~{n}", src.corpus, f"{src.title} ({n})", "", body, src.tags))
    return out


def fill_articles(conn: sqlite3.Connection, articles: Iterable[Article]) -> None:
    conn.execute(ARTICLES_DDL)
    conn.executemany(
        "INSERT INTO kb_articles (id, ref, title, body, tags, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, '2024-01-01', '2024-01-01')",
        [(a.rowid, a.ref, a.title, a.body, a.tags) for a in articles],
    )


# -- relevance sets -----------------------------------------------------------------------------------


@dataclass
class Query:
    qset: str
    text: str
    relevant: frozenset[int]


def _doc_freq(articles: Sequence[Article]) -> Counter[str]:
    df: Counter[str] = Counter()
    for a in articles:
        df.update({w.lower() for w in EN_WORD.findall(a.title + " " + a.body)})
    return df


def relevance_sets(articles: Sequence[Article], data: Path) -> dict[str, list[Query]]:
    """Queries whose right answer is known without judging by hand:
    - ``*_desc``: the article's description (its one-line summary, never indexed) as a natural-language
      query; the article is the answer. Descriptions shared by several articles are skipped.
    - ``en_title``: the two title words with the lowest document frequency in the whole collection (what a
      user who knows the topic types); ``zh_title``: the title's rarest Chinese run (its space- or
      Latin-delimited pieces of 2-8 characters, counted as substrings) plus its next rarest piece, a Chinese
      run or a Latin word, so many queries are mixed. No segmenter is involved, so the query side favours
      no approach.
    - ``tidb_faq``: the 20 real FAQ questions with graded answers (the FAQ entry and the pages its answer
      links to); recall counts every listed answer.
    """
    by_ref = {a.ref: a.rowid for a in articles}
    desc_count = Counter(a.description for a in articles)
    sets: dict[str, list[Query]] = {n: [] for n in ("en_desc", "en_title", "zh_desc", "zh_title", "tidb_desc")}
    df = _doc_freq(articles)
    zh_texts = [a.title + "\n" + a.body for a in articles if a.corpus != "kb_en"]
    zh_df: dict[str, int] = {}
    for a in articles:
        prefix = {"kb_en": "en", "kb_zh": "zh", "kb_zh_tidb": "tidb"}[a.corpus]
        if a.description and desc_count[a.description] == 1:
            sets[f"{prefix}_desc"].append(Query(f"{prefix}_desc", a.description, frozenset({a.rowid})))
        if a.corpus == "kb_en":
            words = [w for w in dict.fromkeys(EN_WORD.findall(a.title)) if w.lower() not in STOP]
            if len(words) >= 2:
                rare = sorted(words, key=lambda w: df[w.lower()])[:2]
                text = " ".join(w for w in words if w in rare)
                sets["en_title"].append(Query("en_title", text, frozenset({a.rowid})))
        elif a.corpus == "kb_zh":
            runs = [r for r in dict.fromkeys(CJK_RUN.findall(a.title)) if 2 <= len(r) <= 8]
            words = [w for w in dict.fromkeys(EN_WORD.findall(a.title)) if w.lower() not in STOP]
            if runs:
                for r in runs:
                    if r not in zh_df:
                        zh_df[r] = sum(r in t for t in zh_texts)
                pieces = sorted(runs, key=lambda r: zh_df[r])[:1]
                rest = [(zh_df[r], r) for r in runs if r not in pieces] + [(df[w.lower()], w) for w in words]
                pieces += [p for _, p in sorted(rest)[:1]]
                text = " ".join(p for p in [*runs, *words] if p in pieces)
                sets["zh_title"].append(Query("zh_title", text, frozenset({a.rowid})))
    faq: list[Query] = []
    with (data / "kb_zh_tidb" / "kb_queries_tidb.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            rel = frozenset(by_ref[r["id"]] for r in d["relevant"] if r["id"] in by_ref)
            faq.append(Query("tidb_faq", d["query"], rel))
    sets["tidb_faq"] = faq
    return sets


def sample(queries: list[Query], n: int, seed: int = 11) -> list[Query]:
    if n <= 0 or len(queries) <= n:
        return queries
    return random.Random(seed).sample(queries, n)


# -- approaches ---------------------------------------------------------------------------------------


@dataclass
class Approach:
    name: str
    build: Callable[[sqlite3.Connection], None]
    search: Callable[[sqlite3.Connection, str, int], list[int]]
    notes: str = ""


def _words_and_runs(query: str) -> list[str]:
    query = kb_search._fold(query[: kb_search._MAX_QUERY_CHARS])
    out: list[str] = []
    for m in TOKEN.finditer(query):
        tok = m.group(0).lower()
        if m.group("word") and tok in STOP:
            continue
        out.append(tok)
    return list(dict.fromkeys(out))[: DEFAULT_STRATEGY.max_phrases]


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


_W = ", ".join(map(str, DEFAULT_STRATEGY.weights))


def _fts_ids(conn: sqlite3.Connection, expr: str, limit: int, weights: bool = True) -> list[int]:
    rank = f"AND rank MATCH 'bm25({_W})'" if weights else ""
    sql = f"SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? {rank} ORDER BY rank LIMIT ?"
    return [r[0] for r in conn.execute(sql, (expr, limit))]


def _and_then_or(
    conn: sqlite3.Connection, strict: str, loose: str, limit: int, run: Callable[..., list[int]] = _fts_ids
) -> list[int]:
    ids = run(conn, strict, limit) if strict != loose else []
    if len(ids) < limit and loose:
        ids += [i for i in run(conn, loose, limit + len(ids)) if i not in ids]
    return ids[:limit]


def _raw_fts(tokenize: str) -> Callable[[sqlite3.Connection], None]:
    def build(conn: sqlite3.Connection) -> None:
        conn.execute(f"CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, tags, tokenize = '{tokenize}')")
        conn.execute("INSERT INTO kb_fts (rowid, title, body, tags) SELECT id, title, body, tags FROM kb_articles")
        conn.execute("INSERT INTO kb_fts (kb_fts) VALUES ('optimize')")

    return build


def naive_search(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
    words = [_quote(w) for w in query.split() if w.strip()]
    if not words:
        return []
    try:
        return _fts_ids(conn, " ".join(words), limit, weights=False)
    except sqlite3.OperationalError:
        return []


def unicode61_search(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
    terms = [_quote(t) for t in _words_and_runs(query)]
    if not terms:
        return []
    return _and_then_or(conn, " AND ".join(terms), " OR ".join(terms), limit)


def _trigram(conn: sqlite3.Connection, query: str, limit: int, full: bool) -> list[int]:
    terms = _words_and_runs(query)
    long = [t for t in terms if len(t) >= 3]
    short = [t for t in terms if len(t) < 3]
    if not terms:
        return []
    if not long:
        # Trigrams cannot match 1-2 characters: scan, title hits first.
        like = " OR ".join("instr(lower(title || ' ' || body || ' ' || tags), ?) > 0" for _ in short)
        sql = f"SELECT id FROM kb_articles WHERE {like} ORDER BY instr(lower(title), ?) = 0, id LIMIT ?"
        return [r[0] for r in conn.execute(sql, (*short, short[0], limit))]
    loose_parts: list[str] = []
    for t in long:
        if CJK_RUN.fullmatch(t) and len(t) > 3:
            loose_parts += [_quote(t[i : i + 3]) for i in range(len(t) - 2)]
        else:
            loose_parts.append(_quote(t))
    mod_terms = kb_search._terms(query, False, DEFAULT_STRATEGY)
    units = [u for t in kb_search._unique(mod_terms) for u in t.units]
    if full:  # the shipped ranking extras: adjacent word pairs (as substrings) and title reordering
        loose_parts += [_quote(t.key[2:]) for t in mod_terms if t.pair]
    strict = " AND ".join(_quote(t) for t in long)
    loose = " OR ".join(dict.fromkeys(loose_parts))

    def run(c: sqlite3.Connection, expr: str, n: int) -> list[int]:
        extra = ""
        if expr is strict and short:
            extra = " ".join("AND instr(lower(a.title || ' ' || a.body || ' ' || a.tags), ?) > 0" for _ in short)
        sql = (
            "SELECT kb_fts.rowid, -rank, a.title FROM kb_fts JOIN kb_articles a ON a.id = kb_fts.rowid"
            f" WHERE kb_fts MATCH ? AND rank MATCH 'bm25({_W})' {extra} ORDER BY rank LIMIT ?"
        )
        pool = max(n, DEFAULT_STRATEGY.pool) if full else n
        rows = c.execute(sql, (expr, *short, pool) if extra else (expr, pool)).fetchall()
        if full and rows:
            bonus = DEFAULT_STRATEGY.title_boost * rows[0][1]
            rows.sort(key=lambda r: -(r[1] + bonus * kb_search._title_coverage(units, r[2])))
        return [r[0] for r in rows[:n]]

    few = len(long) + len(short) <= DEFAULT_STRATEGY.and_first_max_terms if full else True
    ids = run(conn, strict, limit) if few and (len(long) > 1 or short or strict != loose) else []
    if len(ids) < limit:
        ids += [i for i in run(conn, loose, limit + len(ids)) if i not in ids]
    return ids[:limit]


def trigram_search(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
    return _trigram(conn, query, limit, full=False)


def trigram_full_search(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
    return _trigram(conn, query, limit, full=True)


def _module_build(conn: sqlite3.Connection) -> None:
    run_script(conn, kb_search.KB_FTS_SQL)
    kb_search.reindex_all(conn)


def _module_search(strategy: Strategy, prefix_last: bool = True) -> Callable[[sqlite3.Connection, str, int], list[int]]:
    def search(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
        engine = kb_search.Fts5Engine(conn)
        hits = kb_search.run_search(
            engine, query, limit, False, prefix_last=prefix_last, strategy=strategy, snippets=False
        )
        return [h.id for h in hits]

    return search


def _plain_bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def approaches() -> list[Approach]:
    out = [
        Approach("naive", _raw_fts("unicode61"), naive_search, "unicode61, raw query words ANDed, plain bm25"),
        Approach("unicode61", _raw_fts("porter unicode61 remove_diacritics 2"), unicode61_search),
        Approach("trigram", _raw_fts("trigram"), trigram_search, "LIKE scan for terms under 3 characters"),
        Approach("trigram_full", _raw_fts("trigram"), trigram_full_search, "trigram with the shipped ranking extras"),
        Approach(
            "cjk_char_basic",
            _module_build,
            _module_search(replace(DEFAULT_STRATEGY, and_first_max_terms=99, pairs=False, title_boost=0)),
            "the per-character index with the baselines' query policy (all terms, then any): compares indexes",
        ),
        Approach("cjk_char", _module_build, _module_search(DEFAULT_STRATEGY), "db.kb_search as shipped"),
        Approach("cjk_char_or_only", _module_build, _module_search(replace(DEFAULT_STRATEGY, and_first_max_terms=0))),
        Approach("cjk_char_no_pairs", _module_build, _module_search(replace(DEFAULT_STRATEGY, pairs=False))),
        Approach("cjk_char_no_title_boost", _module_build, _module_search(replace(DEFAULT_STRATEGY, title_boost=0))),
        Approach(
            "cjk_char_equal_weights",
            _module_build,
            _module_search(replace(DEFAULT_STRATEGY, weights=(1.0, 1.0, 1.0))),
        ),
        Approach(
            "cjk_char_plain_bigrams", _module_build, _module_search(replace(DEFAULT_STRATEGY, segment=_plain_bigrams))
        ),
        Approach("cjk_char_no_prefix", _module_build, _module_search(DEFAULT_STRATEGY, prefix_last=False)),
    ]
    try:
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()

        def jieba_units(run: str) -> list[str]:
            words = [w for w in jieba.cut_for_search(run) if len(w) >= 2]
            return [w for w in words if not kb_search._ZH_STOP_SPLIT.search(w)] or ([run] if len(run) == 1 else [])

        out.append(
            Approach("cjk_char_jieba", _module_build, _module_search(replace(DEFAULT_STRATEGY, segment=jieba_units)))
        )
    except ImportError:
        pass
    return out


# -- measuring ----------------------------------------------------------------------------------------


def page_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA page_count").fetchone()[0])


def build(approach: Approach, articles: Sequence[Article]) -> tuple[sqlite3.Connection, float, float]:
    """A fresh database holding ``articles``: (connection, index build seconds, index size MiB)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    fill_articles(conn, articles)
    before = page_count(conn)
    page = int(conn.execute("PRAGMA page_size").fetchone()[0])
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    approach.build(conn)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    return conn, seconds, (page_count(conn) - before) * page / 2**20


def recall_at_k(approach: Approach, conn: sqlite3.Connection, queries: Sequence[Query]) -> float:
    return recall_of(lambda text, k: approach.search(conn, text, k), queries)


def recall_of(search: Callable[[str, int], list[int]], queries: Sequence[Query]) -> float:
    got = 0.0
    for q in queries:
        top = search(q.text, K)
        got += len(q.relevant & set(top)) / len(q.relevant)
    return got / len(queries) if queries else math.nan


def recall_summary(rec: dict[str, float], sets: dict[str, list[Query]]) -> dict[str, float]:
    """Per-language means of the sets (macro) and per-query means (pooled), and the pooled mean of every query."""
    for lang, names in LANG_SETS.items():
        rec[f"{lang}_macro"] = statistics.fmean(rec[n] for n in names)
        total = sum(len(sets[n]) for n in names)
        rec[f"{lang}_pooled"] = sum(rec[n] * len(sets[n]) for n in names) / total
    rec["all_pooled"] = sum(rec[n] * len(qs) for n, qs in sets.items()) / sum(len(qs) for qs in sets.values())
    return rec


def latency_queries(articles: Sequence[Article], n: int = 200, seed: int = 5) -> dict[str, list[str]]:
    """Typical interactive queries: single English title words, 2- and 4-character Chinese words as they
    stand in titles, mixed English + Chinese, prefixes being typed, and whole descriptions (long)."""
    rng = random.Random(seed)
    en_words: Counter[str] = Counter()
    zh: dict[int, Counter[str]] = {2: Counter(), 4: Counter()}
    for a in articles:
        if a.corpus == "kb_en":
            en_words.update(w.lower() for w in EN_WORD.findall(a.title) if w.lower() not in STOP and len(w) > 3)
        else:
            for r in CJK_RUN.findall(a.title):
                if len(r) in zh:
                    zh[len(r)][r] += 1
    zh_products = ["Teams", "Skype", "TiDB", "Rooms", "PD", "TiKV", "Exchange"]

    def pick(pool: Iterable[str]) -> list[str]:
        items = sorted(pool)
        return rng.sample(items, min(n, len(items)))

    en = pick(en_words)
    prefixes = [w[: rng.randint(2, max(2, len(w) - 1))] for w in en]
    descs = [a.description for a in articles if a.description]
    return {
        "en_word": en,
        "zh_2char": pick(zh[2]),
        "zh_4char": pick(zh[4]),
        "mixed": [f"{rng.choice(zh_products)} {w}" for w in pick(zh[2])],
        "typing_prefix": prefixes,
        "long_description": rng.sample(descs, min(n, len(descs))),
    }


def latencies(fn: Callable[[str], object], queries: Sequence[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per query (CPU time is less disturbed by other work on the machine)."""
    for q in queries[:20]:  # warm the page cache
        fn(q)
    wall, cpu = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(q)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return wall, cpu


def pct(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


@dataclass
class RunResult:
    recall: dict[str, dict[str, float]] = field(default_factory=dict)
    build_s: dict[str, float] = field(default_factory=dict)
    size_mib: dict[str, float] = field(default_factory=dict)
    latency: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    suggest_recall: dict[str, float] = field(default_factory=dict)
    index_article_ms: float = math.nan
    loadavg: float = math.nan


LANG_SETS = {"en": ("en_desc", "en_title"), "zh": ("zh_desc", "zh_title", "tidb_desc", "tidb_faq")}
LATENCY_APPROACHES = ("naive", "unicode61", "trigram", "cjk_char")


def recall_run(real: Sequence[Article], sets: dict[str, list[Query]], chosen: Sequence[str]) -> RunResult:
    """recall@5 of every approach on the real collection (copies would compete with their originals)."""
    res = RunResult()
    built: dict[Callable[[sqlite3.Connection], None], sqlite3.Connection] = {}
    for ap in approaches():
        if chosen and ap.name not in chosen:
            continue
        conn = built.get(ap.build)
        if conn is None:
            conn, _, _ = build(ap, real)
            built[ap.build] = conn
        rec = recall_summary({name: recall_at_k(ap, conn, qs) for name, qs in sets.items()}, sets)
        res.recall[ap.name] = rec
        print(f"recall {ap.name}: {json.dumps({k: round(v, 3) for k, v in rec.items()})}", file=sys.stderr)
        if ap.name == "cjk_char":
            for name in ("en_desc", "zh_desc", "tidb_desc"):
                hits = sum(
                    bool(q.relevant & {h.id for h in kb_search.suggest_for_text(conn, q.text, K)}) for q in sets[name]
                )
                res.suggest_recall[name] = hits / len(sets[name])
    for c in built.values():
        c.close()
    return res


def speed_run(real: Sequence[Article], big: Sequence[Article], chosen: Sequence[str]) -> RunResult:
    """Index build time, index size and latency over the padded collection."""
    res = RunResult(loadavg=os.getloadavg()[0])
    lat_q = latency_queries(real)
    for ap in approaches():
        if ap.name not in LATENCY_APPROACHES or (chosen and ap.name not in chosen):
            continue
        conn, seconds, size = build(ap, big)
        res.build_s[ap.name], res.size_mib[ap.name] = seconds, size
        fns: dict[str, tuple[Callable[[str], object], Sequence[str]]]
        if ap.name == "cjk_char":

            def search(q: str, c: sqlite3.Connection = conn) -> object:
                return kb_search.search_articles(c, q)

            def suggest(q: str, c: sqlite3.Connection = conn) -> object:
                return kb_search.suggest_for_text(c, q)

            fns = {k: (search, v) for k, v in lat_q.items()}
            fns["suggest_long"] = (suggest, lat_q["long_description"])
            t0 = time.perf_counter()
            for rowid in range(1, 201):
                kb_search.index_article(conn, rowid)
            res.index_article_ms = (time.perf_counter() - t0) * 1000 / 200
        else:

            def other(q: str, c: sqlite3.Connection = conn, s: Approach = ap) -> object:
                return s.search(c, q, 10)

            fns = {k: (other, v) for k, v in lat_q.items()}
        res.latency[ap.name] = {}
        for kind, (fn, queries) in fns.items():
            wall, cpu = latencies(fn, queries)
            res.latency[ap.name][kind] = {
                "p50_ms": statistics.median(wall),
                "p95_ms": pct(wall, 95),
                "cpu_p50_ms": statistics.median(cpu),
                "cpu_p95_ms": pct(cpu, 95),
            }
        p95 = {kind: round(v["p95_ms"], 1) for kind, v in res.latency[ap.name].items()}
        print(f"speed {ap.name}: build {seconds:.1f}s, p95 ms {json.dumps(p95)}", file=sys.stderr)
        conn.close()
    return res


# -- PostgreSQL ---------------------------------------------------------------------------------------------------

# The columns the search reads, as db/pg/schema.py has them (without the foreign key to tickets), and the search's
# table and GIN index exactly as the migration creates them.
PG_ARTICLES_DDL = """
CREATE TABLE kb_articles (
  id BIGINT PRIMARY KEY, ref TEXT UNIQUE, title TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('draft','published')),
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL
)
"""


@contextmanager
def pg_connection(url: str | None) -> Iterator[psycopg.Connection[Any]]:
    """A connection working in a scratch schema of ``url``'s database, or of a throwaway cluster's (url None)."""
    import psycopg

    from db.pg import schema as pg_schema

    with contextmanager(_pg_url)(url) as target, psycopg.connect(target, autocommit=True) as conn:
        scratch = f"kb_bench_{os.getpid()}"
        conn.execute(f"CREATE SCHEMA {scratch}")
        try:
            conn.execute(f"SET search_path TO {scratch}")
            conn.execute("SET jit = off")  # as the store's connections
            conn.execute(PG_ARTICLES_DDL)
            conn.execute(pg_schema.V1_KB_SEARCH)
            conn.execute(pg_schema.V4)
            yield conn
        finally:
            conn.execute(f"DROP SCHEMA {scratch} CASCADE")


def _pg_url(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    from tests.pg import cluster_running

    with cluster_running() as cluster:
        name = cluster.new_database(template=None)
        yield cluster.url(name)


def pg_fill(conn: psycopg.Connection[Any], articles: Sequence[Article]) -> tuple[float, float]:
    """kb_articles holding ``articles``, indexed by db/pg/kb_search.py: (index build seconds, index size MiB)."""
    from db.pg import kb_search as pg_kb

    conn.execute("TRUNCATE kb_articles CASCADE")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO kb_articles (id, ref, title, body, tags, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, '2024-01-01', '2024-01-01')",
            [(a.rowid, a.ref, a.title, a.body, a.tags) for a in articles],
        )
    t0 = time.perf_counter()
    with conn.transaction():
        pg_kb.reindex_all(conn)
    conn.execute("ANALYZE kb_articles, kb_search, kb_postings, kb_delta")
    seconds = time.perf_counter() - t0
    row = conn.execute(
        "SELECT pg_total_relation_size('kb_search') + pg_total_relation_size('kb_postings')"
        " + pg_total_relation_size('kb_delta')"
    ).fetchone()
    return seconds, (row[0] if row else 0) / 2**20


def pg_recall_run(conn: psycopg.Connection[Any], real: Sequence[Article], sets: dict[str, list[Query]]) -> RunResult:
    """recall@5 of the shipped search on PostgreSQL, as ``recall_run`` measures SQLite's ``cjk_char``."""
    from db.pg import kb_search as pg_kb

    pg_fill(conn, real)
    res = RunResult()

    def search(text: str, k: int) -> list[int]:
        return [h.id for h in pg_kb.search_articles(conn, text, k, snippets=False)]

    res.recall["cjk_char"] = recall_summary({name: recall_of(search, qs) for name, qs in sets.items()}, sets)
    print(
        f"recall postgresql: {json.dumps({k: round(v, 3) for k, v in res.recall['cjk_char'].items()})}", file=sys.stderr
    )
    for name in ("en_desc", "zh_desc", "tidb_desc"):
        hits = sum(bool(q.relevant & {h.id for h in pg_kb.suggest_for_text(conn, q.text, K)}) for q in sets[name])
        res.suggest_recall[name] = hits / len(sets[name])
    return res


def pg_speed_run(conn: psycopg.Connection[Any], real: Sequence[Article], big: Sequence[Article]) -> RunResult:
    """Index build time, size and latency of the shipped search on PostgreSQL over the padded collection."""
    from db.pg import kb_search as pg_kb

    res = RunResult(loadavg=os.getloadavg()[0])
    seconds, size = pg_fill(conn, big)
    res.build_s["cjk_char"], res.size_mib["cjk_char"] = seconds, size
    lat_q = latency_queries(real)

    def search(q: str) -> object:
        return pg_kb.search_articles(conn, q)

    def suggest(q: str) -> object:
        return pg_kb.suggest_for_text(conn, q)

    fns: dict[str, tuple[Callable[[str], object], Sequence[str]]] = {k: (search, v) for k, v in lat_q.items()}
    fns["suggest_long"] = (suggest, lat_q["long_description"])
    t0 = time.perf_counter()
    with conn.transaction():
        for rowid in range(1, 201):
            pg_kb.index_article(conn, rowid)
    res.index_article_ms = (time.perf_counter() - t0) * 1000 / 200
    res.latency["cjk_char"] = {}
    for kind, (fn, queries) in fns.items():
        wall, cpu = latencies(fn, queries)
        res.latency["cjk_char"][kind] = {
            "p50_ms": statistics.median(wall),
            "p95_ms": pct(wall, 95),
            "cpu_p50_ms": statistics.median(cpu),
            "cpu_p95_ms": pct(cpu, 95),
        }
    p95 = {kind: round(v["p95_ms"], 1) for kind, v in res.latency["cjk_char"].items()}
    print(f"speed postgresql: build {seconds:.1f}s, p95 ms {json.dumps(p95)}", file=sys.stderr)
    return res


def engines(sqlite: dict[str, Any], postgres: dict[str, Any]) -> dict[str, Any]:
    """The shipped search's figures on both engines, side by side."""

    def pick(report: dict[str, Any]) -> dict[str, Any]:
        rec = report["recall_at_5"]["cjk_char"]
        lat = report["latency_10k"]["cjk_char"]
        return {
            "recall_at_5": {k: rec[k] for k in ("all_pooled", "en_macro", "en_pooled", "zh_macro", "zh_pooled")},
            "suggest_recall_at_5": report["suggest_for_text_recall_at_5"],
            "p50_ms": {kind: v["p50_ms"] for kind, v in lat.items()},
            "p95_ms": {kind: v["p95_ms"] for kind, v in lat.items()},
            "p95_ms_worst_kind": max(v["p95_ms"] for v in lat.values()),
            "index_build_s_10k": report["index_build_s_10k"]["cjk_char"],
            "index_size_mib_10k": report["index_size_mib_10k"]["cjk_char"],
        }

    return {"sqlite": pick(sqlite), "postgresql": pick(postgres)}


def median_of(values: Sequence[float]) -> float:
    return round(statistics.median(values), 3)


def merge(recall: RunResult, runs: Sequence[RunResult]) -> dict[str, Any]:
    first = runs[0]
    return {
        "recall_at_5": {ap: {k: round(v, 3) for k, v in rec.items()} for ap, rec in recall.recall.items()},
        "suggest_for_text_recall_at_5": {k: round(v, 3) for k, v in recall.suggest_recall.items()},
        "index_build_s_10k": {ap: median_of([r.build_s[ap] for r in runs]) for ap in first.build_s},
        "index_size_mib_10k": {ap: median_of([r.size_mib[ap] for r in runs]) for ap in first.size_mib},
        "index_article_ms": median_of([r.index_article_ms for r in runs]),
        "latency_10k": {
            ap: {
                kind: {m: median_of([r.latency[ap][kind][m] for r in runs]) for m in first.latency[ap][kind]}
                for kind in first.latency[ap]
            }
            for ap in first.latency
        },
        "loadavg_1min_at_speed_runs": [round(r.loadavg, 2) for r in runs],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("KB_BENCH_DATA", DEFAULT_DATA)))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=0, help="queries per relevance set (0 = all)")
    parser.add_argument("--only", nargs="*", default=[], help="approach names to run (default: all)")
    parser.add_argument("--out", type=Path)
    pg = parser.add_mutually_exclusive_group()
    pg.add_argument("--pg", metavar="URL", help="also run the shipped search on this PostgreSQL database")
    pg.add_argument("--pg-cluster", action="store_true", help="also run it on a throwaway PostgreSQL 15 cluster")
    args = parser.parse_args(argv)
    if not (args.data / "kb_en" / "articles.jsonl").exists():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    real = load(args.data)
    big = padded(real, PAD_TO)
    full_sets = relevance_sets(real, args.data)
    sets = {k: sample(v, args.sample) for k, v in full_sets.items()}
    recall = recall_run(real, sets, args.only)
    runs = [speed_run(real, big, args.only) for _ in range(args.runs)]
    postgres: dict[str, Any] | None = None
    if args.pg or args.pg_cluster:
        with pg_connection(args.pg) as conn:
            pg_recall = pg_recall_run(conn, real, sets)
            pg_runs = [pg_speed_run(conn, real, big) for _ in range(args.runs)]
            row = conn.execute("SHOW server_version").fetchone()
            postgres = {"server": row[0] if row else "", **merge(pg_recall, pg_runs)}
    report = {
        "sqlite": sqlite3.sqlite_version,
        "articles_real": len(real),
        "articles_padded": len(big),
        "runs": args.runs,
        "queries_per_set": {k: len(v) for k, v in sets.items()},
        "queries_available": {k: len(v) for k, v in full_sets.items()},
        "method": {
            "recall": "recall@5 over the real collection (all three corpora, 4,095 articles, one index); "
            + (relevance_sets.__doc__ or "").strip().replace("\n", " "),
            "language_macro": "mean of the set recalls of a language: en = en_desc, en_title; "
            "zh = zh_desc, zh_title, tidb_desc, tidb_faq",
            "recall_runs": "recall is deterministic, so it is measured once; build time, size and latency are the "
            "median of --runs runs",
            "latency": "over 10,000 articles (the real ones plus perturbed copies), 200 queries per kind, top 10; "
            "cjk_char is the shipped search_articles (snippets, drafts filtered, KbHit models) and suggest_for_text; "
            "the other approaches return ids only, so they do less work; wall-clock and CPU time, as other work "
            "may share the machine (see loadavg)",
            "approaches": (__doc__ or "").split("Approaches compared")[1].strip(),
        },
        **merge(recall, runs),
    }
    if postgres is not None:
        report["postgresql"] = postgres
        if "cjk_char" in report["recall_at_5"] and "cjk_char" in report["latency_10k"]:
            report["engines"] = engines(report, postgres)
    report["elapsed_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
