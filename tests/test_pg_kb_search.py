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
    assert pg_kb.tsquery(match) == "('it' <-> 's') & ('a' <-> 'b':*)"


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


def test_the_planner_uses_the_gin_index(pg_db: str) -> None:
    pg = PgStore(pg_db)
    try:
        with pg.transaction():
            pg._exec(
                "INSERT INTO kb_articles (id, title, body, created_at, updated_at)"
                " SELECT g, 'Article ' || g, words || ' token' || g, '', '' FROM generate_series(1, 10000) g,"
                " LATERAL (SELECT string_agg(md5((g * 100 + n)::text), ' ') AS words FROM generate_series(1, 40) n) w"
            )
            pg._exec("INSERT INTO kb_search SELECT id, to_tsvector('simple', body), '{}' FROM kb_articles")
        pg._exec("ANALYZE kb_articles, kb_search")
        match = Match((Phrase(("token42",)),), every=False)
        sql = "EXPLAIN " + pg_kb._CANDIDATES_SQL.format(score="1")
        params = {"match": pg_kb.tsquery(match), "drafts": False, "pool": 30}
        plan = "\n".join(r[0] for r in pg.conn.execute(sql, params).fetchall())
        assert "kb_search_document" in plan, plan
        assert ids(pg.search_articles("token42 ")) == [42]  # (no prefix: the word is typed out)
    finally:
        pg.close()
