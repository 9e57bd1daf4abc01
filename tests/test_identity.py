"""Who acted and when, as real operating-system users see it: the acting agent is the login running the command
(never $USER or a name typed), `--as` is an admin's and is recorded, an unknown login reads nothing, `--at` is an
admin's backfill (never the future) and is marked; on a shared host, agents reach the database only through sudo."""

from __future__ import annotations

import json
import pwd
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.os_users import os_group, os_users, require_root, run_as, script, traversable, unique

pytestmark = pytest.mark.slow


@dataclass
class Floor:
    db: Path
    admin: str  # OS login of the agent "chief" (admin)
    li: str  # OS login of "li" (agent, L1)
    kai: str  # OS login of "kai" (agent, L2)
    stranger: str  # an OS user who is no agent

    def run(self, user: str | None, *argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return run_as(user, "--db", str(self.db), *argv, **kw)  # type: ignore[arg-type]

    def events(self) -> list[dict[str, object]]:
        conn = sqlite3.connect(self.db)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM events ORDER BY id")]
        finally:
            conn.close()


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floor]:
    """A database shared by a group (0660 in a 2770 directory), its admin the OS user who ran `init`."""
    require_root()
    cache = Path("/tmp/helpdesk-tests-cache")
    cache.mkdir(exist_ok=True)
    cache.chmod(0o1777)
    group = unique("hdg")
    names = [unique("hdadm"), unique("hdli"), unique("hdkai"), unique("hdx")]
    # the stranger may read the file (in the group), and still reads nothing: the file is not the gate, the login is
    with traversable(), os_group(group), os_users(names, groups=[group]):
        home = Path(f"/tmp/{unique('hdfloor')}")
        home.mkdir(mode=0o2770)
        shutil.chown(home, group=group)
        home.chmod(0o2770)
        db = home / "helpdesk.db"
        f = Floor(db, *names)
        try:
            # The admin creates the database: init binds the first admin to the login that runs it.
            r = f.run(f.admin, "init", "--admin", "chief")
            assert r.returncode == 0, r.stderr
            db.chmod(0o660)  # shared by the group (a site's choice: the sudo deployment keeps it 0600)
            for name, tier, login in (("li", "L1", f.li), ("kai", "L2", f.kai)):
                r = f.run(f.admin, "agent", "add", name, "--tier", tier, "--login", login)
                assert r.returncode == 0, r.stderr
            yield f
        finally:
            shutil.rmtree(home, ignore_errors=True)


def ticket(f: Floor, tier: str = "L1") -> str:
    r = f.run(f.admin, "--json", "ticket", "new", "--subject", "VPN down", "--customer", "Acme")
    assert r.returncode == 0, r.stderr
    tid = str(json.loads(r.stdout)["id"])
    if tier != "L1":
        r = f.run(
            f.admin, "ticket", "escalate", tid, "--to", tier, "--reason", "vendor", "--tried", "reboot",
            "--impact", "one office", "--notice", "Our specialists take over.",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
    return tid


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    return r.stderr


def test_init_binds_the_first_admin_to_the_login_that_ran_it(floor: Floor) -> None:
    r = floor.run(floor.admin, "--json", "agent", "list")
    logins = {a["name"]: a["login"] for a in json.loads(r.stdout)}
    assert logins == {"chief": floor.admin, "li": floor.li, "kai": floor.kai}


def test_the_agent_is_the_login_not_a_name_in_the_environment(floor: Floor) -> None:
    tid = ticket(floor)
    spoof = {"USER": floor.admin, "LOGNAME": floor.admin, "HELPDESK_AGENT": "li"}
    r = floor.run(floor.li, "ticket", "note", tid, "--body", "looked at it", env=spoof)
    assert r.returncode == 0, r.stderr
    last = floor.events()[-1]
    assert (last["actor"], last["entered_by"], last["backfilled"]) == ("li", None, 0)
    # sudo's record of the invoking user counts only for a process running as the database's owner
    admin_uid = str(pwd.getpwnam(floor.admin).pw_uid)
    r = floor.run(floor.li, "ticket", "note", tid, "--body", "again", env={"SUDO_UID": admin_uid})
    assert r.returncode == 0, r.stderr
    assert floor.events()[-1]["actor"] == "li"


def test_impersonation_is_an_admins_and_is_recorded(floor: Floor) -> None:
    tid = ticket(floor)
    before = len(floor.events())
    r = floor.run(floor.li, "--as", "chief", "agent", "add", "li2", "--role", "admin")
    assert r.returncode == 3 and "only admins may act as another agent" in one_line(r)
    r = floor.run(floor.li, "--as", "kai", "ticket", "note", tid, "--body", "x")
    assert r.returncode == 3
    assert len(floor.events()) == before  # refusals leave no trace
    r = floor.run(floor.admin, "--as", "li", "ticket", "assign", tid)
    assert r.returncode == 0, r.stderr
    last = floor.events()[-1]
    assert (last["actor"], last["entered_by"]) == ("li", "chief")
    shown = floor.run(floor.kai, "ticket", "show", tid)
    assert "entered by chief" in shown.stdout


def test_an_unknown_login_reads_nothing(floor: Floor) -> None:
    ticket(floor)
    for argv in (("ticket", "list"), ("ticket", "show", "1"), ("export",), ("--as", "li", "ticket", "list")):
        r = floor.run(floor.stranger, *argv)
        assert r.returncode == 3, (argv, r.stderr)
        assert f"login {floor.stranger} is not an agent here" in one_line(r)
        assert r.stdout == ""


def test_a_plain_agent_may_not_work_another_tiers_ticket(floor: Floor) -> None:
    tid = ticket(floor, tier="L2")
    r = floor.run(floor.li, "ticket", "reply", tid, "--body", "On it")
    assert r.returncode == 3 and "is at L2 (li works L1)" in one_line(r)
    assert floor.run(floor.kai, "ticket", "reply", tid, "--body", "On it").returncode == 0


def test_at_is_an_admins_backfill_never_the_future(floor: Floor) -> None:
    tid = ticket(floor)
    r = floor.run(floor.li, "ticket", "note", tid, "--body", "x", "--at", "2026-01-01T00:00:00Z")
    assert r.returncode == 3 and "only admins may record history at another time" in one_line(r)
    r = floor.run(floor.admin, "ticket", "note", tid, "--body", "x", "--at", "2099-01-01T00:00:00Z")
    assert r.returncode == 2 and "is in the future" in one_line(r)
    # a ticket made in the past, and a reply claimed for it: both marked, with the clock's own time beside
    r = floor.run(floor.admin, "--json", "ticket", "new", "--subject", "Old call", "--at", "2026-01-05T08:00:00Z")
    old = str(json.loads(r.stdout)["id"])
    r = floor.run(floor.admin, "ticket", "reply", old, "--body", "Done", "--at", "2026-01-05T08:20:00Z")
    assert r.returncode == 0, r.stderr
    claimed = [e for e in floor.events() if str(e["ticket_id"]) == old]
    assert [(e["kind"], e["at"], e["backfilled"]) for e in claimed] == [
        ("created", "2026-01-05T08:00:00Z", 1),
        ("reply", "2026-01-05T08:20:00Z", 1),
    ]
    assert all(str(e["recorded_at"]) > "2026-06" for e in claimed)  # written now, not in January
    shown = floor.run(floor.admin, "ticket", "show", old).stdout
    assert shown.count("backfilled, recorded") == 2
    report = floor.run(floor.admin, "--json", "report", "--from", "2026-01-01", "--to", "2026-01-31")
    assert json.loads(report.stdout)["backfilled"] == {"tickets": 1, "excluded": False}
    report = floor.run(
        floor.admin, "--json", "report", "--from", "2026-01-01", "--to", "2026-01-31", "--exclude-backfilled"
    )
    data = json.loads(report.stdout)
    assert data["backfilled"] == {"tickets": 1, "excluded": True} and data["tickets"] == 0


@pytest.fixture(scope="module")
def sudo_floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str, str]]:
    """The shared-host deployment: the database owned by a service account (0700 directory, 0600 file), agents in
    a group allowed by `helpdesk sudo-config` to run the helpdesk as that account, and nothing else."""
    require_root()
    if shutil.which("sudo") is None or shutil.which("visudo") is None:
        pytest.skip("sudo is not installed")
    group, service, admin, agent = unique("hdsg"), unique("hdsvc"), unique("hdsadm"), unique("hdsli")
    rule = Path(f"/etc/sudoers.d/{unique('helpdesk-test-')}")
    with traversable(), os_group(group), os_users([service]), os_users([admin, agent], groups=[group]):
        home = Path(f"/tmp/{unique('hdsrv')}")
        home.mkdir(mode=0o700)
        shutil.chown(home, user=service)
        db = home / "helpdesk.db"
        try:
            printed = run_as(None, "sudo-config", "--group", group, "--account", service)
            assert printed.returncode == 0, printed.stderr
            assert f"%{group} ALL=({service}) NOPASSWD: {script()}" in printed.stdout
            candidate = rule.with_name(rule.name + ".new")
            candidate.write_text(printed.stdout)
            candidate.chmod(0o440)
            check = subprocess.run(["visudo", "-c", "-f", str(candidate)], capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
            candidate.rename(rule)
            r = run_as(admin, "--db", str(db), "init", "--admin", "boss", sudo_to=service)
            assert r.returncode == 0, r.stderr
            r = run_as(admin, "--db", str(db), "agent", "add", "li", "--login", agent, sudo_to=service)
            assert r.returncode == 0, r.stderr
            yield db, service, admin, agent
        finally:
            rule.unlink(missing_ok=True)
            shutil.rmtree(home, ignore_errors=True)


def test_shared_host_agents_work_through_sudo_as_themselves(sudo_floor: tuple[Path, str, str, str]) -> None:
    db, service, admin, agent = sudo_floor
    assert oct(db.stat().st_mode & 0o777) == "0o600" and db.stat().st_uid == pwd.getpwnam(service).pw_uid
    r = run_as(agent, "--db", str(db), "--json", "ticket", "new", "--subject", "Printer", sudo_to=service)
    assert r.returncode == 0, r.stderr
    tid = str(json.loads(r.stdout)["id"])
    r = run_as(admin, "--db", str(db), "--json", "ticket", "show", tid, sudo_to=service)
    created = json.loads(r.stdout)["events"][0]
    assert (created["actor"], created["entered_by"]) == ("li", None)  # the person sudo recorded, not the account
    # The agent cannot open the file without sudo, nor claim to be someone else through it.
    direct = run_as(agent, "--db", str(db), "ticket", "list")
    assert direct.returncode == 5 and "permission denied" in one_line(direct)
    r = run_as(agent, "--db", str(db), "--as", "boss", "ticket", "list", sudo_to=service)
    assert r.returncode == 3 and "only admins may act as another agent" in r.stderr
