"""The knowledge search on PostgreSQL (db/pg/kb_search.py) against a real PostgreSQL 15: the same answers as SQLite's
FTS5 search for tests/test_kb_search.py's bilingual articles, hostile query text never an error, the index kept
current by the store and used by the planner."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import kb_search as sqlite_kb
from db.kb_search import Match, Phrase
from db.pg import kb_search as pg_kb
from db.pg.porter import stem
from db.pg.store import PgStore
from db.schema import run_script
from tests.pg import Cluster
from tests.test_kb_search import ARTICLES, ARTICLES_DDL, HOSTILE, _insert

AT = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(pg_cluster: Cluster) -> Iterator[PgStore]:
    """tests/test_kb_search.py's articles, written through PgStore (ids 1..12 as there)."""
    name = pg_cluster.new_database()
    pg = PgStore(pg_cluster.url(name))
    for aid, (title, body, tags, status) in ARTICLES.items():
        added = pg.insert_article({"title": title, "body": body, "tags": tags, "status": status}, AT)
        assert added.id == aid
    yield pg
    pg.close()
    pg_cluster.drop_database(name)


@pytest.fixture(scope="module")
def sqlite_conn() -> Iterator[sqlite3.Connection]:
    """The same articles in SQLite's FTS5 index."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(ARTICLES_DDL)
    run_script(db, sqlite_kb.KB_FTS_SQL)
    for aid, (title, body, tags, status) in ARTICLES.items():
        _insert(db, aid, title, body, tags, status)
    yield db
    db.close()


def ids(hits: list[sqlite_kb.KbHit]) -> list[int]:
    return [h.id for h in hits]


# -- the same answers as SQLite ------------------------------------------------------------------------------------

QUERIES = [
    "printing",
    "printer",
    "prin",
    "print jobs",
    "password reset",
    "reset passwords",
    "Outlook credentials",
    "credential",
    "screen sharing teams",
    "teams",
    "ＴＥＡＭＳ",
    "vpn connect home",
    "connecting",
    "网络",
    "打印机",
    "卡纸",
    "无线网络",
    "网络连接",
    "Teams 会议",
    "会议室 teams",
    "邮箱 满",
    "邮箱容量",
    "如何申请安装软件",
    "电脑无法连接网络怎么办",
    "firmware",
    "the printer on floor 3 is not printing and the queue is stuck",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_same_articles_in_the_same_order_as_on_sqlite(
    store: PgStore, sqlite_conn: sqlite3.Connection, query: str
) -> None:
    for include_drafts in (False, True):
        sqlite = sqlite_kb.search_articles(sqlite_conn, query, limit=3, include_drafts=include_drafts)
        postgres = store.search_articles(query, limit=3, include_drafts=include_drafts)
        assert ids(postgres) == ids(sqlite), (query, include_drafts)
        scores = [h.score for h in postgres]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "text",
    [
        "Printer on floor 3 stopped printing\nThe queue has stuck jobs since this morning.",
        "邮箱满了，收不到新邮件",
        "Teams 会议里无法共享屏幕",
    ],
)
def test_suggestions_match_sqlites(store: PgStore, sqlite_conn: sqlite3.Connection, text: str) -> None:
    assert ids(store.suggest_articles(text, limit=2)) == ids(sqlite_kb.suggest_for_text(sqlite_conn, text, limit=2))


def test_a_hit_has_sqlites_shape_and_a_marked_snippet(store: PgStore, sqlite_conn: sqlite3.Connection) -> None:
    (hit,) = store.search_articles("卡纸", limit=1)
    assert hit.title == "打印机卡纸怎么办" and hit.status == "published" and hit.ref is None
    assert "«卡纸»" in hit.snippet and "\x1f" not in hit.snippet
    (sqlite_hit,) = sqlite_kb.search_articles(sqlite_conn, "卡纸", limit=1)
    assert set(hit.model_dump()) == set(sqlite_hit.model_dump())
    assert hit.snippet == sqlite_hit.snippet  # a short body: the whole of it, marked alike
    english = store.search_articles("spooler", limit=1)[0]
    assert "«spooler»" in english.snippet and "](" not in english.snippet  # the link's target is no text
    assert [text for text, is_match in english.spans() if is_match] == ["spooler"]


def test_a_snippet_of_a_long_body_is_cut_around_the_match() -> None:
    body = " ".join(f"word{n}" for n in range(200)) + " the printer jammed " + " ".join(f"x{n}" for n in range(200))
    phrases = [(pg_kb.tokens("printer"), False)]
    text = pg_kb.snippet(body, phrases)
    assert text.startswith("…") and text.endswith("…") and "«printer»" in text
    assert len(text.split()) <= 34


def test_words_stem_as_fts5s_porter_does() -> None:
    assert [stem(w) for w in ("printing", "printers", "connection", "relational", "ponies", "hopping")] == [
        "print",
        "printer",
        "connect",
        "relat",
        "poni",
        "hop",
    ]
    assert pg_kb.tokens(sqlite_kb.prepare_text("Café ＴＥＡＭＳ 打印机 tidb_ddl")) == [
        "cafe",
        "team",
        "打",
        "印",
        "机",
        "tidb",
        "ddl",
    ]


# -- hostile text -----------------------------------------------------------------------------------------------

TSQUERY_SYNTAX = [
    "'",
    "''",
    "'a'",
    "&",
    "|",
    "!",
    "!!x",
    ":*",
    "a:*",
    "a:*b",
    "<->",
    "a <-> b",
    "<2>",
    "a <10> b",
    "\\",
    "\\'",
    "a\\",
    "a & b | !c",
    "(a | b) & !(c",
    "'a' & 'b':*A",
    "x:AB",
    "\x00",
    "中'文",
    "打印机 & !卡纸",
    "中" * 3000,
    "x" * 5000,
    "word " * 2000,
]


@pytest.mark.parametrize("query", HOSTILE + TSQUERY_SYNTAX, ids=range(len(HOSTILE) + len(TSQUERY_SYNTAX)))
def test_hostile_queries_never_raise(store: PgStore, query: str) -> None:
    for include_drafts in (False, True):
        assert isinstance(store.search_articles(query, include_drafts=include_drafts), list)
    assert isinstance(store.suggest_articles(query), list)


def test_syntax_is_searched_literally(store: PgStore) -> None:
    # "printer" or "vpn", as words: & ! | :* are no operators
    assert set(ids(store.search_articles("printer & !vpn"))) == {1, 2}
    assert set(ids(store.search_articles("vpn | printer:*"))) == {1, 2}
    match = Match((Phrase(("it's",)), Phrase(("a\\b",), prefix=True)), every=True)
    literal = " & ".join(pg_kb._phrase_query(pg_kb._phrase_lexemes(p), p.prefix) for p in match.phrases)
    assert literal == "('it' <-> 's') & ('a' <-> 'b':*)"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("'&|!:*<->\\()AB1 网络x\x00\t")), max_size=60))
def test_syntax_soup_never_raises(store: PgStore, text: str) -> None:
    assert isinstance(store.search_articles(text), list)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_never_raises(store: PgStore, text: str) -> None:
    assert isinstance(store.search_articles(text, include_drafts=True), list)


def test_a_hostile_article_is_indexed_and_found(pg_db: str) -> None:
    pg = PgStore(pg_db)
    try:
        text = "it's a\\b 'quoted' & | ! :* <-> \x1f é中文😀 " + "y" * 3000 + " " + " ".join(["w"] * 20000) + " tail"
        article = pg.insert_article({"title": "Hostile ' \\ title", "body": text, "tags": "a,'b',\\"}, AT)
        assert ids(pg.search_articles("hostile title")) == [article.id]
        assert ids(pg.search_articles("中文")) == [article.id]
        assert ids(pg.search_articles("tail")) == [article.id]  # past the last position, still found
    finally:
        pg.close()


# -- the index kept by the store, and used ----------------------------------------------------------------------


def test_an_update_reindexes_and_a_delete_removes(pg_db: str) -> None:
    pg = PgStore(pg_db)
    try:
        article = pg.insert_article({"title": "Scanner jams", "body": "Clean the rollers."}, AT)
        assert ids(pg.search_articles("rollers")) == [article.id]
        pg.update_article(article.id, {"body": "Replace the feed tray."}, AT)
        assert pg.search_articles("rollers") == [] and ids(pg.search_articles("tray")) == [article.id]
        counted = dict(pg._tuples("SELECT term, docs FROM kb_terms WHERE term IN ('', 'roller', 'trai')"))
        assert counted == {"": 1, "roller": 0, "trai": 1}  # the idf's counts follow the rewrite
        with pg.transaction():
            pg._exec("DELETE FROM kb_articles WHERE id = ?", [article.id])
        assert pg._tuples("SELECT count(*) FROM kb_search")[0][0] == 0
        with pg.transaction():
            pg._exec("INSERT INTO kb_articles (title, body, created_at, updated_at) VALUES ('Toner', 'low', '', '')")
            assert pg_kb.reindex_all(pg.conn) == 1
        assert [h.title for h in pg.search_articles("toner")] == ["Toner"]
        assert dict(pg._tuples("SELECT term, docs FROM kb_terms WHERE term IN ('', 'toner', 'tray')")) == {
            "": 1,
            "toner": 1,
        }
    finally:
        pg.close()


QUERIES_KEPT = ["printer", "打印", "打印机卡纸", "teams 会议", "prin", "spooler service", "网络", "vpn"]


def _answers(pg: PgStore, drafts: bool = True) -> list[list[tuple[int, float]]]:
    return [[(h.id, round(h.score, 9)) for h in pg.search_articles(q, include_drafts=drafts)] for q in QUERIES_KEPT]


def test_the_index_kept_article_by_article_answers_as_one_built_anew(
    pg_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Postings of articles written since the last merge sit in kb_delta; merges fold them into the lists and drop
    the entries of versions replaced. Whatever the mix, the answers (ids and scores) are those of an index built
    from scratch."""
    monkeypatch.setattr(pg_kb, "_MERGE_MIN", 40)  # a merge every few articles
    pg = PgStore(pg_db)
    try:
        for title, body, tags, status in ARTICLES.values():
            pg.insert_article({"title": title, "body": body, "tags": tags, "status": status}, AT)
        pg.update_article(3, {"body": "打印机卡纸: open the tray, printer spooler restarted"}, AT)
        pg.update_article(5, {"title": "VPN 网络 printer"}, AT)
        pg.update_article(3, {"title": "Teams 会议 printer"}, AT)
        with pg.transaction():
            pg._exec("UPDATE kb_articles SET status = 'draft' WHERE id = 7")
        merged = pg._tuples("SELECT main_postings, delta_postings FROM kb_stats")[0]
        assert merged[0] > 0  # merges happened along the way
        kept = _answers(pg)
        assert any(7 in [i for i, _ in answer] for answer in kept)
        assert all(7 not in [i for i, _ in answer] for answer in _answers(pg, drafts=False))
        with pg.transaction():
            pg_kb.merge(pg.conn)
        assert pg._tuples("SELECT count(*) FROM kb_delta")[0][0] == 0
        assert _answers(pg) == kept
        with pg.transaction():
            pg_kb.reindex_all(pg.conn)
        assert _answers(pg) == kept
    finally:
        pg.close()


def test_a_phrase_counts_only_where_its_words_stand_side_by_side(pg_db: str) -> None:
    """The lists say which articles hold all of a phrase's words; the tsvector says whether they stand together. Many
    articles that hold the words apart (and often: ranked first by the lists) do not hide the one that holds the
    phrase."""
    pg = PgStore(pg_db)
    try:
        for n in range(60):
            pg.insert_article({"title": f"Note {n}", "body": "printer " * 5 + "and a driver " * 5}, AT)
        together = pg.insert_article({"title": "Setup", "body": "Install the printer driver first."}, AT)
        engine = pg_kb.PgEngine(pg.conn)
        weights = sqlite_kb.DEFAULT_STRATEGY.weights
        phrase = Match((Phrase(("printer", "driver")),), every=True)
        assert [r[0] for r in engine.candidates(phrase, 1, False, weights)] == [together.id]
        assert [r[0] for r in engine.candidates(phrase, 10, False, weights)] == [together.id]
        # Any of the words: the phrase adds to the score only where it stands.
        loose = Match((Phrase(("printer",)), Phrase(("driver",)), Phrase(("printer", "driver"))), every=False)
        rows = engine.candidates(loose, 100, False, weights)
        assert len(rows) == 61
        chinese = Match((Phrase(("打印机",)),), every=True)
        apart = pg.insert_article({"title": "打印 和 印机", "body": "两个词"}, AT)
        side = pg.insert_article({"title": "打印机", "body": "一个词"}, AT)
        assert [r[0] for r in engine.candidates(chinese, 10, False, weights)] == [side.id]
        assert apart.id not in [r[0] for r in engine.candidates(chinese, 10, False, weights)]
    finally:
        pg.close()


def test_the_search_reads_the_query_terms_lists_by_index(pg_db: str) -> None:
    pg = PgStore(pg_db)
    try:
        with pg.transaction():
            pg._exec(
                "INSERT INTO kb_articles (id, title, body, created_at, updated_at)"
                " SELECT g, 'Article ' || g, words || ' token' || g, '', '' FROM generate_series(1, 2000) g,"
                " LATERAL (SELECT string_agg(md5((g * 100 + n)::text), ' ') AS words FROM generate_series(1, 40) n) w"
            )
            pg_kb.reindex_all(pg.conn)
        pg._exec("ANALYZE kb_articles, kb_search, kb_postings, kb_delta")
        sql = "EXPLAIN " + pg_kb._score_sql([[1]], [1.0], 40.0, False)
        plan = "\n".join(r[0] for r in pg.conn.execute(sql, {"lo": ["token42"], "hi": ["token42\x01"], "cut": 30}))
        assert "kb_postings_pkey" in plan and "Seq Scan on kb_postings" not in plan, plan
        assert "kb_search" not in plan, plan  # no article's document is read to rank
        assert ids(pg.search_articles("token42 ")) == [42]  # (no prefix: the word is typed out)
        assert len(pg.search_articles("token4")) == 10  # a prefix: token4, token40…
    finally:
        pg.close()


def test_a_database_from_before_the_posting_lists_is_indexed_as_it_migrates(pg_cluster: Cluster) -> None:
    """Schema v4 builds the lists from the articles already there (version 3 ranked from the tsvector alone)."""
    import psycopg

    from db.pg import schema

    name = pg_cluster.new_database(template=None)
    url = pg_cluster.url(name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for step in schema.MIGRATIONS[:3]:
                with conn.transaction():
                    conn.execute(schema.VERSION_TABLE)
                    step(conn)
                    conn.execute("INSERT INTO helpdesk_schema VALUES (%s, '')", [schema.MIGRATIONS.index(step) + 1])
            conn.execute(
                "INSERT INTO kb_articles (title, body, created_at, updated_at)"
                " VALUES ('Printer jams', 'Open the tray.', '', ''), ('VPN 断开', '重新连接网络。', '', '')"
            )
        pg = PgStore(url)
        try:
            assert pg._tuples("SELECT max(version) FROM helpdesk_schema")[0][0] == schema.LATEST == 4
            assert [h.title for h in pg.search_articles("printer")] == ["Printer jams"]
            assert [h.title for h in pg.search_articles("网络")] == ["VPN 断开"]
        finally:
            pg.close()
    finally:
        pg_cluster.drop_database(name)
