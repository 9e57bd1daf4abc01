"""The CLI contract on both engines: the same history's `--json` compared, command by command, on SQLite and on
PostgreSQL (tests/test_pg_service.py runs tests/test_cli.py's own tests again on PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result
from tests.pg import Cluster

Cli = Callable[..., Result]


HISTORY: list[tuple[str, tuple[str, ...]]] = [
    (
        "li.wei",
        (
            "ticket",
            "new",
            "--subject",
            "VPN drops",
            "--customer",
            "王芳",
            "--email",
            "wf@example.cn",
            "--priority",
            "P2",
            "--channel",
            "phone",
            "--at",
            "2026-03-02T09:00:00+08:00",
        ),
    ),
    ("li.wei", ("ticket", "new", "--subject", "printer", "--priority", "P4", "--at", "2026-03-02T09:01:00+08:00")),
    (
        "li.wei",
        (
            "ticket",
            "new",
            "--subject",
            "site down",
            "--priority",
            "P1",
            "--channel",
            "email",
            "--at",
            "2026-03-02T09:02:00+08:00",
        ),
    ),
    ("li.wei", ("ticket", "assign", "1", "--at", "2026-03-02T09:05:00+08:00")),
    ("li.wei", ("ticket", "reply", "1", "--body", "您好，我是李伟", "--at", "2026-03-02T09:06:00+08:00")),
    ("li.wei", ("ticket", "note", "1", "--body", 'checked "logs"\n\ttab', "--at", "2026-03-02T09:07:00+08:00")),
    ("sue", ("ticket", "assign", "3", "--at", "2026-03-02T09:08:00+08:00")),
    (
        "sue",
        (
            "ticket",
            "resolve",
            "1",
            "--summary",
            "router replaced",
            "--code",
            "hardware",
            "--at",
            "2026-03-02T10:00:00+08:00",
        ),
    ),
    (
        "sue",
        (
            "ticket",
            "close",
            "1",
            "--summary",
            "router replaced",
            "--confirmed",
            "--confirmed-by",
            "phone",
            "--asked-anything-else",
            "--followup",
            "2026-03-05",
            "--at",
            "2026-03-02T10:05:00+08:00",
        ),
    ),
]
READS: list[tuple[str, ...]] = [
    ("ticket", "show", "1"),
    ("ticket", "show", "2"),
    ("ticket", "show", "3"),
    ("ticket", "list"),
    ("ticket", "list", "--status", "closed"),
    ("ticket", "list", "--breaching"),
    ("ticket", "list", "--all"),
    ("ticket", "list", "--assignee", "sue", "--search", "SITE"),
    ("ticket", "list", "--at-risk"),
    ("agent", "list"),
]
NOW = "2026-03-02T11:00:00+08:00"


def _without(value: Any, keys: frozenset[str] = frozenset({"recorded_at"})) -> Any:
    """``recorded_at`` is when the event was written, by the database's clock on PostgreSQL: it differs by run (and
    an action's output judges the clocks at the real time: ``remaining_s`` then too)."""
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def _transcript(cli: Cli) -> list[Any]:
    out: list[Any] = []
    assert cli("init", "--admin", "boss", actor=None).code == 0
    assert cli("agent", "add", "li.wei", "--tier", "L1").code == 0
    assert cli("agent", "add", "sue", "--role", "supervisor", "--tier", "L2").code == 0
    for actor, argv in HISTORY:
        r = cli(*argv, "--json", actor=actor)
        assert r.code == 0, (argv, r.err)
        out.append(_without(r.json(), frozenset({"recorded_at", "remaining_s"})))
    for argv in READS:
        for actor in ("li.wei", "sue"):
            r = cli(*argv, "--json", "--now", NOW, actor=actor) if argv[0] == "ticket" else cli(*argv, "--json")
            assert r.code == 0, (argv, r.err)
            # the first admin's login is the one that ran init: the OS login on SQLite, the database role here;
            # agents are added at the real time
            agents = frozenset({"login", "created_at"}) if argv[0] == "agent" else frozenset()
            out.append(_without(r.json(), frozenset({"recorded_at"}) | agents))
    return out


@pytest.fixture
def both(tmp_path: Path, pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Cli]]:
    """``both(target)``: the in-process CLI on the SQLite file or the PostgreSQL database of this test."""
    from tests.conftest import run_cli

    name = pg_cluster.new_database()
    targets = {"sqlite": str(tmp_path / "helpdesk.db"), "postgresql": pg_cluster.url(name)}
    yield lambda which: run_cli(targets[which], monkeypatch)
    pg_cluster.drop_database(name)


def test_the_same_history_reads_the_same_on_both_engines(both: Callable[[str], Cli]) -> None:
    sqlite = _transcript(both("sqlite"))
    postgres = _transcript(both("postgresql"))
    for step, (a, b) in enumerate(zip(sqlite, postgres, strict=True)):
        assert json.dumps(a, ensure_ascii=False, sort_keys=True) == json.dumps(b, ensure_ascii=False, sort_keys=True), (
            step
        )


# Every other command with a --json form, on a longer history: the rest of the ticket actions (each ticket's whole
# life: waiting, escalation, calls, visits, priority, workaround, resolution, closure, reopening), satisfaction and
# follow-ups, knowledge, agents' settings, and the reads of reports, policies, macros and phrases.
AT = "2026-03-02T{}+08:00"
MORE: list[tuple[str, tuple[str, ...]]] = [
    (
        "li.wei",
        (
            "ticket",
            "new",
            "--subject",
            "邮件无法发送",
            "--customer",
            "张伟",
            "--priority",
            "P2",
            "--at",
            AT.format("09:10:00"),
        ),
    ),
    ("li.wei", ("ticket", "assign", "4", "--at", AT.format("09:11:00"))),
    ("li.wei", ("ticket", "call", "4", "--direction", "out", "--notes", "called back", "--at", AT.format("09:12:00"))),
    ("li.wei", ("ticket", "pending", "4", "--at", AT.format("09:13:00"))),
    ("li.wei", ("ticket", "resume", "4", "--at", AT.format("09:21:00"))),
    ("li.wei", ("ticket", "customer-reply", "4", "--body", "还是不行", "--at", AT.format("09:21:30"))),
    ("li.wei", ("ticket", "priority", "4", "P1", "--reason", "whole office", "--at", AT.format("09:22:00"))),
    (
        "li.wei",
        (
            *("ticket", "escalate", "4", "--to", "L2", "--reason", "mail server"),
            *("--tried", "restarted client", "--impact", "20 users", "--told", "yes", "--at", AT.format("09:23:00")),
        ),
    ),
    ("sue", ("ticket", "assign", "4", "--at", AT.format("09:24:00"))),
    ("sue", ("ticket", "visit", "4", "dispatched", "--at", AT.format("09:25:00"))),
    ("sue", ("ticket", "visit", "4", "arrived", "--notes", "on site", "--at", AT.format("09:50:00"))),
    ("sue", ("ticket", "restore", "4", "--summary", "relay switched", "--at", AT.format("10:10:00"))),
    ("sue", ("ticket", "visit", "4", "left", "--at", AT.format("10:15:00"))),
    ("sue", ("ticket", "resolve", "4", "--summary", "relay fixed", "--code", "config", "--at", AT.format("10:30:00"))),
    (
        "sue",
        (
            *("ticket", "close", "4", "--summary", "relay fixed", "--confirmed", "--confirmed-by", "email"),
            "--asked-anything-else",
            *("--followup", "2026-03-04", "--at", AT.format("10:40:00")),
        ),
    ),
    ("sue", ("csat", "4", "5", "--comment", "很快", "--at", AT.format("10:45:00"))),
    ("sue", ("followup", "1", "--note", "all good", "--at", AT.format("10:50:00"))),
    ("sue", ("ticket", "reopen", "4", "--reason", "again", "--at", AT.format("10:55:00"))),
    ("li.wei", ("agent", "zone", "Asia/Shanghai")),
]
MORE_READS: list[tuple[str, ...]] = [
    ("ticket", "show", "4"),
    ("ticket", "list", "--all"),
    ("followups",),
    ("report", "--from", "2026-03-01", "--to", "2026-03-02", "--now", NOW),
    ("report", "--from", "2026-03-01", "--to", "2026-03-02", "--now", NOW, "--by", "agent"),
    ("report", "--from", "2026-03-01", "--to", "2026-03-02", "--now", NOW, "--by", "priority"),
    ("policy", "show"),
    ("macro", "list"),
    ("phrases", "list"),
    ("agent", "list"),
    ("kb", "drafts"),
]


def _more_transcript(cli: Cli, kb: Path) -> list[Any]:
    out = _transcript(cli)
    r = cli("kb", "import", str(kb), "--json")  # knowledge: imported, published, searched in both languages
    assert r.code == 0, r.err
    out.append(r.json())
    for query in ("VPN", "断线", "路由器 重启", "printer offline"):
        r = cli("kb", "search", query, "--json", "--drafts", actor="sue")
        assert r.code == 0, (query, r.err)
        out.append([{k: v for k, v in hit.items() if k != "score"} for hit in r.json()])  # each engine's own scale
    for actor, argv in MORE:
        r = cli(*argv, "--json", actor=actor)
        assert r.code == 0, (argv, r.err)
        real_time = frozenset({"login", "created_at"}) if argv[0] == "agent" else frozenset()  # added at the real time
        out.append(_without(r.json(), frozenset({"recorded_at", "remaining_s"}) | real_time))
    for argv in MORE_READS:
        r = cli(*argv, "--json", *(("--now", NOW) if argv[0] == "ticket" else ()), actor="sue")
        assert r.code == 0, (argv, r.err)
        agents = frozenset({"login", "created_at"}) if argv[0] == "agent" else frozenset()
        out.append(_without(r.json(), frozenset({"recorded_at"}) | agents))
    r = cli("sweep", "--now", "2026-03-02T11:30:00+08:00", "--json")  # time's changes, judged at one instant
    assert r.code == 0, r.err
    out.append(r.json())
    r = cli("ticket", "list", "--all", "--json", "--now", "2026-03-02T11:30:00+08:00", actor="sue")
    out.append(_without(r.json()))
    return out


def test_every_command_reads_the_same_on_both_engines(both: Callable[[str], Cli], tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "vpn.md").write_text(
        "# VPN 断线怎么办\n\n重启路由器，然后重新连接 VPN。\n\ntags: vpn, 网络\n", encoding="utf-8"
    )
    (kb / "printer.md").write_text("# Printer offline\n\nPower-cycle the printer.\n\ntags: printer\n", encoding="utf-8")
    sqlite = _more_transcript(both("sqlite"), kb)
    postgres = _more_transcript(both("postgresql"), kb)
    for step, (a, b) in enumerate(zip(sqlite, postgres, strict=True)):
        assert json.dumps(a, ensure_ascii=False, sort_keys=True) == json.dumps(b, ensure_ascii=False, sort_keys=True), (
            step
        )
