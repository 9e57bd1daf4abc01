"""What every command module of the CLI shares: the parser class, argument types, output and service access."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from console.i18n import _
from console.rules.errors import BadInput

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService

Handler = Callable[[argparse.Namespace], int]


class CliParser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        from widgets.safe_text import clean

        # argparse quotes what it did not recognise as typed: a newline or an escape sequence in an argument
        # would break the one line or act on the terminal
        self.exit(2, f"{self.prog}: {_('error')}: {clean(message)}\n")


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("helpdesk", appauthor=False)) / "helpdesk.db"


def instant_arg(text: str) -> datetime:
    from console.rules.clock import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def date_arg(text: str) -> date:
    from console.rules.clock import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


# Record ids are SQLite integers (signed 64-bit): a larger number cannot name a record, and SQLite itself would
# refuse it with an OverflowError rather than "not found".
MAX_ID = 2**63 - 1


def _record_id(text: str, message: str) -> int:
    try:
        value = int(text.lstrip("#"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(message.format(text=text)) from exc
    if not 0 < value <= MAX_ID:
        raise argparse.ArgumentTypeError(message.format(text=text))
    return value


def ticket_id_arg(text: str) -> int:
    return _record_id(text, _("not a ticket number: {text}"))


def article_id_arg(text: str) -> int:
    return _record_id(text, _("not an article number: {text}"))


def limit_arg(text: str) -> int:
    """A row limit as SQLite takes it: a signed 64-bit integer (a negative one means no limit)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("not a whole number: {text}").format(text=text)) from exc
    if not -MAX_ID - 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(_("not a whole number of rows: {text}").format(text=text))
    return value


def read_document(path: str) -> str:
    """A document an admin loads (TOML), as text with universal newlines. Only the first bytes past the size limit
    are read: a file over it is refused without being read into memory."""
    from console.rules.documents import MAX_DOCUMENT_BYTES, too_large_message

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)
        if len(data) > MAX_DOCUMENT_BYTES:
            raise BadInput(f"{path}: {too_large_message()}")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("cannot read {file}: {error}").format(file=path, error=exc)) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_stdin() -> TextIO:
    """Standard input as text, bytes that are not UTF-8 read as U+FFFD: under a UTF-8 locale Python would fail on
    them with a traceback, and under its UTF-8 mode pass them on as lone surrogates, which no UTF-8 writer (the
    database, the terminal) accepts."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")
    return sys.stdin


# -- output ---------------------------------------------------------------------------------------------


# What json.dumps leaves raw with ensure_ascii=False and a terminal would act on: DEL, C1 controls, bidi formatting
# and line/paragraph separators (C0 controls are always escaped by json). They can only occur inside strings.
_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal_safe(json_text: str) -> str:
    """JSON text with anything a terminal would act on written as \\u escapes (the same JSON to a parser)."""
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


def emit_json(data: Any) -> None:
    """JSON for scripts, readable Chinese included, with anything a terminal would act on written as \\u escapes
    (the same JSON to a parser: data from before names were checked cannot reorder or restyle a terminal)."""
    sys.stdout.write(terminal_safe(json.dumps(data, ensure_ascii=False, indent=2, default=str)) + "\n")


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from console.present.textout import table

    sys.stdout.write(table(headers, rows) + "\n")


def emit_line(text: str) -> None:
    from widgets.safe_text import clean

    sys.stdout.write(clean(text) + "\n")


# -- service access -------------------------------------------------------------------------------------


def server_url(args: argparse.Namespace) -> bool:
    """Whether ``--db`` names a PostgreSQL server (a URL), not a file."""
    db = getattr(args, "db", None)
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


def db_path(args: argparse.Namespace) -> Path:
    if args.db is not None and not str(args.db).strip():
        raise BadInput(_("--db is empty: give a database file"))
    return Path(args.db) if args.db else default_db_path()


def open_service(args: argparse.Namespace, *, create: bool = False, wallboard: bool = False) -> HelpdeskService:
    from console.service.helpdesk import HelpdeskService

    if server_url(args):
        return HelpdeskService.open(args.db, args.actor, create=create, wallboard=wallboard)  # a server, no file
    path = db_path(args)
    if not args.db and create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return HelpdeskService.open(path, args.actor, create=create, wallboard=wallboard)


def console_db_path(args: argparse.Namespace) -> str:
    """The database the console will open, checked now with the standard library alone (a missing, unreadable or
    damaged file is reported before the screen is taken over; the service itself opens after the first frame)."""
    from console.service.preflight import check_database, check_server

    if server_url(args):
        check_server(args.db, readonly=bool(getattr(args, "wallboard", False)))
        return str(args.db)
    path = db_path(args)
    check_database(path, readonly=bool(getattr(args, "wallboard", False)))  # the board account may only read it
    return str(path)


def with_service(fn: Callable[[HelpdeskService, argparse.Namespace], int], *, create: bool = False) -> Handler:
    def run(args: argparse.Namespace) -> int:
        service = open_service(args, create=create)
        try:
            return fn(service, args)
        finally:
            service.shutdown()

    return run


def has_terminal() -> bool:
    """Input, output and the error stream (where Textual draws the screen) are all a terminal."""
    return all(os.isatty(fd) for fd in (0, 1, 2))


def run_console(args: argparse.Namespace) -> int:
    """Open the console, or the wallboard when ``args.wallboard`` is set."""
    wallboard = bool(getattr(args, "wallboard", False))
    # First of all: without a terminal nobody can use the screen, and Textual's input thread would spin at end of
    # input for ever (Textualize/textual#6690), e.g. under cron or `ssh host helpdesk wallboard` (no -t).
    if not has_terminal():
        raise BadInput(_("the wallboard needs a terminal") if wallboard else _("the console needs a terminal"))
    from console.tui.app import run_app

    path = console_db_path(args)  # a bad path is reported here, before the screen is taken over
    return run_app(
        path,
        args.actor,
        wallboard=wallboard,
        show_customers=bool(getattr(args, "show_customers", False)),
    )
