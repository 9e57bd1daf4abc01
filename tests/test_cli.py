"""The CLI contract: --json shapes, errors as one line with exit codes, import/export, backup, no Textual."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result

Cli = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[1]


def new(cli: Cli, *extra: str) -> dict[str, Any]:
    r = cli(
        "ticket",
        "new",
        "--subject",
        "VPN drops every hour",
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
        "--json",
        *extra,
        actor="li.wei",
    )
    assert r.code == 0, r.err
    return r.json()


def test_ticket_new_and_show_json_shape(seeded: Cli) -> None:
    t = new(seeded)
    for key in (
        "id",
        "subject",
        "body",
        "status",
        "priority",
        "channel",
        "tier",
        "assignee",
        "customer",
        "created_at",
        "updated_at",
        "version",
        "messages",
        "events",
        "sla",
    ):
        assert key in t
    assert set(t["customer"]) >= {"name", "organisation", "email", "phone", "tier"}
    assert t["customer"]["name"] == "王芳"
    assert set(t["sla"]) == {"first_response", "next_update", "restore", "resolve", "onsite"}
    for clock in t["sla"].values():
        assert set(clock) == {"state", "due_at", "remaining_s", "target_min"}
    assert set(t["events"][0]) >= {"at", "actor", "kind", "from", "to", "detail"}
    # a fault phoned in gets its call back within 30 minutes (the default policy's phone channel)
    shown = seeded("ticket", "show", str(t["id"]), "--json", "--now", "2026-03-02T09:10:00+08:00").json()
    assert shown["sla"]["first_response"]["state"] == "running"
    assert shown["sla"]["first_response"]["remaining_s"] == 1200


def test_every_action_json(seeded: Cli) -> None:
    tid = str(new(seeded)["id"])
    followup = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()  # the CLI runs on the real clock
    steps = [
        (("ticket", "assign", tid), "open"),
        (("ticket", "reply", tid, "--body", "您好，我是李伟"), "open"),
        (("ticket", "note", tid, "--body", "checked logs"), "open"),
        (("ticket", "pending", tid), "pending"),
        (("ticket", "customer-reply", tid, "--body", "logs attached"), "open"),
        (("ticket", "call", tid, "--direction", "out", "--notes", "told the customer L2 calls today"), "open"),
        (
            (
                "ticket",
                "escalate",
                tid,
                "--to",
                "L2",
                "--reason",
                "needs network team",
                "--notes",
                "Steps already tried: x\nBusiness impact: office offline\nCustomer told: L2 calls today",
            ),
            "open",
        ),
        (("ticket", "restore", tid, "--summary", "switched to backup line"), "restored"),
        (("ticket", "resolve", tid, "--summary", "router replaced", "--code", "hardware"), "resolved"),
        (
            (
                "ticket",
                "close",
                tid,
                "--summary",
                "router replaced",
                "--confirmed",
                "--confirmed-by",
                "phone",
                "--asked-anything-else",
                "--followup",
                followup,
            ),
            "closed",
        ),
        (("ticket", "reopen", tid, "--reason", "dropped again"), "open"),
    ]
    for argv, status in steps:
        actor = "sue" if argv[1] in ("restore", "resolve", "close", "reopen") else "li.wei"
        r = seeded(*argv, "--json", actor=actor)
        assert r.code == 0, (argv, r.err)
        assert r.json()["status"] == status, argv
    events = seeded("ticket", "show", tid, "--json").json()["events"]
    assert [e["kind"] for e in events] == [
        "created",
        "assigned",
        "reply",
        "note",
        "pending",
        "customer_message",
        "call",
        "escalated",
        "restored",
        "resolved",
        "closed",
        "reopened",
    ]


def test_list_json_sorted_by_urgency_with_filters(seeded: Cli) -> None:
    slow = seeded("ticket", "new", "--subject", "low", "--priority", "P4", "--json", actor="li.wei").json()["id"]
    fast = seeded("ticket", "new", "--subject", "urgent", "--priority", "P1", "--json", actor="li.wei").json()["id"]
    items = seeded("ticket", "list", "--json").json()
    assert [i["id"] for i in items] == [fast, slow]
    assert set(items[0]) >= {"id", "subject", "status", "priority", "assignee", "customer", "sla"}
    later = "2099-01-01T00:00:00Z"
    assert {i["id"] for i in seeded("ticket", "list", "--breaching", "--now", later, "--json").json()} == {
        fast,
        slow,
    }
    assert seeded("ticket", "list", "--priority", "P1", "--json").json()[0]["id"] == fast
    assert seeded("ticket", "list", "--status", "closed", "--json").json() == []


def test_agent_commands_json(seeded: Cli) -> None:
    agents = seeded("agent", "list", "--json").json()
    assert {a["name"]: a["role"] for a in agents} == {"boss": "admin", "li.wei": "agent", "sue": "supervisor"}
    r = seeded("agent", "add", "x", "--json", actor="li.wei")
    assert r.code == 3 and r.err.count("\n") == 1 and "needs" in r.err


def test_unknown_as_agent_refused(seeded: Cli) -> None:
    r = seeded("ticket", "new", "--subject", "x", actor="nobody")
    assert r.code != 0 and "unknown agent nobody" in r.err and r.err.count("\n") == 1


def test_refused_transition_says_allowed(seeded: Cli) -> None:
    tid = str(new(seeded)["id"])
    r = seeded("ticket", "reopen", tid, "--reason", "x", actor="li.wei")
    assert r.code == 1
    assert r.err.strip().startswith(f"helpdesk: ticket {tid} is new; cannot reopen; allowed:")


def test_at_ordering_via_cli(seeded: Cli) -> None:
    tid = str(new(seeded)["id"])
    r = seeded("ticket", "reply", tid, "--body", "x", "--at", "2026-03-01T00:00:00Z", actor="li.wei")
    assert r.code == 2 and "earlier than" in r.err


@pytest.mark.parametrize(
    "argv",
    [
        ("ticket", "new", "--subject", "x", "--priority", "P9"),
        ("ticket", "show", "abc"),
        ("ticket", "reply", "1", "--body", "x", "--at", "yesterday"),
        ("ticket", "bogus"),
        ("--nonsense",),
    ],
)
def test_bad_flags_one_line_exit_2(seeded: Cli, argv: tuple[str, ...]) -> None:
    r = seeded(*argv)
    assert r.code == 2
    assert r.err.count("\n") == 1 and "Traceback" not in r.err


def test_show_missing_ticket(seeded: Cli) -> None:
    r = seeded("ticket", "show", "999")
    assert r.code == 2 and r.err.strip() == "helpdesk: ticket 999 not found"


def test_import_good_csv_and_jsonl(seeded: Cli, tmp_path: Path) -> None:
    csv_file = tmp_path / "t.csv"
    csv_file.write_text(
        "subject,body,customer,email,priority,channel,status,created_at\n"
        "Mail bounce,Outlook says 550,Bob,bob@x.test,P2,email,open,2026-03-01T08:00:00Z\n"
        "打印机卡纸,三楼打印机,张伟,zw@x.cn,P3,phone,,\n",
        encoding="utf-8",
    )
    r = seeded("import", str(csv_file), "--json", actor="li.wei")
    assert r.code == 0, r.err
    assert r.json()["imported"] == 2
    jl = tmp_path / "t.jsonl"
    jl.write_text(json.dumps({"subject": "Teams 会议无法共享屏幕", "priority": "P1", "channel": "chat"}) + "\n")
    assert seeded("import", str(jl), "--json", actor="li.wei").json()["imported"] == 1
    assert seeded("check").code == 0


def test_import_bad_rows_named_and_nothing_imported(seeded: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(
        b'{"subject": "ok"}\n'
        b'{"subject": "bad priority", "priority": "P7"}\n'
        b"not json\n"
        b'{"subject": "\xff\xfe broken utf8"}\n'
        b'{"subject": "x", "status": "weird"}\n'
    )
    r = seeded("import", str(bad), actor="li.wei")
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert any(f"{bad}:2:" in line and "priority" in line for line in lines)
    assert any(f"{bad}:3:" in line for line in lines)
    assert any(f"{bad}:4:" in line and "UTF-8" in line for line in lines)
    assert any(f"{bad}:5:" in line and "status" in line for line in lines)
    assert seeded("ticket", "list", "--all", "--json").json() == []


def test_import_bad_csv_column(seeded: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,colour\nx,red\n")
    r = seeded("import", str(bad))
    assert r.code == 2 and f"{bad}:1:" in r.err and "colour" in r.err


def test_export_round_trip(seeded: Cli, tmp_path: Path) -> None:
    new(seeded)
    out = seeded("export", "--format", "jsonl")
    assert out.code == 0
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert rows[0]["subject"] == "VPN drops every hour" and rows[0]["customer"] == "王芳"
    csv_out = seeded("export", "--format", "csv")
    assert csv_out.out.splitlines()[0].startswith("subject,body,customer")
    again = tmp_path / "again.csv"
    again.write_text("\n".join(line for line in csv_out.out.splitlines() if line).replace(",id,updated_at,version", ""))


def test_backup_while_another_connection_writes(seeded: Cli, db_path: Path, tmp_path: Path) -> None:
    for _ in range(3):
        new(seeded)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        conn = sqlite3.connect(db_path, timeout=10)
        try:
            i = 0
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, 'v', 't', 'w')",
                    [f"k{i}"],
                )
                conn.commit()
                i += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        dest = tmp_path / "backup.db"
        r = seeded("backup", str(dest), "--json")
    finally:
        stop.set()
        thread.join()
    assert r.code == 0, r.err
    assert not errors
    copy = sqlite3.connect(dest)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM tickets").fetchone()[0] == 3
    copy.close()


def test_backup_to_missing_directory(seeded: Cli, tmp_path: Path) -> None:
    r = seeded("backup", str(tmp_path / "nope" / "b.db"))
    assert r.code != 0 and "does not exist" in r.err


@pytest.mark.parametrize("case", ["not_sqlite", "missing_dir", "directory", "corrupt", "readonly", "foreign"])
def test_bad_db_paths(cli: Cli, tmp_path: Path, case: str) -> None:
    if case == "not_sqlite":
        path = tmp_path / "notes.txt"
        path.write_text("hello, I am not a database\n" * 10)
    elif case == "missing_dir":
        path = tmp_path / "missing" / "h.db"
    elif case == "directory":
        path = tmp_path
    elif case == "corrupt":
        path = tmp_path / "c.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
        conn.commit()
        conn.close()
        data = bytearray(path.read_bytes())
        data[100:4096] = b"\xde\xad" * ((4096 - 100) // 2)
        path.write_bytes(bytes(data))
    elif case == "foreign":
        path = tmp_path / "other.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE recipes (x)")
        conn.commit()
        conn.close()
    else:
        path = tmp_path / "ro.db"
        assert cli("--db", str(path), "init", "--admin", "boss", actor=None).code == 0
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.chmod(0o444)
        if os.access(path, os.W_OK):
            pytest.skip("running as a user who can write read-only files")
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli("--db", str(path), "ticket", "list", "--json")
    assert r.code == 5, r.err
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created by mistake


def test_readonly_db_as_root_is_still_reported(cli: Cli, tmp_path: Path) -> None:
    """Root can write a 0444 file; an unwritable directory is the case root still hits."""
    path = tmp_path / "missing-dir" / "x.db"
    r = cli("--db", str(path), "init", "--admin", "a", actor=None)
    assert r.code == 5 and "does not exist" in r.err


def test_cli_without_textual_import(seeded: Cli, db_path: Path) -> None:
    code = (
        "import sys; from console.cli.main import main; rc = main(['ticket', 'list', '--json']); "
        "assert 'textual' not in sys.modules, 'textual imported'; sys.exit(rc)"
    )
    env = {**os.environ, "HELPDESK_DB": str(db_path), "HELPDESK_AGENT": "boss"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_python_dash_m_console(seeded: Cli, db_path: Path) -> None:
    env = {**os.environ, "HELPDESK_DB": str(db_path), "HELPDESK_AGENT": "boss"}
    proc = subprocess.run(
        [sys.executable, "-m", "console", "agent", "list", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 3


def test_hostile_subject_in_human_output(seeded: Cli) -> None:
    r = seeded("ticket", "new", "--subject", "evil \x1b]0;title\x07 [bold red]x[/]", actor="li.wei")
    assert r.code == 0
    listing = seeded("ticket", "list")
    assert "\x1b" not in listing.out and "\x07" not in listing.out and "[bold red]x[/]" in listing.out


def test_policy_show_and_load(seeded: Cli, tmp_path: Path) -> None:
    shown = seeded("policy", "show", "--json")
    assert shown.code == 0
    bad = tmp_path / "bad.toml"
    from console.rules.policy import default_policy_toml

    bad.write_text(default_policy_toml().replace("first_response = 120", "first_response = -5", 1))
    assert "first_response = -5" in bad.read_text()
    r = seeded("policy", "load", str(bad))
    assert r.code == 2 and "first_response" in r.err
    assert seeded("policy", "show", "--json").json() == shown.json()
    r = seeded("policy", "load", str(bad), actor="li.wei")
    assert r.code == 3


def test_sla_due_contract(cli: Cli) -> None:
    lines = [
        json.dumps({"calendar": "24x7", "start": "2026-01-30T17:30:00+08:00", "minutes": 240}),
        json.dumps({"calendar": "cn-business", "start": "2026-01-30T17:30:00+08:00", "minutes": 240}),
        "not json",
    ]
    r = cli("sla", "due", stdin="\n".join(lines) + "\n", actor=None)
    out = [json.loads(line) for line in r.out.splitlines()]
    assert out[0] == {"due_at": "2026-01-30T21:30:00+08:00"}
    assert out[1] == {"due_at": "2026-02-02T12:30:00+08:00"}
    assert "line 3" in out[2]["error"]
    assert r.code == 2


def test_empty_db_option_is_refused(cli: Cli) -> None:
    r = cli("--db", "", "ticket", "list")
    assert r.code == 2 and "--db is empty" in r.err


def test_json_never_carries_terminal_controls(seeded: Callable[..., Result], db_path: Path) -> None:
    """Names stored before they were checked still reach a terminal as \\u escapes in --json, never raw."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE agents SET display_name = ? WHERE name = 'sue'", ["Sue\u202e\x85\x7f"])
    conn.commit()
    conn.close()
    r = seeded("--json", "agent", "list")
    assert r.code == 0, r.err
    assert not any(ch in r.out for ch in "\u202e\x85\x7f")
    assert "\\u202e\\u0085\\u007f" in r.out
    assert [a["display_name"] for a in json.loads(r.out) if a["name"] == "sue"] == ["Sue\u202e\x85\x7f"]
