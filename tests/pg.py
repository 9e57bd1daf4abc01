"""A real PostgreSQL 15 for the tests: one throwaway cluster per test process (each xdist worker has its own),
databases made per test from a template that already holds the schema, roles made on demand.

PostgreSQL refuses to run as root, and CI runs the tests as root: the cluster then runs as the unprivileged `postgres`
account Debian's package creates (or `helpdesk-pg`, made here when neither exists), in a temporary directory handed to
it. Authentication is the deployment's: peer on the unix socket (the test process's own login is mapped to the
superuser in pg_ident.conf, so setup needs no password), SCRAM on 127.0.0.1 for every role the tests make (each gets a
password, so a test can act as any of them without being that OS user).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

BIN = Path(os.environ.get("HELPDESK_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
TEMPLATE = "helpdesk_template"
OWNER = "hd_owner"  # the role a DBA makes for the helpdesk (CREATEROLE), running `helpdesk init`
PASSWORD = "pw-" + secrets.token_hex(8)  # every test role's password (SCRAM over TCP)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_account() -> str | None:
    """The OS account the server runs as: None (this process's own) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "helpdesk-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "helpdesk-pg"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return "helpdesk-pg"


@dataclass
class Cluster:
    """A running server: ``socket_dir`` (peer, superuser) and ``port`` on 127.0.0.1 (SCRAM)."""

    root: Path
    port: int
    account: str | None
    roles: set[str] = field(default_factory=set)
    _count: int = 0

    @property
    def socket_dir(self) -> Path:
        return self.root

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(BIN / argv[0]), *argv[1:]]
        if self.account is not None:
            cmd = ["runuser", "-u", self.account, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def superuser_url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def url(self, dbname: str, role: str = OWNER) -> str:
        """A role's URL over TCP with its password (SCRAM)."""
        return f"postgresql://{role}:{PASSWORD}@127.0.0.1:{self.port}/{dbname}"

    def admin_sql(self, sql: str, dbname: str = "postgres", params: Any = None) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.superuser_url(dbname), autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def role(self, name: str, *attrs: str) -> str:
        """A login role with the tests' password (made once per cluster: roles are cluster-wide)."""
        if name not in self.roles:
            from psycopg import sql

            options = sql.SQL(" ").join(sql.SQL(a) for a in attrs)
            exists = self.admin_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", params=[name])
            verb = "ALTER" if exists else "CREATE"
            statement = sql.SQL("{} ROLE {} LOGIN {} PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(name), options, sql.Literal(PASSWORD)
            )
            import psycopg

            with psycopg.connect(self.superuser_url(), autocommit=True) as conn:
                conn.execute(statement)
            self.roles.add(name)
        return name

    def new_database(self, template: str | None = TEMPLATE, owner: str = OWNER) -> str:
        """A fresh database owned by ``owner`` (from the template holding the schema, or empty with None)."""
        self._count += 1
        name = f"t{os.getpid()}_{self._count}"
        source = f" TEMPLATE {template}" if template else " TEMPLATE template0"
        self.admin_sql(f'CREATE DATABASE "{name}" OWNER "{owner}"{source}')
        return name

    def drop_database(self, name: str) -> None:
        self.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def standby(self) -> Iterator[Cluster]:
        """A hot standby of this server, streaming from it (pg_basebackup -R), on a port of its own; the same roles
        and passwords (they are replicated). Stopped and removed when the block ends."""
        port = _free_port()
        data = self.root / f"standby-{port}"
        self._run(
            "pg_basebackup",
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "--no-sync",
            "--checkpoint=fast",  # a spread checkpoint would make the copy wait minutes
        )
        with (data / "postgresql.conf").open("a") as handle:
            handle.write(f"port = {port}\nhot_standby = on\n")
        if self.account is not None:
            shutil.chown(data / "postgresql.conf", self.account)
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / f"standby-{port}.log"), "-w", "-t", "60", "start")
        standby = Cluster(self.root, port, self.account, roles=set(self.roles))
        try:
            yield standby
        finally:
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
            shutil.rmtree(data, ignore_errors=True)

    def caught_up(self, standby: Cluster, timeout: float = 10.0) -> None:
        """Wait until ``standby`` has replayed everything this server has written so far (the insert position:
        the tests' server commits asynchronously, so a commit may not be written out yet)."""
        import time

        (lsn,) = self.admin_sql("SELECT pg_current_wal_insert_lsn()::text")[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = standby.admin_sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", params=[lsn])
            if rows and rows[0][0]:
                return
            time.sleep(0.02)
        raise AssertionError(f"the standby did not replay up to {lsn} within {timeout} s")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    if not (BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({BIN}/initdb missing; .ci/run installs postgresql-15)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install '.[postgresql]')")
    account = _server_account()
    root = Path(tempfile.mkdtemp(prefix="helpdesk-pg-", dir="/tmp"))
    if account is not None:
        shutil.chown(root, account)
    cluster = Cluster(root, _free_port(), account)
    data = root / "data"
    cluster._run(
        "initdb",
        "-D",
        str(data),
        "-U",
        SUPERUSER,
        "--auth-local=peer",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    me = pwd.getpwuid(os.geteuid()).pw_name
    server = account or me
    # Peer on the socket through a map: the server's account and this test process's login act as the superuser.
    (data / "pg_ident.conf").write_text(f"tests {server} {SUPERUSER}\ntests {me} {SUPERUSER}\n")
    (data / "pg_hba.conf").write_text(
        "local all all peer map=tests\nlocal replication all peer map=tests\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    conf = (
        f"port = {cluster.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n"
        "shared_buffers = 32MB\nlog_min_messages = warning\n"
    )
    with (data / "postgresql.conf").open("a") as handle:
        handle.write(conf)
    if account is not None:
        for path in (data / "pg_ident.conf", data / "pg_hba.conf", data / "postgresql.conf"):
            shutil.chown(path, account)
    cluster._run("pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60", "start")
    try:
        cluster.role(OWNER, "CREATEROLE")
        cluster.admin_sql(f'CREATE DATABASE "{TEMPLATE}" OWNER "{OWNER}" TEMPLATE template0')
        from db.pg.store import PgStore

        PgStore(cluster.url(TEMPLATE)).close()  # the schema, once: every test's database is a copy
        cluster.admin_sql(f'ALTER DATABASE "{TEMPLATE}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextlib.contextmanager
def cluster_running() -> Iterator[Cluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
