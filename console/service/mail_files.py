"""The mail channel's files: the configuration and the password, and what is kept beside the database (originals
and attachments by content, the quarantine). Written to a temporary name and renamed, so a crash leaves no half
file under a listed name."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.i18n import _
from console.rules.clock import Clock, utcnow
from console.rules.errors import BadInput
from console.rules.mailconfig import MailConfig, parse_config

PASSWORD_ENV = "HELPDESK_MAIL_PASSWORD"


# -- configuration and the password ---------------------------------------------------------------------------


def load_config(path: Path) -> MailConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInput(
            _("no configuration file {file}: give --config, or HELPDESK_CONFIG (see 'helpdesk mail --help')").format(
                file=path
            )
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc)) from exc
    return parse_config(text, str(path))


def read_password(config: MailConfig) -> str:
    """The mail password: from HELPDESK_MAIL_PASSWORD, else from password_file, which must be 0600 (readable by
    its owner only). Never printed, never stored."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not config.password_file:
        return ""
    path = Path(config.password_file)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise BadInput(_("cannot read password_file {file}: {error}").format(file=path, error=exc.strerror)) from exc
    if mode & 0o077:
        raise BadInput(
            _("password_file {file} is readable by others (mode {mode:04o}); chmod 600 it").format(file=path, mode=mode)
        )
    try:
        return path.read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("cannot read password_file {file}: {error}").format(file=path, error=exc)) from exc


def files_dir(db: str | Path, config: MailConfig) -> Path:
    """Attachments, originals and the quarantine: the configured folder (``[mail] files_dir``), else one beside a
    SQLite database; a PostgreSQL database has no file to sit beside, so its folder is in the user's data folder,
    named after the server and database of the URL (``mail/HOST-PORT-DATABASE``, whoever connects)."""
    if config.files_dir:
        return Path(config.files_dir)
    if isinstance(db, str) and db.startswith(("postgresql://", "postgres://")):
        from platformdirs import user_data_dir

        return Path(user_data_dir("helpdesk", appauthor=False)) / "mail" / _server_folder(db)
    path = Path(db)
    return path.with_name(path.name + ".mail")


def _server_folder(url: str) -> str:
    """``HOST-PORT-DATABASE`` of a PostgreSQL URL (the host may be given as ``?host=``, a socket's folder), in
    characters safe in a file name; the login and password are left out."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or ["local"])[0]
    try:
        port = str(parts.port or (query.get("port") or ["5432"])[0])
    except ValueError:  # a port that is no number: the URL is refused when the store opens it
        port = "5432"
    database = unquote(parts.path.lstrip("/")) or (query.get("dbname") or ["default"])[0]
    name = "-".join((host, port, database))
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "default"


# -- quarantine (needs no database) ----------------------------------------------------------------------------


def quarantine(folder: Path, raw: bytes, reason: str, clock: Clock = utcnow) -> Path:
    """Keep ``raw`` as an .eml file (and the reason beside it); written to a temporary name and renamed, so a
    crash leaves no half file under the listed name."""
    target = folder / "quarantine"
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    stamp = clock().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = target / f"{stamp}-{digest}.eml"
    _write_atomic(path, raw)
    _write_atomic(path.with_suffix(".reason"), (" ".join(reason.split())[:300] + "\n").encode("utf-8"))
    return path


def quarantined(folder: Path) -> list[dict[str, Any]]:
    target = folder / "quarantine"
    if not target.is_dir():
        return []
    items = []
    for path in sorted(target.glob("*.eml")):
        reason_file = path.with_suffix(".reason")
        try:
            reason = reason_file.read_text(encoding="utf-8").strip()
        except OSError:
            reason = ""
        st = path.stat()
        items.append(
            {
                "file": str(path),
                "size": st.st_size,
                "at": datetime.fromtimestamp(st.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "reason": reason,
            }
        )
    return items


def _write_atomic(path: Path, data: bytes) -> None:
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def store_blob(folder: Path, kind: str, data: bytes) -> str:
    """``data`` content-addressed under ``folder/kind`` (sha256); its digest. Written once, never executed."""
    digest = hashlib.sha256(data).hexdigest()
    target = folder / kind / digest[:2]
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_atomic(target / digest, data)
    return digest
