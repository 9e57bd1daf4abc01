"""Command groups that live in their own modules (each module adds its sub-parsers to `cli.build_parser`'s)."""

from __future__ import annotations

from collections.abc import Callable

from console import cli_admin, cli_data, cli_kb, cli_replies, cli_reports, cli_tickets, cli_wallboard

CORE: list[Callable[..., None]] = [
    cli_tickets.register,
    cli_data.register,
]
"""Registered between `agent` and `demo`, in this order: the order `helpdesk --help` lists them in."""

REGISTER: list[Callable[..., None]] = [
    cli_wallboard.register,
    cli_kb.register,
    cli_replies.register,
    cli_reports.register,
    cli_admin.register,
]
"""Registered after `demo`, in this order."""
