"""`helpdesk …`: the scriptable command line over the service layer.

Commands that open no screen never import Textual, so scripts calling the CLI in a loop stay fast.
Exit codes: 0 done, 1 refused by the rules, 2 bad input, 3 permission denied, 4 stale view, 5 database unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from console.cli.common import (
    CliParser,
    Handler,
    emit_json,
    emit_line,
    emit_table,
    open_service,
    run_console,
    with_service,
)
from console.i18n import _, detect_language, set_language
from console.rules.errors import BadInput, HelpdeskError
from db.errors import StoreError

if TYPE_CHECKING:
    from console.service.helpdesk import HelpdeskService

# -- agents ---------------------------------------------------------------------------------------------


def cmd_init(service: HelpdeskService, args: argparse.Namespace) -> int:
    agent = service.init(args.admin)
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    else:
        emit_line(_("Created {path} with admin {name}.").format(path=service.path, name=agent.name))
    return 0


def _ask_password(login: str) -> str:
    """Asked twice on a terminal, never echoed; read from the first line of standard input otherwise (scripts)."""
    from console.cli.common import text_stdin

    if not sys.stdin.isatty():
        return text_stdin().readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(_("Password for {login}: ").format(login=login))
    if getpass.getpass(_("The same password again: ")) != first:
        raise BadInput(_("the two passwords differ"))
    return first


def cmd_agent_add(service: HelpdeskService, args: argparse.Namespace) -> int:
    from console.rules.validation import check_display_name

    check_display_name(args.display_name or "")
    password = _ask_password(args.login or args.name) if args.password else None
    agent = service.add_agent(
        args.name,
        args.role,
        args.tier,
        args.display_name or "",
        login=args.login,
        board_only=args.board,
        password=password,
    )
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    elif agent.board_only:
        emit_line(_("Added wallboard login {login} (it may only open the wallboard).").format(login=agent.login))
    else:
        emit_line(
            _("Added {role} {name} ({tier}), login {login}.").format(
                role=_(agent.role), name=agent.name, tier=agent.tier, login=agent.login
            )
        )
    return 0


def cmd_agent_zone(service: HelpdeskService, args: argparse.Namespace) -> int:
    agent = service.set_zone(args.name or service.actor_name, args.zone)
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    else:
        emit_line(_("{name} now reads times in {zone}.").format(name=agent.name, zone=agent.zone))
    return 0


def cmd_agent_password(service: HelpdeskService, args: argparse.Namespace) -> int:
    target = service.agent(args.name or service.actor_name)
    login = (target.login or target.name) if target is not None else (args.name or service.actor_name)
    agent = service.set_password(_ask_password(login), args.name)
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    else:
        text = _("Password set for login {login} ({name}).")
        emit_line(text.format(login=agent.login or agent.name, name=agent.name))
    return 0


def cmd_agent_login(service: HelpdeskService, args: argparse.Namespace) -> int:
    agent = service.set_login(args.name, args.login)
    if args.json:
        emit_json(agent.model_dump(mode="json"))
    else:
        emit_line(_("{name} now logs in as {login}.").format(name=agent.name, login=agent.login))
    return 0


def cmd_agent_list(service: HelpdeskService, args: argparse.Namespace) -> int:
    agents = service.agents()
    if args.json:
        emit_json([a.model_dump(mode="json") for a in agents])
    else:
        emit_table(
            [_("Name"), _("Role"), _("Tier"), _("Login"), _("Active")],
            [
                [
                    a.name,
                    _("wallboard") if a.board_only else _(a.role),
                    a.tier,
                    a.login or "—",
                    _("yes") if a.active else _("no"),
                ]
                for a in agents
            ],
        )
    return 0


# -- demo and the console -------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from console.cli.common import has_terminal
    from console.cli.progress import progress_bar, show_progress
    from console.demo.seed import ensure_demo

    if not args.no_ui and not has_terminal():  # refused before filling anything (see run_console)
        raise BadInput(_("the console needs a terminal"))
    service = open_service(args, create=True)
    try:
        with progress_bar(_("Building the demo database"), enabled=show_progress(args)) as step:
            summary = ensure_demo(service, seed=args.seed, progress=step)
    finally:
        service.shutdown()
    if args.no_ui:
        if args.json:
            emit_json(summary)
        else:
            emit_line(
                _("Demo database {path}: {tickets} tickets, {articles} articles; you are {agent}.").format(
                    path=summary["db"],
                    tickets=summary["tickets"],
                    articles=summary["articles"],
                    agent=summary["agent"],
                )
            )
        return 0
    return run_console(args)


# -- the parser -----------------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=argparse.SUPPRESS, help=_("database file (env HELPDESK_DB)"))
    parser.add_argument(
        "--as", dest="actor", default=argparse.SUPPRESS, help=_("act as this agent (env HELPDESK_AGENT)")
    )
    parser.add_argument("--lang", default=argparse.SUPPRESS, choices=["en", "zh"], help=_("interface language"))
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=_("machine-readable output"))


class _NotConsoleOnly(Exception):
    pass


class _ConsoleOnlyParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotConsoleOnly(message)


def _parse_console_only(raw: Sequence[str]) -> argparse.Namespace | None:
    """`helpdesk [--db F] [--as A] [--lang L]` opens the console. Parsed with the common options alone, so that
    opening the console does not first build the parsers of every command (a noticeable part of its first frame);
    anything else, help and mistakes included, goes to the full parser."""
    parser = _ConsoleOnlyParser(prog="helpdesk", add_help=False)
    _add_common(parser)
    try:
        args, rest = parser.parse_known_args(raw)
    except _NotConsoleOnly:
        return None
    return None if rest else args


def build_parser() -> CliParser:
    common = CliParser(add_help=False)
    _add_common(common)

    parser = CliParser(prog="helpdesk", parents=[common], description=_("Terminal helpdesk console."))
    sub = parser.add_subparsers(dest="command", parser_class=CliParser, metavar=_("COMMAND"))

    def command(name: str, help_text: str, handler: Handler, parent: Any = sub) -> CliParser:
        p: CliParser = parent.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("init", _("create the database with its first admin"), with_service(cmd_init, create=True))
    p.add_argument("--admin", required=True)

    agent = sub.add_parser("agent", help=_("manage agents"), parents=[common])
    agent_sub = agent.add_subparsers(dest="agent_command", required=True, parser_class=CliParser)
    p = command("add", _("add an agent (admins only)"), with_service(cmd_agent_add), agent_sub)
    p.add_argument("name")
    p.add_argument("--role", default="agent", choices=["agent", "supervisor", "admin"])
    p.add_argument("--tier", default="L1", choices=["L1", "L2", "L3"])
    p.add_argument("--display-name")
    p.add_argument("--login", help=_("the host login that acts as this agent (default: the name)"))
    p.add_argument("--board", action="store_true", help=_("a login that may only open the wallboard (SSH boards)"))
    p.add_argument(
        "--password",
        action="store_true",
        help=_("PostgreSQL: prompt for the login's password, for connections from other hosts (SCRAM)"),
    )
    command("list", _("list agents"), with_service(cmd_agent_list), agent_sub)
    p = command(
        "password",
        _("PostgreSQL: set your login's password (admins: an agent's), for connections from other hosts"),
        with_service(cmd_agent_password),
        agent_sub,
    )
    p.add_argument("name", nargs="?", help=_("the agent (default: you)"))
    p = command(
        "login", _("bind an agent to another host login (admins only)"), with_service(cmd_agent_login), agent_sub
    )
    p.add_argument("name")
    p.add_argument("login")
    p = command(
        "zone",
        _("set the time zone an agent reads times in (your own, or anyone's for admins)"),
        with_service(cmd_agent_zone),
        agent_sub,
    )
    p.add_argument("zone", help=_("an IANA time zone, e.g. Asia/Shanghai or Europe/London"))
    p.add_argument("--name", help=_("the agent (default: you)"))

    for group in _core_commands():
        group(sub, common, command)

    p = command("demo", _("fill an empty database with demo data and open the console"), cmd_demo)
    p.add_argument("--no-ui", action="store_true", help=_("only create the demo data"))
    p.add_argument("--seed", type=int, default=7)

    for extra in _extra_commands():
        extra(sub, common, command)
    return parser


def _core_commands() -> list[Callable[..., None]]:
    """Core command groups that live in their own modules (tickets; import, export, backup, policy, sla), listed
    before `demo` in the help."""
    from console.cli import commands

    return commands.CORE


def _extra_commands() -> list[Callable[..., None]]:
    """Command groups that live in their own modules (knowledge base, replies, reports, wallboard)."""
    from console.cli import commands

    return commands.REGISTER


def main(argv: Sequence[str] | None = None) -> int:
    # pydantic scans every installed package for plugins on first use; the console uses none, and the scan is
    # a noticeable part of start-up (a user who wants one can still set the variable)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    raw = list(sys.argv[1:] if argv is None else argv)
    set_language(detect_language(_peek_lang(raw)))
    args = _parse_console_only(raw) or build_parser().parse_args(raw)
    for name, env, default in (
        ("db", "HELPDESK_DB", None),
        ("actor", "HELPDESK_AGENT", None),
        ("json", None, False),
    ):
        if not hasattr(args, name):
            setattr(args, name, os.environ.get(env) if env else default)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        if getattr(args, "command", None) is None:
            args.handler = run_console
            return _run(run_console, args)
        build_parser().parse_args([*raw, "--help"])
        return 2
    return _run(handler, args)


def _peek_lang(raw: Sequence[str]) -> str | None:
    for i, item in enumerate(raw):
        if item == "--lang" and i + 1 < len(raw):
            return raw[i + 1]
        if item.startswith("--lang="):
            return item.split("=", 1)[1]
    return None


def _run(handler: Handler, args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except HelpdeskError as exc:
        for line in getattr(exc, "lines", None) or [str(exc)]:
            sys.stderr.write(f"helpdesk: {_one_line(line)}\n")
        return exc.exit_code
    except StoreError as exc:  # the file turned out damaged, full or gone mid-command (reads reach the store directly)
        sys.stderr.write(f"helpdesk: {_one_line(str(exc))}\n")
        return 5
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        sys.stderr.write(f"helpdesk: {_one_line(str(exc))}\n")
        return 1


def _one_line(text: str) -> str:
    from widgets.safe_text import clean

    return clean(" ".join(text.split()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
