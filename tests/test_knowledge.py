"""The knowledge base from the CLI, and the knowledge pane beside the ticket."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import TextArea

from console.service.helpdesk import HelpdeskService
from console.tui.app import HelpdeskApp
from tests.conftest import FrozenClock, Result
from tests.test_console import settle
from widgets.knowledge_pane import KnowledgePane

Cli = Callable[..., Result]
Team = Callable[[str], HelpdeskService]

ARTICLES = [
    ("Printer shows offline", "Restart the print spooler and check the printer's IP address.", "printer"),
    ("VPN disconnects every hour", "Renew the VPN certificate; the client drops when the lease expires.", "vpn"),
    ("网络打印机脱机的处理", "在打印机面板上确认网络连接，然后重新添加打印机。", "打印"),
    ("邮箱无法接收邮件", "检查邮箱配额是否已满，清理后即可正常收信。", "邮箱"),
]


@pytest.fixture
def kb_cli(cli: Cli, tmp_path: Path) -> Cli:
    assert cli("init", "--admin", "boss", actor=None).code == 0
    assert cli("agent", "add", "li.wei").code == 0
    assert cli("agent", "add", "sue", "--role", "supervisor", "--tier", "L2").code == 0
    folder = tmp_path / "kb"
    folder.mkdir()
    for i, (title, body, tags) in enumerate(ARTICLES):
        (folder / f"a{i}.md").write_text(f"# {title}\n\n{body}\n\ntags: {tags}\n", encoding="utf-8")
    r = cli("kb", "import", str(folder), "--json")
    assert r.code == 0, r.err
    assert r.json()["imported"] == 4
    return cli


def test_kb_search_json_shape_and_languages(kb_cli: Cli) -> None:
    hits = kb_cli("kb", "search", "printing", "--json").json()
    assert hits and set(hits[0]) == {"id", "ref", "title", "score", "snippet"}
    assert hits[0]["title"] == "Printer shows offline"
    zh = kb_cli("kb", "search", "打印", "--json").json()
    assert zh and zh[0]["title"] == "网络打印机脱机的处理"
    assert "«" in zh[0]["snippet"]
    assert kb_cli("kb", "search", "邮箱", "--limit", "1", "--json").json()[0]["title"] == "邮箱无法接收邮件"


@pytest.mark.parametrize("query", ['"', "AND", "NOT OR", "NEAR(", "*", "^x", "(((", "💥", "x" * 5000, "a:b", "-"])
def test_kb_hostile_queries_never_error(kb_cli: Cli, query: str) -> None:
    r = kb_cli("kb", "search", query, "--json")
    assert r.code == 0, r.err
    assert isinstance(r.json(), list)


def test_kb_import_bad_files_named_nothing_imported(kb_cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "good.md").write_text("# Fine\n\nbody\n")
    (bad / "notitle.md").write_text("no heading here\n")
    (bad / "lines.jsonl").write_text('{"title": "ok", "body": "b"}\nnot json\n{"title": "", "body": "x"}\n')
    r = kb_cli("kb", "import", str(bad))
    assert r.code == 2
    assert "notitle.md" in r.err and "lines.jsonl:2" in r.err and "lines.jsonl:3" in r.err
    assert len(kb_cli("kb", "search", "Fine", "--json").json()) == 0


def test_kb_show_and_publish_roles(kb_cli: Cli) -> None:
    r = kb_cli("ticket", "new", "--subject", "Scanner jams", "--json", actor="li.wei")
    tid = str(r.json()["id"])
    assert (
        kb_cli("ticket", "call", tid, "--direction", "out", "--notes", "Walked them through it", actor="li.wei").code
        == 0
    )
    assert kb_cli("ticket", "resolve", tid, "--summary", "Cleaned the feed rollers", actor="li.wei").code == 0
    closed = kb_cli(
        "ticket",
        "close",
        tid,
        "--summary",
        "Cleaned the feed rollers",
        "--confirmed",
        "--confirmed-by",
        "phone",
        "--asked-anything-else",
        "--kb-needed",
        actor="li.wei",
    )
    assert closed.code == 0, closed.err
    drafts = kb_cli("kb", "drafts", "--json").json()
    assert len(drafts) == 1 and drafts[0]["status"] == "draft"
    draft_id = str(drafts[0]["id"])
    assert kb_cli("kb", "search", "feed rollers", "--json").json() == []  # drafts are not searched by default
    assert kb_cli("kb", "publish", draft_id, actor="li.wei").code == 3
    assert kb_cli("kb", "publish", draft_id, actor="sue").code == 0
    assert kb_cli("kb", "search", "feed rollers", "--json").json()[0]["id"] == int(draft_id)
    shown = kb_cli("kb", "show", draft_id, "--json").json()
    assert shown["status"] == "published" and "Cleaned the feed rollers" in shown["body"]
    events = json.loads(kb_cli("ticket", "show", tid, "--json").out)["events"]
    assert events[-1]["kind"] == "kb_published"


@pytest.fixture
def kb_team(team: Team) -> HelpdeskService:
    boss = team("boss")
    for title, body, tags in ARTICLES:
        boss.add_article(title, body, tags=tags)
    li = team("li.wei")
    li.create_ticket("打印机脱机，无法打印", "三楼网络打印机显示脱机", customer="张伟", priority="P2")
    return li


async def test_pane_suggests_searches_opens_links_and_inserts(kb_team: HelpdeskService, clock: FrozenClock) -> None:
    li = kb_team
    app = HelpdeskApp(li, clock=lambda: clock().timestamp(), live_interval=0.2)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        pane = app.screen.query_one(KnowledgePane)
        assert pane.display
        assert pane._results and pane._results[0].title == "网络打印机脱机的处理"  # suggested before typing
        await pilot.press(*"vpn")
        await pilot.pause(0.3)
        await settle(pilot)
        assert [r.title for r in pane._results] == ["VPN disconnects every hour"]
        await pilot.press("enter")  # to the results
        await pilot.press("enter")  # open the article
        await settle(pilot)
        assert pane.has_class("-preview")
        await pilot.press("l")
        await settle(pilot)
        assert [a.title for a in li.store.linked_articles(1)] == ["VPN disconnects every hour"]
        assert li.store.events(1)[-1].kind == "kb_linked"
        await pilot.press("i")
        await settle(pilot)
        composer_text = app.screen.query_one("#composer-text", TextArea).text
        assert "VPN disconnects every hour" in composer_text and "#2" in composer_text


async def test_pane_full_width_on_narrow_terminal(kb_team: HelpdeskService, clock: FrozenClock) -> None:
    app = HelpdeskApp(kb_team, clock=lambda: clock().timestamp(), live_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app.screen.has_class("-kb-full")
        assert app.screen.query_one(KnowledgePane).size.width >= 70
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert not app.screen.query_one(KnowledgePane).display
