"""The e-mail channel on PostgreSQL: the MTA's pipe (`helpdesk mail ingest`) fed the corpus files every message as
on SQLite, its files (originals, attachments, the quarantine) in the configured folder or, with none, in the user's
data folder (a server has no file to sit beside); the mail commands are an admin's login's."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from console.service.helpdesk import HelpdeskService
from tests.conftest import Result
from tests.mailservers import SmtpSink, smtp, write_config
from tests.pg import Cluster
from tests.test_mail import CORPUS, EXPECTED, mail_cli

__all__ = ["smtp"]  # the module-scoped SMTP sink

Runner = Callable[..., Result]


def _runner(url: str, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """`helpdesk --db URL …` in-process; ``stdin`` as bytes (the MTA's pipe)."""
    return mail_cli(url, monkeypatch)


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def desk(pg_cluster: Cluster) -> tuple[Cluster, str, str]:
    """A PostgreSQL helpdesk (admin boss, the owner) with an agent li.wei on a login of her own."""
    database = pg_cluster.new_database()
    url = pg_cluster.url(database)
    li = f"li_{secrets.token_hex(3)}"
    boss = HelpdeskService.open(url, "boss", create=True)
    boss.init("boss")
    boss.add_agent("li.wei", "agent", "L1", login=li)
    boss.shutdown()
    pg_cluster.role(li)
    return pg_cluster, database, li


def test_corpus_through_the_pipe_on_postgresql(
    desk: tuple[Cluster, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, database, _li = desk
    url = cluster.url(database)
    files = tmp_path / "mailfiles"
    config = write_config(tmp_path / "helpdesk.toml", new_tickets_per_hour=100, files_dir=str(files))
    hd = _runner(url, monkeypatch)
    for path in sorted(CORPUS.glob("*.eml")):
        r = hd("mail", "ingest", "--config", str(config), "--json", stdin=path.read_bytes())
        assert r.code == 0, (path.name, r.err)
        assert r.json()["outcome"] == EXPECTED[path.name], path.name
    again = hd("mail", "ingest", "--config", str(config), "--json", stdin=(CORPUS / "foxmail_gbk.eml").read_bytes())
    assert again.code == 0 and again.json()["outcome"] == "duplicate"
    subjects = {str(s) for (s,) in _rows(url, "SELECT subject FROM tickets")}
    assert {"财务系统导出报表内存不足", "印表機無法連線", "ログインできません", "生僻字无法保存"} <= subjects
    # the files in the configured folder
    originals = [p for p in (files / "originals").rglob("*") if p.is_file()]
    assert len(originals) == sum(1 for v in EXPECTED.values() if v != "quarantined")
    ((digest,),) = _rows(url, "SELECT sha256 FROM mail_attachments WHERE name = '报错说明.pdf'")
    assert (files / "attachments" / str(digest)[:2] / str(digest)).read_bytes().startswith(b"%PDF-1.4")
    q = hd("mail", "quarantine", "--config", str(config), "--json")
    assert q.code == 0 and len(q.json()) == 2
    # the channel's events: actor mail, entered by the admin whose login ran it (the database's word)
    actors = set(_rows(url, "SELECT DISTINCT actor, entered_by FROM events WHERE kind = 'created'"))
    assert actors == {("mail", "boss")}
    assert hd("check", "--json").json()["ok"] is True


def test_mail_files_default_to_the_users_data_folder(
    desk: tuple[Cluster, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, database, _li = desk
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = write_config(tmp_path / "helpdesk.toml")
    r = _runner(cluster.url(database), monkeypatch)(
        "mail", "ingest", "--config", str(config), stdin=(CORPUS / "gmail_new_en.eml").read_bytes()
    )
    assert r.code == 0, r.err
    folder = tmp_path / "data" / "helpdesk" / "mail" / f"127.0.0.1-{cluster.port}-{database}"
    assert [p for p in (folder / "originals").rglob("*") if p.is_file()]


def test_a_plain_agents_login_may_not_run_the_mail_channel(
    desk: tuple[Cluster, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, database, li = desk
    config = write_config(tmp_path / "helpdesk.toml", files_dir=str(tmp_path / "files"))
    hd = _runner(cluster.url(database, li), monkeypatch)
    r = hd("mail", "ingest", "--config", str(config), stdin=(CORPUS / "gmail_new_en.eml").read_bytes())
    assert r.code == 75 and "neither" in r.err and r.err.count("\n") == 1  # the MTA keeps the message
    q = hd("mail", "quarantine", "--config", str(config))
    assert q.code == 3 and "neither" in q.err
    assert _rows(cluster.url(database), "SELECT count(*) FROM tickets") == [(0,)]


def test_a_plain_agents_reply_is_sent_by_the_mail_service(
    desk: tuple[Cluster, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpSink
) -> None:
    """The receipt and an agent's reply (queued by her own login's console) leave through `mail send`, threaded."""
    cluster, database, li = desk
    config = str(write_config(tmp_path / "helpdesk.toml", smtp_port=smtp.port, files_dir=str(tmp_path / "files")))
    hd = _runner(cluster.url(database), monkeypatch)
    new = hd("mail", "ingest", "--config", config, "--json", stdin=(CORPUS / "gmail_new_en.eml").read_bytes())
    assert new.code == 0, new.err
    ((ticket_id, sender),) = _rows(
        cluster.url(database), "SELECT t.id, c.email FROM tickets t JOIN customers c ON c.id = t.customer_id"
    )
    agent = HelpdeskService.open(cluster.url(database, li))
    agent.assign(int(str(ticket_id)))
    agent.reply(int(str(ticket_id)), "Please try the new password link.")
    agent.shutdown()
    assert hd("mail", "send", "--once", "--config", config).code == 0
    sent = smtp.to(str(sender))
    assert len(sent) == 2 and "new password link" in sent[-1].message.get_content()
    assert f"[#{ticket_id}]" in sent[-1].message["Subject"]
    assert _rows(cluster.url(database), "SELECT DISTINCT status FROM mail_outbox") == [("sent",)]
