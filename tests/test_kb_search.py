"""Knowledge-base search on a small bilingual relevance set written here (no external data)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db.kb_search import (
    KB_FTS_SQL,
    KbHit,
    index_article,
    reindex_all,
    search_articles,
    snippet_spans,
    suggest_for_text,
    unindex_article,
)
from db.schema import KB_ARTICLES_DDL, run_script

ARTICLES_DDL = KB_ARTICLES_DDL  # the table exactly as the migration creates it

# id: (title, body, tags, status)
ARTICLES: dict[int, tuple[str, str, str, str]] = {
    1: (
        "Printer not printing",
        "If the office printer on floor 3 stops printing, open the queue and cancel stuck jobs.\n\n"
        "Then restart the **print spooler** service ([how](https://example.com/spooler)) and send a test page.",
        "printing,hardware",
        "published",
    ),
    2: (
        "VPN client cannot connect",
        "When the VPN client fails to connect from home, check the date and time, then renew the certificate.",
        "vpn,network",
        "published",
    ),
    3: (
        "Reset a forgotten password",
        "Users can reset their own password at the self-service portal. Locked accounts unlock after 15 minutes.",
        "account",
        "published",
    ),
    4: (
        "Outlook keeps asking for credentials",
        "Outlook prompts again and again when the cached credentials are stale. Remove them in Credential Manager.",
        "email,outlook",
        "published",
    ),
    5: (
        "Screen sharing fails in Teams meetings",
        "Screen sharing in a Teams meeting needs the desktop client; the web client shares a single tab only.",
        "teams",
        "published",
    ),
    6: (
        "网络连接故障排查",
        "如果电脑无法连接网络，请先检查网线是否插好，然后重启路由器。仍然不行时，请联系服务台。",
        "网络",
        "published",
    ),
    7: (
        "打印机卡纸怎么办",
        "打印机提示卡纸时，请打开前盖，轻轻取出纸张，不要用力拉扯。",
        "硬件",
        "published",
    ),
    8: (
        "会议室设备使用说明",
        "在会议室使用Teams会议时，如果无法共享屏幕，请检查显示器的连接线，并确认已登录客户端。",
        "会议室,teams",
        "published",
    ),
    9: (
        "邮箱容量已满",
        "当邮箱容量超过限制时，将无法接收新邮件。请删除旧邮件或者申请扩容。",
        "邮件",
        "published",
    ),
    10: (
        "无线网络设置指南",
        "连接公司无线网络需要输入域账号和密码。访客请使用访客网络，不要连接办公网络。",
        "网络,wifi",
        "published",
    ),
    11: (
        "Printer firmware upgrade",
        "Upgrade the firmware of the floor printers during the maintenance window.",
        "printing",
        "draft",
    ),
    12: (
        "软件安装申请流程",
        "安装新软件前需要提交申请，由部门经理审批后，IT 部门会远程安装。",
        "软件",
        "published",
    ),
}


def _insert(conn: sqlite3.Connection, aid: int, title: str, body: str, tags: str, status: str) -> None:
    conn.execute(
        "INSERT INTO kb_articles (id, title, body, tags, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, '2024-01-01', '2024-01-01')",
        (aid, title, body, tags, status),
    )
    index_article(conn, aid)


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(ARTICLES_DDL)
    run_script(db, KB_FTS_SQL)
    db.execute("BEGIN")
    for aid, (title, body, tags, status) in ARTICLES.items():
        _insert(db, aid, title, body, tags, status)
    db.execute("COMMIT")
    yield db
    db.close()


def ids(hits: list[KbHit]) -> list[int]:
    return [h.id for h in hits]


# -- English ------------------------------------------------------------------------------------------


def test_english_stemming_matches_other_forms(conn: sqlite3.Connection) -> None:
    # No article says "printed" or "prints": the stemmer maps them to "print" (printing, print spooler).
    assert ids(search_articles(conn, "printed", prefix_last=False))[:1] == [1]
    assert ids(search_articles(conn, "prints", prefix_last=False))[:1] == [1]
    # "printers" -> "printer" (the title of article 1).
    assert 1 in ids(search_articles(conn, "printers", prefix_last=False))
    assert search_articles(conn, "spoolers", prefix_last=False)[0].id == 1


def test_title_ranks_above_body(conn: sqlite3.Connection) -> None:
    _insert(conn, 13, "Renew the Wi-Fi certificate", "Open Settings, choose Wi-Fi, then Renew.", "", "published")
    body = "Check the certificate store. An expired certificate, a revoked certificate or a missing certificate."
    _insert(conn, 14, "Network checklist", body, "", "published")
    assert ids(search_articles(conn, "certificate", prefix_last=False))[:2] == [13, 14]
    assert ids(search_articles(conn, "wi-fi"))[0] == 13


def test_all_terms_before_some(conn: sqlite3.Connection) -> None:
    hits = search_articles(conn, "vpn certificate", prefix_last=False)
    assert ids(hits)[0] == 2
    # Some terms still find something: "certificate" alone matches 2, "meeting" matches 5 and 8.
    both = ids(search_articles(conn, "certificate meeting", prefix_last=False))
    assert {2, 5} <= set(both)
    scores = [h.score for h in search_articles(conn, "printer client sharing", prefix_last=False)]
    assert scores == sorted(scores, reverse=True)


def test_prefix_of_last_word_while_typing(conn: sqlite3.Connection) -> None:
    assert 1 in ids(search_articles(conn, "spoo"))
    assert 2 in ids(search_articles(conn, "certif"))
    # A trailing space means the word is finished: no prefix search.
    assert search_articles(conn, "spoo ") == []
    assert search_articles(conn, "spoo", prefix_last=False) == []


# -- Chinese ------------------------------------------------------------------------------------------


def test_two_character_chinese_word_inside_sentences(conn: sqlite3.Connection) -> None:
    assert set(ids(search_articles(conn, "网络"))) == {6, 10}
    # 打印 only occurs inside 打印机, in an unsegmented sentence and title.
    assert ids(search_articles(conn, "打印")) == [7]
    assert ids(search_articles(conn, "邮件")) == [9]
    assert ids(search_articles(conn, "审批")) == [12]


def test_four_character_chinese_word(conn: sqlite3.Connection) -> None:
    assert ids(search_articles(conn, "共享屏幕"))[0] == 8
    assert ids(search_articles(conn, "邮箱容量"))[0] == 9
    assert ids(search_articles(conn, "无线网络"))[0] == 10


def test_chinese_word_not_found_across_unrelated_characters(conn: sqlite3.Connection) -> None:
    # Both characters occur (网络), but 络网 appears nowhere: a word's characters must be adjacent, in order.
    assert search_articles(conn, "络网") == []
    assert search_articles(conn, "火车站") == []


def test_mixed_english_and_chinese_query(conn: sqlite3.Connection) -> None:
    hits = search_articles(conn, "Teams 会议")
    assert ids(hits)[0] == 8
    assert "«Teams»" in hits[0].snippet or "«Teams会议»" in hits[0].snippet
    assert "会议" in "".join(text for text, match in snippet_spans(hits[0].snippet) if match)


def test_full_width_letters_match_ascii(conn: sqlite3.Connection) -> None:
    assert 8 in ids(search_articles(conn, "ＴＥＡＭＳ 会议"))


# -- drafts, snippets, suggestions -------------------------------------------------------------------


def test_drafts_excluded_unless_asked(conn: sqlite3.Connection) -> None:
    assert search_articles(conn, "firmware") == []
    hits = search_articles(conn, "firmware", include_drafts=True)
    assert ids(hits) == [11]
    assert hits[0].status == "draft"
    assert all(h.status == "published" for h in search_articles(conn, "printer"))


def test_snippet_marks_the_match(conn: sqlite3.Connection) -> None:
    hit = search_articles(conn, "spooler", prefix_last=False)[0]
    assert "«spooler»" in hit.snippet
    assert "**" not in hit.snippet and "https://" not in hit.snippet  # Markdown markup is not shown
    zh = search_articles(conn, "路由器")[0]
    assert "«路由器»" in zh.snippet
    assert "\x1f" not in zh.snippet and "\x02" not in zh.snippet
    spans = snippet_spans(zh.snippet)
    assert ("路由器", True) in spans
    assert "".join(text for text, _ in spans) == zh.snippet.replace("«", "").replace("»", "")


def test_existing_guillemets_do_not_look_like_marks(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE kb_articles SET body = 'Le menu «Fichier» puis imprimante.' WHERE id = 3")
    index_article(conn, 3)
    hit = search_articles(conn, "imprimante")[0]
    assert hit.snippet.count("«") == 1 and "«imprimante»" in hit.snippet


def test_suggest_for_ticket_text(conn: sqlite3.Connection) -> None:
    assert ids(suggest_for_text(conn, "Printer on floor 3 not printing since this morning"))[0] == 1
    assert ids(suggest_for_text(conn, "会议室的Teams无法共享屏幕"))[0] == 8
    assert ids(suggest_for_text(conn, "Hi, my mailbox is full? 邮箱满了，收不到新邮件"))[0] == 9
    assert ids(suggest_for_text(conn, "我的电脑连不上无线网络，访客网络可以"))[0] == 10
    assert all(h.status == "published" for h in suggest_for_text(conn, "printer firmware upgrade", limit=10))
    assert len(suggest_for_text(conn, "printer client network 网络 会议", limit=2)) == 2


# -- sync ---------------------------------------------------------------------------------------------


def test_update_reindexes(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE kb_articles SET title = 'Unlock an account', body = '解锁账户请拨打分机 8000。' WHERE id = 3")
    index_article(conn, 3)
    assert 3 not in ids(search_articles(conn, "password"))
    assert ids(search_articles(conn, "unlock"))[:1] == [3]
    assert ids(search_articles(conn, "分机")) == [3]
    conn.execute("UPDATE kb_articles SET status = 'draft' WHERE id = 3")
    index_article(conn, 3)
    assert search_articles(conn, "分机") == []


def test_delete_removes_from_index(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM kb_articles WHERE id = 7")  # the trigger drops the index row
    assert search_articles(conn, "打印") == []
    assert conn.execute("SELECT count(*) FROM kb_fts WHERE rowid = 7").fetchone()[0] == 0
    unindex_article(conn, 7)  # harmless when already gone
    index_article(conn, 7)  # an id without a row is removed, not an error
    assert conn.execute("SELECT count(*) FROM kb_fts").fetchone()[0] == len(ARTICLES) - 1


def test_unindex_and_reindex_all(conn: sqlite3.Connection) -> None:
    unindex_article(conn, 6)
    assert set(ids(search_articles(conn, "网络"))) == {10}
    conn.execute("BEGIN")
    assert reindex_all(conn) == len(ARTICLES)
    conn.execute("COMMIT")
    assert set(ids(search_articles(conn, "网络"))) == {6, 10}


def test_functions_do_not_commit(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")
    _insert(conn, 20, "Scanner offline", "The scanner shows offline after a firmware update.", "", "published")
    assert ids(search_articles(conn, "scanner")) == [20]
    conn.execute("ROLLBACK")
    assert search_articles(conn, "scanner") == []


def test_works_with_a_row_factory(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    index_article(conn, 1)
    assert ids(search_articles(conn, "spooler"))[:1] == [1]
    assert suggest_for_text(conn, "printer spooler")[0].id == 1


# -- hostile input ------------------------------------------------------------------------------------

HOSTILE = [
    "",
    "   ",
    "\t\n",
    '"',
    '""',
    '"unbalanced',
    "'",
    "printer AND",
    "AND",
    "OR OR OR",
    "NOT printer",
    "NEAR(printer spooler, 2)",
    "NEAR",
    "*",
    "print*",
    "^printer",
    "title:password",
    "{title body}: printer",
    "-printer",
    "+printer",
    "(",
    ")",
    "((printer",
    "printer)",
    "a:b:c",
    "🖨️ printer 😀",
    "😀",
    "\x00",
    "printer\x00spooler",
    "\x01\x02\x03\x1f\x7f",
    "网络\x00打印",
    "«»",
    "\u200b\u200d",
    "\ufeff网络",
    "é́́́",
    "ﷺ",
    "x" * 10_000,
    "网" * 10_000,
    "printer " * 2_000,
    "网络 Teams " * 1_000,
    "\"'*^:-()" * 1_250,
]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_raise(conn: sqlite3.Connection, query: str) -> None:
    for include_drafts in (False, True):
        hits = search_articles(conn, query, include_drafts=include_drafts)
        assert isinstance(hits, list)
        assert all(isinstance(h, KbHit) for h in hits)
    assert isinstance(suggest_for_text(conn, query), list)


def test_query_syntax_is_searched_literally(conn: sqlite3.Connection) -> None:
    # Words that are FTS5 operators are plain words here: no operator takes effect.
    assert 1 in ids(search_articles(conn, "printer NOT printing"))
    assert ids(search_articles(conn, "title:password"))[:1] == [3]
    assert 1 in ids(search_articles(conn, "NEAR(printer spooler)"))
    assert search_articles(conn, "printer", limit=0) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_never_raises(conn: sqlite3.Connection, text: str) -> None:
    assert isinstance(search_articles(conn, text, include_drafts=True), list)
    assert isinstance(search_articles(conn, text, prefix_last=False), list)
    assert isinstance(suggest_for_text(conn, text), list)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list('"*^:-()+ANDORNEARTX网络 \x00')), max_size=60))
def test_syntax_soup_never_raises(conn: sqlite3.Connection, text: str) -> None:
    assert isinstance(search_articles(conn, text), list)
