"""The wallboard served by a real OpenSSH server to a real board account, with the block `helpdesk ssh-config`
prints; the board read in a pseudo-terminal with pyte. Also the checks of `ssh-config` itself.

The SSH tests need root (they create a throwaway system account with useradd and remove it after) and OpenSSH.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import pwd
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyte
import pytest

from console.service.helpdesk import HelpdeskService
from db.errors import ReadOnly
from tests.conftest import Result
from tests.os_users import traversable

REPO = Path(__file__).resolve().parent.parent
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
SSH = shutil.which("ssh")
SFTP = shutil.which("sftp")
USERADD = shutil.which("useradd") or ("/usr/sbin/useradd" if Path("/usr/sbin/useradd").exists() else None)
USERDEL = shutil.which("userdel") or ("/usr/sbin/userdel" if Path("/usr/sbin/userdel").exists() else None)
SFTP_SERVER = next(
    (
        p
        for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server")
        if Path(p).exists()
    ),
    None,
)
COLS, ROWS = 120, 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


# -- ssh-config's own checks (no root, no sshd needed) ----------------------------------------------------------


@pytest.fixture
def boarded(seeded: Callable[..., Result]) -> Callable[..., Result]:
    """The seeded team (boss admin, li.wei agent, sue supervisor) with the board-only login `wallboard`."""
    assert seeded("agent", "add", "wallboard", "--board").code == 0
    return seeded


def test_ssh_config_prints_a_block_for_a_board_login(boarded: Callable[..., Result], db_path: Path) -> None:
    result = boarded("ssh-config", actor="sue")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Match User wallboard"  # first: everything after it applies to this account only
    assert lines[1] == f"    ForceCommand {Path(sys.executable).with_name('helpdesk')} --db {db_path} wallboard"
    assert "--as" not in result.out  # the board account's own login says who it is
    for setting in ("PermitTTY yes", "DisableForwarding yes", "PermitTunnel no"):
        assert f"    {setting}" in lines


@pytest.mark.parametrize(
    ("user", "code", "message"),
    [
        ("wallboard\nForceCommand /bin/sh", 2, "is not a valid account name"),
        ("wall board", 2, "is not a valid account name"),
        ("Wallboard", 2, "is not a valid account name"),
        ("x" * 33, 2, "is not a valid account name"),
        ("-oProxy", 2, "is not a valid account name"),
        ("ghost", 1, "run 'helpdesk agent add ghost --board'"),
        ("li.wei", 1, "'helpdesk agent add NAME --board'"),  # an agent's login, not a board's
    ],
)
def test_ssh_config_refuses_what_is_not_a_board_login(
    boarded: Callable[..., Result], user: str, code: int, message: str
) -> None:
    result = boarded("ssh-config", f"--user={user}")
    assert result.code == code
    assert result.out == ""  # no block, not even a part of one
    assert len(result.err.splitlines()) == 1 and message in result.err, result.err


def test_ssh_config_is_for_supervisors_and_admins(boarded: Callable[..., Result]) -> None:
    result = boarded("ssh-config", actor="li.wei")
    assert result.code == 3 and result.out == "" and len(result.err.splitlines()) == 1, result


def test_ssh_config_quotes_the_database_path(
    boarded: Callable[..., Result], db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = tmp_path / "it's #1 % db"
    odd.mkdir()
    shutil.copy(db_path, odd / "helpdesk.db")
    monkeypatch.setenv("HELPDESK_DB", str(odd / "helpdesk.db"))
    result = boarded("ssh-config")
    assert result.code == 0, result.err
    command = result.out.splitlines()[1].removeprefix("    ForceCommand ")
    assert shlex.split(command)[1:] == ["--db", str(odd / "helpdesk.db"), "wallboard"]
    if SSHD is not None:  # what sshd makes of it: the same command, and no line of its own
        host_key = tmp_path / "host_key"
        _keygen(host_key)
        config = tmp_path / "sshd_config"
        config.write_text(f"HostKey {host_key}\nUsePAM no\n{result.out}")
        effective = subprocess.run(
            [SSHD, "-T", "-f", str(config), "-C", "user=wallboard,host=localhost,addr=127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert effective.returncode == 0, effective.stderr
        assert f"forcecommand {command}" in effective.stdout.splitlines()


def test_ssh_config_refuses_a_control_character_in_the_database_path(
    boarded: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_DB", str(tmp_path / "x\nForceCommand sh"))
    result = boarded("ssh-config")
    assert result.code == 2 and result.out == ""
    assert len(result.err.splitlines()) == 1 and "control characters" in result.err, result.err


def test_the_wallboard_opens_its_store_read_only(team: Callable[[str], HelpdeskService], db_path: Path) -> None:
    board = HelpdeskService.open(db_path, wallboard=True)
    try:
        assert board.store.readonly
        with pytest.raises(ReadOnly):
            board.store.write(lambda: None)
    finally:
        board.shutdown()


# -- a real board account behind a real sshd ------------------------------------------------------------------


@dataclass
class Board:
    user: str
    uid: int
    gid: int
    directory: Path  # 0755, root's: the account may enter and read, never create a file in it
    db: Path
    key: Path
    port: int
    hold: Callable[[bool], None]  # keep the database open elsewhere (as agents at work do), or not
    log: Path  # sshd's log


@pytest.fixture
def board_account() -> Iterator[tuple[str, int, int]]:
    if os.geteuid() != 0:
        pytest.skip("the SSH wallboard tests create a system account: they need root")
    if USERADD is None or USERDEL is None:
        pytest.skip("useradd/userdel are not installed")
    if SSHD is None or SSH is None:
        pytest.skip("OpenSSH server (sshd) or client (ssh) is not installed")
    user = f"hdboard{secrets.token_hex(3)}"
    # A password field of "*" (no password can match) rather than useradd's "!": sshd without PAM turns locked
    # accounts away, keys or not.
    subprocess.run(
        [USERADD, "--system", "--no-create-home", "--shell", "/bin/sh", "--password", "*", user],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        entry = pwd.getpwnam(user)
        # the checkout or the interpreter may sit in a directory closed to other users (mktemp -d, /root)
        with traversable():
            yield user, entry.pw_uid, entry.pw_gid
    finally:
        _kill_processes_of(user)
        subprocess.run([USERDEL, user], capture_output=True, timeout=30)


def _processes_of(user: str) -> list[tuple[int, str]]:
    found = subprocess.run(["pgrep", "-a", "-u", user], capture_output=True, text=True, timeout=10)
    rows = []
    for line in found.stdout.splitlines():
        pid, _, command = line.partition(" ")
        rows.append((int(pid), command))
    return rows


def _kill_processes_of(user: str) -> None:
    for pid, _command in _processes_of(user):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _runs_as(user: str, argv: list[str]) -> bool:
    entry = pwd.getpwnam(user)
    try:
        done = subprocess.run(
            argv, user=user, group=entry.pw_gid, extra_groups=[], capture_output=True, timeout=60, cwd="/"
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _board_script(user: str, directory: Path) -> str:
    """The `helpdesk` script the board account runs: the one beside this interpreter (this checkout's code, as
    `helpdesk ssh-config` prints it) when the account can run it. A development interpreter may sit where the
    account cannot go (pyenv under /root, 0700): then a script of the same Python version that the account can
    run, on this environment's packages, stands in for it."""
    script = Path(sys.executable).with_name("helpdesk")
    if script.exists() and _runs_as(user, [str(script), "--help"]):
        return str(script)
    import site
    import sysconfig

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    sites = [*site.getsitepackages(), sysconfig.get_paths()["purelib"], str(REPO)]
    shim = directory / "bin" / "helpdesk"
    shim.parent.mkdir(mode=0o755)
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if not Path(candidate).exists():
            continue
        shim.write_text(
            f"#!{candidate}\n"
            "import site, sys\n"
            f"for path in {sites!r}:\n"
            "    site.addsitedir(path)\n"
            "from console.cli.main import main\n"
            "sys.exit(main())\n"
        )
        shim.chmod(0o755)
        if _runs_as(user, [str(shim), "--help"]):
            return str(shim)
    pytest.skip(
        f"the board account cannot run {sys.executable} (a directory on its way is closed to it) and no other "
        f"Python {version} it can run was found"
    )


@pytest.fixture
def board(board_account: tuple[str, int, int]) -> Iterator[Board]:
    user, uid, gid = board_account
    assert SSHD is not None  # board_account skipped otherwise
    # Not pytest's tmp_path: its directories are 0700, and the account must reach the database.
    directory = Path(tempfile.mkdtemp(prefix="hdssh-", dir="/tmp"))
    directory.chmod(0o755)
    server: subprocess.Popen[bytes] | None = None
    holder: list[HelpdeskService] = []
    try:
        db = directory / "helpdesk.db"
        admin = HelpdeskService.open(db, "boss", create=True)
        try:
            admin.init("boss")
            admin.add_agent("sue", "supervisor", "L2")
            admin.add_agent("kai", "agent", "L2")
            kai = HelpdeskService(admin.store, "kai", entered_by="boss")
            kai.create_ticket("Server down", customer="Initech", priority="P1")  # 30 min: seconds tick
        finally:
            admin.shutdown()
        script = _board_script(user, directory)
        env = {**os.environ, "HELPDESK_LANG": "en"}
        env.pop("HELPDESK_DB", None)
        helpdesk = [str(Path(sys.executable).with_name("helpdesk")), "--db", str(db)]
        if not Path(helpdesk[0]).exists():
            helpdesk[0:1] = [sys.executable, "-m", "console"]
        added = subprocess.run(
            [*helpdesk, "agent", "add", user, "--board"], capture_output=True, text=True, env=env, timeout=60
        )
        assert added.returncode == 0, added.stderr
        # Read access for the account through the group, nothing more: the file is root's and 0640.
        os.chown(db, 0, gid)
        db.chmod(0o640)

        def hold(open_: bool) -> None:
            if open_ and not holder:
                holder.append(HelpdeskService.open(db, "boss"))  # root's -wal/-shm go to the file's owner and group
            elif not open_ and holder:
                holder.pop().shutdown()

        hold(True)

        block = subprocess.run(
            [*helpdesk, "ssh-config", "--user", user], capture_output=True, text=True, env=env, timeout=60
        )
        assert block.returncode == 0, block.stderr
        printed_script = shlex.split(block.stdout.splitlines()[1].removeprefix("    ForceCommand "))[0]
        text = block.stdout.replace(shlex.quote(printed_script), shlex.quote(script), 1)

        host_key, user_key = directory / "host_key", directory / "user_key"
        _keygen(host_key)
        _keygen(user_key)
        keys = directory / "keys"
        keys.mkdir(mode=0o755)
        (keys / user).write_text(user_key.with_suffix(".pub").read_text())
        (keys / user).chmod(0o644)
        port = _free_port()
        config = directory / "sshd_config"
        lines = [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {keys}/%u",
            "StrictModes no",  # /tmp is world-writable: sshd's ownership walk would refuse the keys beneath it
            "UsePAM no",
            "PermitRootLogin no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
        ]
        if SFTP_SERVER is not None:
            lines.append(f"Subsystem sftp {SFTP_SERVER}")
        config.write_text("\n".join(lines) + "\n" + text)  # the block last: a Match runs to the end of the file
        checked = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory sshd insists on
        log = directory / "sshd.log"
        server = subprocess.Popen([SSHD, "-D", "-E", str(log), "-f", str(config)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if server.poll() is not None:
                pytest.fail(f"sshd exited: {log.read_text() if log.exists() else ''}")
            time.sleep(0.1)
        else:
            pytest.fail("sshd did not start listening within 10 s")
        yield Board(user, uid, gid, directory, db, user_key, port, hold, log)
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        _kill_processes_of(user)
        for service in holder:
            service.shutdown()
        shutil.rmtree(directory, ignore_errors=True)


def _ssh(board: Board, *options: str) -> list[str]:
    return [
        SSH or "ssh",
        "-F",
        "/dev/null",  # none of this host's client settings (SendEnv, forwarding defaults)
        *options,  # first: of two values of one -o option, ssh keeps the first
        "-p",
        str(board.port),
        "-i",
        str(board.key),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "LogLevel=ERROR",
    ]


def _no_board_process_left(user: str, within: float = 5.0) -> list[tuple[int, str]]:
    """What still runs as the board account once its session ended (the board, a shell, sshd's session process):
    nothing, within a few seconds."""
    deadline = time.monotonic() + within
    while True:
        left = _processes_of(user)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _read_until(fd: int, stream: pyte.ByteStream, screen: pyte.Screen, needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                stream.feed(os.read(fd, 1 << 16))
            except OSError:
                return False
        if needle in "\n".join(screen.display):
            return True
    return False


def _pump(fd: int, stream: pyte.ByteStream, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            with contextlib.suppress(OSError):
                stream.feed(os.read(fd, 1 << 16))


def _countdown(screen: pyte.Screen) -> str | None:
    for line in screen.display:
        if "#1" in line:
            found = re.search(r"-?\d+:\d\d", line)
            if found:
                return found.group(0)
    return None


def _files_of(directory: Path, uid: int) -> list[Path]:
    return [path for path in directory.rglob("*") if path.lstat().st_uid == uid]


@pytest.mark.slow
def test_wallboard_over_ssh(board: Board) -> None:
    argv = [*_ssh(board, "-tt"), f"{board.user}@127.0.0.1"]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes ssh
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execvp(argv[0], argv)
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    try:
        # The ticket's line arrives with the first snapshot, after the empty tiles.
        assert _read_until(fd, stream, screen, "Server down", 30), "\n".join(screen.display)
        _pump(fd, stream, 0.5)
        text = "\n".join(screen.display)
        for label in ("Open backlog", "Breached now", "At risk", "First response SLA", "Satisfaction", "Agents"):
            assert label in text
        assert "I***" in text  # masked customer
        first = _countdown(screen)
        assert first is not None, text
        _pump(fd, stream, 2.5)
        second = _countdown(screen)
        assert second is not None and second != first
        # Read only: the account (which may only read the file) wrote nothing, and nothing of its own is there.
        assert _files_of(board.directory, board.uid) == []
    finally:
        with contextlib.suppress(OSError):
            os.write(fd, b"q")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not os.waitpid(pid, os.WNOHANG)[0]:
            _pump(fd, stream, 0.1)
        else:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(fd)
    assert _no_board_process_left(board.user) == []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ssh -T", "ssh COMMAND", "sftp"])
def test_sessions_without_a_terminal_end_at_once(board: Board, how: str) -> None:
    target = f"{board.user}@127.0.0.1"
    if how == "ssh -T":
        argv = [*_ssh(board, "-T"), target]
    elif how == "ssh COMMAND":
        argv = [*_ssh(board), target, "cat", "/etc/passwd"]
    else:
        if SFTP is None or SFTP_SERVER is None:
            pytest.skip("sftp or sftp-server is not installed")
        argv = [SFTP, *_ssh(board)[1:]]
        argv[argv.index("-p")] = "-P"  # sftp's port option
        argv.append(target)
    started = time.monotonic()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - started
    assert done.returncode != 0, (done.stdout, done.stderr)
    assert elapsed < 10, elapsed
    assert "root:" not in done.stdout  # the command asked for never ran
    # In, then out: the key was accepted (not a refused login) and the board's own one line ended the session
    # (sftp reads the channel as its protocol and only says "Connection closed").
    assert f"Accepted publickey for {board.user}" in board.log.read_text()
    if how != "sftp":
        assert "the wallboard needs a terminal" in done.stderr, done.stderr
    assert _no_board_process_left(board.user) == []


@pytest.mark.slow
def test_port_forwarding_is_refused(board: Board) -> None:
    target = f"{board.user}@127.0.0.1"
    # Remote forward: the server turns the request down, and ExitOnForwardFailure ends the client.
    try:
        remote = subprocess.run(
            [*_ssh(board, "-N", "-o", "ExitOnForwardFailure=yes", "-R", f"{_free_port()}:127.0.0.1:22"), target],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("sshd accepted a remote port forward (the client stayed connected)")
    # OpenSSH words the refusal as the global request failing or, racing it, as the channel being prohibited
    refused = "forwarding failed" in remote.stderr or "prohibited" in remote.stderr
    assert remote.returncode != 0 and refused, remote.stderr
    # Local forward: the client listens on its side; the server refuses each channel opened through it.
    local_port = _free_port()
    client = subprocess.Popen(
        [
            *_ssh(
                board,
                *("-N", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=INFO"),
                *("-L", f"{local_port}:127.0.0.1:{board.port}"),
            ),
            target,
        ],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        conn: socket.socket | None = None
        while time.monotonic() < deadline and conn is None:
            try:
                conn = socket.create_connection(("127.0.0.1", local_port), timeout=1)
            except OSError:
                time.sleep(0.1)
        assert conn is not None, "ssh did not listen on the forwarded port"
        with conn:
            conn.settimeout(10)
            # Through a working forward sshd would greet us with its banner; refused, the channel just closes.
            assert conn.recv(100) == b""
    finally:
        client.terminate()
        try:
            _, err = client.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: the client still setting up when told to go
            client.kill()
            _, err = client.communicate()
    assert "prohibited" in err or "open failed" in err, err


@pytest.mark.slow
@pytest.mark.parametrize("directory_mode", [0o755, 0o777])
def test_the_board_needs_the_database_open_elsewhere(board: Board, directory_mode: int) -> None:
    """The account may read the file, not create its -wal and -shm: with nobody else on the database there are
    none, and the board says so (exit 5) instead of SQLite's "attempt to write a readonly database". Even where
    it could create them (a directory it may write), it does not: they would be its own, 0640, and the owner's
    writers could not use them."""
    board.hold(False)
    board.directory.chmod(directory_mode)
    assert not Path(f"{board.db}-shm").exists()
    done = subprocess.run(
        [*_ssh(board, "-tt"), f"{board.user}@127.0.0.1"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 5, (done.stdout, done.stderr)
    assert "is not open anywhere" in done.stdout + done.stderr
    assert _files_of(board.directory, board.uid) == []
